import Foundation

/// `progress.csv` in the run directory: one row of learner status a second, the
/// throughput history that `ddpg plot` draws beside the evaluations of summary.json.
public final class ProgressLog {
    public static let fileName = "progress.csv"
    public static let columns = [
        "wall_seconds", "env_steps", "updates", "transitions_per_second", "updates_per_second", "replay_size",
        "weights_version", "policy_lag_mean", "episode_return", "eval_return", "workers_connected", "messages_rejected",
        "policy_lag_updates_mean", "policy_lag_seconds_mean",
    ]

    private let handle: FileHandle
    public let url: URL

    /// Creates `progress.csv` in `directory`, or with `appending` (a resumed run) continues
    /// the one there when it has the same columns.
    public init(directory: URL, appending: Bool = false) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        url = directory.appendingPathComponent(Self.fileName)
        let header = Self.columns.joined(separator: ",")
        let existing = appending ? (try? String(contentsOf: url, encoding: .utf8)) : nil
        if existing?.split(separator: "\n").first.map(String.init) != header {
            guard FileManager.default.createFile(atPath: url.path, contents: Data((header + "\n").utf8)) else {
                throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: url.path])
            }
        }
        handle = try FileHandle(forWritingTo: url)
        handle.seekToEndOfFile()
    }

    /// Removes the rows after `wallSeconds` (a resumed run continues from an earlier checkpoint, so the
    /// file's time and step columns keep increasing). Returns how many were removed.
    @discardableResult
    public func discardRows(after wallSeconds: Double) -> Int {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return 0 }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        guard lines.count > 1 else { return 0 }
        let header = lines.removeFirst()
        let kept = lines.filter { line in
            guard let first = line.split(separator: ",", maxSplits: 1).first, let seconds = Double(first) else { return false }
            return seconds <= wallSeconds
        }
        guard kept.count < lines.count else { return 0 }
        let body = ([header] + kept).joined(separator: "\n") + "\n"
        do {
            try handle.truncate(atOffset: 0)
            handle.write(Data(body.utf8))
        } catch {
            return 0
        }
        return lines.count - kept.count
    }

    public func append(_ s: LearnerStatus) {
        func field(_ value: Double?) -> String { value.map { $0.isFinite ? String(format: "%.6g", $0) : "" } ?? "" }
        let row = [
            String(format: "%.3f", s.wallSeconds), "\(s.envSteps)", "\(s.updates)", field(s.transitionsPerSecond.last10s),
            field(s.updatesPerSecond.last10s), "\(s.replaySize)", "\(s.weightsVersion)", field(s.policyLag?.mean),
            field(s.recentEpisodeReturn), field(s.latestEvaluation?.meanReturn), "\(s.workersConnected)", "\(s.messagesRejected)",
            field(s.policyLagUpdates?.mean), field(s.policyLagSeconds?.mean),
        ]
        handle.write(Data((row.joined(separator: ",") + "\n").utf8))
    }

    deinit { try? handle.close() }
}

/// The rows of a `progress.csv`, by column name.
public struct ProgressTable: Sendable {
    public private(set) var columns: [String: [Double?]] = [:]
    public private(set) var rowCount = 0

    public init(csv text: String) {
        var lines = text.split(whereSeparator: \.isNewline).map(String.init)
        guard !lines.isEmpty else { return }
        let names = lines.removeFirst().split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        for name in names { columns[name] = [] }
        for line in lines {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == names.count else { continue }
            for (name, field) in zip(names, fields) { columns[name]!.append(Double(field)) }
            rowCount += 1
        }
    }

    /// Pairs of (x, y) where both columns have a value.
    public func series(_ x: String, _ y: String) -> [(Double, Double)] {
        guard let xs = columns[x], let ys = columns[y] else { return [] }
        return zip(xs, ys).compactMap { a, b in a.flatMap { a in b.map { (a, $0) } } }
    }
}
