import Adders
import Environments
import Evaluation
import Logging
import Policy
import Randomness
import Transport

/// One turn of a worker's loop: it acted (or evaluated), it may wait, or it is done.
public enum WorkerTurn {
    case progressed
    /// Wait for a publication, or room to send (`sending`), at most `seconds`.
    case wait(seconds: Double, sending: Bool)
    case stopped(WorkerReport)
}

/// A worker's loop: turns until it stops, waiting on its transport between them as the core asks.
public protocol WorkerLoop: AnyObject {
    var transport: any WorkerTransport { get }
    func turn() throws -> WorkerTurn
}

extension WorkerLoop {
    /// Runs until the learner says to stop, `maxEnvSteps`, or a stop request; returns the report.
    public func run() throws -> WorkerReport {
        while true {
            switch try turn() {
            case .progressed: continue
            case let .wait(seconds, sending): _ = try transport.wait(seconds: seconds, sending: sending)
            case let .stopped(report): return report
            }
        }
    }
}

/// An actor's loop: steps `--envs-per-worker` copies of `Env` with one batched forward pass of the
/// newest policy (uniformly random actions before the first weights), explores with its own noise,
/// turns the steps into transitions through each environment's adder, and hands them to the
/// ``WorkerCore``, which decides when to send and when to wait.
public final class ActingLoop<Env: Environment>: WorkerLoop {
    public let core: WorkerCore
    public let transport: any WorkerTransport
    private var environments: [Env]
    private var observations: [Float]
    private var nextObservation: [Float]
    private var actions: [Float]
    private var returns: [Double]
    private var lengths: [Int]
    /// Actions and noise: the worker's own stream, independent of every other worker's and of the learner's.
    private var generator: Xoshiro256
    private var environmentGenerators: [Xoshiro256]
    private var noises: [ExplorationNoise]
    private let behaviour: BehaviourPolicy
    private var adders: [NStepAdder]

    public init(core: WorkerCore, transport: any WorkerTransport, logger: Logger = Logger(label: "ddpg.worker"),
                makeEnvironment: () -> Env = { Env() }) {
        self.core = core
        self.transport = transport
        let c = core.configuration, spec = core.spec
        let o = spec.observationSize, a = spec.actionSize, k = c.environments
        logger.info("worker \(c.workerId) of \(c.workerCount): \(k) × \(spec), \(c.noise.kind.rawValue) noise σ \(String(format: "%.4f", c.effectiveSigma)) for a deterministic actor (a stochastic one samples), learner \(c.transitionsEndpoint)")
        environments = (0..<k).map { _ in makeEnvironment() }
        observations = Array(repeating: 0, count: k * o)
        nextObservation = Array(repeating: 0, count: o)
        actions = Array(repeating: 0, count: k * a)
        returns = Array(repeating: 0, count: k)
        lengths = Array(repeating: 0, count: k)
        generator = Xoshiro256(seed: c.seed, stream: 1_000 + UInt64(c.workerId))
        environmentGenerators = (0..<k).map { Xoshiro256(seed: c.seed, stream: 10_000 + UInt64(c.workerId) * 4_096 + UInt64($0)) }
        var noise = c.noise
        noise.sigma = c.effectiveSigma
        noises = Array(repeating: ExplorationNoise(noise, actionSize: a), count: k)
        behaviour = BehaviourPolicy(actionLow: spec.actionLow, actionHigh: spec.actionHigh)
        adders = Array(repeating: NStepAdder(n: c.nStep, gamma: c.gamma, observationSize: o, actionSize: a), count: k)
        for i in 0..<k { reset(i) }
    }

    public func turn() throws -> WorkerTurn {
        switch try core.poll() {
        case let .stopped(reason): return .stopped(core.report(stopReason: reason))
        case let .wait(seconds, sending): return .wait(seconds: seconds, sending: sending)
        case .act:
            step()
            return .progressed
        }
    }

