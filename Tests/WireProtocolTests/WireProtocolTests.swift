import Foundation
import Specs
import Testing
import Randomness
@testable import WireProtocol

/// Pendulum-v1's spaces and limits (a literal here: the wire knows no environment).
let pendulumSpec = EnvironmentSpec(id: "Pendulum-v1", observationLow: [-1, -1, -8], observationHigh: [1, 1, 8], actionLow: [-2], actionHigh: [2],
                                   rewardRange: -16.3...0, maxEpisodeSteps: 200)
/// Pendulum-v1's shapes and bounds, as the learner checks them.
let pendulum = ExpectedShapes(spec: pendulumSpec)
/// The learner's side: worker → learner kinds.
let decoder = MessageDecoder(expected: pendulum, accepting: .workerToLearner)
/// The worker's side: learner → worker kinds.
let workerDecoder = MessageDecoder(expected: pendulum, accepting: .learnerToWorker)

func decode(_ bytes: [UInt8], with decoder: MessageDecoder = decoder) throws(ProtocolError) -> DecodedMessage {
    let result: Result<DecodedMessage, ProtocolError> = bytes.withUnsafeBytes { raw in
        Result { () throws(ProtocolError) in try decoder.decode(raw) }
    }
    return try result.get()
}

/// A valid transitions message with `count` rows of recognisable values (all within Pendulum's bounds).
func transitionsMessage(count: Int = 4, sequence: UInt64 = 7, version: UInt64 = 3) -> [UInt8] {
    var encoder = MessageEncoder()
    let obs = (0..<(3 * count)).map { Float($0 % 10) / 10 }
    let act = (0..<count).map { Float($0 % 4) / 2 - 1 }
    let rew = (0..<count).map { -Float($0) }
    let next = obs.map { -$0 }
    let term = (0..<count).map { UInt8($0 % 2) }
    let trunc = (0..<count).map { UInt8($0 == count - 1 ? 1 : 0) }
    let header = TransitionsHeader(workerId: 5, session: 0x5E55, observationSize: 3, actionSize: 1, sequence: sequence, weightsVersion: version, count: count)
    return obs.withUnsafeBufferPointer { o in act.withUnsafeBufferPointer { a in rew.withUnsafeBufferPointer { r in
        next.withUnsafeBufferPointer { n in term.withUnsafeBufferPointer { t in trunc.withUnsafeBufferPointer { u in
            encoder.encodeTransitions(header, observations: o, actions: a, rewards: r, nextObservations: n, terminated: t, truncated: u, gamma: 0.99)
        } } } } } }
}

func weightsMessage(sizes: [Int] = [3, 8, 1], version: UInt64 = 9, low: Float = -2, high: Float = 2,
                    request: EvaluationRequest? = nil, head: ActorShape.Head = .deterministic, scaling: ObservationScaling? = nil) -> [UInt8] {
    var encoder = MessageEncoder()
    let actions = sizes[sizes.count - 1] / (head == .deterministic ? 1 : 2)
    let shape = ActorShape(layerSizes: sizes, actionLow: Array(repeating: low, count: actions), actionHigh: Array(repeating: high, count: actions),
                           head: head)
    let parameters = (0..<shape.parameterCount).map { Float($0) * 0.01 }
    return parameters.withUnsafeBufferPointer {
        encoder.encodeWeights(Publication(version: version, updates: 450, envSteps: 5_000), learnerId: 77, publishedAtNanoseconds: 123,
                              shape: shape, evaluationRequest: request, parameters: $0, observationScaling: scaling)
    }
}

func helloMessage(workerId: UInt32 = 42, session: UInt32 = 0xDEAD_BEEF, role: WorkerRole = .actor, spec: EnvironmentSpec = pendulumSpec) -> [UInt8] {
    var encoder = MessageEncoder()
    return encoder.encode(Hello(workerId: workerId, session: session, role: role, environmentCount: 8, seed: 99, nextSequence: 1_234, spec: spec))
}

func evaluationMessage(returns: [Double] = [-150.5, -120.25], lengths: [UInt32] = [200, 200], isFinal: Bool = false) -> [UInt8] {
    var encoder = MessageEncoder()
    return encoder.encode(EvaluationReport(workerId: 7, session: 0xE7A1, isFinal: isFinal,
                                           publication: Publication(version: 9, updates: 450, envSteps: 5_000), returns: returns, lengths: lengths))
}

