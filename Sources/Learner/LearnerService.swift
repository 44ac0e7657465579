import DDPG
import Checkpoint
import Foundation
import Ingest
import Logging
import NeuralNetwork
import ProcessSupport
import Randomness
import Replay
import RunRecords
import Specs
import Telemetry
import WireProtocol
import ZeroMQ

/// `ddpg learner`: owns the replay buffer and the four networks, ingests
/// transitions from any number of workers, trains at a fixed samples-per-insert
/// ratio, publishes actor weights, asks evaluators to evaluate them, and writes `summary.json`.
///
/// It knows no environment: it builds its networks and its checks from an ``EnvironmentSpec``,
/// given up front or learned from the first worker's hello (``start(configuration:environment:logger:monitoring:checkpoints:security:)``).
///
/// One thread alternates between short ingest and training slices (a few
/// updates, well under a millisecond for the default networks). libzmq's I/O
/// thread keeps receiving into the socket's queue meanwhile, so ingest never
/// waits on training; the rate limiter alone decides when the learner stops
/// reading, and then the full queues push back on the workers.
///
/// Whatever peers send, the learner stays up: every message is checked
/// (``MessageIngest``), sockets cap connections and message sizes
/// (LearnerService+Sockets.swift), no non-finite update survives
/// (LearnerService+Guard.swift), and the drain at shutdown has a hard deadline.
public final class LearnerService {
    public let configuration: LearnerConfiguration
    let logger: Logger
    let context: ZMQContext
    let transitionsSocket: ZMQSocket
    /// An XPUB that hands subscriptions to the learner, which accepts only "everything".
    let weightsSocket: ZMQSocket
    /// Every connection passes it: CURVE keys when configured, and the cap on open connections.
    let gate: ConnectionGate
    var encoder = MessageEncoder(capacity: 1 << 20)

    public let agent: any Agent
    public let replay: ReplayBuffer
    private let batch: TransitionBatch
    var limiter: RateLimiter
    /// Decoding, session checks and accounting of everything workers send.
    var ingest: MessageIngest
    var ledger: IngestLedger { ingest.ledger }
    var rejections = RejectionLog()
    /// The environment the workers run.
    public let spec: EnvironmentSpec
    private let actorShape: ActorShape
    var replayGenerator: Xoshiro256
    /// The last state known to be finite, taken whenever weights are published.
    let lastGoodState: AgentSnapshot
    var rollbacks = 0
    var consecutiveRollbacks = 0
    var lastRollback: String?

    var weightsVersion: UInt64 = 0
    /// Identifies this learner's run of versions to the workers.
    let learnerId: UInt64
    var updatesAtLastBroadcast = 0
    var nextAnnounceAt = 0.0
    /// When the bandwidth budget allows the next broadcast.
    var nextBroadcastAllowedAt = 0.0
    /// Transitions a worker may have in flight (see `updateWorkerCredit`), and where its last estimate started.
    var workerCredit = 0
    var creditSample = (updates: 0, version: UInt64(0))
    var lastAnnouncedAt = -Double.infinity
    var acceptedSinceAnnounce = false
    var nextSubscriptionsAt = 0.0
    var evaluations: [EvaluationResult] = []
    var solvedAt: SolvedAt?
    var nextEvaluationAt: Int
    /// Evaluation requests and the publications that carried them (LearnerService+Evaluation.swift).
    var evaluationState = EvaluationState()
    private let clock = ContinuousClock()
    private let start: ContinuousClock.Instant
    let monitoring: LearnerMonitoring
    var metrics: LearnerMetrics { monitoring.metrics }
    var events: TensorBoardWriter? { monitoring.events }
    var phase = "warming_up"
    var nextStatusAt = 0.0
    var acceptedRate = RateWindow()
    var updateRate = RateWindow()
    var workerRates: [SessionKey: RateWindow] = [:]
    var policyLag = PolicyLagTracker()
    /// Updates already added to `ddpg_updates_total` (advanced once a second, not on the hot path).
    var updatesReported = 0
    /// Checkpoint failures already added to `ddpg_checkpoint_failures_total`.
    var checkpointFailuresReported = 0
    /// Samples per insert measured when training stopped (the drain inserts without training).
    var ratioAtStop = 0.0

