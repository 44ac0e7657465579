import DDPG
import Environments
import Evaluation
import Foundation
import Logging
import NeuralNetwork
import ProcessSupport
import Randomness
import Replay
import Specs
import WireProtocol
import ZeroMQ

/// Why a worker cannot start.
public struct WorkerError: Error, CustomStringConvertible {
    public var description: String
}

/// `ddpg worker`: steps its own copies of a native environment with its own seed and noise,
/// acts with the newest actor weights it has (uniformly random until the
/// first arrive), and streams transitions to the learner.
///
/// As an evaluator (`--evaluator`) it sends no transitions: when weights arrive with an
/// evaluation request it plays the requested deterministic episodes with them and reports the returns.
///
/// Sends block when the learner's queues are full: that backpressure is how a
/// worker learns to slow down, and nothing is dropped on the way. libzmq
/// reconnects by itself when the learner restarts.
public final class WorkerService {
    public let configuration: WorkerConfiguration
    private let logger: Logger
    private let context: ZMQContext
    private let transitionsSocket: ZMQSocket
    private let weightsSocket: ZMQSocket
    private let decoder: MessageDecoder
    private var encoder = MessageEncoder(capacity: 64 << 10)

    /// The environment, stepped through generics (``run()`` opens it), and what it announces in its hello.
    private let environmentType: any Environment.Type
    public let spec: EnvironmentSpec
    private var noises: [ExplorationNoise]
    private var actor: Actor?
    private var actorShape: ActorShape?
    /// What the applied weights' message said of them: their publication and any evaluation request.
    private var appliedPublication: Publication?
    private var appliedRequest: EvaluationRequest?
    /// The request evaluated last, so that weights republished with it are not evaluated twice.
    private var evaluatedRequest: (learnerId: UInt64, mark: UInt64, isFinal: Bool)?
    private var evaluations = 0
    /// The version of the greeted learner's weights this worker acts with (0: none yet).
    private var weightsVersion: UInt64 = 0
    /// Random and non-zero, chosen at start: tells this process apart from any other with the same worker id.
    private let session = UInt32.random(in: 1...UInt32.max)
    /// The learner id of the last announcement or weights, and the one this worker said hello to.
    private var latestLearnerId: UInt64?
    /// The credit of the newest announcement read, whichever learner sent it.
    private var latestAnnouncedCredit: Int?
    private var greetedLearnerId: UInt64?
    /// The newest weights read from the socket and not yet applied, with their learner id.
    private var pendingWeights: (message: ZMQMessage, learnerId: UInt64)?
    /// The greeted learner's credit and what of it is in flight. Until a learner has announced its
    /// credit, one message: at full speed a worker would otherwise send over a thousand transitions
    /// before the first announcement arrives, all acted at random, and the learner would train on
    /// that backlog long after its replay had filled.
    private var creditWindow: CreditWindow
    /// Seconds spent waiting for acknowledgements.
    private var pacedSeconds = 0.0
    /// Evaluation episodes played between two status messages at most.
    static let episodesPerChunk = 10
    private var buffer: TransitionBuffer
    /// Transitions per message: `transitionsPerMessage`, within what the protocol allows for this environment.
    private let rowsPerMessage: Int
    private var bufferStartedAt = 0.0
    private var generator: Xoshiro256

    private var envSteps = 0
    private var transitionsSent = 0
    private var messagesSent = 0
    private var sequence: UInt64 = 0
    private var episodes = 0
    private var weightsApplied = 0
    private var weightsRejected = 0
    private var latencies: [Double] = []
    private var lastStatus = 0.0
    private var lastLog = (time: 0.0, steps: 0)
    private let clock = ContinuousClock()
    private let start: ContinuousClock.Instant

    private var usesCurve = false

