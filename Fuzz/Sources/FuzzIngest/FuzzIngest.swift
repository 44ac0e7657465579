import Ingest
import Specs
import WireProtocol

/// Fuzzes the learner's ingest as a whole: decoding and the session ledger together,
/// over a sequence of messages, with the learner's clock and weights version moving.
///
/// Input: records of one opcode byte, then
/// - opcode % 4 == 0: a message: u16 length (little-endian, capped by the input) and its bytes;
/// - 1: the learner publishes a new weights version (every other one with an evaluation request);
/// - 2: one second passes (sessions age, eviction becomes possible), and every session owed an
///   acknowledgement gets one, with a credit of 8 or none;
/// - 3: a message built from a template (a hello, transitions, segment, gradient, episode, status or evaluation of
///   a few sessions, one of them an evaluator with the token), with bytes of the input written over it, so that
///   well-formed messages with hostile numbers are common.
/// A message arrives on the connection of the session its header names, or (opcode bit 7) on the one
/// next to it: another session's, as a hijacker would send it.
///
/// After every step the ledger's invariants must hold; a violation traps, which
/// libFuzzer reports with the input that caused it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = UnsafeBufferPointer(start: data, count: size)
    // A third of the inputs meet an A2C learner's ingest (segments, two steps each), a third an A3C one's (gradients),
    // a third an off-policy one's (transitions).
    let expected = [pendulum, ExpectedShapes(spec: pendulumSpec, dataKind: .segment, segmentSteps: 2),
                    ExpectedShapes(spec: pendulumSpec, dataKind: .gradient, segmentSteps: 2, gradients: Templates.gradientLimits)][size % 3]
    var ingest = MessageIngest(expected: expected, maxSessions: 8, evaluators: EvaluatorAuthorization(token: Templates.token))
    var version: UInt64 = 0, now = 0.0
    var accepted = 0, rejected = 0, claimed = 0, handled = 0
    var offset = 0
    func take(_ count: Int) -> ArraySlice<UInt8> {
        let end = min(offset + count, input.count)
        defer { offset = end }
        return ArraySlice(input[offset..<end])
    }
    while offset < input.count {
        let opcode = input[offset]
        offset += 1
        var message: [UInt8]
        switch opcode % 4 {
        case 1:
            version += 1
            if version % 2 == 1 {
                ingest.requested(EvaluationRequest(mark: version, episodes: 2, seed: 7), nonce: 0, of: Templates.publication(version),
                                 wallSeconds: now, at: now)
            }
            continue
        case 2:
            now += 1
            for key in ingest.ledger.owedAcknowledgement { _ = ingest.ledger.acknowledge(key, credit: Int(now) % 2 == 0 ? 8 : 0) }
            continue
        case 0:
            let lengthBytes = take(2)
            let length = lengthBytes.count == 2 ? Int(lengthBytes.first!) | Int(lengthBytes.last!) << 8 : 0
            message = Array(take(length))
        default:
            message = Templates.all[Int(opcode >> 2) % Templates.all.count]
            // Overwrite a few bytes at input-chosen places.
            for _ in 0..<Int(take(1).first ?? 0) % 4 {
                let place = take(2), value = take(1)
                guard place.count == 2, let byte = value.first else { break }
                let position = (Int(place.first!) | Int(place.last!) << 8) % message.count
                message[position] = byte
            }
        }
        let own = message.withUnsafeBytes { MessageDecoder.claimedSession($0).map { UInt64($0.session) } ?? 0 }
        let connection = opcode & 0x80 != 0 ? own &+ 1 : own
        let outcome = message.withUnsafeBytes { ingest.handle($0, connection: connection, key: nil, currentVersion: version, initialCredit: 16, now: now) }
        handled += 1
        switch outcome {
        case let .transitions(view, lag):
            precondition(expected.dataKind == .transitions, "transitions accepted by an on-policy ingest")
            accepted += view.header.count
            if let lag { precondition(lag >= 0 && UInt64(lag) <= version, "lag \(lag) at version \(version)") }
        case let .segment(view, lag):
            precondition(expected.dataKind == .segment && view.header.steps == 2, "a segment of another kind or length accepted")
            accepted += view.header.count
            if let lag { precondition(lag >= 0 && UInt64(lag) <= version, "lag \(lag) at version \(version)") }
        case let .gradient(view, lag):
            precondition(expected.dataKind == .gradient, "a gradient accepted by an ingest that takes none")
            precondition(view.norm.isFinite && view.norm <= Templates.gradientLimits.maxNorm, "gradient norm \(view.norm) accepted")
            let limits = Templates.gradientLimits
            precondition(view.header.policyParameters == limits.policyParameters && view.header.valueParameters == limits.valueParameters,
                         "a gradient of another shape accepted")
            precondition(view.header.weightsVersion > version || version - view.header.weightsVersion <= UInt64(limits.maxStaleness),
                         "a stale gradient accepted")
            for i in 0..<(limits.policyParameters + limits.valueParameters) {
                precondition(view.values.loadUnaligned(fromByteOffset: 4 * i, as: Float.self).isFinite, "a non-finite gradient value accepted")
            }
            accepted += view.header.rows
            if let lag { precondition(lag >= 0 && UInt64(lag) <= version, "lag \(lag) at version \(version)") }
        case let .rejected(_, claimedTransitions):
            rejected += 1
            claimed += min(max(claimedTransitions ?? 0, 0), WireFormat.maxTransitionsPerMessage)
        case let .evaluation(report):
            precondition(ingest.requestedEvaluations[report.publication.version]?.publication == report.publication, "requested evaluation")
        case .transitionsAfterStop:
            preconditionFailure("transitions after a stop the harness never made")
        case .hello, .episode, .workerStatus:
            break
        }
        check(ingest.ledger, accepted: accepted, rejected: rejected, claimed: claimed, handled: handled, version: version)
    }
    return 0
}