    /// One step of every environment: the newest policy on all of them at once, or uniform noise before any weights.
    private func step() {
        let o = core.spec.observationSize, a = core.spec.actionSize, k = environments.count
        if let actor = core.actor {
            behaviour.explore(actor, observations: observations, count: k, noises: &noises, into: &actions, using: &generator)
        } else {
            behaviour.randomActions(count: k, into: &actions, using: &generator)
        }
        for i in 0..<k {
            let result = actions.withUnsafeBufferPointer { environments[i].step($0.baseAddress! + i * a, observation: &nextObservation) }
            observations.withUnsafeBufferPointer { obs in actions.withUnsafeBufferPointer { act in
                adders[i].add(observation: obs.baseAddress! + i * o, action: act.baseAddress! + i * a, reward: result.reward,
                              nextObservation: nextObservation, terminated: result.terminated, truncated: result.truncated) { core.add($0) }
            } }
            returns[i] += result.reward
            lengths[i] += 1
            if result.isDone {
                core.episodeEnded(length: lengths[i], return: returns[i])
                returns[i] = 0
                lengths[i] = 0
                noises[i].reset()
                reset(i)
            } else {
                for j in 0..<o { observations[i * o + j] = nextObservation[j] }
            }
        }
        core.stepped(k)
    }

    private func reset(_ i: Int) {
        let o = core.spec.observationSize
        observations.withUnsafeMutableBufferPointer { environments[i].reset(using: &environmentGenerators[i], observation: $0.baseAddress! + i * o) }
    }
}

/// An evaluator's loop: whenever the newest weights carry a request it has not answered, plays
/// the requested deterministic episodes with them (no noise, fixed starts) and reports the returns.
public final class EvaluatingLoop<Env: Environment>: WorkerLoop {
    /// Evaluation episodes played between two status messages at most: the learner counts a silent evaluator as gone.
    static var episodesPerChunk: Int { 10 }

    public let core: WorkerCore
    public let transport: any WorkerTransport
    private let makeEnvironment: () -> Env
    private let logger: Logger

    public init(core: WorkerCore, transport: any WorkerTransport, logger: Logger = Logger(label: "ddpg.worker"),
                makeEnvironment: @escaping () -> Env = { Env() }) {
        self.core = core
        self.transport = transport
        self.makeEnvironment = makeEnvironment
        self.logger = logger
        logger.info("evaluator \(core.configuration.workerId): \(core.spec), learner \(core.configuration.transitionsEndpoint)")
    }

    public func turn() throws -> WorkerTurn {
        switch try core.poll() {
        case let .stopped(reason): return .stopped(core.report(stopReason: reason))
        case let .wait(seconds, sending): return .wait(seconds: seconds, sending: sending)
        case .act: break
        }
        guard let (request, publication, actor) = core.takeEvaluationRequest() else {
            core.statusIfDue()
            return .wait(seconds: 0.05, sending: false)
        }
        let started = core.elapsed
        let evaluator = Evaluator(seed: request.seed, makeEnvironment: makeEnvironment)
        var returns: [Double] = [], lengths: [Int] = []
        while returns.count < request.episodes {
            let chunk = evaluator.play(actor, episodes: min(Self.episodesPerChunk, request.episodes - returns.count), first: returns.count)
            returns += chunk.returns
            lengths += chunk.lengths
            // Without reading the learner: weights applied now would change the actor mid-evaluation.
            core.statusIfDue()
            try core.sendQueued()
        }
        core.evaluated(request, of: publication, returns: returns, lengths: lengths)
        let mean = returns.reduce(0, +) / Double(returns.count)
        logger.log(level: request.isFinal ? .info : .debug, """
            \(request.isFinal ? "final " : "")evaluation of weights v\(publication.version) (\(publication.envSteps) env steps): \
            \(String(format: "%.1f", mean)) over \(returns.count) episodes in \(String(format: "%.0f", (core.elapsed - started) * 1_000)) ms
            """)
        return .progressed
    }
}
