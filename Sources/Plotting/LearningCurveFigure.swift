import Foundation
import Telemetry

/// What `ddpg plot` draws from a run directory: summary.json's evaluations and,
/// when the learner wrote it, progress.csv's throughput and episode returns.
public struct RunRecord: Sendable {
    public struct Evaluation: Sendable {
        public var envSteps: Double
        public var wallSeconds: Double
        public var meanReturn: Double
        public var stdReturn: Double
    }

    public var name: String
    public var evaluations: [Evaluation]
    public var finalEvaluation: (mean: Double, std: Double)?
    public var solvedAt: (envSteps: Double, wallSeconds: Double)?
    /// nil: the run had no threshold (an environment that declares none).
    public var solvedReturn: Double?
    public var progress: ProgressTable?

    public enum LoadError: Error, CustomStringConvertible {
        case missingSummary(String)
        case unreadableSummary(String, String)

        public var description: String {
            switch self {
            case let .missingSummary(path): "no summary.json in \(path): is it a run directory of ddpg train, learner or launch?"
            case let .unreadableSummary(path, reason): "cannot read \(path): \(reason)"
            }
        }
    }

    /// Reads `summary.json` (required) and `progress.csv` (optional) from `directory`.
    public static func load(directory: URL) throws -> RunRecord {
        let summaryURL = directory.appendingPathComponent("summary.json")
        guard FileManager.default.fileExists(atPath: summaryURL.path) else { throw LoadError.missingSummary(directory.path) }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(contentsOf: summaryURL))
        } catch {
            throw LoadError.unreadableSummary(summaryURL.path, "not JSON (\(error.localizedDescription))")
        }
        guard let summary = object as? [String: Any], let evals = summary["eval"] as? [[String: Any]] else {
            throw LoadError.unreadableSummary(summaryURL.path, "no \"eval\" list")
        }
        func number(_ any: Any?) -> Double? { (any as? NSNumber)?.doubleValue }
        let evaluations = evals.compactMap { e -> Evaluation? in
            guard let steps = number(e["env_steps"]), let wall = number(e["wall_seconds"]), let mean = number(e["mean_return"]) else { return nil }
            return Evaluation(envSteps: steps, wallSeconds: wall, meanReturn: mean, stdReturn: number(e["std_return"]) ?? 0)
        }
        let final = (summary["final_eval"] as? [String: Any]).flatMap { f in number(f["mean_return"]).map { ($0, number(f["std_return"]) ?? 0) } }
        let solved = (summary["solved_at"] as? [String: Any]).flatMap { s in
            number(s["env_steps"]).flatMap { steps in number(s["wall_seconds"]).map { (steps, $0) } }
        }
        let config = summary["config"] as? [String: Any]
        // Summaries before thresholds could be absent (null) were Pendulum's: −200.
        let solvedReturn = config?.keys.contains("solved_return") == true ? number(config?["solved_return"]) : -200
        let progressURL = directory.appendingPathComponent(ProgressLog.fileName)
        let progress = (try? String(contentsOf: progressURL, encoding: .utf8)).map(ProgressTable.init(csv:))
        return RunRecord(name: directory.standardizedFileURL.lastPathComponent, evaluations: evaluations, finalEvaluation: final,
                         solvedAt: solved, solvedReturn: solvedReturn, progress: progress)
    }
}

/// The learning curve against env steps and against wall seconds, and the throughput, in one SVG.
public enum LearningCurveFigure {
    public static func svg(_ run: RunRecord) -> String {
        var canvas = SVGCanvas(width: 1280, height: 860)
        var subtitle: [String] = []
        if let final = run.finalEvaluation { subtitle.append(String(format: "final eval %.1f ± %.1f", final.mean, final.std)) }
        if let threshold = run.solvedReturn {
            if let solved = run.solvedAt {
                subtitle.append("solved (≥ \(Axis.label(threshold))) at \(Axis.label(solved.envSteps)) env steps, \(String(format: "%.1f", solved.wallSeconds)) s")
            } else {
                subtitle.append("not solved (≥ \(Axis.label(threshold)))")
            }
        }
        canvas.text("ddpg · \(run.name)", x: 640, y: 30, size: 20, anchor: .middle, weight: "bold")
        canvas.text(subtitle.joined(separator: " · "), x: 640, y: 52, size: 14, anchor: .middle, fill: "#444")

        let episodeByStep = run.progress?.series("env_steps", "episode_return") ?? []
        let episodeByTime = run.progress?.series("wall_seconds", "episode_return") ?? []
        let evalBySteps = Series(name: "eval return (mean ± std)", color: "#1f5fbf", points: run.evaluations.map { ($0.envSteps, $0.meanReturn) },
                                 band: run.evaluations.map(\.stdReturn), markers: true)
        let evalByTime = Series(name: "eval return (mean ± std)", color: "#1f5fbf", points: run.evaluations.map { ($0.wallSeconds, $0.meanReturn) },
                                band: run.evaluations.map(\.stdReturn), markers: true)
        let reference = run.solvedReturn.map { ($0, "solved: \(Axis.label($0))") }
        LineChart(title: "Return vs environment steps", xLabel: "environment steps", yLabel: "return",
                  series: episodeSeries(episodeByStep) + [evalBySteps], reference: reference)
            .draw(on: &canvas, x: 0, y: 70, width: 640, height: 400)
        LineChart(title: "Return vs wall-clock time", xLabel: "wall seconds", yLabel: "return",
                  series: episodeSeries(episodeByTime) + [evalByTime], reference: reference)
            .draw(on: &canvas, x: 640, y: 70, width: 640, height: 400)
        LineChart(title: "Throughput", xLabel: "wall seconds", yLabel: "per second", series: throughputSeries(run), yIncludesZero: true)
            .draw(on: &canvas, x: 0, y: 470, width: 1280, height: 390)
        return canvas.document
    }

    private static func episodeSeries(_ points: [(Double, Double)]) -> [Series] {
        points.isEmpty ? [] : [Series(name: "training episodes (mean of last 10)", color: "#999999", points: points, width: 1.5, opacity: 0.8)]
    }

    /// progress.csv's rates when present; otherwise env steps/s between successive evaluations.
    private static func throughputSeries(_ run: RunRecord) -> [Series] {
        if let progress = run.progress, progress.rowCount > 1 {
            // The first row is the start, before any rate could be measured.
            let transitions = Array(progress.series("wall_seconds", "transitions_per_second").dropFirst())
            let updates = Array(progress.series("wall_seconds", "updates_per_second").dropFirst())
            return [Series(name: "transitions/s into replay (10 s window)", color: "#d1495b", points: transitions),
                    Series(name: "updates/s (10 s window)", color: "#2e8b57", points: updates)]
        }
        let evals = run.evaluations
        let rates = zip(evals, evals.dropFirst()).compactMap { a, b -> (Double, Double)? in
            b.wallSeconds > a.wallSeconds ? (b.wallSeconds, (b.envSteps - a.envSteps) / (b.wallSeconds - a.wallSeconds)) : nil
        }
        return [Series(name: "env steps/s between evaluations", color: "#d1495b", points: rates, markers: true)]
    }
}
