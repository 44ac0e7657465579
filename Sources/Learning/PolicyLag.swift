import Ingest
import Telemetry

/// How old the policy behind accepted transitions was, in the units that matter
/// to learning: updates (and seconds) between the weights a worker acted with and
/// the learner's state when the data arrived. Versions alone hide it: one version
/// is as many updates as the broadcast cadence.
struct PolicyLagTracker {
    /// Publications remembered; data acted with older weights has no lag in updates.
    static let remembered = 4_096
    private var publications: [(updates: Int, seconds: Double)]
    private var newestVersion: UInt64 = 0
    /// Over the whole run, weighted by transitions.
    private(set) var updates = RunningRange()
    private(set) var milliseconds = RunningRange()
    /// Over the last few status intervals, for the console and /status.
    private var recentVersions = RecentLag()
    private var recentUpdates = RecentLag()
    private var recentMilliseconds = RecentLag()

    init() {
        publications = Array(repeating: (0, 0), count: Self.remembered)
    }

    /// Weights `version` went out after `updates` updates, at `seconds`.
    mutating func published(version: UInt64, updates: Int, seconds: Double) {
        publications[Int(version % UInt64(Self.remembered))] = (updates, seconds)
        newestVersion = version
    }

    /// Records `count` transitions acted with weights `version` (> 0), accepted after `updates` updates at `now`.
    mutating func accepted(version: UInt64, versionLag: Int64, count: Int, updates currentUpdates: Int, now: Double)
        -> (updates: Int64, seconds: Double)? {
        recentVersions.record(versionLag, weight: count)
        guard version <= newestVersion, newestVersion - version < UInt64(Self.remembered) else { return nil }
        let publication = publications[Int(version % UInt64(Self.remembered))]
        let lagUpdates = Int64(max(currentUpdates - publication.updates, 0))
        let lagSeconds = max(now - publication.seconds, 0)
        updates.record(lagUpdates, weight: count)
        milliseconds.record(Int64((lagSeconds * 1_000).rounded()), weight: count)
        recentUpdates.record(lagUpdates, weight: count)
        recentMilliseconds.record(Int64((lagSeconds * 1_000).rounded()), weight: count)
        return (lagUpdates, lagSeconds)
    }

    /// Starts a new status interval.
    mutating func advance() {
        recentVersions.advance()
        recentUpdates.advance()
        recentMilliseconds.advance()
    }

    var recent: (versions: LagRange?, updates: LagRange?, seconds: DurationRange?) {
        let seconds = recentMilliseconds.range.map { DurationRange(min: Double($0.min) / 1_000, mean: $0.mean / 1_000, max: Double($0.max) / 1_000) }
        return (recentVersions.range, recentUpdates.range, seconds)
    }

    /// The whole run's lag in seconds, for summary.json.
    var secondsSummary: DurationSummary? {
        milliseconds.summary.map {
            DurationSummary(min: Double($0.min) / 1_000, mean: $0.mean / 1_000, max: Double($0.max) / 1_000, transitions: $0.transitions)
        }
    }
}

/// Min, mean and max of a duration, in seconds, over `transitions`.
public struct DurationSummary: Codable, Sendable, Equatable {
    public var min: Double
    public var mean: Double
    public var max: Double
    public var transitions: Int
}