func expectRejection(_ bytes: [UInt8], _ reason: String, by decoder: MessageDecoder = decoder, sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        _ = try decode(bytes, with: decoder)
        Issue.record("expected a \(reason) rejection", sourceLocation: sourceLocation)
    } catch {
        #expect(error.reason == reason, "\(error)", sourceLocation: sourceLocation)
    }
}

@Suite("Wire protocol round trips")
struct RoundTripTests {
    @Test("wrong_environment names the first field that differs, with both values' bits: specs that print alike can differ in the last bit")
    func specDifference() throws {
        let learner = EnvironmentSpec(id: "Pendulum-v1", observationLow: [-1, -1, -8], observationHigh: [1, 1, 8], actionLow: [-2], actionHigh: [2],
                                      rewardRange: -16.3...0, maxEpisodeSteps: 200)
        var worker = learner
        worker.observationHigh[2] = Float(8).nextUp
        #expect(learner.description == worker.description, "they print alike")
        let difference = try #require(learner.firstDifference(from: worker))
        #expect(difference.contains("observation high[2]") && difference.contains("41000001") && difference.contains("41000000"), "\(difference)")
        var encoder = MessageEncoder()
        let hello = encoder.encode(Hello(workerId: 1, session: 1, environmentCount: 1, seed: 1, spec: worker))
        let learnerDecoder = MessageDecoder(expected: ExpectedShapes(spec: learner), accepting: .workerToLearner)
        #expect(throws: ProtocolError.self) { _ = try decode(hello, with: learnerDecoder) }
        do throws(ProtocolError) {
            _ = try decode(hello, with: learnerDecoder)
        } catch {
            #expect(error.reason == "wrong_environment" && error.description.contains("first difference: observation high[2]"), "\(error)")
        }
        #expect(learner.firstDifference(from: learner) == nil)
    }

