import Foundation
import Ingest
import Logging
import ProcessSupport
import RunRecords
import Specs
import WireProtocol
import ZeroMQ

/// `start` was asked to stop before any worker said hello: there is no run to summarise.
public struct LearnerStopped: Error, CustomStringConvertible {
    public var description: String { "stopped before any worker said hello; nothing was trained" }
}

/// Messages rejected before the learner knew its environment, of one reason: entered in the ledger once it exists.
struct RejectedBeforeSpec {
    var example: ProtocolError
    var messages = 0
    var transitions = 0

    init(example: ProtocolError) { self.example = example }

    mutating func add(transitions claimed: Int) {
        messages += 1
        transitions += min(max(claimed, 0), WireFormat.maxTransitionsPerMessage)
    }
}

/// Evaluation by evaluator processes: the learner never pauses training to evaluate.
///
/// When the env steps pass an evaluation mark, the learner opens a request, which every weights
/// message carries until an evaluator reports on one of them: an evaluator that missed some
/// publications (PUB drops, or it was busy) still sees it, and the mark tells it whether it has
/// evaluated that request already. Reports are accepted only for publications that carried a
/// request (``RequestedEvaluations``), with the episode count asked for. At the end, the learner
/// asks for the final evaluation with its last weights and waits for it, for a bounded time.
struct EvaluationState {
    /// The request the next publications carry; nil once an evaluation at or past its mark arrived.
    var open: EvaluationRequest?
    /// The mark of the newest evaluation recorded; older (or repeated) ones are not recorded again.
    var lastRecordedMark: UInt64 = 0
    /// The final evaluation, once reported.
    var final: EvaluationResult?
    /// Whether the open request went out yet (its first publication's actor is kept first).
    var openPublished = false
    /// With `--until-return`: the actor of each recent publication that carried a request, by version,
    /// and the version whose evaluation reached the target. Training goes on while an evaluator plays,
    /// so the last weights are a few hundred updates past the approved ones; the run ends with these.
    private(set) var actors: [UInt64: [Float]] = [:]
    private var keptFloats = 0
    /// The first publication of each request: an evaluator that is free when a request opens evaluates
    /// that one, however many follow while it plays; the last few are kept before any other.
    private var firsts: [UInt64] = []
    var approvedVersion: UInt64?
    /// Every publication while a request is open carries it (dozens while an evaluator plays), and the
    /// evaluator takes whichever is newest when it is free: keep them, up to 32 MiB.
    static let keptFloatsLimit = 8 << 20

    mutating func keep(actor parameters: [Float], version: UInt64, first: Bool) {
        guard parameters.count <= Self.keptFloatsLimit / 2 else { return }
        if first {
            firsts.append(version)
            if firsts.count > 4 { firsts.removeFirst() }
        }
        while keptFloats + parameters.count > Self.keptFloatsLimit,
              let oldest = actors.keys.filter({ !firsts.contains($0) }).min() ?? actors.keys.min() {
            keptFloats -= actors.removeValue(forKey: oldest)?.count ?? 0
        }
        actors[version] = parameters
        keptFloats += parameters.count
    }
}

extension LearnerService {
    static let evaluatorWindow = 10.0

    /// Evaluators heard from recently that have not said goodbye.
    var evaluatorsConnected: Int { ledger.activeSessions(now: elapsed, window: Self.evaluatorWindow, role: .evaluator).count }

    /// The env steps passed an evaluation mark: asks for an evaluation of the weights of this moment,
    /// published now, unless none were published yet (then the first publication carries the request).
    func requestEvaluation() {
        let c = configuration.training
        let mark = UInt64(nextEvaluationAt)
        nextEvaluationAt = saturatingAdd(envSteps / c.evalEvery * c.evalEvery, c.evalEvery)
        evaluationState.open = EvaluationRequest(mark: mark, episodes: c.evalEpisodes, seed: c.evalSeed)
        evaluationState.openPublished = false
        if weightsVersion > 0 { broadcastWeights() }
    }