    public init(configuration: WorkerConfiguration, logger: Logger = Logger(label: "ddpg.worker"), security: WorkerSecurity? = nil) throws {
        self.configuration = configuration
        self.logger = logger
        // One core per worker process: OpenBLAS's helper threads spin while they wait for work
        // (a second core at 100% for a [256,256] actor), which starves the learner and delays weights by a time slice.
        BLAS.setThreadCount(1)
        guard let type = NativeEnvironments.type(named: configuration.environment) else {
            throw WorkerError(description: "unknown environment '\(configuration.environment)'; native environments: \(NativeEnvironments.ids.joined(separator: ", "))")
        }
        environmentType = type
        spec = type.init().spec
        decoder = MessageDecoder(expected: ExpectedShapes(spec: spec), accepting: .learnerToWorker)
        creditWindow = CreditWindow(initialCredit: configuration.transitionsPerMessage)
        var noise = configuration.noise
        noise.sigma = configuration.effectiveSigma
        noises = Array(repeating: ExplorationNoise(noise, actionSize: spec.actionSize), count: configuration.environments)
        // A message carries at most this many rows; `flush` splits a larger buffer.
        let rowsPerMessage = min(configuration.transitionsPerMessage,
                                 WireFormat.maxTransitionsPerMessage(observationSize: spec.observationSize, actionSize: spec.actionSize))
        // An episode's end flushes up to n transitions of its environment at once.
        buffer = TransitionBuffer(capacity: rowsPerMessage + configuration.environments * configuration.nStep,
                                  observationSize: spec.observationSize, actionSize: spec.actionSize)
        self.rowsPerMessage = rowsPerMessage
        // Worker streams are independent of each other and of the learner's.
        generator = Xoshiro256(seed: configuration.seed, stream: 1_000 + UInt64(configuration.workerId))

        context = try ZMQContext()
        transitionsSocket = try ZMQSocket(context, type: .push)
        // Everything queued between the worker and the learner's replay was acted with weights that
        // are getting older. The learner's credit bounds that; ZeroMQ's queue holds one message more.
        // Kernel buffers smaller than a message (a few KiB) stalled loopback TCP in delayed ACKs.
        try transitionsSocket.setSendHighWaterMark(1)
        try transitionsSocket.setKernelBuffers(send: 64 << 10, receive: 2 << 10)
        // Queue only to a live connection, so a send waits for the learner instead of piling up.
        try transitionsSocket.setImmediate(true)
        // A worker started alongside its learner connects within milliseconds of the learner's bind;
        // one whose learner is away backs off exponentially to half a second.
        try transitionsSocket.setReconnectInterval(milliseconds: 2)
        try transitionsSocket.setReconnectIntervalMax(milliseconds: 500)
        try transitionsSocket.setLinger(milliseconds: 2_000)
        if let security { try transitionsSocket.makeCurveClient(keys: security.keys, serverKey: security.learnerPublicKey) }
        try transitionsSocket.connect(configuration.transitionsEndpoint)
        weightsSocket = try ZMQSocket(context, type: .sub)
        // Not CONFLATE: with libzmq 4.3.4 a conflating SUB read without blocking
        // missed most updates here (2 of 24 versions applied). The worker drains
        // the queue instead and keeps only the newest message, which is what
        // CONFLATE promises; the queue is bounded so a stalled worker cannot hoard weights.
        try weightsSocket.setReceiveHighWaterMark(16)
        try weightsSocket.setReconnectInterval(milliseconds: 2)
        try weightsSocket.setReconnectIntervalMax(milliseconds: 500)
        try weightsSocket.setLinger(milliseconds: 0)
        try weightsSocket.subscribe()
        if let security { try weightsSocket.makeCurveClient(keys: security.keys, serverKey: security.learnerPublicKey) }
        try weightsSocket.connect(configuration.weightsEndpoint)
        usesCurve = security != nil
        start = clock.now
    }

    private var elapsed: Double {
        (clock.now - start).seconds
    }

