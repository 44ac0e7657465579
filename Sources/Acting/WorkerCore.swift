import Adders
import Agents
import Clocks
import Foundation
import Logging
import NeuralNetwork
import Policy
import Specs
import Transport
import WireProtocol

/// A worker's side of the protocol, without a socket or a clock of its own: its session, greeting
/// every learner it hears (again after a learner restarts), the learner's credit, batching
/// transitions into messages, and stopping. An ``ActingLoop`` or an ``EvaluatingLoop`` steps
/// environments around it; `ddpg worker` drives both over ZeroMQ, tests over an `InMemoryNetwork`.
///
/// Nothing here blocks: messages wait in an outbox until the transport takes them, in order, and
/// ``poll()`` says what the worker may do meanwhile. While the outbox is not empty the worker does
/// not act: the learner's full queues are how it learns to slow down, and nothing is dropped.
public final class WorkerCore {
    /// What the worker may do now.
    public enum Next: Equatable, Sendable {
        /// Step the environments (an actor) or evaluate (an evaluator).
        case act
        /// Wait for a publication, or room to send (`sending`), at most `seconds`.
        case wait(seconds: Double, sending: Bool)
        /// Done: ``report`` has what it did.
        case stopped(reason: String)
    }

    public let configuration: WorkerConfiguration
    public let spec: EnvironmentSpec
    /// Random and non-zero, chosen at start: tells this process apart from any other with the same worker id.
    public let session: UInt32
    private let transport: any WorkerTransport
    private let clock: any RunClock
    private let logger: Logger
    private let stopRequested: () -> Bool
    private let decoder: MessageDecoder
    private var encoder = MessageEncoder(capacity: 64 << 10)

    /// The learner id of the newest announcement or weights.
    private var latestLearnerId: UInt64?
    /// The credit of the newest announcement read, whichever learner sent it.
    private var latestAnnouncedCredit: Int?
    /// Whether the greeted learner has acknowledged this session yet: until it has, its announced credit applies.
    private var acknowledgedByLearner = false
    /// The receipt of the newest acknowledgement read: every transitions message names it, and the learner counts
    /// this session's credit from there.
    private var receipt: UInt64 = 0
    /// An evaluator's token, shown in its hello.
    private let token: EvaluatorToken
    /// The nonces of the requests the greeted learner gave this evaluator tickets for, by mark and finality (the newest 64).
    private var tickets: [EvaluatedRequest: UInt64] = [:]
    /// The learner id this worker said hello to.
    private var greetedLearnerId: UInt64?
    /// The newest weights read and not yet applied, with their learner id.
    private var pendingWeights: (message: ReceivedMessage, learnerId: UInt64)?
    private var receivedShutdown = false

    /// The policy to act with: the newest weights of the greeted learner (nil until the first arrive).
    public private(set) var actor: Actor?
    /// A3C's value network, when the weights carry one (the worker computes gradients with it and the actor).
    public private(set) var valueNetwork: MLP?
    /// Their version (0: none of this learner's yet), publication and evaluation request, if any.
    public private(set) var weightsVersion: UInt64 = 0
    public private(set) var appliedPublication: Publication?
    public private(set) var appliedRequest: EvaluationRequest?

    /// Messages encoded and not yet taken by the transport, in order.
    private var outbox = Outbox()
    /// The greeted learner's credit and what of it is in flight. Until a learner has announced its
    /// credit, one message: at full speed a worker would otherwise send over a thousand transitions
    /// before the first announcement arrives, all acted at random, and the learner would train on
    /// that backlog long after its replay had filled.
    private var creditWindow: CreditWindow
    private var waitingForCreditSince: Double?
    private var buffer: TransitionBuffer
    /// Transitions per message: `transitionsPerMessage`, within what the protocol allows for this environment.
    private let rowsPerMessage: Int
    private var bufferStartedAt = 0.0
    private var sequence: UInt64 = 0
    /// Set once stopping: why, and until when the outbox may still be sent.
    private var stopping: (reason: String, deadline: Double)?