    /// Records an evaluator's report, which the ingest matched to a request already.
    func record(_ report: EvaluationReport, now: Double) {
        guard let requested = ingest.requestedEvaluations[report.publication.version] else { return }
        metrics.evaluationDelay.recordNanoseconds(Int64(max(now - requested.publishedAt, 0) * 1e9))
        let result = EvaluationResult(envSteps: Int(clamping: report.publication.envSteps), wallSeconds: requested.wallSeconds,
                                      returns: report.returns)
        if report.isFinal {
            if evaluationState.final == nil { evaluationState.final = result }
            return
        }
        // A second evaluator's copy, or a report that arrives after a newer one.
        guard requested.request.mark > evaluationState.lastRecordedMark else { return }
        evaluationState.lastRecordedMark = requested.request.mark
        if let open = evaluationState.open, open.mark <= requested.request.mark { evaluationState.open = nil }
        metrics.evaluations.increment()
        metrics.evalReturn.record(result.meanReturn)
        evaluations.append(result)
        if let target = configuration.learner.untilReturn, result.meanReturn >= target, evaluationState.approvedVersion == nil {
            evaluationState.approvedVersion = report.publication.version
        }
        events?.scalar("eval/mean_return", result.meanReturn, step: result.envSteps)
        logger.debug("""
            eval of weights v\(report.publication.version) (\(report.publication.updates) updates, \(result.envSteps) env steps) by worker \
            \(report.workerId): \(format(result.meanReturn)) ± \(format(result.stdReturn)), \(format((now - requested.publishedAt) * 1_000)) ms after publication
            """)
        let c = configuration.training
        if solvedAt == nil, let target = c.solvedReturn, result.meanReturn >= target {
            solvedAt = SolvedAt(envSteps: result.envSteps, wallSeconds: result.wallSeconds)
            logger.notice("solved: eval \(format(result.meanReturn)) ± \(format(result.stdReturn)) ≥ \(format(target)) at \(result.envSteps) env steps, \(format(result.wallSeconds)) s")
        }
    }

    /// A run stopped by `--until-return` ends with the actor whose evaluation reached it, not the one
    /// trained further while the evaluator played: that is the policy `final_eval` then measures.
    func restoreApprovedActor() {
        guard let version = evaluationState.approvedVersion else { return }
        let actor = agent.actor.network
        guard let parameters = evaluationState.actors[version], let requested = ingest.requestedEvaluations[version],
              parameters.count == actor.parameters.count + actor.statistics.count else {
            logger.warning("the weights that reached --until-return (v\(version)) are no longer kept; ending with the last weights")
            return
        }
        parameters.withUnsafeBytes { actor.assignState(from: $0.baseAddress!) }
        logger.notice("""
            ending with the weights that reached --until-return: v\(version), published at \(requested.publication.updates) updates \
            (\(agent.updateCount - Int(clamping: requested.publication.updates)) updates before the last)
            """)
    }

    /// Asks the evaluators for the final evaluation (`finalEvalEpisodes`) of the last weights and
    /// waits for it, reading (and accounting) whatever else arrives meanwhile: at most
    /// `finalEvaluationSeconds`, and no longer than evaluators are connected. Nil without one.
    func finalEvaluation() throws -> EvaluationResult? {
        let c = configuration.training
        guard evaluatorsConnected > 0 else {
            logger.warning("no evaluator connected: this run has no final evaluation (start one with `ddpg worker --evaluator`)")
            return nil
        }
        evaluationState.open = EvaluationRequest(mark: UInt64(envSteps), episodes: c.finalEvalEpisodes, seed: c.evalSeed, isFinal: true)
        broadcastWeights()
        guard let requested = ingest.requestedEvaluations[weightsVersion], requested.request.isFinal else {
            logger.warning("the last weights could not be published (see above): this run has no final evaluation")
            return nil
        }
        phase = "evaluating"
        let deadline = elapsed + configuration.learner.finalEvaluationSeconds
        var lastPublished = elapsed
        // Evaluators send their status between chunks of episodes, so one that is playing stays connected.
        func evaluatorsAlive() -> Bool { evaluatorsConnected > 0 }
        while evaluationState.final == nil, elapsed < deadline, evaluatorsAlive() {
            if elapsed - lastPublished >= 0.25 {
                // The same version again: a subscriber whose queue was full, or that was reconnecting, missed it.
                publish(encodeWeights(requested.publication, request: requested.request), what: "the final weights")
                lastPublished = elapsed
            }
            serviceSubscriptions()
            announceIfDue()
            var read = 0
            while read < 256, evaluationState.final == nil, let message = try transitionsSocket.receive(blocking: false) {
                handle(message)
                read += 1
            }
            reportStatusIfDue()
            if read == 0 { _ = try transitionsSocket.waitForInput(timeoutMilliseconds: 20) }
        }
        evaluationState.open = nil
        guard let result = evaluationState.final else {
            let why = !evaluatorsAlive() ? "the evaluators left" : "none arrived within \(format(configuration.learner.finalEvaluationSeconds)) s"
            logger.warning("no final evaluation: \(why) (--final-eval-seconds)")
            return nil
        }
        return result
    }

