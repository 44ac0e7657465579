import Adders
import Agents
import Evaluation
import Environments
import Foundation
import Logging
import NeuralNetwork
import Policy
import ProcessSupport
import Randomness
import Replay
import RunConfiguration
import Clocks
import RunRecords
import Specs
import Telemetry

/// Single-process training: one environment, one replay buffer, one agent (any registered algorithm), no network.
///
/// Every source of randomness is a separate stream derived from the run's
/// seed, so the same seed and binary reproduce the same run step for step.
public final class Trainer {
    /// Independent random streams derived from the run seed.
    enum Stream: UInt64 {
        case networkInit = 0, environment, noise, replay, randomActions
    }

    public let configuration: TrainingConfiguration
    public let agent: any Agent
    public let replay: ReplayBuffer
    private let logger: Logger
    /// The native environment the configuration names; stepped through generics, not an existential.
    private let environmentType: any Environment.Type
    /// TensorBoard scalars, when `--logdir` is given.
    private let events: TensorBoardWriter?

    public init(configuration: TrainingConfiguration, logger: Logger = Logger(label: "ddpg.train"), events: TensorBoardWriter? = nil) {
        self.configuration = configuration
        self.logger = logger
        self.events = events
        guard let type = NativeEnvironments.type(named: configuration.environment) else {
            preconditionFailure("unknown environment \(configuration.environment): validate the configuration first")
        }
        environmentType = type
        let spec = type.init().spec
        var initGenerator = Xoshiro256(seed: configuration.seed, stream: Stream.networkInit.rawValue)
        agent = makeAgent(spec: spec, configuration: configuration.agent, using: &initGenerator)
        replay = ReplayBuffer(capacity: configuration.replayCapacity, observationSize: spec.observationSize, actionSize: spec.actionSize,
                              gamma: configuration.agent.discount, prioritization: configuration.prioritizedReplay)
    }

    public func run() -> RunSummary {
        run(environmentType)
    }

