import Foundation

/// How a `LearnerStatus` reads on a terminal: the console's lines and `ddpg top`'s table.
public enum StatusFormat {
    /// 999, 12.3k, 4.56M.
    public static func count(_ value: Double) -> String {
        let magnitude = abs(value)
        if magnitude >= 999_500 { return String(format: "%.2fM", value / 1e6) }
        if magnitude >= 9_995 { return String(format: "%.1fk", value / 1e3) }
        if magnitude >= 1_000 { return String(format: "%.2fk", value / 1e3) }
        return String(format: "%.0f", value)
    }

    public static func count(_ value: Int) -> String { count(Double(value)) }

    /// 45s, 3m05s, 2h07m.
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3_600 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return String(format: "%dh%02dm", s / 3_600, s % 3_600 / 60)
    }

    public static func returnValue(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "–" }
        return String(format: "%.1f", value)
    }

    public static func lag(_ range: LagRange?) -> String {
        guard let range else { return "–" }
        return "\(range.min)/\(String(format: "%.1f", range.mean))/\(range.max)"
    }

    /// "lag 37 updates, 4 ms (0/0.6/2 versions)": the policy's mean age in updates and seconds when its
    /// data arrived, and its min/mean/max in weights versions.
    public static func lag(_ s: LearnerStatus) -> String {
        let versions = s.policyLag.map { "\(lag($0)) versions" }
        guard let updates = s.policyLagUpdates else { return "lag \(versions ?? "–")" }
        let seconds = s.policyLagSeconds.map { $0.mean >= 1 ? String(format: ", %.1f s", $0.mean) : String(format: ", %.0f ms", $0.mean * 1_000) } ?? ""
        return "lag \(count(updates.mean)) updates\(seconds)\(versions.map { " (\($0))" } ?? "")"
    }

    /// `[██████░░░░]` filled to `fraction`.
    public static func progressBar(_ fraction: Double, width: Int) -> String {
        let clamped = fraction.isFinite ? min(max(fraction, 0), 1) : 0
        let filled = Int((clamped * Double(width)).rounded(.down))
        return "[" + String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled) + "]"
    }

    /// Connected workers and their ingest rates, the first few by id.
    static func workersSummary(_ status: LearnerStatus, shown: Int = 4) -> String {
        let connected = status.workers.filter { $0.connected && $0.role == "actor" }
        var parts = connected.prefix(shown).map { "#\($0.workerId) \(count($0.transitionsPerSecond.last10s))/s" }
        if connected.count > shown { parts.append("+\(connected.count - shown) more") }
        return "workers \(status.workersConnected)" + (parts.isEmpty ? "" : " (" + parts.joined(separator: ", ") + ")")
    }

    /// The latest evaluation; and, when no evaluator is connected, that no newer one will come.
    /// What the learner does with the data: replay and its ratio, or an on-policy learner's losses and segments.
    static func learningSummary(_ s: LearnerStatus, counts: (Int) -> String) -> String {
        guard let p = s.onPolicy else {
            return "samples/insert \(String(format: "%.1f", s.samplesPerInsert)) | replay \(counts(s.replaySize))/\(counts(s.replayCapacity))"
        }
        return """
            policy loss \(String(format: "%.3g", p.policyLoss)) | value loss \(String(format: "%.3g", p.valueLoss)) | \
            entropy \(String(format: "%.3f", p.entropy)) | explained var \(String(format: "%.2f", p.explainedVariance)) | \
            \(p.learnsFrom == "gradients" ? "gradients \(counts(p.segmentsAccepted))" : "segments \(counts(p.segmentsAccepted)) (late \(p.segmentsLate))")
            """
    }

    static func evaluationSummary(_ status: LearnerStatus) -> String {
        let latest = status.latestEvaluation.map {
            "eval \(returnValue($0.meanReturn)) ± \(String(format: "%.1f", $0.stdReturn)) @ \(count($0.envSteps))"
        } ?? "eval –"
        return status.evaluatorsConnected == 0 ? "\(latest) (no evaluator connected)" : latest
    }

    /// The block an interactive terminal redraws in place every second.
    public static func interactiveLines(_ s: LearnerStatus, barWidth: Int = 24) -> [String] {
        let fraction = s.maxEnvSteps > 0 ? Double(s.envSteps) / Double(s.maxEnvSteps) : 0
        let eta = s.etaSeconds.map { "ETA \(duration($0))" } ?? "ETA –"
        return [
            "\(progressBar(fraction, width: barWidth)) \(String(format: "%3.0f%%", fraction * 100)) \(count(s.envSteps))/\(count(s.maxEnvSteps)) env steps | \(eta) | \(duration(s.uptimeSeconds)) | \(s.phase)",
            "in \(count(s.transitionsPerSecond.last10s))/s (10s) \(count(s.transitionsPerSecond.last60s))/s (60s) | updates \(count(s.updatesPerSecond.last10s))/s | \(learningSummary(s) { count($0) })",
            "\(workersSummary(s)) | weights v\(s.weightsVersion) \(lag(s)) | episode \(returnValue(s.recentEpisodeReturn)) | \(evaluationSummary(s)) | rejected \(s.messagesRejected)",
        ]
    }

    /// One log line with the same fields, for logs that are not a terminal.
    public static func plainLine(_ s: LearnerStatus) -> String {
        let eta = s.etaSeconds.map { " | ETA \(duration($0))" } ?? ""
        return """
            step \(s.envSteps)/\(s.maxEnvSteps) | in \(count(s.transitionsPerSecond.last10s))/s (10s) \
            \(count(s.transitionsPerSecond.last60s))/s (60s) | updates \(count(s.updatesPerSecond.last10s))/s | \
            \(learningSummary(s) { "\($0)" }) | \
            \(workersSummary(s)) | weights v\(s.weightsVersion) \(lag(s)) | \
            episode \(returnValue(s.recentEpisodeReturn)) | \(evaluationSummary(s)) | rejected \(s.messagesRejected)\(eta)
            """
    }

    /// `ddpg top`'s view: the learner's totals, then one row per worker.
    public static func table(_ s: LearnerStatus, endpoint: String) -> [String] {
        var lines = interactiveLines(s)
        lines.insert("ddpg learner \(s.learnerId) at \(endpoint)", at: 0)
        lines.append("")
        let header = ["worker", "envs", "state", "transitions", "10s/s", "60s/s", "episodes", "last return", "weights", "gaps"]
        var rows = [header]
        for w in s.workers {
            rows.append([
                w.role == "actor" ? "#\(w.workerId)" : "#\(w.workerId) eval", "\(w.environments)", w.finished ? "finished" : (w.connected ? "connected" : "silent"),
                "\(w.transitionsReceived)", count(w.transitionsPerSecond.last10s), count(w.transitionsPerSecond.last60s),
                "\(w.episodes)", returnValue(w.lastEpisodeReturn), "v\(w.weightsVersion)", "\(w.sequenceGaps)",
            ])
        }
        rows.append([
            "total", "\(s.workers.reduce(0) { $0 + $1.environments })", "\(s.workersConnected) up", "\(s.envSteps)",
            count(s.transitionsPerSecond.last10s), count(s.transitionsPerSecond.last60s),
            "\(s.workers.reduce(0) { $0 + $1.episodes })", returnValue(s.recentEpisodeReturn), "v\(s.weightsVersion)",
            "\(s.workers.reduce(0) { $0 + $1.sequenceGaps })",
        ])
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        lines += rows.map { row in
            row.enumerated().map { column, cell in
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                return column == 0 || column == 2 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }
        if !s.messagesRejectedByReason.isEmpty {
            lines.append("")
            lines.append("rejected: " + s.messagesRejectedByReason.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        return lines
    }
}
