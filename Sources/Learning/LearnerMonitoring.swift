import Ingest
import Telemetry

/// Where the learner reports what it does, besides its log: Prometheus metrics,
/// TensorBoard scalars, `progress.csv`, and a status snapshot every second for the
/// console and `/status`. Everything is optional; the default reports nothing.
public struct LearnerMonitoring {
    public var metrics: LearnerMetrics
    public var events: TensorBoardWriter?
    public var progress: ProgressLog?
    /// Called on the learner's thread about once a second, and once more when the run ends.
    public var onStatus: (LearnerStatus) -> Void
    /// Called on the learner's thread with the whole evaluation history, after a status snapshot, when it has grown
    /// (and once at the start of a resumed run): the web page's curves.
    public var onEvaluations: ([EvaluationPoint]) -> Void
    /// Seconds between status snapshots.
    public var statusInterval: Double

    public init(metrics: LearnerMetrics = LearnerMetrics(), events: TensorBoardWriter? = nil, progress: ProgressLog? = nil,
                statusInterval: Double = 1, onStatus: @escaping (LearnerStatus) -> Void = { _ in },
                onEvaluations: @escaping ([EvaluationPoint]) -> Void = { _ in }) {
        self.metrics = metrics
        self.events = events
        self.progress = progress
        self.statusInterval = statusInterval
        self.onStatus = onStatus
        self.onEvaluations = onEvaluations
    }
}

/// Policy lag of the transitions accepted in the last few status intervals.
struct RecentLag {
    private var intervals: [RunningRange] = [RunningRange()]
    private let keep: Int

    init(keep: Int = 10) { self.keep = keep }

    mutating func record(_ lag: Int64, weight: Int) { intervals[intervals.count - 1].record(lag, weight: weight) }

    /// Starts a new interval, forgetting the oldest.
    mutating func advance() {
        intervals.append(RunningRange())
        if intervals.count > keep { intervals.removeFirst() }
    }

    var range: LagRange? {
        var merged = RunningRange()
        for interval in intervals where interval.count > 0 {
            merged.min = min(merged.min, interval.min)
            merged.max = max(merged.max, interval.max)
            merged.sum += interval.sum
            merged.count += interval.count
        }
        return merged.count > 0 ? LagRange(min: merged.min, mean: merged.mean, max: merged.max) : nil
    }
}
