import DDPG
import Environments
import Foundation
import Logging
import NeuralNetwork
import ProcessSupport
import Randomness
import Telemetry
import Training
import WireProtocol
import ZeroMQ

/// `ddpg learner`: owns the replay buffer and the four networks, ingests
/// transitions from any number of workers, trains at a fixed samples-per-insert
/// ratio, publishes actor weights, evaluates, and writes `summary.json`.
///
/// One thread alternates between short ingest and training slices (a few
/// updates, well under a millisecond for the default networks). libzmq's I/O
/// thread keeps receiving into the socket's queue meanwhile, so ingest never
/// waits on training; the rate limiter alone decides when the learner stops
/// reading, and then the full queues push back on the workers.
public final class LearnerService {
    public let configuration: LearnerConfiguration
    private let logger: Logger
    private let context: ZMQContext
    private let transitionsSocket: ZMQSocket
    private let weightsSocket: ZMQSocket
    private let decoder: MessageDecoder
    private var encoder = MessageEncoder(capacity: 1 << 20)

    public let agent: DDPGAgent
    public let replay: ReplayBuffer
    private let batch: TransitionBatch
    private var limiter: RateLimiter
    private var ledger = IngestLedger()
    private let evaluator: Evaluator<Pendulum>
    private let actorShape: ActorShape
    private var replayGenerator: Xoshiro256

    private var weightsVersion: UInt64 = 0
    /// Identifies this learner's run of versions to the workers.
    private let learnerId = UInt64.random(in: 1...UInt64.max)
    private var updatesAtLastBroadcast = 0
    private var evaluations: [EvaluationResult] = []
    private var solvedAt: SolvedAt?
    private var nextEvaluationAt: Int
    private let clock = ContinuousClock()
    private let start: ContinuousClock.Instant
    private var lastLog: (time: Double, accepted: Int, updates: Int) = (0, 0, 0)
    /// Samples per insert measured when training stopped (the drain inserts without training).
    private var ratioAtStop = 0.0

    /// Binds both endpoints. Throws if an address is unusable or taken.
    /// TensorBoard scalars, when `--logdir` is given.
    private let events: TensorBoardWriter?

    public init(configuration: LearnerConfiguration, logger: Logger = Logger(label: "ddpg.learner"), events: TensorBoardWriter? = nil) throws {
        self.configuration = configuration
        self.logger = logger
        self.events = events
        let c = configuration.training, settings = configuration.learner
        BLAS.setThreadCount(c.blasThreads)
        let environment = Pendulum()
        decoder = MessageDecoder(expected: ExpectedShapes(
            environmentId: Pendulum.id, observationSize: environment.observationSize,
            actionSize: environment.actionSize, actionBound: environment.actionBound))
        var initGenerator = Xoshiro256(seed: c.seed, stream: 0)
        agent = DDPGAgent(observationSize: environment.observationSize, actionSize: environment.actionSize,
                          actionBound: environment.actionBound, configuration: c.agent, using: &initGenerator)
        replay = ReplayBuffer(capacity: c.replayCapacity, observationSize: environment.observationSize, actionSize: environment.actionSize)
        batch = TransitionBatch(capacity: c.agent.batchSize, observationSize: environment.observationSize, actionSize: environment.actionSize)
        limiter = RateLimiter(samplesPerInsert: settings.samplesPerInsert, minSizeToSample: c.learningStarts,
                              errorBuffer: settings.samplesPerInsert * Double(settings.rateTolerance))
        evaluator = Evaluator(seed: c.evalSeed) { Pendulum() }
        actorShape = ActorShape(layerSizes: [environment.observationSize] + c.agent.actorHiddenSizes + [environment.actionSize],
                                actionBound: environment.actionBound)
        replayGenerator = Xoshiro256(seed: c.seed, stream: 3)
        nextEvaluationAt = c.evalEvery

        context = try ZMQContext()
        transitionsSocket = try ZMQSocket(context, type: .pull)
        // Small queues keep backpressure tight, so workers do not run far ahead of the learner's weights.
        try transitionsSocket.setReceiveHighWaterMark(2)
        try transitionsSocket.setKernelBuffers(send: 2 << 10, receive: 2 << 10)
        try transitionsSocket.setMaximumMessageSize(Int64(settings.maxMessageBytes))
        try transitionsSocket.setLinger(milliseconds: 0)
        try transitionsSocket.bind(settings.transitionsEndpoint)
        weightsSocket = try ZMQSocket(context, type: .pub)
        try weightsSocket.setSendHighWaterMark(4)
        try weightsSocket.setLinger(milliseconds: 500)
        try weightsSocket.bind(settings.weightsEndpoint)
        start = clock.now
        logger.info("learner listening: transitions \(transitionsSocket.lastEndpoint), weights \(weightsSocket.lastEndpoint)")
    }

    /// The endpoints actually bound (useful after binding port 0).
    public var boundEndpoints: (transitions: String, weights: String) { (transitionsSocket.lastEndpoint, weightsSocket.lastEndpoint) }

