import Foundation
import Testing
@testable import WireProtocol

let pendulum = ExpectedShapes(environmentId: "Pendulum-v1", observationSize: 3, actionSize: 1, actionBound: 2)
let decoder = MessageDecoder(expected: pendulum)

func decode(_ bytes: [UInt8]) throws(ProtocolError) -> DecodedMessage {
    let result: Result<DecodedMessage, ProtocolError> = bytes.withUnsafeBytes { raw in
        Result { () throws(ProtocolError) in try decoder.decode(raw) }
    }
    return try result.get()
}

/// A valid transitions message with `count` rows of recognisable values.
func transitionsMessage(count: Int = 4, sequence: UInt64 = 7, version: UInt64 = 3) -> [UInt8] {
    var encoder = MessageEncoder()
    let obs = (0..<(3 * count)).map { Float($0) / 10 }
    let act = (0..<count).map { Float($0 % 4) / 2 - 1 }
    let rew = (0..<count).map { -Float($0) }
    let next = obs.map { $0 + 1 }
    let term = (0..<count).map { UInt8($0 % 2) }
    let trunc = (0..<count).map { UInt8($0 == count - 1 ? 1 : 0) }
    let header = TransitionsHeader(workerId: 5, observationSize: 3, actionSize: 1, sequence: sequence, weightsVersion: version, count: count)
    return obs.withUnsafeBufferPointer { o in act.withUnsafeBufferPointer { a in rew.withUnsafeBufferPointer { r in
        next.withUnsafeBufferPointer { n in term.withUnsafeBufferPointer { t in trunc.withUnsafeBufferPointer { u in
            encoder.encodeTransitions(header, observations: o, actions: a, rewards: r, nextObservations: n, terminated: t, truncated: u)
        } } } } } }
}

func weightsMessage(sizes: [Int] = [3, 8, 1], version: UInt64 = 9) -> [UInt8] {
    var encoder = MessageEncoder()
    let shape = ActorShape(layerSizes: sizes, actionBound: 2)
    let parameters = (0..<shape.parameterCount).map { Float($0) * 0.01 }
    return parameters.withUnsafeBufferPointer { encoder.encodeWeights(version: version, learnerId: 77, publishedAtNanoseconds: 123, shape: shape, parameters: $0) }
}

func expectRejection(_ bytes: [UInt8], _ reason: String, sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        _ = try decode(bytes)
        Issue.record("expected a \(reason) rejection", sourceLocation: sourceLocation)
    } catch {
        #expect(error.reason == reason, "\(error)", sourceLocation: sourceLocation)
    }
}

@Suite("Wire protocol round trips")
struct RoundTripTests {
    @Test("hello")
    func hello() throws {
        var encoder = MessageEncoder()
        let hello = Hello(workerId: 42, observationSize: 3, actionSize: 1, environmentCount: 8, seed: 99, environmentId: "Pendulum-v1")
        guard case let .hello(decoded) = try decode(encoder.encode(hello)) else { Issue.record("wrong kind"); return }
        #expect(decoded == hello)
    }

    @Test("transitions keep every column, byte for byte")
    func transitions() throws {
        let bytes = transitionsMessage(count: 5)
        #expect(bytes.count == 12 + 32 + 5 * (4 * 8 + 2))
        try bytes.withUnsafeBytes { raw in
            guard case let .transitions(view) = try decoder.decode(raw) else { Issue.record("wrong kind"); return }
            #expect(view.header == TransitionsHeader(workerId: 5, observationSize: 3, actionSize: 1, sequence: 7, weightsVersion: 3, count: 5))
            var observations = [Float](repeating: 0, count: 15), rewards = [Float](repeating: 0, count: 5)
            TransitionsView.copyFloats(view.observations, count: 15, to: &observations)
            TransitionsView.copyFloats(view.rewards, count: 5, to: &rewards)
            #expect(observations == (0..<15).map { Float($0) / 10 })
            #expect(rewards == [0, -1, -2, -3, -4])
            #expect((0..<5).map { view.terminated[$0] } == [0, 1, 0, 1, 0])
            #expect((0..<5).map { view.truncated[$0] } == [0, 0, 0, 0, 1])
        }
    }