    private func run<Env: Environment>(_: Env.Type) -> RunSummary {
        BLAS.setThreadCount(configuration.blasThreads)
        let c = configuration
        let clock = ContinuousClock()
        let start = clock.now
        func elapsed() -> Double { (clock.now - start).seconds }

        var environment = Env()
        let spec = environment.spec
        let evaluator = Evaluator(seed: c.evalSeed) { Env() }
        var envGenerator = Xoshiro256(seed: c.seed, stream: Stream.environment.rawValue)
        var noiseGenerator = Xoshiro256(seed: c.seed, stream: Stream.noise.rawValue)
        var replayGenerator = Xoshiro256(seed: c.seed, stream: Stream.replay.rawValue)
        var actionGenerator = Xoshiro256(seed: c.seed, stream: Stream.randomActions.rawValue)
        let behaviour = BehaviourPolicy(actionLow: spec.actionLow, actionHigh: spec.actionHigh)
        var noises = [ExplorationNoise(c.noise, actionSize: environment.actionSize)]
        let batch = TransitionBatch(capacity: c.agent.batchSize, observationSize: environment.observationSize,
                                    actionSize: environment.actionSize)
        let o = environment.observationSize, a = environment.actionSize
        var observation = [Float](repeating: 0, count: o)
        var nextObservation = [Float](repeating: 0, count: o)
        var action = [Float](repeating: 0, count: a)
        var adder = NStepAdder(n: c.agent.nStep, gamma: c.agent.discount, observationSize: o, actionSize: a)
        environment.reset(using: &envGenerator, observation: &observation)

        var log = EvaluationLog(configuration: c)
        var episodes = 0, episodeReturn = 0.0
        var recentReturns: [Double] = []
        var lastStats = UpdateStatistics()
        var windowStart = (time: 0.0, steps: 0, updates: 0)

        var stepsTaken = c.maxEnvSteps
        logger.info("training \(c.environment) seed \(c.seed) for \(c.maxEnvSteps) env steps; actor \(c.agent.actorHiddenSizes) critic \(c.agent.criticHiddenSizes) batch \(c.agent.batchSize)")
        for step in 0..<c.maxEnvSteps {
            if step < c.randomSteps {
                behaviour.randomActions(count: 1, into: &action, using: &actionGenerator)
            } else {
                behaviour.explore(agent.actor, observations: observation, count: 1, noises: &noises, into: &action, using: &noiseGenerator)
            }
            let result = environment.step(action, observation: &nextObservation)
            adder.add(observation: observation, action: action, reward: result.reward, nextObservation: nextObservation,
                      terminated: result.terminated, truncated: result.truncated) { t in
                replay.add(observation: t.observation, action: t.action, reward: t.reward, nextObservation: t.nextObservation,
                           terminated: t.terminated, truncated: t.truncated, discount: t.discount)
                agent.observe(freshObservations: t.observation, count: 1, stride: replay.observationSize)
            }
            episodeReturn += result.reward
            if result.isDone {
                events?.scalar("Reward", episodeReturn, step: step + 1)
                episodes += 1
                recentReturns.append(episodeReturn)
                if recentReturns.count > 10 { recentReturns.removeFirst() }
                episodeReturn = 0
                noises[0].reset()
                environment.reset(using: &envGenerator, observation: &observation)
            } else {
                swap(&observation, &nextObservation)
            }

            if step + 1 >= c.learningStarts {
                let beta = c.prioritizedReplay?.beta(envSteps: step + 1, maxEnvSteps: c.maxEnvSteps) ?? 1
                for _ in 0..<c.updatesPerStep {
                    replay.sample(c.agent.batchSize, into: batch, beta: beta, using: &replayGenerator)
                    lastStats = agent.update(batch)
                    replay.updatePriorities(from: batch)
                }
                if let events, agent.updateCount % 10 == 0 {
                    events.scalar("Qmax", Double(lastStats.maxQ), step: step + 1)
                    events.scalar("loss/critic", Double(lastStats.criticLoss), step: step + 1)
                    events.scalar("loss/actor", Double(lastStats.actorLoss), step: step + 1)
                }
            }

            let envSteps = step + 1
            if envSteps % c.evalEvery == 0 || envSteps == c.maxEnvSteps {
                let result = evaluator.evaluate(agent.actor, episodes: c.evalEpisodes, envSteps: envSteps, wallSeconds: elapsed())
                let reachedUntilReturn = log.record(result)
                let now = elapsed()
                let window = max(now - windowStart.time, 1e-9)
                let recent = recentReturns.isEmpty ? Double.nan : recentReturns.reduce(0, +) / Double(recentReturns.count)
                logger.info("""
                    step \(envSteps) | eval \(format(result.meanReturn)) ± \(format(result.stdReturn)) | \
                    episode \(format(recent)) | Qmax \(format(Double(lastStats.maxQ))) | \
                    critic loss \(format(Double(lastStats.criticLoss))) | \
                    \(Int(Double(envSteps - windowStart.steps) / window)) steps/s | \
                    \(Int(Double(agent.updateCount - windowStart.updates) / window)) updates/s | \(format(now)) s
                    """)
                if let events {
                    events.scalar("eval/mean_return", result.meanReturn, step: envSteps)
                    events.scalar("throughput/env_steps_per_second", Double(envSteps - windowStart.steps) / window, step: envSteps)
                    events.scalar("throughput/updates_per_second", Double(agent.updateCount - windowStart.updates) / window, step: envSteps)
                }
                windowStart = (now, envSteps, agent.updateCount)
                if reachedUntilReturn, let target = c.untilReturn {
                    logger.info("evaluation \(format(result.meanReturn)) reached --until-return \(format(target)) at step \(envSteps): stopping")
                    stepsTaken = envSteps
                    break
                }
            }
        }

        let wall = elapsed()
        events?.flush()
        return log.finish(evaluator, actor: agent.actor, envSteps: stepsTaken, updates: agent.updateCount, episodes: episodes,
                          wallSeconds: wall, logger: logger)
    }
}

/// The process's peak resident set size so far, in MB.
func peakResidentMegabytes() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss / 1024  // kilobytes on Linux
}