    /// Runs until SIGINT/SIGTERM, a shutdown notice from the learner, or `maxEnvSteps`;
    /// then flushes what it holds and sends its final status.
    public func run() throws -> WorkerReport {
        configuration.role == .evaluator ? try serveEvaluations(environmentType) : try act(environmentType)
    }

    private func act<Env: Environment>(_: Env.Type) throws -> WorkerReport {
        let c = configuration
        logger.info("worker \(c.workerId) of \(c.workerCount): \(c.environments) × \(spec), σ \(String(format: "%.4f", c.effectiveSigma)) (\(c.noise.kind.rawValue)), learner \(c.transitionsEndpoint)")
        let o = spec.observationSize, a = spec.actionSize
        let low = spec.actionLow, high = spec.actionHigh, scale = spec.actionScale
        let k = c.environments
        var environments = (0..<k).map { _ in Env() }
        var observations = [Float](repeating: 0, count: k * o)
        var nextObservation = [Float](repeating: 0, count: o)
        var actions = [Float](repeating: 0, count: k * a)
        var perturbation = [Float](repeating: 0, count: a)
        var returns = [Double](repeating: 0, count: k)
        var lengths = [Int](repeating: 0, count: k)
        var envGenerators = (0..<k).map { Xoshiro256(seed: c.seed, stream: 10_000 + UInt64(c.workerId) * 4_096 + UInt64($0)) }
        var adders = Array(repeating: NStepAdder(n: c.nStep, gamma: c.gamma, observationSize: o, actionSize: a), count: k)
        for i in 0..<k {
            observations.withUnsafeMutableBufferPointer { environments[i].reset(using: &envGenerators[i], observation: $0.baseAddress! + i * o) }
        }
        try sendHello()

        var stopReason: String?
        while stopReason == nil {
            if ShutdownSignal.isRequested { stopReason = "signal"; break }
            if try receiveWeights() { stopReason = "learner_shutdown"; break }
            if creditWindow.isExhausted(buffered: buffer.count), try awaitCredit() {
                stopReason = "learner_shutdown"
                break
            }
            // Act: the newest policy on every environment at once, or uniform noise before any weights.
            if let actor {
                actor.act(observations: observations, count: k, actions: &actions)
                for i in 0..<k {
                    noises[i].sample(into: &perturbation, using: &generator)
                    // Noise in units of each dimension's half-range, then clipped to the bounds (as `ddpg train`).
                    for j in 0..<a { actions[i * a + j] = min(max(actions[i * a + j] + scale[j] * perturbation[j], low[j]), high[j]) }
                }
            } else {
                for i in 0..<k { for j in 0..<a { actions[i * a + j] = generator.nextUniform(low[j], high[j]) } }
            }
            for i in 0..<k {
                let buffered = buffer.count
                let result = actions.withUnsafeBufferPointer { environments[i].step($0.baseAddress! + i * a, observation: &nextObservation) }
                observations.withUnsafeBufferPointer { obs in actions.withUnsafeBufferPointer { act in
                    adders[i].add(observation: obs.baseAddress! + i * o, action: act.baseAddress! + i * a, reward: result.reward,
                                  nextObservation: nextObservation, terminated: result.terminated, truncated: result.truncated) { buffer.append($0) }
                } }
                if buffered == 0, buffer.count > 0 { bufferStartedAt = elapsed }
                returns[i] += result.reward
                lengths[i] += 1
                if result.isDone {
                    try sendEpisode(length: lengths[i], episodeReturn: returns[i])
                    returns[i] = 0
                    lengths[i] = 0
                    noises[i].reset()
                    observations.withUnsafeMutableBufferPointer { environments[i].reset(using: &envGenerators[i], observation: $0.baseAddress! + i * o) }
                } else {
                    for j in 0..<o { observations[i * o + j] = nextObservation[j] }
                }
            }
            envSteps += k
            if buffer.count >= rowsPerMessage || elapsed - bufferStartedAt >= c.flushMilliseconds / 1_000 {
                if try !flush() { stopReason = "signal"; break }
            }
            if elapsed - lastStatus >= c.statusSeconds { try sendStatus(final: false) }
            if c.maxEnvSteps > 0, envSteps >= c.maxEnvSteps { stopReason = "max_env_steps" }
            if elapsed - lastLog.time >= 10 { logProgress() }
        }
        return try finish(reason: stopReason ?? "signal")
    }