/// What must hold whatever arrived.
func check(_ ledger: IngestLedger, accepted: Int, rejected: Int, claimed: Int, handled: Int, version: UInt64) {
    precondition(ledger.messagesAccepted.values.reduce(0, +) + ledger.totalMessagesRejected == handled, "every message accounted")
    precondition(ledger.transitionsAccepted == accepted && ledger.transitionsReceived == accepted, "accepted transitions")
    precondition(ledger.workers.values.reduce(0) { $0 + $1.transitionsReceived } + ledger.evicted.transitionsReceived == accepted,
                 "per-session sums, evicted sessions included")
    precondition(ledger.totalMessagesRejected == rejected, "rejected messages")
    precondition(ledger.transitionsRejected == claimed, "rejected transitions")
    precondition(ledger.workers.count <= ledger.maxSessions, "session cap")
    precondition(ledger.randomTransitions + ledger.policyLag.count == accepted, "lagged + random = accepted")
    if ledger.policyLag.count > 0 { precondition(ledger.policyLag.min >= 0 && UInt64(ledger.policyLag.max) <= version, "lag range") }
    precondition(ledger.workers.values.reduce(0) { $0 + $1.messagesRejected } + ledger.evicted.messagesRejected <= rejected, "per-session rejections")
    for record in ledger.workers.values {
        precondition(record.sequenceGaps >= 0 && record.transitionsReceived >= 0 && record.latestWeightsVersion <= version, "session record")
    }
}

let pendulumSpec = EnvironmentSpec(id: "Pendulum-v1", observationLow: [-1, -1, -8], observationHigh: [1, 1, 8], actionLow: [-2], actionHigh: [2],
                                   rewardRange: -16.3...0, maxEpisodeSteps: 200)
let pendulum = ExpectedShapes(spec: pendulumSpec)