    /// Binds both endpoints and, unless `environment` names a spec, waits for the first worker's hello to
    /// learn it (answering subscriptions and announcing meanwhile, so that workers greet it). Throws if an
    /// address is unusable or taken, or ``LearnerStopped`` if asked to stop before any worker said hello.
    /// `checkpoints`, when given, receives a checkpoint on the configured schedule and a last one when the run stops.
    public static func start(configuration: LearnerConfiguration, environment: LearnerEnvironment,
                             logger: Logger = Logger(label: "ddpg.learner"), monitoring: LearnerMonitoring = LearnerMonitoring(),
                             checkpoints: CheckpointWriter? = nil, security: LearnerSecurity? = nil) throws -> LearnerService {
        let sockets = try openSockets(settings: configuration.learner, security: security, logger: logger, metrics: monitoring.metrics)
        logger.info("learner listening: transitions \(sockets.transitions.lastEndpoint), weights \(sockets.weights.lastEndpoint)")
        var first: ZMQMessage?
        var rejectedFirst: [String: RejectedBeforeSpec] = [:]
        var spec: EnvironmentSpec
        if let known = environment.spec {
            spec = known
        } else {
            do {
                (spec, first, rejectedFirst) = try awaitSpec(sockets, id: environment.id, logger: logger, metrics: monitoring.metrics)
            } catch {
                sockets.gate.stop()
                throw error
            }
        }
        var c = configuration
        c.training.environment = spec.id
        c.training.solvedReturn = environment.solvedReturn(spec.id)
        do {
            try c.training.checkReplayFits(spec)
        } catch {
            sockets.gate.stop()
            throw error
        }
        let service = LearnerService(configuration: c, spec: spec, sockets: sockets, logger: logger, monitoring: monitoring,
                                     checkpoints: checkpoints)
        for rejected in rejectedFirst.values {
            service.ingest.ledger.reject(rejected.example, messages: rejected.messages, transitions: rejected.transitions)
        }
        if let first { service.handle(first) }
        return service
    }

