import Agents
import Checkpoint
import Clocks
import Foundation
import Ingest
import Logging
import Randomness
import RunConfiguration
import RunRecords
import Settings
import Specs
import Transport
import WireProtocol

/// `start` was asked to stop before any worker said hello: there is no run to summarise.
public struct LearnerStopped: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "stopped before any worker said hello; nothing was trained" }
}

/// Why the learner was asked to stop from outside.
public enum StopRequest: String, Sendable {
    /// SIGINT or SIGTERM: the run ends as usual, with its final evaluation and drain.
    case signal
    /// The launcher that started this learner is gone: its evaluator and workers are stopping with
    /// it, and nobody would wait for a final evaluation.
    case launcherExited = "launcher_exited"
}

/// Makes the learner loop (the data store, its agent and when it trains) for an environment.
public typealias TrainingLoopFactory = (EnvironmentSpec, LearnerConfiguration) throws -> any TrainingLoop

/// The learner's decisions, without a socket or a clock of its own: what to accept, when to train,
/// publish, announce, evaluate, checkpoint, roll back and stop. ``LearnerService`` (the Learner
/// module) drives it over ZeroMQ; tests drive it over an `InMemoryNetwork` with a `ManualClock`.
///
/// It works in turns: each ``turn()`` does a bounded amount of work and says whether it made
/// progress, may sleep until a message arrives (at most how long), or is done. ``run()`` is that
/// loop with the transport's wait in between.
///
/// Until it knows its environment (from `--env`, a checkpoint, or the first worker's hello) it only
/// announces itself and waits for a hello; then a ``LearnerRun`` holds everything that depends on it.
public final class LearnerCore {
    public enum Turn: Sendable {
        case progressed
        /// Nothing to do for now: wait for a message, at most this long.
        case idle(seconds: Double)
        case finished(LearnerSummary)
    }

    let context: LearnerContext
    private let configuration: LearnerConfiguration
    private let environment: LearnerEnvironment
    private let checkpointWriter: CheckpointWriter?
    private let makeLoop: TrainingLoopFactory
    private var discovery: SpecDiscovery
    /// Everything that depends on the environment, once it is known.
    private(set) var learning: LearnerRun?
    /// A `--resume` waiting for the environment to be known.
    private var pendingResume: CheckpointStore?
    private var nextAnnounceAt = 0.0
    private var announceEncoder = MessageEncoder(capacity: 4_096)
    private var rejections = RejectionLog()
    /// When to say again that the learner is still waiting for its environment.
    private var nextWaitingNotice = 30.0

    /// A learner over `transport`. With a spec in `environment` it is ready to learn at once;
    /// without, it learns the spec from the first hello. Throws if the replay cannot fit the spec.
    public init(configuration: LearnerConfiguration, environment: LearnerEnvironment, transport: any LearnerTransport,
                clock: any RunClock, learnerId: UInt64 = UInt64.random(in: 1...UInt64.max), logger: Logger = Logger(label: "ddpg.learner"),
                monitoring: LearnerMonitoring = LearnerMonitoring(), checkpoints: CheckpointWriter? = nil, evaluators: EvaluatorAuthorization = .none,
                stopRequested: @escaping () -> StopRequest? = { nil }, makeLoop: @escaping TrainingLoopFactory = LearnerCore.replayLoop) throws {
        context = LearnerContext(transport: transport, clock: clock, logger: logger, monitoring: monitoring, learnerId: learnerId,
                                 evaluators: evaluators, stopRequested: stopRequested)
        if evaluators.admitsNobody {
            logger.notice("no evaluator key (--evaluator-keys) or token (--evaluator-token): no evaluator may join, and this run has no evaluations")
        }
        self.configuration = configuration
        self.environment = environment
        checkpointWriter = checkpoints
        self.makeLoop = makeLoop
        let training = configuration.training
        discovery = SpecDiscovery(expectedId: environment.id, limits: configuration.learner.specLimits) { spec in
            do throws(ConfigurationError) {
                try training.checkReplayFits(spec)
                return nil
            } catch {
                return error.description
            }
        }
        if let spec = environment.spec {
            learning = try startLearning(spec)
        } else if let id = environment.id {
            logger.notice("""
                --env \(id) is not an environment this learner can describe itself: waiting for a worker's hello that announces it \
                (within --max-observation-dims \(configuration.learner.specLimits.maxObservationDims), --max-action-dims \
                \(configuration.learner.specLimits.maxActionDims); --spec-file pins a spec instead)
                """)
        } else {
            logger.notice("""
                no --env and no --spec-file: the first worker's hello within the limits decides the environment \
                (--max-observation-dims \(configuration.learner.specLimits.maxObservationDims), --max-action-dims \
                \(configuration.learner.specLimits.maxActionDims), --max-episode-steps \(configuration.learner.specLimits.maxEpisodeSteps), \
                rewards within ±\(configuration.learner.specLimits.maxRewardMagnitude))
                """)
        }
    }

