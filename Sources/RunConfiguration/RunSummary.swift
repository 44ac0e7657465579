import Foundation
import NeuralNetwork
import RunRecords

/// What `summary.json` holds at the end of a run.
public struct RunSummary: Codable, Sendable {
    public var envSteps: Int
    public var updates: Int
    public var episodes: Int
    public var wallSeconds: Double
    public var eval: [EvaluationResult]
    public var solvedAt: SolvedAt?
    /// The last weights' evaluation over `finalEvalEpisodes`; null when a learner had no evaluator to play it.
    public var finalEval: EvaluationResult?
    public var config: TrainingConfiguration
    /// The BLAS library and kernels the run used (set by the command that ran it).
    public var blas: BLASReport?

    public init(envSteps: Int, updates: Int, episodes: Int, wallSeconds: Double, eval: [EvaluationResult],
                solvedAt: SolvedAt?, finalEval: EvaluationResult?, config: TrainingConfiguration) {
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
        try container.encode(finalEval, forKey: .finalEval)  // null, not omitted
        try container.encode(config, forKey: .config)
        try container.encodeIfPresent(blas, forKey: .blas)
    }

    /// Writes `summary.json` into `directory`, creating it if needed.
    public func write(toDirectory directory: URL) throws {
        try RecordFormat.writeSummary(self, toDirectory: directory)
    }
}