    @Test("hello carries the whole spec and the role")
    func hello() throws {
        let bytes = helloMessage(role: .evaluator)
        // Fixed part, then 2 × 3 observation bounds and 2 × 1 action bounds, then "Pendulum-v1".
        #expect(bytes.count == 12 + 80 + 4 * 8 + 11, "48 fixed bytes, the evaluator token's 32, the bounds and the id")
        guard case let .hello(decoded) = try decode(bytes) else { Issue.record("wrong kind"); return }
        #expect(decoded == Hello(workerId: 42, session: 0xDEAD_BEEF, role: .evaluator, environmentCount: 8, seed: 99, nextSequence: 1_234,
                                 spec: pendulumSpec))
        // Without knowing the environment, as a learner that learns it from the first hello.
        let unknown = try bytes.withUnsafeBytes { raw throws(ProtocolError) in try MessageDecoder.decodeHello(raw) }
        #expect(unknown.spec == pendulumSpec && unknown.role == .evaluator)
    }

    @Test("an evaluation report keeps its publication, returns and lengths")
    func evaluation() throws {
        let bytes = evaluationMessage(isFinal: true)
        #expect(bytes.count == 12 + 48 + 2 * 12, "40 fixed bytes and the nonce's 8, then 12 per episode")
        guard case let .evaluation(report) = try decode(bytes) else { Issue.record("wrong kind"); return }
        #expect(report == EvaluationReport(workerId: 7, session: 0xE7A1, isFinal: true, publication: Publication(version: 9, updates: 450, envSteps: 5_000),
                                           returns: [-150.5, -120.25], lengths: [200, 200]))
    }

    @Test("transitions keep every column, byte for byte")
    func transitions() throws {
        let bytes = transitionsMessage(count: 5)
        #expect(bytes.count == 12 + 40 + 5 * (4 * 9 + 2))
        try bytes.withUnsafeBytes { raw in
            guard case let .transitions(view) = try decoder.decode(raw) else { Issue.record("wrong kind"); return }
            #expect(view.header == TransitionsHeader(workerId: 5, session: 0x5E55, observationSize: 3, actionSize: 1, sequence: 7, weightsVersion: 3, count: 5))
            var observations = [Float](repeating: 0, count: 15), rewards = [Float](repeating: 0, count: 5)
            TransitionsView.copyFloats(view.observations, count: 15, to: &observations)
            TransitionsView.copyFloats(view.rewards, count: 5, to: &rewards)
            #expect(observations == (0..<15).map { Float($0 % 10) / 10 })
            #expect(rewards == [0, -1, -2, -3, -4])
            #expect((0..<5).map { view.terminated[$0] } == [0, 1, 0, 1, 0])
            #expect((0..<5).map { view.truncated[$0] } == [0, 0, 0, 0, 1])
        }
    }

    @Test("episode, status, announce and shutdown")
    func small() throws {
        var encoder = MessageEncoder()
        let episode = EpisodeReport(workerId: 1, session: 9, length: 200, episodeReturn: -150.25, weightsVersion: 12)
        guard case let .episode(e) = try decode(encoder.encode(episode)) else { Issue.record("wrong kind"); return }
        #expect(e == episode)
        let status = WorkerStatus(workerId: 2, session: 9, isFinal: true, transitionsSent: 1_000_000, episodes: 5_000, messagesSent: 12_345)
        guard case let .workerStatus(s) = try decode(encoder.encode(status)) else { Issue.record("wrong kind"); return }
        #expect(s == status)
        let announce = Announce(learnerId: 0xABCD, weightsVersion: 77, credit: 25)
        let announceBytes = encoder.encode(announce)
        #expect(announceBytes.count == 12 + 24, "no session's id or sequence is broadcast")
        guard case let .announce(a) = try decode(announceBytes, with: workerDecoder) else { Issue.record("wrong kind"); return }
        #expect(a == announce)
        expectRejection(announceBytes + [0, 0, 0, 0], "length_mismatch", by: workerDecoder)
        let ticket = EvaluationTicket(mark: 500, isFinal: false, nonce: 0xFEED)
        let acknowledgement = Acknowledgement(learnerId: 0xABCD, workerId: 3, session: 0xBEEF, nextSequence: 1_000_000, credit: 25, ticket: ticket)
        let acknowledgementBytes = encoder.encode(acknowledgement)
        #expect(acknowledgementBytes.count == 12 + 56)
        guard case let .acknowledgement(k) = try decode(acknowledgementBytes, with: workerDecoder) else { Issue.record("wrong kind"); return }
        #expect(k == acknowledgement)
        var flagged = acknowledgementBytes
        flagged[12 + 28] = 2
        expectRejection(flagged, "reserved_bits", by: workerDecoder)
        expectRejection(acknowledgementBytes, "unexpected_kind")
        guard case .shutdown = try decode(encoder.encodeShutdown(), with: workerDecoder) else { Issue.record("wrong kind"); return }
    }

    @Test("weights: shapes and every parameter in one frame")
    func weights() throws {
        let bytes = weightsMessage()
        try bytes.withUnsafeBytes { raw in
            guard case let .weights(view) = try workerDecoder.decode(raw) else { Issue.record("wrong kind"); return }
            #expect(view.version == 9 && view.learnerId == 77 && view.publishedAtNanoseconds == 123)
            #expect(view.publication == Publication(version: 9, updates: 450, envSteps: 5_000) && view.evaluationRequest == nil)
            #expect(view.shape == ActorShape(layerSizes: [3, 8, 1], actionLow: [-2], actionHigh: [2]))
            var parameters = [Float](repeating: 0, count: 41)
            TransitionsView.copyFloats(view.parameters, count: 41, to: &parameters)
            #expect(parameters == (0..<41).map { Float($0) * 0.01 })
        }
        let request = EvaluationRequest(mark: 5_000, episodes: 50, seed: 1_000_003, isFinal: true)
        try weightsMessage(request: request).withUnsafeBytes { raw in
            guard case let .weights(view) = try workerDecoder.decode(raw) else { Issue.record("wrong kind"); return }
            #expect(view.evaluationRequest == request)
        }
    }

    @Test("weights may carry an observation normalization (protocol 8); a σ that is not positive, a mean that is not finite, or a clip that is not positive is refused by name")
    func weightsObservationScaling() throws {
        let scaling = ObservationScaling(mean: [1, -2, 0.5], standardDeviation: [0.5, 4, 1], clip: 5)
        let bytes = weightsMessage(scaling: scaling)
        try bytes.withUnsafeBytes { raw in
            guard case let .weights(view) = try workerDecoder.decode(raw) else { Issue.record("wrong kind"); return }
            #expect(view.observationScaling == scaling && view.shape == ActorShape(layerSizes: [3, 8, 1], actionLow: [-2], actionHigh: [2]))
        }
        // After the header, the fixed body, 3 layer sizes, the bounds, the count and 41 parameters: the clip, 3 means, 3 σ.
        let clipAt = 12 + 64 + 12 + 8 + 4 + 4 * 41
        for (offset, value, reason) in [(clipAt, Float(0), "out_of_range"), (clipAt + 4, .nan, "non_finite"), (clipAt + 16 + 4, -1, "out_of_range"),
                                        (clipAt + 16 + 8, .infinity, "out_of_range")] {
            var hostile = bytes
            withUnsafeBytes(of: value.bitPattern.littleEndian) { hostile.replaceSubrange(offset..<(offset + 4), with: $0) }
            expectRejection(hostile, reason, by: workerDecoder)
        }
        // The flag without the block is a length mismatch; an unknown flag bit is reserved.
        var flagOnly = weightsMessage()
        flagOnly[70] |= 4
        expectRejection(flagOnly, "length_mismatch", by: workerDecoder)
        var reserved = weightsMessage()
        reserved[70] |= 8
        expectRejection(reserved, "reserved_bits", by: workerDecoder)
    }

    @Test("weights say their head: a squashed Gaussian's output layer holds two values per action dimension")
    func weightsHead() throws {
        try weightsMessage(sizes: [3, 8, 2], head: .squashedGaussian).withUnsafeBytes { raw in
            guard case let .weights(view) = try workerDecoder.decode(raw) else { Issue.record("wrong kind"); return }
            #expect(view.shape == ActorShape(layerSizes: [3, 8, 2], actionLow: [-2], actionHigh: [2], head: .squashedGaussian))
            #expect(view.shape.actionSize == 1 && view.shape.parameterCount == 50)
        }
        var odd = weightsMessage(sizes: [3, 8, 2], head: .squashedGaussian)
        odd[76 + 8] = 1  // the output layer's size: 1 output for a head with 2 per action
        expectRejection(odd, "dimension_mismatch", by: workerDecoder)
        var unknownHead = weightsMessage()
        unknownHead[72] = 6
        expectRejection(unknownHead, "out_of_range", by: workerDecoder)
        // A categorical head acts in a Discrete space only, and this environment's is a Box.
        var categorical = weightsMessage()
        categorical[72] = 4
        expectRejection(categorical, "out_of_range", by: workerDecoder)
        // Tanh hidden layers (protocol 7, the on-policy actors') decode as such.
        var tanhLayers = weightsMessage()
        tanhLayers[71] = 2
        try tanhLayers.withUnsafeBytes { raw in
            guard case let .weights(view) = try workerDecoder.decode(raw) else { Issue.record("wrong kind"); return }
            #expect(view.shape.hiddenActivation == .tanh)
        }
        var unknownActivation = weightsMessage()
        unknownActivation[71] = 3
        expectRejection(unknownActivation, "out_of_range", by: workerDecoder)
        expectRejection(weightsMessage(sizes: [3, 8, 4], head: .squashedGaussian), "dimension_mismatch", by: workerDecoder)
    }
}