    /// The learner loop of ``AgentConfiguration/algorithm``: replay and a rate limiter for an off-policy
    /// algorithm, rounds of the current policy's segments for A2C, workers' gradients applied on arrival for A3C.
    public static func replayLoop(spec: EnvironmentSpec, configuration c: LearnerConfiguration) throws -> any TrainingLoop {
        var generator = Xoshiro256(seed: c.training.seed, stream: 0)
        if let algorithm = Algorithms.named(c.training.agent.algorithm) as? any OnPolicyAlgorithm.Type {
            let agent = algorithm.makeAgent(spec: spec, configuration: c.training.agent, using: &generator)
            if algorithm.isAsynchronous {
                let parameters = agent.actor.network.parameterCount + agent.critic.parameterCount
                guard parameters <= WireFormat.maxGradientParameters else {
                    throw ConfigurationError(field: "actorHiddenSizes", message: """
                        a3c's gradients travel in one message of at most \(WireFormat.maxGradientParameters) parameters, and these networks \
                        have \(parameters) for \(spec.id): make --actor-hidden or --critic-hidden smaller
                        """)
                }
                return AsynchronousGradientLoop(agent: agent, maxEnvSteps: c.training.maxEnvSteps)
            }
            return SynchronousRolloutLoop(agent: agent, spec: spec, waitSeconds: c.learner.segmentWaitSeconds, maxEnvSteps: c.training.maxEnvSteps)
        }
        let agent = makeAgent(spec: spec, configuration: c.training.agent, using: &generator)
        return ReplayLoop(agent: agent, spec: spec, configuration: c.training, settings: c.learner)
    }

    /// The environment, once known.
    public var spec: EnvironmentSpec? { learning?.spec }

    /// Continues the run in `store` from its newest valid checkpoint: now if the environment is
    /// known (returning the file), else as soon as the first hello tells it (returning nil; a
    /// failure then ends ``run()`` with a ``ResumeError``).
    @discardableResult
    public func resume(from store: CheckpointStore) throws -> URL? {
        guard let learning else {
            pendingResume = store
            return nil
        }
        return try learning.resume(from: store)
    }

    /// Runs turns until the run ends; between them, waits for messages as the turn allows.
    public func run() throws -> LearnerSummary {
        var readiness = Readiness.nothing
        while true {
            switch try turn(after: readiness) {
            case .progressed: readiness = .nothing
            case let .idle(seconds): readiness = try context.transport.wait(seconds: seconds)
            case let .finished(summary): return summary
            }
        }
    }

    /// One turn. `readiness` is what the last wait found (a subscription is answered at once).
    public func turn(after readiness: Readiness = .nothing) throws -> Turn {
        if let learning { return try learning.turn(subscriptionWaiting: readiness.other) }
        return try discoveryTurn()
    }

    // MARK: Before the spec is known