/// Valid messages of three sessions (two sharing worker id 1) and an evaluator, to start mutations from: a segment
/// (two environments, two steps, one truncated) beside each transitions message.
enum Templates {
    static let all: [[UInt8]] = {
        var encoder = MessageEncoder()
        var result: [[UInt8]] = []
        for (worker, session): (UInt32, UInt32) in [(1, 0xA), (1, 0xB), (2, 0xC), (3, 0xD)] {
            let role: WorkerRole = worker == 3 ? .evaluator : .actor
            result.append(encoder.encode(Hello(workerId: worker, session: session, role: role, environmentCount: 1, seed: 1, nextSequence: 0,
                                               spec: pendulumSpec, token: role == .evaluator ? token : .none)))
            for version: UInt64 in [1, 3] {
                result.append(encoder.encode(EvaluationReport(workerId: worker, session: session, isFinal: false, publication: publication(version),
                                                              returns: [-300, -200], lengths: [200, 200])))
            }
            let n = 3
            let observations = [Float](repeating: 0.5, count: 3 * n), actions = [Float](repeating: -1, count: n)
            let rewards = [Float](repeating: -2, count: n), flags = [UInt8](repeating: 0, count: n)
            for sequence: UInt64 in [0, 1] {
                let header = TransitionsHeader(workerId: worker, session: session, observationSize: 3, actionSize: 1, sequence: sequence,
                                               weightsVersion: sequence, count: n)
                result.append(observations.withUnsafeBufferPointer { o in actions.withUnsafeBufferPointer { a in
                    rewards.withUnsafeBufferPointer { r in flags.withUnsafeBufferPointer { f in
                        encoder.encodeTransitions(header, observations: o, actions: a, rewards: r, nextObservations: o, terminated: f, truncated: f, gamma: 0.99)
                    } }
                } })
                result.append(segment(&encoder, worker: worker, session: session, sequence: sequence))
                result.append(gradient(&encoder, worker: worker, session: session, sequence: sequence))
            }
            result.append(encoder.encode(EpisodeReport(workerId: worker, session: session, length: 200, episodeReturn: -300, weightsVersion: 0)))
            result.append(encoder.encode(WorkerStatus(workerId: worker, session: session, isFinal: false, transitionsSent: 6, episodes: 1, messagesSent: 5)))
        }
        return result
    }()

    /// Two environments' two steps; environment 1's first step is truncated, and carries its last observation.
    static func segment(_ encoder: inout MessageEncoder, worker: UInt32, session: UInt32, sequence: UInt64) -> [UInt8] {
        let header = SegmentHeader(workerId: worker, session: session, observationSize: 3, actionSize: 1, environments: 2, steps: 2,
                                   sequence: sequence, weightsVersion: sequence, truncations: 1)
        let observations = [Float](repeating: 0.5, count: 12), actions: [Float] = [-2.5, 0, 1, 3], rewards = [Float](repeating: -2, count: 4)
        let logProbabilities: [Float] = [-3, -1, -1.2, -4], bootstrap = [Float](repeating: 0.25, count: 6), cut: [Float] = [0.1, 0.2, -7]
        let terminated: [UInt8] = [0, 0, 0, 0], truncated: [UInt8] = [0, 0, 1, 0]
        return observations.withUnsafeBufferPointer { o in actions.withUnsafeBufferPointer { a in rewards.withUnsafeBufferPointer { r in
            logProbabilities.withUnsafeBufferPointer { l in bootstrap.withUnsafeBufferPointer { b in cut.withUnsafeBufferPointer { c in
                terminated.withUnsafeBufferPointer { t in truncated.withUnsafeBufferPointer { u in
                    encoder.encodeSegment(header, observations: o, actions: a, rewards: r, logProbabilities: l, bootstrapObservations: b,
                                          truncationObservations: c, terminated: t, truncated: u)
                } }
            } } } } } }
    }

    /// A small A3C learner's: a 3→4→1 policy (21 parameters) and a 3→4→1 value network.
    static let gradientLimits = GradientLimits(policyParameters: 21, valueParameters: 21, maxNorm: 1e4, maxStaleness: 2)

    /// A gradient of `gradientLimits`' shape computed at version `sequence`, from a two-step segment of two environments.
    static func gradient(_ encoder: inout MessageEncoder, worker: UInt32, session: UInt32, sequence: UInt64) -> [UInt8] {
        let header = GradientHeader(workerId: worker, session: session, sequence: sequence, weightsVersion: sequence, rows: 4,
                                    policyParameters: gradientLimits.policyParameters, valueParameters: gradientLimits.valueParameters,
                                    policyLoss: 0.5, valueLoss: 2, entropy: 1.4, explainedVariance: 0.1)
        let values = (0..<(gradientLimits.policyParameters + gradientLimits.valueParameters)).map { Float($0 % 7) - 3 }
        return values.withUnsafeBufferPointer { encoder.encodeGradient(header, values: $0) }
    }

    static let token = EvaluatorToken(secret: "fuzz")!

    /// The counts the ingest is told a version was published at.
    static func publication(_ version: UInt64) -> Publication {
        Publication(version: version, updates: 10 * version, envSteps: 100 * version)
    }
}
