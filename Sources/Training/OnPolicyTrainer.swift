import Agents
import Environments
import Evaluation
import Foundation
import Logging
import NeuralNetwork
import Policy
import Randomness
import RunConfiguration
import RunRecords
import Specs
import Telemetry

/// Single-process on-policy training (A2C; `--algorithm a3c` runs the same synchronous update here, there
/// being no workers to compute gradients): `environments` copies of a native environment act
/// `rolloutSteps` steps each with the current policy, then the agent makes one update on all their segments.
///
/// Reproducible: the networks, the environments' starts and the policy's draws are separate streams of the seed.
public final class OnPolicyTrainer {
    enum Stream: UInt64 {
        case networkInit = 0, environment, sampling
    }

    public let configuration: TrainingConfiguration
    public let agent: any OnPolicyAgent
    private let logger: Logger
    private let environmentType: any Environment.Type
    private let events: TensorBoardWriter?

    public init(configuration: TrainingConfiguration, logger: Logger = Logger(label: "ddpg.train"), events: TensorBoardWriter? = nil) {
        self.configuration = configuration
        self.logger = logger
        self.events = events
        guard let type = NativeEnvironments.type(named: configuration.environment),
              let algorithm = Algorithms.named(configuration.agent.algorithm) as? any OnPolicyAlgorithm.Type else {
            preconditionFailure("\(configuration.environment) with \(configuration.agent.algorithm): validate the configuration first")
        }
        environmentType = type
        var initGenerator = Xoshiro256(seed: configuration.seed, stream: Stream.networkInit.rawValue)
        agent = algorithm.makeAgent(spec: type.init().spec, configuration: configuration.agent, using: &initGenerator)
    }

    public func run() -> RunSummary { run(environmentType) }

    private func run<Env: Environment>(_: Env.Type) -> RunSummary {
        BLAS.setThreadCount(configuration.blasThreads)
        let c = configuration, k = c.environments, steps = agent.settings.rolloutSteps
        let clock = ContinuousClock(), start = clock.now
        func elapsed() -> Double { (clock.now - start).seconds }

        var environments = (0..<k).map { _ in Env() }
        let o = environments[0].observationSize, a = environments[0].actionSize
        let evaluator = Evaluator(seed: c.evalSeed) { Env() }
        var environmentGenerator = Xoshiro256(seed: c.seed, stream: Stream.environment.rawValue)
        var samplingGenerator = Xoshiro256(seed: c.seed, stream: Stream.sampling.rawValue)
        var observations = [Float](repeating: 0, count: k * o)
        for i in 0..<k { environments[i].reset(using: &environmentGenerator, observation: &observations[i * o]) }
        var drawn = [Float](repeating: 0, count: k * a), stepped = [Float](repeating: 0, count: k * a)
        var logProbabilities = [Float](repeating: 0, count: k)
        var segments = (0..<k).map { _ in SegmentRecorder(observationSize: o, actionSize: a, steps: steps) }
        var rollout = Rollout(observationSize: o, actionSize: a, steps: steps)

        var log = EvaluationLog(configuration: c)
        var episodes = 0, envSteps = 0, nextEvaluation = c.evalEvery
        var returns = [Double](repeating: 0, count: k), recentReturns: [Double] = []
        var statistics = OnPolicyStatistics()
        logger.info("""
            training \(c.environment) seed \(c.seed) with \(c.agent.algorithm) for \(c.maxEnvSteps) env steps: \(k) environments × \
            \(steps) steps per update; policy \(c.agent.actorHiddenSizes) value \(c.agent.criticHiddenSizes), \(agent.settings.optimizer) \
            \(agent.settings.learningRate)
            """)
        training: while envSteps < c.maxEnvSteps {
            for t in 0..<steps {
                agent.actor.sample(observations: observations, count: k, actions: &drawn, logProbabilities: &logProbabilities,
                                   using: &samplingGenerator)
                // In place: assigning the array would share drawn's storage and copy it at the clip, every step.
                stepped.replaceSubrange(0..<(k * a), with: drawn)
                agent.actor.clipToBounds(&stepped, count: k)
                for i in 0..<k {
                    segments[i].record(step: t, observation: observations[(i * o)..<((i + 1) * o)], action: drawn[(i * a)..<((i + 1) * a)],
                                       logProbability: logProbabilities[i])
                    let result = stepped.withUnsafeBufferPointer { environments[i].step($0.baseAddress! + i * a, observation: &observations[i * o]) }
                    segments[i].record(step: t, reward: result.reward, terminated: result.terminated, truncated: result.truncated,
                                       finalObservation: observations[(i * o)..<((i + 1) * o)])
                    returns[i] += result.reward
                    if result.isDone {
                        events?.scalar("Reward", returns[i], step: envSteps + i + 1)
                        episodes += 1
                        recentReturns.append(returns[i])
                        if recentReturns.count > 10 { recentReturns.removeFirst() }
                        returns[i] = 0
                        environments[i].reset(using: &environmentGenerator, observation: &observations[i * o])
                    }
                }
                envSteps += k
            }
            for i in 0..<k { segments[i].append(to: &rollout, bootstrapObservation: observations[(i * o)..<((i + 1) * o)]) }
            agent.schedule(envSteps: envSteps, of: c.maxEnvSteps)
            statistics = agent.update(rollout)
            rollout.removeAll()
            if let events, agent.updateCount % 10 == 0 {
                events.scalar("loss/policy", Double(statistics.policyLoss), step: envSteps)
                events.scalar("loss/value", Double(statistics.valueLoss), step: envSteps)
                events.scalar("policy/entropy", Double(statistics.entropy), step: envSteps)
                events.scalar("value/explained_variance", Double(statistics.explainedVariance), step: envSteps)
            }

            if envSteps >= nextEvaluation || envSteps >= c.maxEnvSteps {
                while nextEvaluation <= envSteps { nextEvaluation += c.evalEvery }
                let result = evaluator.evaluate(agent.actor, episodes: c.evalEpisodes, envSteps: envSteps, wallSeconds: elapsed())
                let reachedUntilReturn = log.record(result)
                let recent = recentReturns.isEmpty ? Double.nan : recentReturns.reduce(0, +) / Double(recentReturns.count)
                logger.info("""
                    step \(envSteps) | eval \(format(result.meanReturn)) ± \(format(result.stdReturn)) | episode \(format(recent)) | \
                    policy loss \(format(Double(statistics.policyLoss))) | value loss \(format(Double(statistics.valueLoss))) | \
                    entropy \(format(Double(statistics.entropy))) | explained variance \(format(Double(statistics.explainedVariance))) | \
                    \(agent.updateCount) updates | \(format(elapsed())) s
                    """)
                events?.scalar("eval/mean_return", result.meanReturn, step: envSteps)
                if reachedUntilReturn, let target = c.untilReturn {
                    logger.info("evaluation \(format(result.meanReturn)) reached --until-return \(format(target)) at step \(envSteps): stopping")
                    break training
                }
            }
        }

        let wall = elapsed()
        events?.flush()
        return log.finish(evaluator, actor: agent.actor, envSteps: envSteps, updates: agent.updateCount, episodes: episodes,
                          wallSeconds: wall, logger: logger)
    }
}