@Suite("Wire protocol validation")
struct ValidationTests {
    @Test("each kind of malformed message gets its own typed error")
    func malformed() {
        let good = transitionsMessage()
        expectRejection([], "too_short")
        expectRejection(Array(good.prefix(11)), "too_short")
        var bytes = good; bytes[0] = 0x45; expectRejection(bytes, "bad_magic")
        bytes = good; bytes[4] = 1; expectRejection(bytes, "unsupported_version")
        // A peer of the previous protocol version is told which version this build speaks.
        let previous = WireFormat.version - 1
        bytes = good; bytes[4] = UInt8(previous)
        do {
            _ = try decode(bytes)
            Issue.record("a version \(previous) message decoded")
        } catch {
            #expect("\(error)".contains("unsupported protocol version \(previous): this build speaks version \(WireFormat.version) only"))
        }
        bytes = good; bytes[6] = 99; expectRejection(bytes, "unknown_kind")
        bytes = good; bytes[7] = 1; expectRejection(bytes, "reserved_bits")
        expectRejection(Array(good.dropLast()), "length_mismatch")
        expectRejection(good + [0], "length_mismatch")
        // Body length field that disagrees with the frame.
        bytes = good; bytes[8] = bytes[8] &+ 4; expectRejection(bytes, "length_mismatch")
        // Observation size 4 instead of 3 (offset 12 + 8).
        bytes = good; bytes[20] = 4; expectRejection(bytes, "dimension_mismatch")
        // Count 0 (offset 12 + 28).
        bytes = good; bytes[12 + 28] = 0; expectRejection(bytes, "out_of_range")
        // Session 0.
        bytes = good; bytes.replaceSubrange(16..<20, with: [0, 0, 0, 0]); expectRejection(bytes, "out_of_range")
        // A NaN reward (first reward at 52 + 4·(3·4) + 4·4).
        bytes = good
        let reward = 52 + 48 + 16
        bytes.replaceSubrange(reward..<(reward + 4), with: [0x00, 0x00, 0xC0, 0x7F])
        expectRejection(bytes, "non_finite")
        // An action of 3 with a bound of 2.
        bytes = good
        withUnsafeBytes(of: Float(3).bitPattern.littleEndian) { bytes.replaceSubrange(92..<96, with: $0) }
        expectRejection(bytes, "out_of_range")
        // A terminated flag of 2.
        bytes = good; bytes[bytes.count - 8] = 2; expectRejection(bytes, "out_of_range")
    }

