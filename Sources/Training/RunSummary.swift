import Foundation
import NeuralNetwork

/// The moment a run first reached the solved threshold.
public struct SolvedAt: Codable, Sendable, Equatable {
    public var envSteps: Int
    public var wallSeconds: Double

    public init(envSteps: Int, wallSeconds: Double) {
        self.envSteps = envSteps
        self.wallSeconds = wallSeconds
    }
}

/// What `summary.json` holds at the end of a run.
public struct RunSummary: Codable, Sendable {
    public var envSteps: Int
    public var updates: Int
    public var episodes: Int
    public var wallSeconds: Double
    public var eval: [EvaluationResult]
    public var solvedAt: SolvedAt?
    public var finalEval: EvaluationResult
    public var config: TrainingConfiguration
    /// The BLAS library and kernels the run used (set by the command that ran it).
    public var blas: BLASReport?

    public init(envSteps: Int, updates: Int, episodes: Int, wallSeconds: Double, eval: [EvaluationResult],
                solvedAt: SolvedAt?, finalEval: EvaluationResult, config: TrainingConfiguration) {
        self.envSteps = envSteps
        self.updates = updates
        self.episodes = episodes
        self.wallSeconds = wallSeconds
        self.eval = eval
        self.solvedAt = solvedAt
        self.finalEval = finalEval
        self.config = config
    }

    enum CodingKeys: String, CodingKey {
        case envSteps, updates, episodes, wallSeconds, eval, solvedAt, finalEval, config, blas
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(envSteps, forKey: .envSteps)
        try container.encode(updates, forKey: .updates)
        try container.encode(episodes, forKey: .episodes)
        try container.encode(wallSeconds, forKey: .wallSeconds)
        try container.encode(eval, forKey: .eval)
        // Written as an explicit null rather than omitted, so readers can rely on the key.
        try container.encode(solvedAt, forKey: .solvedAt)
        try container.encode(finalEval, forKey: .finalEval)
        try container.encode(config, forKey: .config)
        try container.encodeIfPresent(blas, forKey: .blas)
    }

    /// snake_case, sorted keys; NaN and infinities are written as the strings "nan", "inf" and "-inf",
    /// so that a run whose numbers went non-finite still keeps its record, losslessly.
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }

    /// Writes `summary.json` into `directory`, creating it if needed.
    public func write(toDirectory directory: URL) throws {
        try Self.writeSummary(self, toDirectory: directory)
    }

    /// Writes any summary as `summary.json` in `directory`, in the snake_case layout of ``encoder()``.
    public static func writeSummary(_ summary: some Encodable, toDirectory directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let data = try encoder().encode(summary)
        try data.write(to: directory.appendingPathComponent("summary.json"), options: .atomic)
    }
}