    private init(configuration: LearnerConfiguration, spec: EnvironmentSpec, sockets: LearnerSockets, logger: Logger,
                 monitoring: LearnerMonitoring, checkpoints: CheckpointWriter?) {
        self.configuration = configuration
        self.spec = spec
        self.logger = logger
        self.monitoring = monitoring
        self.checkpointWriter = checkpoints
        let c = configuration.training, settings = configuration.learner
        BLAS.setThreadCount(c.blasThreads)
        ingest = MessageIngest(expected: ExpectedShapes(spec: spec, nStep: c.agent.nStep, gamma: c.agent.discount))
        var initGenerator = Xoshiro256(seed: c.seed, stream: 0)
        agent = makeAgent(spec: spec, configuration: c.agent, using: &initGenerator)
        lastGoodState = AgentSnapshot(of: agent)
        replay = ReplayBuffer(capacity: c.replayCapacity, observationSize: spec.observationSize, actionSize: spec.actionSize,
                              gamma: c.agent.discount, prioritization: c.prioritizedReplay)
        batch = TransitionBatch(capacity: c.agent.batchSize, observationSize: spec.observationSize, actionSize: spec.actionSize)
        // Ingest only: nothing samples, so nothing may hold inserts back.
        let ratio = settings.ingestOnly ? 0 : settings.samplesPerInsert
        limiter = RateLimiter(samplesPerInsert: ratio, minSizeToSample: c.learningStarts, errorBuffer: ratio * Double(settings.rateTolerance))
        actorShape = ActorShape(layerSizes: [spec.observationSize] + c.agent.actorHiddenSizes + [spec.actionSize],
                                actionLow: spec.actionLow, actionHigh: spec.actionHigh,
                                normalization: ActorShape.Normalization(c.agent.actorNormalization))
        replayGenerator = Xoshiro256(seed: c.seed, stream: 3)
        nextEvaluationAt = c.evalEvery
        (context, transitionsSocket, weightsSocket, gate) = (sockets.context, sockets.transitions, sockets.weights, sockets.gate)
        learnerId = sockets.learnerId
        start = clock.now
        scheduleNextCheckpoint()
        monitoring.metrics.replayCapacity.record(c.replayCapacity)
        monitoring.metrics.envStepsTarget.record(c.maxEnvSteps)
        logger.info("training on \(spec)")
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
    /// Versions up to this one may have been published by an earlier process of this run (see `reserveVersions`).
    var reservedVersions: UInt64 = 0

    /// Runs until `maxEnvSteps` transitions were accepted, an evaluation reaches
    /// `untilReturn`, the networks keep going non-finite, or SIGINT/SIGTERM; then
    /// drains the workers and returns the summary.
    public func run() throws -> LearnerSummary {
        let c = configuration.training
        var stopReason: String?
        while stopReason == nil {
            if ShutdownSignal.isRequested {
                stopReason = "signal"
                break
            }
            if elapsed >= nextSubscriptionsAt { serviceSubscriptions() }
            var progressed = try ingestSlice()
            if !configuration.learner.ingestOnly { progressed = trainSlice() || progressed }
            if consecutiveRollbacks >= Self.maxConsecutiveRollbacks { stopReason = "non_finite" }
            if envSteps >= nextEvaluationAt { requestEvaluation() }
            if let target = configuration.learner.untilReturn, let last = evaluations.last, last.meanReturn >= target {
                stopReason = stopReason ?? "until_return"
            }
            if envSteps >= c.maxEnvSteps { stopReason = stopReason ?? "max_env_steps" }
            announceIfDue(acceptedSinceLast: acceptedSinceAnnounce)
            reportStatusIfDue()
            checkpointIfDue()
            if !progressed, stopReason == nil {
                // Waking for subscriptions too: a new worker waits for its first announcement.
                let ready = try ZMQPoller.poll([transitionsSocket, weightsSocket], timeoutMilliseconds: idleWaitMilliseconds)
                if ready[1] { serviceSubscriptions() }
            }
        }
        let reason = stopReason ?? "signal"
        ratioAtStop = limiter.observedRatio
        phase = "draining"
        logger.info("stopping (\(reason)) at \(envSteps) env steps (\(ledger.transitionsAccepted) transitions in this run) and \(agent.updateCount) updates")
        if reason == "until_return" { restoreApprovedActor() }
        let finalEval = try finalEvaluation()
        try drain()
        writeCheckpoint(reason: "final")
        checkpointWriter?.wait()
        gate.stop()
        let summary = makeSummary(stopReason: reason, finalEval: finalEval)
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

    func handle(_ message: ZMQMessage) {
        let now = elapsed
        message.withUnsafeBytes { bytes in
            switch ingest.handle(bytes, currentVersion: weightsVersion, now: now) {
            case let .transitions(view, lag):
                insert(view)
                acceptedSinceAnnounce = true
                recordTransitionMetrics(view.header, versionLag: lag, now: now)
            case let .hello(hello, isNew):
                metrics.messageReceived(kind: "hello")
                logger.log(level: isNew ? .info : .debug, """
                    \(hello.role == .evaluator ? "evaluator" : "worker") \(hello.workerId) \(isNew ? "joined" : "said hello again") \
                    (session \(hex(hello.session)), \(format(now * 1_000)) ms after the learner started): \
                    \(hello.environmentCount) environments, seed \(hello.seed)
                    """)
            case let .episode(report):
                metrics.messageReceived(kind: "episode")
                metrics.episodes.increment()
                metrics.episodeReturn.record(report.episodeReturn)
                events?.scalar("Reward", report.episodeReturn, step: envSteps)
            case let .evaluation(report):
                metrics.messageReceived(kind: "evaluation")
                record(report, now: now)
            case let .workerStatus(status):
                metrics.messageReceived(kind: "worker_status")
                if status.isFinal {
                    logger.info("worker \(status.workerId) (session \(hex(status.session))) finished; it reports \(status.transitionsSent) transitions sent")
                }
            case let .rejected(error, claimed):
                noteRejection(error, claimedTransitions: claimed, now: now)
            }
        }
        for notice in ingest.ledger.takeNotices() {
            switch notice {
            case let .duplicateWorkerId(id, sessions, seeds):
                metrics.duplicateWorkerIds.increment()
                logger.warning("""
                    worker id \(id) is used by \(sessions.count) processes at once (sessions \(sessions.map(hex).joined(separator: ", ")), \
                    seeds \(seeds.map(String.init).joined(separator: ", "))): give each worker its own --worker-id; their data is accounted per session
                    """)
            }
        }
    }

    /// Counts and (rate-limited) logs a rejection the ingest or the learner made.
    func noteRejection(_ error: ProtocolError, claimedTransitions: Int?, now: Double) {
        metrics.messageRejected(reason: error.reason)
        metrics.transitionsRejected.increment(by: claimedTransitions ?? 0)
        if rejections.shouldLog(now: now, reason: error.reason) {
            logger.warning("rejected message (\(error.reason)): \(error); \(ledger.totalMessagesRejected) rejected so far")
        }
    }

    private func recordTransitionMetrics(_ header: TransitionsHeader, versionLag: Int64?, now: Double) {
        metrics.messageReceived(kind: "transitions")
        metrics.transitionsReceived.increment(by: header.count)
        metrics.workerTransitionsReceived(header.workerId, count: header.count)
        guard let versionLag else { return }
        metrics.policyLag.record(versionLag)
        if let lag = policyLag.accepted(version: header.weightsVersion, versionLag: versionLag, count: header.count,
                                        updates: agent.updateCount, now: now) {
            metrics.policyLagUpdates.record(lag.updates)
            metrics.policyLagSeconds.record(lag.seconds)
        }
    }

    private func insert(_ view: TransitionsView) {
        let n = view.header.count
        replay.append(count: n, observations: view.observations, actions: view.actions, rewards: view.rewards,
                      nextObservations: view.nextObservations, terminated: view.terminated, truncated: view.truncated, discounts: view.discounts)
        limiter.inserted(n)
    }

    // MARK: Training

    /// A few updates while the rate limiter allows them. Returns whether any ran.
    private func trainSlice(maxUpdates: Int = 8) -> Bool {
        let c = configuration.training, batchSize = c.agent.batchSize
        let beta = c.prioritizedReplay?.beta(envSteps: envSteps, maxEnvSteps: c.maxEnvSteps) ?? 1
        var updates = 0
        while updates < maxUpdates, limiter.canSample(batchSize), consecutiveRollbacks < Self.maxConsecutiveRollbacks {
            replay.sample(batchSize, into: batch, beta: beta, using: &replayGenerator)
            let started = clock.now
            let stats = agent.update(batch)
            metrics.updateDuration.recordNanoseconds((clock.now - started).wholeNanoseconds)
            limiter.sampled(batchSize)
            updates += 1
            guard stats.criticLoss.isFinite, stats.actorLoss.isFinite else {
                rollBack(because: "update \(agent.updateCount) had a critic loss of \(stats.criticLoss) and an actor loss of \(stats.actorLoss)")
                continue
            }
            replay.updatePriorities(from: batch)
            if let events, agent.updateCount % 10 == 0 {
                events.scalar("Qmax", Double(stats.maxQ), step: envSteps)
                events.scalar("loss/critic", Double(stats.criticLoss), step: envSteps)
                events.scalar("loss/actor", Double(stats.actorLoss), step: envSteps)
            }
            if weightsVersion == 0
                || (agent.updateCount - updatesAtLastBroadcast >= configuration.learner.broadcastEvery && elapsed >= nextBroadcastAllowedAt) {
                broadcastWeights()
            }
        }
        return updates > 0
    }

    /// Publishes the actor with the next version, in one frame (so subscribers can conflate),
    /// once the whole state is known to be finite; with the open evaluation request, if any.
    func broadcastWeights() {
        guard ensureFiniteState(before: "publishing weights") else { return }
        reserveVersions(through: weightsVersion + 1)
        weightsVersion += 1
        metrics.weightsPublished.increment()
        metrics.weightsVersion.record(Int64(weightsVersion))
        updatesAtLastBroadcast = agent.updateCount
        policyLag.published(version: weightsVersion, updates: agent.updateCount, seconds: elapsed)
        let publication = Publication(version: weightsVersion, updates: UInt64(agent.updateCount), envSteps: UInt64(envSteps))
        let request = evaluationState.open
        if let request {
            ingest.requested(request, of: publication, wallSeconds: trainingSeconds, at: elapsed)
            if configuration.learner.untilReturn != nil, !request.isFinal {
                evaluationState.keep(actor: agent.actor.network.state, version: weightsVersion,
                                     first: !evaluationState.openPublished)
                evaluationState.openPublished = true
            }
        }
        let bytes = encodeWeights(publication, request: request)
        publish(bytes, what: "weights")
        let subscribers = max(gate.openConnections(socket: "weights"), 1)
        nextBroadcastAllowedAt = elapsed + Double(bytes.count * subscribers) / configuration.learner.broadcastBytesPerSecond
    }

    func encodeWeights(_ publication: Publication, request: EvaluationRequest?) -> [UInt8] {
        let network = agent.actor.network
        func encode(_ state: UnsafeBufferPointer<Float>) -> [UInt8] {
            encoder.encodeWeights(publication, learnerId: learnerId, publishedAtNanoseconds: WallClock.nanoseconds(), shape: actorShape,
                                  evaluationRequest: request, parameters: state)
        }
        // Batch normalization's statistics travel after the parameters; without it the parameters go as they lie.
        guard network.statistics.count == 0 else { return network.state.withUnsafeBufferPointer(encode) }
        return encode(UnsafeBufferPointer(start: network.parameters.values, count: network.parameters.count))
    }

    // MARK: Shutdown

    /// Tells the workers to stop, then keeps reading (without rate limiting or
    /// training) until every active worker has sent its final status, or
    /// `drainSeconds` pass: a hard deadline, however long peers keep talking.
    private func drain() throws {
        let deadline = elapsed + configuration.learner.drainSeconds
        var lastShutdownNotice = -1.0
        while elapsed < deadline {
            if elapsed - lastShutdownNotice >= 0.25 {
                // Repeated: a subscriber that is reconnecting would miss a single notice.
                publish(encoder.encodeShutdown(), what: "the shutdown notice")
                lastShutdownNotice = elapsed
            }
            serviceSubscriptions()
            var drained = 0
            while drained < 256, elapsed < deadline, let message = try transitionsSocket.receive(blocking: false) {
                handle(message)
                drained += 1
            }
            if ledger.activeSessions(now: elapsed, window: 3).isEmpty { break }
            reportStatusIfDue()
            _ = try transitionsSocket.waitForInput(timeoutMilliseconds: 20)
        }
        let unfinished = ledger.activeWorkers(now: elapsed, window: 3)
        if !unfinished.isEmpty {
            logger.warning("workers \(unfinished) did not finish within the drain period (--drain-seconds \(format(configuration.learner.drainSeconds)))")
        }
        if let summary = rejections.summary(now: .infinity) { logger.warning("\(summary)") }
    }

    private func makeSummary(stopReason: String, finalEval: EvaluationResult?) -> LearnerSummary {
        let c = configuration.training
        let wall = trainingSeconds
        if let finalEval {
            logger.info("\(finalEvaluationLine(finalEval, solvedAt: solvedAt, threshold: c.solvedReturn))")
        }
        let run = RunSummary(envSteps: envSteps, updates: agent.updateCount, episodes: episodes,
                             wallSeconds: wall, eval: evaluations, solvedAt: solvedAt, finalEval: finalEval, config: c)
        return LearnerSummary(
            run: run, learnerConfig: configuration.learner,
            transitionsSent: Dictionary(uniqueKeysWithValues: ledger.claimedTransitionsSent.map { ("\($0.key)", $0.value) }),
            transitionsReceived: ledger.transitionsReceived, transitionsAccepted: ledger.transitionsAccepted,
            transitionsRejected: ledger.transitionsRejected, messagesRejected: ledger.messagesRejected,
            messagesAccepted: ledger.messagesAccepted, weightsVersion: weightsVersion, policyLag: ledger.policyLag.summary,
            policyLagUpdates: policyLag.updates.summary, policyLagSeconds: policyLag.secondsSummary, randomTransitions: ledger.randomTransitions,
            replaySize: replay.count, samplesPerInsert: ratioAtStop, stopReason: stopReason, workers: ledger.sortedWorkers,
            duplicateWorkerIds: ledger.duplicateWorkerIds.sorted(), rollbacks: rollbacks,
            resumedFrom: resumedFile?.path, checkpoints: checkpointsWritten, checkpointFailures: checkpointWriter?.failures ?? 0)
    }
}

/// A session id as the log and /status show it.
func hex(_ session: UInt32) -> String { String(session, radix: 16) }

/// Which rejections reach the log: the first ten of the run in full, then one in
/// full per interval, and once per interval a count by reason of the ones left
/// out, so that a flood neither fills the disk nor goes unmentioned.
struct RejectionLog {
    static let logInFull = 10
    static let interval = 10.0
    private var logged = 0
    private var lastFullAt = -Double.infinity
    private var lastSummaryAt = 0.0
    private(set) var suppressed: [String: Int] = [:]

    /// Whether to log this rejection in full; if not, it is counted for the next ``summary(now:)``.
    mutating func shouldLog(now: Double, reason: String) -> Bool {
        if logged < Self.logInFull || now - lastFullAt >= Self.interval {
            logged += 1
            lastFullAt = now
            return true
        }
        suppressed[reason, default: 0] += 1
        return false
    }

    /// The line about rejections not logged, at most once per interval (`now` infinite: whatever is left).
    mutating func summary(now: Double) -> String? {
        guard !suppressed.isEmpty, now - lastSummaryAt >= Self.interval else { return nil }
        lastSummaryAt = now
        let total = suppressed.values.reduce(0, +)
        let reasons = suppressed.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        suppressed.removeAll()
        return "\(total) more rejected messages were not logged one by one (\(reasons))"
    }
}

extension ActorShape.Normalization {
    /// How the weights message names the actor's normalization.
    init(_ normalization: Normalization) {
        switch normalization {
        case .none: self = .none
        case .layer: self = .layer
        case .batch: self = .batch
        }
    }
}