    private(set) var stats = WorkerStatistics()
    private var lastStatus = 0.0
    private var lastLog = (time: 0.0, steps: 0)
    private var sendStalledSince: Double?
    private var nextSendWarning = 0.0
    /// A hint for the "no learner accepted data" warning, when keys are a likely cause.
    private let connectionHint: String

    public init(configuration: WorkerConfiguration, spec: EnvironmentSpec, transport: any WorkerTransport, clock: any RunClock,
                session: UInt32 = UInt32.random(in: 1...UInt32.max), logger: Logger = Logger(label: "ddpg.worker"),
                connectionHint: String = "", token: EvaluatorToken = .none, stopRequested: @escaping () -> Bool = { false }) {
        self.configuration = configuration
        self.token = configuration.role == .evaluator ? token : .none
        self.spec = spec
        self.session = session
        self.transport = transport
        self.clock = clock
        self.logger = logger
        self.connectionHint = connectionHint
        self.stopRequested = stopRequested
        decoder = MessageDecoder(expected: ExpectedShapes(spec: spec), accepting: .learnerToWorker)
        creditWindow = CreditWindow(initialCredit: configuration.transitionsPerMessage, now: clock.now)
        // A message carries at most this many rows; a larger buffer goes in several.
        rowsPerMessage = min(configuration.transitionsPerMessage,
                             WireFormat.maxTransitionsPerMessage(observationSize: spec.observationSize, actionSize: spec.actionSize))
        // An episode's end flushes up to n transitions of its environment at once.
        buffer = TransitionBuffer(capacity: rowsPerMessage + configuration.environments * configuration.nStep,
                                  observationSize: spec.observationSize, actionSize: spec.actionSize)
        lastStatus = clock.now
        queueHello()
    }

    private var now: Double { clock.now }
    /// Seconds since the worker started.
    public var elapsed: Double { clock.now }

    /// Env steps taken (an evaluator's count its evaluation episodes' steps).
    public var envSteps: Int { stats.envSteps }

    // MARK: What to do next

    /// Reads what the learner sent, greets a new learner, applies the newest weights when no batch
    /// is half collected, sends what is queued, and says whether the worker may act.
    public func poll() throws -> Next {
        if stopping == nil, stopRequested() { beginStopping("signal") }
        if let stopping { return try stoppingPoll(stopping) }
        try receiveFromLearner()
        greetNewLearner()
        if pendingWeights != nil {
            // Transitions of one message share one weights version: queue the old ones first.
            flushBuffer()
            applyPendingWeights()
        }
        if configuration.role == .actor, appliedRequest?.isFinal == true {
            // The learner asks for its final evaluation only once it has stopped: what an actor sent
            // from here on would be counted apart and never trained on. (Checked before a shutdown read in the
            // same poll: the request came first, and says why.)
            beginStopping("learner_stopping")
            return try poll()
        }
        if receivedShutdown {
            beginStopping("learner_shutdown")
            return try poll()
        }
        try sendQueued()
        if !outbox.isEmpty { return .wait(seconds: 0.05, sending: true) }
        if creditWindow.isExhausted(buffered: buffer.count) {
            let waitingSince = waitingForCreditSince ?? now
            waitingForCreditSince = waitingSince
            flushBuffer()
            try sendQueued()
            if !outbox.isEmpty { return .wait(seconds: 0.05, sending: true) }
            if creditWindow.isExhausted() {
                guard creditWindow.isStalled(now: now, waitingSince: waitingSince) else { return .wait(seconds: 0.002, sending: false) }
                logger.debug("""
                    the learner consumed nothing of this worker's for \(CreditWindow.stallSeconds) s (credit \(creditWindow.credit), \
                    \(creditWindow.unacknowledgedTransitions) transitions unacknowledged from sequence \(creditWindow.oldestUnacknowledged ?? sequence), \
                    acknowledged up to \(creditWindow.acknowledgedSequence)); sending anyway
                    """)
                creditWindow.giveUp(now: now)
            }
        }
        if let since = waitingForCreditSince {
            stats.pacedSeconds += now - since
            waitingForCreditSince = nil
        }
        return .act
    }