    /// Announces itself (workers greet a learner they heard), and reads one message: a hello it can
    /// learn from starts the run and is then handled as any hello is; anything else is counted.
    private func discoveryTurn() throws -> Turn {
        if context.stopRequested() != nil { throw LearnerStopped() }
        let now = context.clock.now
        if context.serviceSubscriptions(now: now, rejections: &rejections) { nextAnnounceAt = now }
        if now >= nextAnnounceAt {
            let announce = Announce(learnerId: context.learnerId, weightsVersion: 0, credit: FlowControl.fillCredit)
            try? context.transport.publish(announceEncoder.encode(announce))
            nextAnnounceAt = now + FlowControl.announceSeconds
        }
        if now >= nextWaitingNotice { noteStillWaiting(now: now) }
        guard let message = try context.transport.receive() else { return .idle(seconds: 0.02) }
        let outcome = message.withUnsafeBytes { discovery.examine($0) }
        switch outcome {
        case let .success((hello, spec)):
            context.logger.notice("learned the environment from worker \(hello.workerId)'s hello after \(format(now)) s: \(spec)")
            let learning = try startLearning(spec)
            for rejected in discovery.rejected.values {
                learning.ingest.ledger.reject(rejected.example, messages: rejected.messages, transitions: rejected.transitions)
            }
            self.learning = learning
            if let store = pendingResume {
                pendingResume = nil
                _ = try learning.resume(from: store)
            }
            learning.handle(message)
        case let .failure(error):
            let claimed = message.withUnsafeBytes { MessageDecoder.claimedTransitionCount($0) }
            context.metrics.messageRejected(reason: error.reason)
            context.metrics.transitionsRejected.increment(by: claimed ?? 0)
            if discovery.shouldLog() { context.logger.warning("rejected a message before any hello (\(error.reason)): \(error)") }
        }
        return .progressed
    }

    /// Every 30 s without a spec, says so, with the environments that did say hello: a typo in `--env` shows there.
    private func noteStillWaiting(now: Double) {
        nextWaitingNotice = now + 30
        let others = discovery.otherIds.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }
        let rejected = discovery.rejected.map { "\($0.key) ×\($0.value.messages)" }.sorted()
        context.logger.warning("""
            still waiting after \(Int(now)) s for a hello\(environment.id.map { " of \($0)" } ?? "") to learn the environment from\
            \(others.isEmpty ? "" : "; hellos of other environments: \(others.joined(separator: ", "))")\
            \(rejected.isEmpty ? "" : "; rejected so far: \(rejected.joined(separator: ", "))")
            """)
    }

    private func startLearning(_ spec: EnvironmentSpec) throws -> LearnerRun {
        var c = configuration
        c.training.environment = spec.id
        c.training.solvedReturn = environment.solvedReturn(spec.id)
        try c.training.checkReplayFits(spec)
        return LearnerRun(context: context, configuration: c, spec: spec, loop: try makeLoop(spec, c), checkpoints: checkpointWriter)
    }
}

/// What the learner's parts share: its transport, clock, log and monitoring, and who it is.
struct LearnerContext {
    let transport: any LearnerTransport
    let clock: any RunClock
    let logger: Logger
    let monitoring: LearnerMonitoring
    /// Identifies this learner's run of versions to the workers.
    let learnerId: UInt64
    /// Who may evaluate (kept out of the configuration, which summary.json records).
    let evaluators: EvaluatorAuthorization
    let stopRequested: () -> StopRequest?

    var metrics: LearnerMetrics { monitoring.metrics }

    /// Reads the subscriptions waiting on the publishing side; returns whether a worker subscribed.
    /// A worker subscribes to everything; anything else is not a worker, and every connection from
    /// its address is cut off, which also frees what the transport kept of it.
    func serviceSubscriptions(now: Double, rejections: inout RejectionLog) -> Bool {
        var joined = false
        while let event = transport.receiveSubscriptionEvent() {
            switch event {
            case .subscribe:
                transport.acceptSubscription()
                joined = true
            case .unsubscribe:
                break  // the transport forgets the peer when it leaves
            case let .other(address, byteCount):
                let cut = transport.disconnect(address: address)
                guard cut > 0 else { continue }  // already cut off; its last frames are still being read
                metrics.connectionRejected(reason: "bad_subscription", count: cut)
                if rejections.shouldLog(now: now, reason: "bad_subscription") {
                    logger.warning("a peer at \(address) sent \(byteCount) bytes on the weights socket that are not a subscription to everything; cut off \(cut) connections from it")
                }
            }
        }
        return joined
    }
}