    /// The evaluator's loop: waits for weights, and whenever the newest carry a request it has not
    /// answered, plays the requested episodes with them (no noise, fixed starts) and reports the returns.
    private func serveEvaluations<Env: Environment>(_: Env.Type) throws -> WorkerReport {
        logger.info("evaluator \(configuration.workerId): \(spec), learner \(configuration.transitionsEndpoint)")
        try sendHello()
        var stopReason: String?
        while stopReason == nil {
            if ShutdownSignal.isRequested { stopReason = "signal"; break }
            if try receiveWeights() { stopReason = "learner_shutdown"; break }
            if let actor, let request = appliedRequest, let publication = appliedPublication, let learner = greetedLearnerId,
               evaluatedRequest.map({ $0 != (learner, request.mark, request.isFinal) }) ?? true {
                evaluatedRequest = (learner, request.mark, request.isFinal)
                let started = elapsed
                // In chunks, with a status between them: the learner counts a silent evaluator as gone.
                let evaluator = Evaluator(seed: request.seed) { Env() }
                var returns: [Double] = [], lengths: [Int] = []
                while returns.count < request.episodes {
                    let chunk = evaluator.play(actor, episodes: min(Self.episodesPerChunk, request.episodes - returns.count), first: returns.count)
                    returns += chunk.returns
                    lengths += chunk.lengths
                    if elapsed - lastStatus >= configuration.statusSeconds { try sendStatus(final: false) }
                }
                let report = EvaluationReport(workerId: configuration.workerId, session: session, isFinal: request.isFinal,
                                              publication: publication, returns: returns, lengths: lengths.map { UInt32(clamping: $0) })
                _ = try send(encoder.encode(report))
                evaluations += 1
                envSteps += lengths.reduce(0, +)
                let mean = returns.reduce(0, +) / Double(returns.count)
                logger.log(level: request.isFinal ? .info : .debug, """
                    \(request.isFinal ? "final " : "")evaluation of weights v\(publication.version) (\(publication.envSteps) env steps): \
                    \(String(format: "%.1f", mean)) over \(returns.count) episodes in \(String(format: "%.0f", (elapsed - started) * 1_000)) ms
                    """)
                continue
            }
            if elapsed - lastStatus >= configuration.statusSeconds { try sendStatus(final: false) }
            _ = try weightsSocket.waitForInput(timeoutMilliseconds: 50)
        }
        return try finish(reason: stopReason ?? "signal")
    }

    // MARK: Weights

    /// Reads everything queued on the weights socket: keeps the newest valid weights,
    /// notes the newest learner id it has seen, and whether the learner said to stop.
    private func drainWeightsSocket() throws {
        // hasInput (ZMQ_EVENTS) makes libzmq process pending commands, which a
        // non-blocking receive only does once a millisecond or so.
        while weightsSocket.hasInput, let message = try weightsSocket.receive(blocking: false) {
            message.withUnsafeBytes { bytes in
                do throws(ProtocolError) {
                    let decoded = try decoder.decode(bytes)
                    switch decoded {
                    case let .weights(view):
                        pendingWeights = (message, view.learnerId)
                        latestLearnerId = view.learnerId
                    case let .announce(announce):
                        latestLearnerId = announce.learnerId
                        latestAnnouncedCredit = announce.credit
                        if announce.learnerId == greetedLearnerId { takeCredit(announce) }
                    case .shutdown:
                        receivedShutdown = true
                    case .hello, .transitions, .episode, .workerStatus, .evaluation:
                        throw ProtocolError.unexpectedKind(decoded.kind.rawValue)  // unreachable: the decoder accepts learner kinds only
                    }
                } catch {
                    weightsRejected += 1
                    if weightsRejected <= 10 || weightsRejected.isMultiple(of: 1_000) {
                        logger.warning("rejected a message on the weights socket (\(error.reason)): \(error); \(weightsRejected) so far")
                    }
                }
            }
        }
    }