    private var elapsed: Double {
        (clock.now - start).seconds
    }

    /// Runs until `maxEnvSteps` transitions were accepted, an evaluation reaches
    /// `untilReturn`, or SIGINT/SIGTERM; then drains the workers and returns the summary.
    public func run() throws -> LearnerSummary {
        let c = configuration.training
        var stopReason: String?
        while stopReason == nil {
            if ShutdownSignal.isRequested {
                stopReason = "signal"
                break
            }
            var progressed = try ingestSlice()
            progressed = trainSlice() || progressed
            if ledger.transitionsAccepted >= nextEvaluationAt {
                evaluate()
                if let target = configuration.learner.untilReturn, let last = evaluations.last, last.meanReturn >= target {
                    stopReason = "until_return"
                }
            }
            if ledger.transitionsAccepted >= c.maxEnvSteps { stopReason = stopReason ?? "max_env_steps" }
            logProgressIfDue()
            if !progressed, stopReason == nil {
                _ = try transitionsSocket.waitForInput(timeoutMilliseconds: 20)
            }
        }
        let reason = stopReason ?? "signal"
        ratioAtStop = limiter.observedRatio
        logger.info("stopping (\(reason)) after \(ledger.transitionsAccepted) transitions and \(agent.updateCount) updates")
        try drain()
        return makeSummary(stopReason: reason)
    }

    // MARK: Ingest

    /// Reads queued messages while the rate limiter admits inserts. Returns whether anything arrived.
    private func ingestSlice(maxMessages: Int = 64) throws -> Bool {
        var handled = 0
        while handled < maxMessages, limiter.canInsert, let message = try transitionsSocket.receive(blocking: false) {
            handle(message)
            handled += 1
        }
        return handled > 0
    }

    private func handle(_ message: ZMQMessage) {
        let now = elapsed
        message.withUnsafeBytes { bytes in
            do throws(ProtocolError) {
                switch try decoder.decode(bytes) {
                case let .transitions(view):
                    insert(view)
                    ledger.transitions(view.header, currentVersion: weightsVersion, now: now)
                case let .hello(hello):
                    ledger.hello(hello, now: now)
                    logger.info("worker \(hello.workerId) joined: \(hello.environmentCount) environments, seed \(hello.seed)")
                case let .episode(report):
                    ledger.episode(report, now: now)
                    events?.scalar("Reward", report.episodeReturn, step: ledger.transitionsAccepted)
                case let .workerStatus(status):
                    ledger.status(status, now: now)
                    if status.isFinal { logger.info("worker \(status.workerId) finished after sending \(status.transitionsSent) transitions") }
                case .weights, .shutdown:
                    throw ProtocolError.unexpectedKind(bytes.count > 6 ? bytes[6] : 0)
                }
            } catch {
                ledger.reject(error, claimedTransitions: MessageDecoder.claimedTransitionCount(bytes))
                if ledger.totalMessagesRejected <= 10 || ledger.totalMessagesRejected.isMultiple(of: 1_000) {
                    logger.warning("rejected message (\(error.reason)): \(error); \(ledger.totalMessagesRejected) rejected so far")
                }
            }
        }
    }

    private func insert(_ view: TransitionsView) {
        let n = view.header.count
        replay.append(count: n, observations: view.observations, actions: view.actions, rewards: view.rewards,
                      nextObservations: view.nextObservations, terminated: view.terminated, truncated: view.truncated)
        limiter.inserted(n)
    }

    // MARK: Training

    /// A few updates while the rate limiter allows them. Returns whether any ran.
    private func trainSlice(maxUpdates: Int = 8) -> Bool {
        let batchSize = configuration.training.agent.batchSize
        var updates = 0
        while updates < maxUpdates, limiter.canSample(batchSize) {
            replay.sample(batchSize, into: batch, using: &replayGenerator)
            let stats = agent.update(batch)
            if let events, agent.updateCount % 10 == 0 {
                events.scalar("Qmax", Double(stats.maxQ), step: ledger.transitionsAccepted)
                events.scalar("loss/critic", Double(stats.criticLoss), step: ledger.transitionsAccepted)
                events.scalar("loss/actor", Double(stats.actorLoss), step: ledger.transitionsAccepted)
            }
            limiter.sampled(batchSize)
            updates += 1
            if agent.updateCount - updatesAtLastBroadcast >= configuration.learner.broadcastEvery || weightsVersion == 0 {
                broadcastWeights()
            }
        }
        return updates > 0
    }

    /// Publishes the actor with the next version, in one frame (so subscribers can conflate).
    private func broadcastWeights() {
        weightsVersion += 1
        updatesAtLastBroadcast = agent.updateCount
        let parameters = agent.actor.network.parameters
        let bytes = encoder.encodeWeights(
            version: weightsVersion, learnerId: learnerId, publishedAtNanoseconds: WallClock.nanoseconds(), shape: actorShape,
            parameters: UnsafeBufferPointer(start: parameters.values, count: parameters.count))
        do {
            try bytes.withUnsafeBytes { _ = try weightsSocket.send($0, blocking: false) }
        } catch {
            logger.error("publishing weights failed: \(error)")
        }
    }

