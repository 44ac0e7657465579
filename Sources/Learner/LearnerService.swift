import DDPG
import Checkpoint
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
    let logger: Logger
    private let context: ZMQContext
    private let transitionsSocket: ZMQSocket
    private let weightsSocket: ZMQSocket
    /// Checks CURVE client keys when the learner runs with `--curve-secret-key`.
    private let authenticator: ZAPAuthenticator?
    private let decoder: MessageDecoder
    private var encoder = MessageEncoder(capacity: 1 << 20)

    public let agent: DDPGAgent
    public let replay: ReplayBuffer
    private let batch: TransitionBatch
    var limiter: RateLimiter
    var ledger = IngestLedger()
    private let evaluator: Evaluator<Pendulum>
    private let actorShape: ActorShape
    var replayGenerator: Xoshiro256

    var weightsVersion: UInt64 = 0
    /// Identifies this learner's run of versions to the workers.
    let learnerId = UInt64.random(in: 1...UInt64.max)
    var updatesAtLastBroadcast = 0
    var evaluations: [EvaluationResult] = []
    var solvedAt: SolvedAt?
    var nextEvaluationAt: Int
    private let clock = ContinuousClock()
    private let start: ContinuousClock.Instant
    let monitoring: LearnerMonitoring
    var metrics: LearnerMetrics { monitoring.metrics }
    var events: TensorBoardWriter? { monitoring.events }
    var phase = "warming_up"
    var nextStatusAt = 0.0
    var acceptedRate = RateWindow()
    var updateRate = RateWindow()
    var workerRates: [UInt32: RateWindow] = [:]
    var recentLag = RecentLag()
    /// Updates already added to `ddpg_updates_total` (advanced once a second, not on the hot path).
    var updatesReported = 0
    /// Samples per insert measured when training stopped (the drain inserts without training).
    var ratioAtStop = 0.0

    /// Binds both endpoints. Throws if an address is unusable or taken.
    /// `checkpoints`, when given, receives a checkpoint on the configured schedule and a last one when the run stops.
    public init(configuration: LearnerConfiguration, logger: Logger = Logger(label: "ddpg.learner"),
                monitoring: LearnerMonitoring = LearnerMonitoring(), checkpoints: CheckpointWriter? = nil,
                security: LearnerSecurity? = nil) throws {
        self.configuration = configuration
        self.logger = logger
        self.monitoring = monitoring
        self.checkpointWriter = checkpoints
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

        let context = try ZMQContext()
        self.context = context
        let metrics = monitoring.metrics
        authenticator = try security.map { security in
            // Refused peers retry every few hundred milliseconds: every refusal is counted, but only some are logged.
            let refusals = RefusalLog(logger: logger)
            return try ZAPAuthenticator(context: context, allowedKeys: security.authorizedKeys) { [logger] event in
                switch event {
                case let .accepted(key, address):
                    metrics.connectionsAuthorized.increment()
                    logger.debug("authorized worker key \(key) from \(address)")
                case let .refused(key, address):
                    metrics.connectionRejected(reason: "unauthorized_key")
                    refusals.log("refused a connection from \(address): worker key \(key) is not in --authorized-keys", key: key)
                case let .handshakeFailed(endpoint, reason):
                    metrics.connectionRejected(reason: "handshake_failed")
                    refusals.log("refused a connection on \(endpoint): \(reason)", key: reason)
                case let .closedDuringHandshake(endpoint):
                    logger.debug("a peer closed its connection on \(endpoint) before the CURVE handshake")
                }
            }
        }
        transitionsSocket = try ZMQSocket(context, type: .pull)
        // Small queues keep backpressure tight, so workers do not run far ahead of the learner's weights.
        try transitionsSocket.setReceiveHighWaterMark(2)
        try transitionsSocket.setKernelBuffers(send: 2 << 10, receive: 2 << 10)
        try transitionsSocket.setMaximumMessageSize(Int64(settings.maxMessageBytes))
        try transitionsSocket.setLinger(milliseconds: 0)
        weightsSocket = try ZMQSocket(context, type: .pub)
        try weightsSocket.setSendHighWaterMark(4)
        try weightsSocket.setLinger(milliseconds: 500)
        if let security, let authenticator {
            // Both directions: only listed workers may feed replay, and only they can read (decrypt) the weights.
            for (socket, name) in [(transitionsSocket, "transitions"), (weightsSocket, "weights")] {
                try socket.makeCurveServer(secretKey: security.secretKey, domain: "ddpg")
                try authenticator.watch(socket, name: name)
            }
            authenticator.start()
        }
        try transitionsSocket.bind(settings.transitionsEndpoint)
        try weightsSocket.bind(settings.weightsEndpoint)
        start = clock.now
        scheduleNextCheckpoint()
        metrics.replayCapacity.record(c.replayCapacity)
        metrics.envStepsTarget.record(c.maxEnvSteps)
        logger.info("learner listening: transitions \(transitionsSocket.lastEndpoint), weights \(weightsSocket.lastEndpoint)")
    }

    /// The endpoints actually bound (useful after binding port 0).
    public var boundEndpoints: (transitions: String, weights: String) { (transitionsSocket.lastEndpoint, weightsSocket.lastEndpoint) }

    var elapsed: Double {
        (clock.now - start).seconds
    }

    /// Where a resumed run started: env steps, episodes and training seconds of the runs before it.
    var resumedFrom = (envSteps: 0, episodes: 0, wallSeconds: 0.0)
    /// Env steps of the whole run, across resumes (this process accepted `ledger.transitionsAccepted` of them).
    var envSteps: Int { resumedFrom.envSteps + ledger.transitionsAccepted }
    var episodes: Int { resumedFrom.episodes + ledger.workers.values.reduce(0) { $0 + $1.episodes } }
    /// Seconds of training across resumes: the wall-clock axis of evaluations and solved_at.
    var trainingSeconds: Double { resumedFrom.wallSeconds + elapsed }

    // Checkpoints (LearnerService+Checkpoints.swift).
    let checkpointWriter: CheckpointWriter?
    var resumedFile: URL?
    var checkpointsWritten = 0
    var nextCheckpoint: (seconds: Double, updates: Int) = (.infinity, .max)

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
            if envSteps >= nextEvaluationAt {
                evaluate()
                if let target = configuration.learner.untilReturn, let last = evaluations.last, last.meanReturn >= target {
                    stopReason = "until_return"
                }
            }
            if envSteps >= c.maxEnvSteps { stopReason = stopReason ?? "max_env_steps" }
            reportStatusIfDue()
            checkpointIfDue()
            if !progressed, stopReason == nil {
                _ = try transitionsSocket.waitForInput(timeoutMilliseconds: 20)
            }
        }
        let reason = stopReason ?? "signal"
        ratioAtStop = limiter.observedRatio
        phase = "draining"
        logger.info("stopping (\(reason)) at \(envSteps) env steps (\(ledger.transitionsAccepted) transitions in this run) and \(agent.updateCount) updates")
        try drain()
        writeCheckpoint(reason: "final")
        checkpointWriter?.wait()
        authenticator?.stop()
        let summary = makeSummary(stopReason: reason)
        reportStatus()
        return summary
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
                    let lag = ledger.transitions(view.header, currentVersion: weightsVersion, now: now)
                    recordTransitionMetrics(view.header, lag: lag)
                case let .hello(hello):
                    ledger.hello(hello, now: now)
                    metrics.messageReceived(kind: "hello")
                    logger.info("worker \(hello.workerId) joined: \(hello.environmentCount) environments, seed \(hello.seed)")
                case let .episode(report):
                    ledger.episode(report, now: now)
                    metrics.messageReceived(kind: "episode")
                    metrics.episodes.increment()
                    metrics.episodeReturn.record(report.episodeReturn)
                    events?.scalar("Reward", report.episodeReturn, step: envSteps)
                case let .workerStatus(status):
                    ledger.status(status, now: now)
                    metrics.messageReceived(kind: "worker_status")
                    if status.isFinal { logger.info("worker \(status.workerId) finished after sending \(status.transitionsSent) transitions") }
                case .weights, .shutdown:
                    throw ProtocolError.unexpectedKind(bytes.count > 6 ? bytes[6] : 0)
                }
            } catch {
                let claimed = MessageDecoder.claimedTransitionCount(bytes)
                ledger.reject(error, claimedTransitions: claimed)
                metrics.messageRejected(reason: error.reason)
                metrics.transitionsRejected.increment(by: claimed ?? 0)
                if ledger.totalMessagesRejected <= 10 || ledger.totalMessagesRejected.isMultiple(of: 1_000) {
                    logger.warning("rejected message (\(error.reason)): \(error); \(ledger.totalMessagesRejected) rejected so far")
                }
            }
        }
    }

    private func recordTransitionMetrics(_ header: TransitionsHeader, lag: Int64?) {
        metrics.messageReceived(kind: "transitions")
        metrics.transitionsReceived.increment(by: header.count)
        metrics.workerTransitionsReceived(header.workerId, count: header.count)
        if let lag {
            metrics.policyLag.record(lag)
            recentLag.record(lag, weight: header.count)
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
            let started = clock.now
            let stats = agent.update(batch)
            metrics.updateDuration.recordNanoseconds((clock.now - started).wholeNanoseconds)
            if let events, agent.updateCount % 10 == 0 {
                events.scalar("Qmax", Double(stats.maxQ), step: envSteps)
                events.scalar("loss/critic", Double(stats.criticLoss), step: envSteps)
                events.scalar("loss/actor", Double(stats.actorLoss), step: envSteps)
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
        metrics.weightsPublished.increment()
        metrics.weightsVersion.record(Int64(weightsVersion))
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
        let started = clock.now
        let result = evaluator.evaluate(agent.actor, episodes: c.evalEpisodes, envSteps: envSteps, wallSeconds: trainingSeconds)
        metrics.evaluationDuration.recordNanoseconds((clock.now - started).wholeNanoseconds)
        metrics.evaluations.increment()
        metrics.evalReturn.record(result.meanReturn)
        evaluations.append(result)
        while nextEvaluationAt <= envSteps { nextEvaluationAt += c.evalEvery }
        events?.scalar("eval/mean_return", result.meanReturn, step: result.envSteps)
        logger.debug("eval at \(result.envSteps) env steps: \(format(result.meanReturn)) ± \(format(result.stdReturn))")
        if solvedAt == nil, result.meanReturn >= c.solvedReturn {
            solvedAt = SolvedAt(envSteps: result.envSteps, wallSeconds: result.wallSeconds)
            logger.notice("solved: eval \(format(result.meanReturn)) ± \(format(result.stdReturn)) ≥ \(format(c.solvedReturn)) at \(result.envSteps) env steps, \(format(result.wallSeconds)) s")
        }
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
            reportStatusIfDue()
            _ = try transitionsSocket.waitForInput(timeoutMilliseconds: 20)
        }
        let unfinished = ledger.activeWorkers(now: elapsed, window: 3)
        if !unfinished.isEmpty { logger.warning("workers \(unfinished) did not finish within the drain period") }
    }

    private func makeSummary(stopReason: String) -> LearnerSummary {
        let c = configuration.training
        let wall = trainingSeconds
        let finalEval = evaluator.evaluate(agent.actor, episodes: c.finalEvalEpisodes, envSteps: envSteps, wallSeconds: wall)
        logger.info("\(finalEvaluationLine(finalEval, solvedAt: solvedAt))")
        let run = RunSummary(envSteps: envSteps, updates: agent.updateCount, episodes: episodes,
                             wallSeconds: wall, eval: evaluations, solvedAt: solvedAt, finalEval: finalEval, config: c)
        let workers = ledger.workers.values.sorted { $0.workerId < $1.workerId }
        return LearnerSummary(
            run: run, learnerConfig: configuration.learner,
            transitionsSent: Dictionary(uniqueKeysWithValues: workers.map { ("\($0.workerId)", $0.transitionsSent) }),
            transitionsReceived: ledger.transitionsReceived, transitionsAccepted: ledger.transitionsAccepted,
            transitionsRejected: ledger.transitionsRejected, messagesRejected: ledger.messagesRejected,
            weightsVersion: weightsVersion, policyLag: ledger.policyLag.summary, randomTransitions: ledger.randomTransitions,
            replaySize: replay.count, samplesPerInsert: ratioAtStop, stopReason: stopReason, workers: workers,
            resumedFrom: resumedFile?.path, checkpoints: checkpointsWritten)
    }
}

/// Logs refusals of the same kind the first 3 times, then every 100th, with the count; called from the ZAP thread only.
final class RefusalLog: @unchecked Sendable {
    private let logger: Logger
    private var counts: [String: Int] = [:]

    init(logger: Logger) { self.logger = logger }

    func log(_ message: String, key: String) {
        let count = (counts[key] ?? 0) + 1
        if counts.count < 10_000 || counts[key] != nil { counts[key] = count }
        if count <= 3 || count.isMultiple(of: 100) { logger.warning("\(message) (\(count) so far)") }
    }
}