    /// Greets a learner it has not greeted yet, then applies the newest queued weights, if any.
    /// Returns true once the learner said to stop.
    private func receiveWeights() throws -> Bool {
        try drainWeightsSocket()
        try greetNewLearner()
        guard pendingWeights != nil else { return receivedShutdown }
        // Transitions of one message share one weights version: send the old ones first.
        if buffer.count > 0 { try flush() }
        applyPendingWeights()
        return receivedShutdown
    }

    /// Says hello before anything else reaches a learner this worker has not greeted
    /// (at the first announcement, and after a learner restart). What it holds was not
    /// acted with the new learner's weights, so it is sent as version 0.
    private func greetNewLearner() throws {
        guard let id = latestLearnerId, id != greetedLearnerId else { return }
        if greetedLearnerId != nil {
            logger.info("a new learner (id \(String(id, radix: 16))) is publishing: the learner restarted; saying hello again")
        }
        greetedLearnerId = id
        weightsVersion = 0
        // An evaluation the previous learner asked for means nothing to this one.
        appliedRequest = nil
        appliedPublication = nil
        // Whatever the previous learner had not consumed is gone; this one starts from the hello, with
        // the credit of the announcement it was greeted on (0 from a learner that does not pace).
        creditWindow.greeted(credit: latestAnnouncedCredit ?? configuration.transitionsPerMessage, now: elapsed)
        try sendHello()
    }

    /// Takes the credit and this session's acknowledgement from an announce of the greeted learner.
    private func takeCredit(_ announce: Announce) {
        let mine = announce.acknowledgements.first { $0.workerId == configuration.workerId && $0.session == session }
        creditWindow.announced(credit: announce.credit, nextSequence: mine?.nextSequence, now: elapsed)
    }

    /// Sends what it holds, then waits until the learner has consumed enough to restore credit, for
    /// as long as it keeps consuming this worker's data (see ``CreditWindow``). Returns true on a shutdown notice.
    private func awaitCredit() throws -> Bool {
        let started = elapsed
        defer { pacedSeconds += elapsed - started }
        if buffer.count > 0, try !flush() { return false }
        while creditWindow.isExhausted(), !ShutdownSignal.isRequested {
            if creditWindow.isStalled(now: elapsed, waitingSince: started) {
                logger.debug("""
                    the learner consumed nothing of this worker's for \(CreditWindow.stallSeconds) s (credit \(creditWindow.credit), \
                    \(creditWindow.unacknowledgedTransitions) transitions unacknowledged from sequence \(creditWindow.oldestUnacknowledged ?? sequence), \
                    acknowledged up to \(creditWindow.acknowledgedSequence)); sending anyway
                    """)
                creditWindow.giveUp(now: elapsed)
                break
            }
            _ = try weightsSocket.waitForInput(timeoutMilliseconds: 2)
            if try receiveWeights() { return true }
        }
        return false
    }

    /// A shutdown notice seen while draining.
    private var receivedShutdown = false

    /// Applies `pendingWeights` if they come from the greeted learner. The caller guarantees no batch is half collected.
    private func applyPendingWeights() {
        guard let (message, learner) = pendingWeights, learner == greetedLearnerId else { return }
        pendingWeights = nil
        message.withUnsafeBytes { bytes in
            // Decoded once already; cannot fail now.
            guard case let .weights(view)? = try? decoder.decode(bytes) else { return }
            logger.debug("applying weights version \(view.version)")
            apply(view)
            weightsVersion = view.version
            appliedPublication = view.publication
            appliedRequest = view.evaluationRequest
            let latency = Double(Int64(bitPattern: WallClock.nanoseconds() &- view.publishedAtNanoseconds)) / 1e6
            if latencies.count < 100_000 { latencies.append(latency) }
        }
    }