    @Test("episode, status and shutdown")
    func small() throws {
        var encoder = MessageEncoder()
        let episode = EpisodeReport(workerId: 1, length: 200, episodeReturn: -150.25, weightsVersion: 12)
        guard case let .episode(e) = try decode(encoder.encode(episode)) else { Issue.record("wrong kind"); return }
        #expect(e == episode)
        let status = WorkerStatus(workerId: 2, isFinal: true, transitionsSent: 1_000_000, episodes: 5_000, messagesSent: 12_345)
        guard case let .workerStatus(s) = try decode(encoder.encode(status)) else { Issue.record("wrong kind"); return }
        #expect(s == status)
        guard case .shutdown = try decode(encoder.encodeShutdown()) else { Issue.record("wrong kind"); return }
    }

    @Test("weights: shapes and every parameter in one frame")
    func weights() throws {
        let bytes = weightsMessage()
        try bytes.withUnsafeBytes { raw in
            guard case let .weights(view) = try decoder.decode(raw) else { Issue.record("wrong kind"); return }
            #expect(view.version == 9 && view.learnerId == 77 && view.publishedAtNanoseconds == 123)
            #expect(view.shape == ActorShape(layerSizes: [3, 8, 1], actionBound: 2))
            var parameters = [Float](repeating: 0, count: 41)
            TransitionsView.copyFloats(view.parameters, count: 41, to: &parameters)
            #expect(parameters == (0..<41).map { Float($0) * 0.01 })
        }
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
        bytes = good; bytes[4] = 2; expectRejection(bytes, "unsupported_version")
        bytes = good; bytes[6] = 99; expectRejection(bytes, "unknown_kind")
        bytes = good; bytes[7] = 1; expectRejection(bytes, "reserved_bits")
        expectRejection(Array(good.dropLast()), "length_mismatch")
        expectRejection(good + [0], "length_mismatch")
        // Body length field that disagrees with the frame.
        bytes = good; bytes[8] = bytes[8] &+ 4; expectRejection(bytes, "length_mismatch")
        // Observation size 4 instead of 3 (offset 12 + 4).
        bytes = good; bytes[16] = 4; expectRejection(bytes, "dimension_mismatch")
        // Count 0.
        bytes = good; bytes[12 + 24] = 0; expectRejection(bytes, "out_of_range")
        // A NaN reward (first reward at 44 + 4·(3·4) + 4·4).
        bytes = good
        let reward = 44 + 48 + 16
        bytes.replaceSubrange(reward..<(reward + 4), with: [0x00, 0x00, 0xC0, 0x7F])
        expectRejection(bytes, "non_finite")
        // An action of 3 with a bound of 2.
        bytes = good
        withUnsafeBytes(of: Float(3).bitPattern.littleEndian) { bytes.replaceSubrange(92..<96, with: $0) }
        expectRejection(bytes, "out_of_range")
        // A terminated flag of 2.
        bytes = good; bytes[bytes.count - 8] = 2; expectRejection(bytes, "out_of_range")
    }

    @Test("hello for another environment or shape is rejected")
    func wrongEnvironment() {
        var encoder = MessageEncoder()
        expectRejection(encoder.encode(Hello(workerId: 1, observationSize: 3, actionSize: 1, environmentCount: 1, seed: 0, environmentId: "CartPole-v1")), "wrong_environment")
        expectRejection(encoder.encode(Hello(workerId: 1, observationSize: 4, actionSize: 1, environmentCount: 1, seed: 0, environmentId: "Pendulum-v1")), "dimension_mismatch")
        expectRejection(weightsMessage(sizes: [3, 8, 2]), "dimension_mismatch")
        expectRejection(weightsMessage(sizes: [4, 8, 1]), "dimension_mismatch")
    }

    @Test("thousands of random, truncated and bit-flipped messages never crash the decoder")
    func fuzz() {
        var generator = SystemRandomNumberGenerator()
        let seeds = [transitionsMessage(count: 3), weightsMessage(), transitionsMessage(count: 1)]
        var rejected = 0, accepted = 0
        func attempt(_ bytes: [UInt8]) {
            do {
                _ = try decode(bytes)
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