    /// Sends what is left until the outbox is empty or the deadline passes.
    private func stoppingPoll(_ stopping: (reason: String, deadline: Double)) throws -> Next {
        try receiveFromLearner()
        try sendQueued()
        if outbox.isEmpty { return .stopped(reason: stopping.reason) }
        if now >= stopping.deadline {
            let rows = outbox.transitionsQueued
            if rows > 0 { logger.warning("could not deliver the last \(rows) transitions before exiting") }
            return .stopped(reason: stopping.reason)
        }
        return .wait(seconds: min(0.05, stopping.deadline - now), sending: true)
    }

    /// Stops acting: what is buffered and a final status go out, within a bounded wait.
    public func beginStopping(_ reason: String) {
        guard stopping == nil else { return }
        if let since = waitingForCreditSince {
            stats.pacedSeconds += now - since
            waitingForCreditSince = nil
        }
        flushBuffer()
        queueStatus(final: true)
        stopping = (reason, now + 3)
    }

    // MARK: From the acting loop

    /// A transition of one environment, as its adder emits it.
    public func add(_ transition: NStepAdder.Transition) {
        if buffer.count == 0 { bufferStartedAt = now }
        buffer.append(transition)
    }

    /// Weights applied so far: an on-policy worker waits for this to grow after each segment.
    public var weightsApplied: Int { stats.weightsApplied }

    /// Queues an on-policy segment acted with `weightsVersion`, as the session's next data message.
    public func queueSegment(_ rollout: Rollout, weightsVersion: UInt64) {
        outbox.append(.segment(rollout, sequence: sequence, weightsVersion: weightsVersion, receipt: receipt))
        creditWindow.sent(sequence: sequence, count: rollout.rows)
        sequence += 1
    }

    /// Queues an A3C gradient (the policy's then the value network's values) computed at `weightsVersion` on `rows` env steps.
    public func queueGradient(_ values: [Float], policyParameters: Int, rows: Int, weightsVersion: UInt64, statistics: OnPolicyStatistics) {
        let header = GradientHeader(workerId: configuration.workerId, session: session, sequence: sequence, weightsVersion: weightsVersion,
                                    rows: rows, policyParameters: policyParameters, valueParameters: values.count - policyParameters,
                                    receipt: receipt, policyLoss: statistics.policyLoss, valueLoss: statistics.valueLoss,
                                    entropy: statistics.entropy, explainedVariance: statistics.explainedVariance)
        outbox.append(.gradient(values, header))
        creditWindow.sent(sequence: sequence, count: rows)
        sequence += 1
    }

    /// An episode ended.
    public func episodeEnded(length: Int, return episodeReturn: Double) {
        stats.episodes += 1
        outbox.append(.episode(EpisodeReport(workerId: configuration.workerId, session: session, length: UInt32(clamping: length),
                                             episodeReturn: episodeReturn, weightsVersion: weightsVersion)))
    }

    /// `count` env steps were taken: sends a full (or old enough) batch and a status when due, and
    /// stops at `maxEnvSteps`.
    public func stepped(_ count: Int) {
        stats.envSteps += count
        if buffer.count >= rowsPerMessage || (buffer.count > 0 && now - bufferStartedAt >= configuration.flushMilliseconds / 1_000) {
            flushBuffer()
        }
        statusIfDue()
        if configuration.maxEnvSteps > 0, stats.envSteps >= configuration.maxEnvSteps { beginStopping("max_env_steps") }
        if now - lastLog.time >= 10 { logProgress() }
    }

    /// Queues a status if one is due: the learner counts a silent worker as gone.
    public func statusIfDue() {
        if now - lastStatus >= configuration.statusSeconds { queueStatus(final: false) }
    }

