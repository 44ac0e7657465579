import Foundation
import Settings

/// The outcome of a deterministic evaluation.
public struct EvaluationResult: Codable, Sendable, Equatable {
    public var envSteps: Int
    public var wallSeconds: Double
    public var meanReturn: Double
    public var stdReturn: Double
    public var minReturn: Double
    public var maxReturn: Double
    public var episodes: Int

    /// Summarises the returns of `returns.count` (≥ 1) episodes.
    public init(envSteps: Int, wallSeconds: Double, returns: [Double]) {
        let mean = returns.reduce(0, +) / Double(returns.count)
        let variance = returns.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(returns.count)
        self.init(envSteps: envSteps, wallSeconds: wallSeconds, meanReturn: mean, stdReturn: variance.squareRoot(),
                  minReturn: returns.min()!, maxReturn: returns.max()!, episodes: returns.count)
    }

    public init(envSteps: Int, wallSeconds: Double, meanReturn: Double, stdReturn: Double, minReturn: Double, maxReturn: Double, episodes: Int) {
        self.envSteps = envSteps
        self.wallSeconds = wallSeconds
        self.meanReturn = meanReturn
        self.stdReturn = stdReturn
        self.minReturn = minReturn
        self.maxReturn = maxReturn
        self.episodes = episodes
    }
}

/// The moment a run first reached the solved threshold.
public struct SolvedAt: Codable, Sendable, Equatable {
    public var envSteps: Int
    public var wallSeconds: Double

    public init(envSteps: Int, wallSeconds: Double) {
        self.envSteps = envSteps
        self.wallSeconds = wallSeconds
    }
}

/// One decimal for log lines, "n/a" for NaN or infinity.
public func format(_ value: Double) -> String {
    value.isFinite ? String(format: "%.1f", value) : "n/a"
}

/// The log line that closes a run, for `ddpg train` and the learner alike.
public func finalEvaluationLine(_ result: EvaluationResult, solvedAt: SolvedAt?, threshold: Double?) -> String {
    let solved = threshold == nil ? "no solved threshold (--solved-return)"
        : solvedAt.map { "solved at \($0.envSteps) steps, \(format($0.wallSeconds)) s" } ?? "not solved"
    return "final eval over \(result.episodes) episodes: \(format(result.meanReturn)) ± \(format(result.stdReturn)); \(solved)"
}

/// How records are written: summary.json, worker reports and checkpoint headers share one layout.
public enum RecordFormat {
    /// snake_case, sorted keys; NaN and infinities are written as the strings "nan", "inf" and "-inf",
    /// so that a run whose numbers went non-finite still keeps its record, losslessly.
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    /// Reads what ``encoder()`` writes; a configuration setting that a record from an older version lacks takes its default.
    public static func decoder() -> JSONDecoder {
        let decoder = FillingJSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }

    /// Writes any summary as `summary.json` in `directory`, in the snake_case layout of ``encoder()``.
    public static func writeSummary(_ summary: some Encodable, toDirectory directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let data = try encoder().encode(summary)
        try data.write(to: directory.appendingPathComponent("summary.json"), options: .atomic)
    }
}