    private func evaluate() {
        let c = configuration.training
        let result = evaluator.evaluate(agent.actor, episodes: c.evalEpisodes, envSteps: ledger.transitionsAccepted, wallSeconds: elapsed)
        evaluations.append(result)
        if solvedAt == nil, result.meanReturn >= c.solvedReturn {
            solvedAt = SolvedAt(envSteps: result.envSteps, wallSeconds: result.wallSeconds)
        }
        while nextEvaluationAt <= ledger.transitionsAccepted { nextEvaluationAt += c.evalEvery }
        events?.scalar("eval/mean_return", result.meanReturn, step: result.envSteps)
        logProgress(evaluation: result)
    }

    private func logProgressIfDue() {
        if elapsed - lastLog.time >= 10 { logProgress(evaluation: nil) }
    }

    private func logProgress(evaluation: EvaluationResult?) {
        let now = elapsed
        let window = max(now - lastLog.time, 1e-9)
        let inRate = Double(ledger.transitionsAccepted - lastLog.accepted) / window
        let updateRate = Double(agent.updateCount - lastLog.updates) / window
        let lag = ledger.policyLag
        let eval = evaluation.map { "eval \(format($0.meanReturn)) ± \(format($0.stdReturn)) | " } ?? ""
        logger.info("""
            step \(ledger.transitionsAccepted) | \(eval)episode \(format(ledger.recentEpisodeReturn() ?? .nan)) | \
            \(Int(inRate)) transitions/s | \(Int(updateRate)) updates/s | replay \(replay.count) | \
            workers \(ledger.activeWorkers(now: now, window: 10).count) | weights v\(weightsVersion) | \
            lag \(lag.count > 0 ? "\(lag.min)/\(format(lag.mean))/\(lag.max)" : "n/a") | \
            rejected \(ledger.totalMessagesRejected) | \(format(now)) s
            """)
        if let events {
            let step = ledger.transitionsAccepted
            events.scalar("throughput/transitions_per_second", inRate, step: step)
            events.scalar("throughput/updates_per_second", updateRate, step: step)
            if lag.count > 0 { events.scalar("policy_lag/mean", lag.mean, step: step) }
            events.flush()
        }
        lastLog = (now, ledger.transitionsAccepted, agent.updateCount)
    }

    // MARK: Shutdown

    /// Tells the workers to stop, then keeps reading (without rate limiting or
    /// training) until every active worker has sent its final status, or the
    /// drain period ends, so that what they sent is accounted for.
    private func drain() throws {
        var deadline = elapsed + configuration.learner.drainSeconds
        var lastShutdownNotice = -1.0
        while elapsed < deadline {
            if elapsed - lastShutdownNotice >= 0.25 {
                // Repeated: a subscriber that is reconnecting would miss a single notice.
                let bytes = encoder.encodeShutdown()
                _ = try? bytes.withUnsafeBytes { try weightsSocket.send($0, blocking: false) }
                lastShutdownNotice = elapsed
            }
            var drained = 0
            while let message = try transitionsSocket.receive(blocking: false) {
                handle(message)
                drained += 1
            }
            if drained > 0 { deadline = max(deadline, elapsed + 0.5) }
            if ledger.activeWorkers(now: elapsed, window: 3).isEmpty { break }
            _ = try transitionsSocket.waitForInput(timeoutMilliseconds: 20)
        }
        let unfinished = ledger.activeWorkers(now: elapsed, window: 3)
        if !unfinished.isEmpty { logger.warning("workers \(unfinished) did not finish within the drain period") }
    }

    private func makeSummary(stopReason: String) -> LearnerSummary {
        let c = configuration.training
        let wall = elapsed
        let finalEval = evaluator.evaluate(agent.actor, episodes: c.finalEvalEpisodes, envSteps: ledger.transitionsAccepted, wallSeconds: wall)
        logger.info("\(finalEvaluationLine(finalEval, solvedAt: solvedAt))")
        let run = RunSummary(envSteps: ledger.transitionsAccepted, updates: agent.updateCount, episodes: ledger.workers.values.reduce(0) { $0 + $1.episodes },
                             wallSeconds: wall, eval: evaluations, solvedAt: solvedAt, finalEval: finalEval, config: c)
        let workers = ledger.workers.values.sorted { $0.workerId < $1.workerId }
        return LearnerSummary(
            run: run, learnerConfig: configuration.learner,
            transitionsSent: Dictionary(uniqueKeysWithValues: workers.map { ("\($0.workerId)", $0.transitionsSent) }),
            transitionsReceived: ledger.transitionsReceived, transitionsAccepted: ledger.transitionsAccepted,
            transitionsRejected: ledger.transitionsRejected, messagesRejected: ledger.messagesRejected,
            weightsVersion: weightsVersion, policyLag: ledger.policyLag.summary, randomTransitions: ledger.randomTransitions,
            replaySize: replay.count, samplesPerInsert: ratioAtStop, stopReason: stopReason, workers: workers)
    }
}