    /// The evaluation request of the applied weights, if this worker has not evaluated it yet; taken at most once.
    public func takeEvaluationRequest() -> (request: EvaluationRequest, publication: Publication, actor: Actor)? {
        guard let actor, let request = appliedRequest, let publication = appliedPublication, let learner = greetedLearnerId,
              stats.evaluatedRequest.map({ $0 != EvaluatedRequest(learnerId: learner, mark: request.mark, isFinal: request.isFinal) }) ?? true
        else { return nil }
        let evaluated = EvaluatedRequest(learnerId: learner, mark: request.mark, isFinal: request.isFinal)
        guard tickets[evaluated] != nil else {
            // Its ticket comes on this session's own connection, which may lag the weights: wait for it.
            warnWithoutTicket(request)
            return nil
        }
        ticketWaitSince = nil
        stats.evaluatedRequest = evaluated
        return (request, publication, actor)
    }

    private var ticketWaitSince: Double?
    private var ticketWarned = false

    private func warnWithoutTicket(_ request: EvaluationRequest) {
        guard let since = ticketWaitSince else {
            ticketWaitSince = now
            return
        }
        guard now - since >= 5, !ticketWarned else { return }
        ticketWarned = true
        logger.warning("""
            no ticket from the learner for its request at mark \(request.mark) after 5 s: is --evaluator-token (or this evaluator's key \
            in --evaluator-keys) the learner's? It counts no evaluation without one
            """)
    }

    /// Reports an evaluation's returns and lengths, for `publication`'s request, with the nonce of that
    /// request's ticket (the learner counts none without it).
    public func evaluated(_ request: EvaluationRequest, of publication: Publication, returns: [Double], lengths: [Int]) {
        let nonce = greetedLearnerId.flatMap { tickets[EvaluatedRequest(learnerId: $0, mark: request.mark, isFinal: request.isFinal)] }
        if nonce == nil { logger.warning("no ticket from the learner for the request at mark \(request.mark): it will not count this evaluation") }
        outbox.append(.evaluation(EvaluationReport(workerId: configuration.workerId, session: session, isFinal: request.isFinal, nonce: nonce ?? 0,
                                                   publication: publication, returns: returns, lengths: lengths.map { UInt32(clamping: $0) })))
        stats.evaluations += 1
        stats.envSteps += lengths.reduce(0, +)
    }

    // MARK: The learner's messages