    @Test("a hello whose spec differs only in its reward range is accepted: gymnasium declares none")
    func rewardRangeIsTheLearners() throws {
        var unbounded = pendulumSpec
        unbounded.rewardLow = -.infinity
        unbounded.rewardHigh = .infinity
        guard case let .hello(hello) = try decode(helloMessage(spec: unbounded)) else {
            Issue.record("not a hello")
            return
        }
        #expect(hello.spec.rewardHigh == .infinity)
        #expect(pendulumSpec.isSameEnvironment(as: unbounded) && unbounded.isSameEnvironment(as: pendulumSpec))
        var observation = unbounded
        observation.observationHigh[2] = 9
        #expect(!pendulumSpec.isSameEnvironment(as: observation))
    }

    @Test("a hello whose spec differs in any field but the reward range is rejected, naming both specs")
    func wrongEnvironment() throws {
        var other = pendulumSpec
        other.id = "CartPole-v1"
        var wider = pendulumSpec
        wider.actionHigh = [3]
        var longer = pendulumSpec
        longer.maxEpisodeSteps = 1_000
        let mountainCar = EnvironmentSpec(id: "MountainCarContinuous-v0", observationLow: [-1.2, -0.07], observationHigh: [0.6, 0.07],
                                          actionLow: [-1], actionHigh: [1], rewardRange: -0.1...100, maxEpisodeSteps: 999)
        for spec in [other, wider, longer, mountainCar] {
            expectRejection(helloMessage(spec: spec), "wrong_environment")
        }
        do {
            _ = try decode(helloMessage(spec: mountainCar))
        } catch {
            #expect("\(error)" == "the worker runs \(mountainCar), but the learner trains on \(pendulumSpec); first difference: id: \"\(mountainCar.id)\" where the learner has \"\(pendulumSpec.id)\"")
        }
        expectRejection(helloMessage(session: 0), "out_of_range")
        // A spec that cannot describe an environment: low above high.
        var inverted = pendulumSpec
        inverted.actionLow = [3]
        expectRejection(helloMessage(spec: inverted), "out_of_range")
        expectRejection(weightsMessage(sizes: [3, 8, 2]), "dimension_mismatch", by: workerDecoder)
        expectRejection(weightsMessage(sizes: [4, 8, 1]), "dimension_mismatch", by: workerDecoder)
        expectRejection(weightsMessage(high: 3), "out_of_range", by: workerDecoder)
    }