    private func apply(_ view: WeightsView) {
        if actorShape != view.shape {
            let sizes = view.shape.layerSizes
            let network = MLP(Actor.architecture(observationSize: sizes[0], actionSize: sizes[sizes.count - 1],
                                                 hiddenSizes: Array(sizes.dropFirst().dropLast()),
                                                 normalization: Normalization(view.shape.normalization)))
            actor = Actor(network: network, actionLow: view.shape.actionLow, actionHigh: view.shape.actionHigh,
                          inferenceCapacity: max(1, configuration.environments))
            actorShape = view.shape
            logger.info("acting with a \(sizes) actor from weights version \(view.version)")
        }
        actor!.network.assignState(from: view.parameters)
        weightsApplied += 1
    }

    // MARK: Sending

    /// Sends `bytes`, waiting while the learner's queues are full. Returns false if
    /// asked to stop while waiting (unless `untilDeadline` is set, as when flushing at exit).
    ///
    /// While it waits it keeps reading the weights socket; with `applyWeights` (the
    /// transitions being sent are already encoded, so no batch can mix versions)
    /// it applies them at once, so that backpressure does not delay new weights.
    private func send(_ bytes: [UInt8], untilDeadline deadline: Double? = nil, applyWeights: Bool = false) throws -> Bool {
        let waitStarted = elapsed
        var nextWarning = waitStarted + 5
        while true {
            if try bytes.withUnsafeBytes({ try transitionsSocket.send($0, blocking: false) }) {
                messagesSent += 1
                return true
            }
            if let deadline {
                if elapsed >= deadline { return false }
            } else if ShutdownSignal.isRequested {
                return false
            }
            if elapsed >= nextWarning {
                let hint = usesCurve ? " (is --learner-public-key the learner's, and is this worker's public key in its --authorized-keys?)" : ""
                logger.warning("no learner has accepted data for \(Int(elapsed - waitStarted)) s at \(configuration.transitionsEndpoint); still trying\(hint)")
                nextWarning = elapsed + 30
            }
            let ready = try ZMQPoller.poll([(transitionsSocket, .writable), (weightsSocket, .readable)], timeoutMilliseconds: 50)
            if ready[1] {
                try drainWeightsSocket()
                if applyWeights, deadline == nil { applyPendingWeights() }
            }
        }
    }

    /// Sends the buffered transitions as one message. Returns false if interrupted by a stop request.
    @discardableResult
    /// Sends the buffered transitions, in messages of at most `rowsPerMessage` rows (the buffer can hold
    /// a step of every environment more). Returns false if interrupted by a stop request; what was sent
    /// by then leaves the buffer, the rest stays.
    private func flush(untilDeadline deadline: Double? = nil) throws -> Bool {
        var start = 0
        defer { buffer.removeFirst(start) }
        let o = buffer.observationSize, a = buffer.actionSize
        while start < buffer.count {
            let n = min(buffer.count - start, rowsPerMessage), end = start + n
            let header = TransitionsHeader(workerId: configuration.workerId, session: session, observationSize: o,
                                           actionSize: a, sequence: sequence, weightsVersion: weightsVersion, count: n)
            let bytes = buffer.observations.withUnsafeBufferPointer { obs in buffer.actions.withUnsafeBufferPointer { act in
                buffer.rewards.withUnsafeBufferPointer { rew in buffer.nextObservations.withUnsafeBufferPointer { next in
                    buffer.terminated.withUnsafeBufferPointer { term in buffer.truncated.withUnsafeBufferPointer { trunc in
                    buffer.discounts.withUnsafeBufferPointer { disc in
                        encoder.encodeTransitions(
                            header, observations: UnsafeBufferPointer(rebasing: obs[(start * o)..<(end * o)]),
                            actions: UnsafeBufferPointer(rebasing: act[(start * a)..<(end * a)]),
                            rewards: UnsafeBufferPointer(rebasing: rew[start..<end]),
                            nextObservations: UnsafeBufferPointer(rebasing: next[(start * o)..<(end * o)]),
                            terminated: UnsafeBufferPointer(rebasing: term[start..<end]), truncated: UnsafeBufferPointer(rebasing: trunc[start..<end]),
                            discounts: UnsafeBufferPointer(rebasing: disc[start..<end]))
                    } } }
                } }
            } }
            guard try send(bytes, untilDeadline: deadline, applyWeights: true) else { return false }
            creditWindow.sent(sequence: sequence, count: n)
            transitionsSent += n
            sequence += 1
            start = end
        }
        return true
    }

