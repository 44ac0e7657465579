import Environments
import Evaluation
import Logging
import Policy
import RunConfiguration
import RunRecords

/// A single-process run's evaluations, for both trainers: each recorded, the first to reach the solved
/// return remembered, and the summary written from them after the final evaluation.
struct EvaluationLog {
    let configuration: TrainingConfiguration
    private(set) var evaluations: [EvaluationResult] = []
    private(set) var solvedAt: SolvedAt?

    init(configuration: TrainingConfiguration) { self.configuration = configuration }

    /// Records `result`; true when it reaches `--until-return`, and the run should stop.
    mutating func record(_ result: EvaluationResult) -> Bool {
        evaluations.append(result)
        if solvedAt == nil, let target = configuration.solvedReturn, result.meanReturn >= target {
            solvedAt = SolvedAt(envSteps: result.envSteps, wallSeconds: result.wallSeconds)
        }
        guard let target = configuration.untilReturn, result.meanReturn >= target else { return false }
        return true
    }

    /// Plays the final evaluation with `actor`, logs it, and sums the run up.
    func finish<Env: Environment>(_ evaluator: Evaluator<Env>, actor: Actor, envSteps: Int, updates: Int, episodes: Int, wallSeconds: Double,
                                  logger: Logger) -> RunSummary {
        let c = configuration
        let finalEval = evaluator.evaluate(actor, episodes: c.finalEvalEpisodes, envSteps: envSteps, wallSeconds: wallSeconds)
        logger.info("\(finalEvaluationLine(finalEval, solvedAt: solvedAt, threshold: c.solvedReturn))")
        logger.info("\(updates) updates in \(format(wallSeconds)) s; peak RSS \(peakResidentMegabytes()) MB")
        return RunSummary(envSteps: envSteps, updates: updates, episodes: episodes, wallSeconds: wallSeconds,
                          eval: evaluations, solvedAt: solvedAt, finalEval: finalEval, config: c)
    }
}