    /// Reads the transitions socket until a valid hello arrives, announcing meanwhile (workers greet a
    /// learner they heard announce), and returns the spec it carries with the message, to be handled
    /// again once the learner is built. Anything else that arrives first is counted as rejected.
    static func awaitSpec(_ sockets: LearnerSockets, id: String?, logger: Logger, metrics: LearnerMetrics)
        throws -> (spec: EnvironmentSpec, hello: ZMQMessage, rejected: [String: RejectedBeforeSpec]) {
        logger.notice("waiting for a worker's hello to learn the environment\(id.map { " (\($0))" } ?? "")")
        var encoder = MessageEncoder(capacity: 4_096)
        // Counts by reason (one example each), so that a flood costs no memory.
        var rejected: [String: RejectedBeforeSpec] = [:]
        var logged = 0
        let clock = ContinuousClock(), started = clock.now
        var nextAnnounce = clock.now
        while !ShutdownSignal.isRequested {
            while let message = try? sockets.weights.receive(blocking: false) {
                // A subscription to everything; anything else is dropped here (libzmq keeps nothing of a
                // manual subscription the learner does not make), and cut off once the learner runs.
                if message.count == 1, message.withUnsafeBytes({ $0[0] }) == 1 {
                    try? sockets.weights.subscribe()
                    nextAnnounce = clock.now
                }
            }
            if clock.now >= nextAnnounce {
                let announce = Announce(learnerId: sockets.learnerId, weightsVersion: 0, credit: fillCredit)
                _ = try? encoder.encode(announce).withUnsafeBytes { try sockets.weights.send($0, blocking: false) }
                nextAnnounce = clock.now + .milliseconds(200)
            }
            guard let message = try sockets.transitions.receive(blocking: false) else {
                _ = try sockets.transitions.waitForInput(timeoutMilliseconds: 20)
                continue
            }
            let outcome = message.withUnsafeBytes { bytes -> Result<Hello, ProtocolError> in
                do throws(ProtocolError) {
                    let hello = try MessageDecoder.decodeHello(bytes)
                    if let id, hello.spec.id != id { throw .specMismatch(expected: id, announced: hello.spec.description) }
                    return .success(hello)
                } catch {
                    return .failure(error)
                }
            }
            switch outcome {
            case let .success(hello):
                logger.notice("learned the environment from worker \(hello.workerId)'s hello after \(format((clock.now - started).seconds)) s: \(hello.spec)")
                return (hello.spec, message, rejected)
            case let .failure(error):
                let claimed = message.withUnsafeBytes { MessageDecoder.claimedTransitionCount($0) }
                rejected[error.reason, default: RejectedBeforeSpec(example: error)].add(transitions: claimed ?? 0)
                metrics.messageRejected(reason: error.reason)
                metrics.transitionsRejected.increment(by: claimed ?? 0)
                if logged < 10 {
                    logged += 1
                    logger.warning("rejected a message before any hello (\(error.reason)): \(error)")
                }
            }
        }
        throw LearnerStopped()
    }
}