    @Test("impossible evaluations are rejected: no episodes, too many, lengths past the limit, returns no rewards can sum to")
    func evaluations() throws {
        _ = try decode(evaluationMessage())
        var encoder = MessageEncoder()
        let empty = encoder.encode(EvaluationReport(workerId: 7, session: 1, isFinal: false, publication: Publication(version: 1, updates: 1, envSteps: 1),
                                                    returns: [], lengths: []))
        expectRejection(empty, "out_of_range")
        expectRejection(evaluationMessage(returns: [-1], lengths: [201]), "out_of_range")
        expectRejection(evaluationMessage(returns: [-1], lengths: [0]), "out_of_range")
        expectRejection(evaluationMessage(returns: [5], lengths: [10]), "out_of_range")
        expectRejection(evaluationMessage(returns: [.nan], lengths: [10]), "non_finite")
        var bytes = evaluationMessage()
        bytes[20] = 2  // flags
        expectRejection(bytes, "reserved_bits")
        expectRejection(evaluationMessage(), "unexpected_kind", by: workerDecoder)
        // More episodes claimed than the frame holds.
        bytes = evaluationMessage()
        bytes[22] = 3
        expectRejection(bytes, "length_mismatch")
    }

    @Test("every kind arriving on the wrong socket is unexpected_kind, whatever its body")
    func direction() {
        var encoder = MessageEncoder()
        expectRejection(weightsMessage(), "unexpected_kind")
        expectRejection(encoder.encodeShutdown(), "unexpected_kind")
        expectRejection(encoder.encode(Announce(learnerId: 1, weightsVersion: 1)), "unexpected_kind")
        // A weights header with a zero-filled body: the kind decides, not the body.
        var zeroBody = WireFormat.magic + [UInt8(WireFormat.version), 0, 16, 0] + [100, 0, 0, 0]
        zeroBody += [UInt8](repeating: 0, count: 100)
        expectRejection(zeroBody, "unexpected_kind")
        expectRejection(transitionsMessage(), "unexpected_kind", by: workerDecoder)
        expectRejection(encoder.encode(WorkerStatus(workerId: 1, session: 1, isFinal: false, transitionsSent: 0, episodes: 0, messagesSent: 0)),
                        "unexpected_kind", by: workerDecoder)
    }

    /// `good` with one float replaced, at byte `offset`.
    func replacingFloat(_ good: [UInt8], at offset: Int, with value: Float) -> [UInt8] {
        var bytes = good
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.replaceSubrange(offset..<(offset + 4), with: $0) }
        return bytes
    }

    @Test("values outside the environment's bounds are rejected: finite poison, and actions one float past the bound")
    func bounds() throws {
        let good = transitionsMessage()  // 4 rows: observations at 52, actions at 100, rewards at 116, discounts at 132
        _ = try decode(good)
        expectRejection(replacingFloat(good, at: 52, with: 1e30), "out_of_range")
        expectRejection(replacingFloat(good, at: 52 + 8, with: 8.0001), "out_of_range")
        _ = try decode(replacingFloat(good, at: 52 + 8, with: 8))  // θ̇ exactly at its bound
        expectRejection(replacingFloat(good, at: 132 + 4, with: -1.0000001), "out_of_range")
        expectRejection(replacingFloat(good, at: 132, with: .infinity), "non_finite")
        expectRejection(replacingFloat(good, at: 100, with: Float(2).nextUp), "out_of_range")
        expectRejection(replacingFloat(good, at: 100, with: -Float(2).nextUp), "out_of_range")
        _ = try decode(replacingFloat(good, at: 100, with: 2))
        expectRejection(replacingFloat(good, at: 100, with: .nan), "non_finite")
        expectRejection(replacingFloat(good, at: 116, with: 0.5), "out_of_range")
        expectRejection(replacingFloat(good, at: 116, with: -1e30), "out_of_range")
    }

    @Test("impossible episodes are rejected: no steps, more than the time limit, a return no rewards can sum to")
    func episodes() throws {
        var encoder = MessageEncoder()
        func episode(_ length: UInt32, _ value: Double) -> [UInt8] {
            encoder.encode(EpisodeReport(workerId: 1, session: 1, length: length, episodeReturn: value, weightsVersion: 0))
        }
        _ = try decode(episode(200, -3_254))
        _ = try decode(episode(1, 0))
        expectRejection(episode(0, 0), "out_of_range")
        expectRejection(episode(201, -100), "out_of_range")
        expectRejection(episode(200, 1e300), "out_of_range")
        expectRejection(episode(10, -200), "out_of_range")
        expectRejection(episode(10, 0.5), "out_of_range")
        expectRejection(episode(10, .nan), "non_finite")
    }

    @Test("thousands of random, truncated and bit-flipped messages never crash the decoder")
    func fuzz() {
        var generator = Xoshiro256(seed: 20_261_204)
        let seeds = [transitionsMessage(count: 3), weightsMessage(), transitionsMessage(count: 1), helloMessage(), evaluationMessage(),
                     weightsMessage(request: EvaluationRequest(mark: 1, episodes: 3, seed: 4)),
                     weightsMessage(sizes: [3, 8, 2], head: .squashedGaussian)]
        var rejected = 0, accepted = 0
        func attempt(_ bytes: [UInt8]) {
            do {
                _ = try decode(bytes, with: bytes.count > 6 && bytes[6] >= 16 ? workerDecoder : decoder)
                accepted += 1
            } catch {
                rejected += 1
                #expect(ProtocolError.allReasons.contains(error.reason))
            }
        }
        for _ in 0..<3_000 {
            let length = Int.random(in: 0..<200, using: &generator)
            attempt((0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) })
        }
        for seed in seeds {
            for cut in 0..<seed.count { attempt(Array(seed.prefix(cut))) }
            for _ in 0..<2_000 {
                var bytes = seed
                let bit = Int.random(in: 0..<(bytes.count * 8), using: &generator)
                bytes[bit / 8] ^= UInt8(1 << (bit % 8))
                attempt(bytes)
            }
        }
        #expect(rejected > 3_000)
        #expect(accepted > 0, "flips inside float values should still decode")
    }
}