    /// Reads everything the learner published: keeps the newest valid weights, notes the newest
    /// learner id and credit, and whether the learner said to stop.
    private func receiveFromLearner() throws {
        while let message = try transport.receive() {
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
                        if announce.learnerId == greetedLearnerId, !acknowledgedByLearner {
                            creditWindow.announced(credit: announce.credit, nextSequence: nil, now: now)
                        }
                    case let .acknowledgement(acknowledgement):
                        take(acknowledgement)
                    case .shutdown:
                        receivedShutdown = true
                    case .hello, .transitions, .segment, .gradient, .episode, .workerStatus, .evaluation:
                        throw ProtocolError.unexpectedKind(decoded.kind.rawValue)  // unreachable: the decoder accepts learner kinds only
                    }
                } catch {
                    stats.weightsRejected += 1
                    if stats.weightsRejected <= 10 || stats.weightsRejected.isMultiple(of: 1_000) {
                        logger.warning("rejected a message on the weights socket (\(error.reason)): \(error); \(stats.weightsRejected) so far")
                    }
                }
            }
        }
    }

    /// Says hello before anything else reaches a learner this worker has not greeted (at the first
    /// announcement, and after a learner restart). What it holds was not acted with the new learner's
    /// weights, so it is sent as version 0.
    private func greetNewLearner() {
        guard let id = latestLearnerId, id != greetedLearnerId else { return }
        if greetedLearnerId != nil {
            logger.info("a new learner (id \(String(id, radix: 16))) is publishing: the learner restarted; saying hello again")
        }
        let first = greetedLearnerId == nil
        greetedLearnerId = id
        acknowledgedByLearner = false
        receipt = 0
        tickets.removeAll()
        weightsVersion = 0
        // An evaluation the previous learner asked for means nothing to this one.
        appliedRequest = nil
        appliedPublication = nil
        // Whatever a previous learner had not consumed is gone; this one starts from the hello, with the
        // credit of the announcement it was greeted on (0 from a learner that does not pace). What went to
        // this learner before its first announcement arrived stays in flight: it will acknowledge it.
        creditWindow.greeted(credit: latestAnnouncedCredit ?? configuration.transitionsPerMessage, now: now, keepInFlight: first)
        // The hello goes before anything still queued for the previous learner, which is this one's
        // to consume now (and counts against its credit).
        outbox.greet()
        if !first { for (sequence, count) in outbox.queuedTransitions { creditWindow.sent(sequence: sequence, count: count) } }
    }

    /// Takes the greeted learner's acknowledgement of this session: its credit, what it consumed, and a request's ticket.
    private func take(_ acknowledgement: Acknowledgement) {
        guard let learner = greetedLearnerId, acknowledgement.learnerId == learner, acknowledgement.session == session,
              acknowledgement.workerId == configuration.workerId else { return }
        acknowledgedByLearner = true
        receipt = acknowledgement.receipt
        creditWindow.announced(credit: acknowledgement.credit, nextSequence: acknowledgement.nextSequence, now: now)
        if let ticket = acknowledgement.ticket {
            if tickets.count >= 64, let oldest = tickets.keys.min(by: { $0.mark < $1.mark }) { tickets[oldest] = nil }
            tickets[EvaluatedRequest(learnerId: learner, mark: ticket.mark, isFinal: ticket.isFinal)] = ticket.nonce
        }
    }

    /// Applies the pending weights if they come from the greeted learner. No batch may be half collected.
    private func applyPendingWeights() {
        guard let (message, learner) = pendingWeights, learner == greetedLearnerId else { return }
        pendingWeights = nil
        message.withUnsafeBytes { bytes in
            // Decoded once already; cannot fail now.
            guard case let .weights(view)? = try? decoder.decode(bytes) else { return }
            if actor?.shape != view.shape {
                actor = Actor(shape: view.shape, inferenceCapacity: max(1, configuration.environments))
                logger.info("acting with a \(view.shape.layerSizes) actor from weights version \(view.version)")
            }
            actor!.network.assignState(from: view.parameters)
            actor!.observationNormalization = view.observationScaling.map(ObservationNormalization.init)
            if let value = view.valueNetwork {
                let hidden = Array(value.layerSizes.dropFirst().dropLast())
                if valueNetwork.map({ $0.architecture.inputSize != value.layerSizes[0] || $0.architecture.hiddenSizes != hidden }) ?? true {
                    valueNetwork = MLP(MLPArchitecture(inputSize: value.layerSizes[0], hiddenSizes: hidden, outputSize: 1,
                                                       hiddenActivation: view.shape.hiddenActivation == .tanh ? .tanh : .relu,
                                                       outputActivation: .identity))
                }
                valueNetwork!.assignState(from: value.parameters)
            }
            stats.weightsApplied += 1
            weightsVersion = view.version
            appliedPublication = view.publication
            appliedRequest = view.evaluationRequest
            stats.latencies.record(Double(Int64(bitPattern: clock.wallNanoseconds &- view.publishedAtNanoseconds)) / 1e6)
        }
    }

    // MARK: Sending

    private func queueHello() { outbox.append(.hello) }

    private func queueStatus(final: Bool) {
        lastStatus = now
        outbox.append(.status(final: final))
    }

    /// Moves the buffered transitions into the outbox, in messages of at most `rowsPerMessage` rows:
    /// they keep the weights version they were acted with, whatever is applied while they wait.
    private func flushBuffer() {
        var start = 0
        while start < buffer.count {
            let end = min(buffer.count, start + rowsPerMessage)
            outbox.append(.transitions(buffer.rows(start..<end), sequence: sequence, weightsVersion: weightsVersion, receipt: receipt))
            creditWindow.sent(sequence: sequence, count: end - start)
            sequence += 1
            start = end
        }
        buffer.clear()
    }

    /// Hands queued messages to the transport, in order, until it refuses one.
    public func sendQueued() throws {
        while let next = outbox.first {
            let bytes = outbox.encodedHead ?? encode(next)
            outbox.encodedHead = bytes
            guard try bytes.withUnsafeBytes({ try transport.send($0) }) else {
                warnIfStalled()
                return
            }
            outbox.removeFirst()
            stats.messagesSent += 1
            stats.transitionsSent += next.transitions
        }
        sendStalledSince = nil
    }

    /// A message's bytes, as it goes.
    private func encode(_ message: Outbox.Message) -> [UInt8] {
        let c = configuration
        switch message {
        case .hello:
            // What the learner must expect next: the oldest transitions still queued, else the next to be made.
            return encoder.encode(Hello(workerId: c.workerId, session: session, role: c.role, environmentCount: c.environments, seed: c.seed,
                                        nextSequence: outbox.oldestSequence ?? sequence, spec: spec, token: token))
        case let .transitions(rows, sequence, version, receipt):
            return encodeTransitions(rows, sequence: sequence, weightsVersion: version, receipt: receipt)
        case let .segment(rollout, sequence, version, receipt):
            return encodeSegment(rollout, sequence: sequence, weightsVersion: version, receipt: receipt)
        case let .gradient(values, header):
            return values.withUnsafeBufferPointer { encoder.encodeGradient(header, values: $0) }
        case let .episode(report):
            return encoder.encode(report)
        case let .status(final):
            // It goes after everything queued before it, and counts itself among the messages sent.
            return encoder.encode(WorkerStatus(workerId: c.workerId, session: session, isFinal: final, transitionsSent: UInt64(stats.transitionsSent),
                                               episodes: UInt64(stats.episodes), messagesSent: UInt64(stats.messagesSent + 1)))
        case let .evaluation(report):
            return encoder.encode(report)
        }
    }

    private func encodeSegment(_ rollout: Rollout, sequence: UInt64, weightsVersion: UInt64, receipt: UInt64) -> [UInt8] {
        let header = SegmentHeader(workerId: configuration.workerId, session: session, observationSize: rollout.observationSize,
                                   actionSize: rollout.actionSize, environments: rollout.environments, steps: rollout.steps, sequence: sequence,
                                   weightsVersion: weightsVersion, truncations: rollout.truncations, receipt: receipt)
        let terminated = rollout.terminated.map { UInt8($0 ? 1 : 0) }, truncated = rollout.truncated.map { UInt8($0 ? 1 : 0) }
        return rollout.observations.withUnsafeBufferPointer { obs in rollout.actions.withUnsafeBufferPointer { act in
            rollout.rewards.withUnsafeBufferPointer { rew in rollout.logProbabilities.withUnsafeBufferPointer { logp in
                rollout.bootstrapObservations.withUnsafeBufferPointer { boot in rollout.truncationObservations.withUnsafeBufferPointer { cut in
                    terminated.withUnsafeBufferPointer { term in truncated.withUnsafeBufferPointer { trunc in
                        encoder.encodeSegment(header, observations: obs, actions: act, rewards: rew, logProbabilities: logp,
                                              bootstrapObservations: boot, truncationObservations: cut, terminated: term, truncated: trunc)
                    } }
                } }
            } }
        } }
    }

    private func encodeTransitions(_ rows: TransitionBuffer, sequence: UInt64, weightsVersion: UInt64, receipt: UInt64) -> [UInt8] {
        let header = TransitionsHeader(workerId: configuration.workerId, session: session, observationSize: rows.observationSize,
                                       actionSize: rows.actionSize, sequence: sequence, weightsVersion: weightsVersion, count: rows.count,
                                       receipt: receipt)
        return rows.observations.withUnsafeBufferPointer { obs in rows.actions.withUnsafeBufferPointer { act in
            rows.rewards.withUnsafeBufferPointer { rew in rows.nextObservations.withUnsafeBufferPointer { next in
                rows.terminated.withUnsafeBufferPointer { term in rows.truncated.withUnsafeBufferPointer { trunc in
                    rows.discounts.withUnsafeBufferPointer { disc in
                        encoder.encodeTransitions(header, observations: obs, actions: act, rewards: rew, nextObservations: next,
                                                  terminated: term, truncated: trunc, discounts: disc)
                    }
                } }
            } }
        } }
    }

    private func warnIfStalled() {
        guard let since = sendStalledSince else {
            sendStalledSince = now
            nextSendWarning = now + 5
            return
        }
        guard now >= nextSendWarning else { return }
        logger.warning("no learner has accepted data for \(Int(now - since)) s at \(configuration.transitionsEndpoint); still trying\(connectionHint)")
        nextSendWarning = now + 30
    }

    private func logProgress() {
        let rate = Double(stats.envSteps - lastLog.steps) / max(now - lastLog.time, 1e-9)
        logger.info("worker \(configuration.workerId): \(stats.envSteps) steps | \(Int(rate)) steps/s | \(stats.transitionsSent) sent | \(stats.episodes) episodes | weights v\(weightsVersion)")
        lastLog = (now, stats.envSteps)
    }

    // MARK: The report

    /// What this worker did, for its stats file.
    public func report(stopReason: String) -> WorkerReport {
        let wall = now
        logger.info("worker \(configuration.workerId) stopping (\(stopReason)): \(stats.envSteps) steps, \(stats.transitionsSent) transitions sent")
        return WorkerReport(
            workerId: configuration.workerId, envSteps: stats.envSteps, transitionsSent: stats.transitionsSent, messagesSent: stats.messagesSent,
            episodes: stats.episodes, wallSeconds: wall, envStepsPerSecond: Double(stats.envSteps) / max(wall, 1e-9),
            sigma: configuration.effectiveSigma, weightsApplied: stats.weightsApplied, latestWeightsVersion: weightsVersion,
            weightsLatencyMilliseconds: stats.latencies.percentiles, weightsRejected: stats.weightsRejected, evaluations: stats.evaluations,
            pacedSeconds: stats.pacedSeconds, creditStalls: creditWindow.stalls, stopReason: stopReason)
    }
}

/// An evaluation request, as a worker remembers having played it.
struct EvaluatedRequest: Hashable {
    var learnerId: UInt64
    var mark: UInt64
    var isFinal: Bool
}

/// What a worker counts about itself.
struct WorkerStatistics {
    var envSteps = 0
    var transitionsSent = 0
    var messagesSent = 0
    var episodes = 0
    var weightsApplied = 0
    var weightsRejected = 0
    var evaluations = 0
    /// Seconds spent waiting for the learner to consume what this worker sent.
    var pacedSeconds = 0.0
    var latencies = Latencies()
    /// The request evaluated last, so that weights republished with it are not evaluated twice.
    var evaluatedRequest: EvaluatedRequest?
}

/// Publish-to-applied latencies of weights, in milliseconds (the first 100,000).
struct Latencies {
    private var values: [Double] = []

    mutating func record(_ milliseconds: Double) {
        if values.count < 100_000 { values.append(milliseconds) }
    }

    var percentiles: [String: Double] {
        let sorted = values.sorted()
        func percentile(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(p * Double(sorted.count)))] }
        return ["p50": percentile(0.5), "p90": percentile(0.9), "p99": percentile(0.99), "max": sorted.last ?? 0]
    }
}