    private func sendHello() throws {
        let hello = Hello(workerId: configuration.workerId, session: session, role: configuration.role,
                          environmentCount: configuration.environments, seed: configuration.seed, nextSequence: sequence, spec: spec)
        _ = try send(encoder.encode(hello))
    }

    private func sendEpisode(length: Int, episodeReturn: Double) throws {
        episodes += 1
        _ = try send(encoder.encode(EpisodeReport(workerId: configuration.workerId, session: session, length: UInt32(clamping: length),
                                                   episodeReturn: episodeReturn, weightsVersion: weightsVersion)))
    }

    private func sendStatus(final: Bool, deadline: Double? = nil) throws {
        lastStatus = elapsed
        // The status counts itself among the messages sent.
        let status = WorkerStatus(workerId: configuration.workerId, session: session, isFinal: final, transitionsSent: UInt64(transitionsSent),
                                  episodes: UInt64(episodes), messagesSent: UInt64(messagesSent + 1))
        _ = try send(encoder.encode(status), untilDeadline: deadline)
    }

    private func logProgress() {
        let now = elapsed
        let rate = Double(envSteps - lastLog.steps) / max(now - lastLog.time, 1e-9)
        logger.info("worker \(configuration.workerId): \(envSteps) steps | \(Int(rate)) steps/s | \(transitionsSent) sent | \(episodes) episodes | weights v\(weightsVersion)")
        lastLog = (now, envSteps)
    }

    /// Flushes what is buffered and says goodbye, each within a bounded wait.
    private func finish(reason: String) throws -> WorkerReport {
        let deadline = elapsed + 3
        let flushed = try flush(untilDeadline: deadline)
        try sendStatus(final: true, deadline: deadline)
        if !flushed { logger.warning("could not deliver the last \(buffer.count) transitions before exiting") }
        let wall = elapsed
        logger.info("worker \(configuration.workerId) stopping (\(reason)): \(envSteps) steps, \(transitionsSent) transitions sent")
        let sorted = latencies.sorted()
        func percentile(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(p * Double(sorted.count)))] }
        return WorkerReport(
            workerId: configuration.workerId, envSteps: envSteps, transitionsSent: transitionsSent, messagesSent: messagesSent,
            episodes: episodes, wallSeconds: wall, envStepsPerSecond: Double(envSteps) / max(wall, 1e-9),
            sigma: configuration.effectiveSigma, weightsApplied: weightsApplied, latestWeightsVersion: weightsVersion,
            weightsLatencyMilliseconds: ["p50": percentile(0.5), "p90": percentile(0.9), "p99": percentile(0.99), "max": sorted.last ?? 0],
            weightsRejected: weightsRejected, evaluations: evaluations, pacedSeconds: pacedSeconds, creditStalls: creditWindow.stalls, stopReason: reason)
    }
}

extension Normalization {
    /// The hidden layers' normalization a weights message names.
    init(_ wire: ActorShape.Normalization) {
        switch wire {
        case .none: self = .none
        case .layer: self = .layer
        case .batch: self = .batch
        }
    }
}