@Suite("Wire protocol: the kind in a header")
struct HeaderKindTests {
    @Test("a valid header names its kind; anything else is nil, never a trap")
    func kindOfHeader() {
        var encoder = MessageEncoder()
        let shutdown = encoder.encodeShutdown()
        #expect(shutdown.withUnsafeBytes { WireFormat.kind(of: $0) } == .shutdown)
        let announce = encoder.encode(Announce(learnerId: 7, weightsVersion: 3, credit: 64))
        #expect(announce.withUnsafeBytes { WireFormat.kind(of: $0) } == .announce)
        #expect(Array(shutdown.prefix(11)).withUnsafeBytes { WireFormat.kind(of: $0) } == nil, "shorter than a header")
        #expect([UInt8]().withUnsafeBytes { WireFormat.kind(of: $0) } == nil)
        var wrongMagic = shutdown
        wrongMagic[0] = 0x45
        #expect(wrongMagic.withUnsafeBytes { WireFormat.kind(of: $0) } == nil)
        var oldVersion = shutdown
        oldVersion[4] = 1
        #expect(oldVersion.withUnsafeBytes { WireFormat.kind(of: $0) } == nil)
        var unknownKind = shutdown
        unknownKind[6] = 99
        #expect(unknownKind.withUnsafeBytes { WireFormat.kind(of: $0) } == nil)
    }
}

@Suite("The per-message row limit, as PROTOCOL.md states it")
struct RowLimitTests {
    @Test("rows of 4·(2·O + A + 2) + 2 bytes: Pendulum 4,096 (155,700 bytes), HalfCheetah 1,541, the widest spec 21; one row more is over 256 KiB")
    func rowLimits() throws {
        for (o, a, rows, bytes) in [(3, 1, 4_096, 155_700), (17, 6, 1_541, 262_022), (1_024, 1_024, 21, 258_310)] {
            #expect(WireFormat.maxTransitionsPerMessage(observationSize: o, actionSize: a) == rows)
            #expect(WireFormat.transitionsMessageSize(count: rows, observationSize: o, actionSize: a) == bytes)
            if rows < WireFormat.maxTransitionsPerMessage {
                #expect(WireFormat.transitionsMessageSize(count: rows + 1, observationSize: o, actionSize: a) > WireFormat.maxWorkerMessageBytes)
            }
        }
        // What protocol 3's formula, 2·O + A + 1 floats a row, let a HalfCheetah worker send: 1,578 rows, 268,312 bytes. It is read and rejected.
        #expect(WireFormat.transitionsMessageSize(count: 1_578, observationSize: 17, actionSize: 6) == 268_312)
        #expect(268_312 <= WireFormat.maxReadFrameBytes)
    }
}
