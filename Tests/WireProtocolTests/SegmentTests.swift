import Specs
import Testing
@testable import WireProtocol

/// CartPole-v1's spec: a Discrete(2) action space (protocol 7).
let cartPoleSpec = EnvironmentSpec(id: "CartPole-v1", observationLow: [-4.8, -.infinity, -0.41887903, -.infinity],
                                   observationHigh: [4.8, .infinity, 0.41887903, .infinity], discreteActions: 2, rewardRange: 1...1,
                                   maxEpisodeSteps: 500)
/// An on-policy learner's side: segments, with 5 steps each.
let segmentDecoder = MessageDecoder(expected: ExpectedShapes(spec: cartPoleSpec, dataKind: .segment, segmentSteps: 5), accepting: .workerToLearner)

/// Two CartPole environments' `steps` steps; environment 1 is truncated at its step 2 (one truncation observation).
struct SegmentColumns {
    var steps: Int
    var environments = 2
    var observations: [Float] = []
    var actions: [Float] = []
    var rewards: [Float] = []
    var logProbabilities: [Float] = []
    var bootstrap: [Float] = []
    var cut: [Float] = [0.5, 0.1, -0.05, 0.2]
    var terminated: [UInt8] = []
    var truncated: [UInt8] = []
    var truncations = 1
    var version: UInt64 = 4

    init(steps: Int = 5) {
        self.steps = steps
        let rows = environments * steps
        observations = (0..<(4 * rows)).map { Float($0 % 7) / 20 - 0.15 }
        actions = (0..<rows).map { Float($0 % 2) }
        rewards = Array(repeating: 1, count: rows)
        logProbabilities = (0..<rows).map { -0.6 - Float($0) / 100 }
        bootstrap = (0..<8).map { Float($0) / 40 }
        terminated = Array(repeating: 0, count: rows)
        truncated = (0..<rows).map { $0 == steps + 2 ? 1 : 0 }
    }

    func encoded() -> [UInt8] {
        var encoder = MessageEncoder()
        let header = SegmentHeader(workerId: 5, session: 0x5E55, observationSize: 4, actionSize: 1, environments: environments, steps: steps,
                                   sequence: 3, weightsVersion: version, truncations: truncations, receipt: 9)
        return observations.withUnsafeBufferPointer { o in actions.withUnsafeBufferPointer { a in rewards.withUnsafeBufferPointer { r in
            logProbabilities.withUnsafeBufferPointer { l in bootstrap.withUnsafeBufferPointer { b in cut.withUnsafeBufferPointer { c in
                terminated.withUnsafeBufferPointer { t in truncated.withUnsafeBufferPointer { u in
                    encoder.encodeSegment(header, observations: o, actions: a, rewards: r, logProbabilities: l, bootstrapObservations: b,
                                          truncationObservations: c, terminated: t, truncated: u)
                } }
            } } } } } }
    }
}

@Suite("Segments and Discrete spaces (protocol 7)")
struct SegmentTests {
    @Test("a segment decodes to its columns, and its rows count as transitions do when rejected")
    func roundTrip() throws {
        let columns = SegmentColumns()
        let bytes = columns.encoded()
        #expect(bytes.count == WireFormat.segmentMessageSize(environments: 2, steps: 5, truncations: 1, observationSize: 4, actionSize: 1))
        guard case let .segment(view) = try decode(bytes, with: segmentDecoder) else { Issue.record("not a segment"); return }
        #expect(view.header == SegmentHeader(workerId: 5, session: 0x5E55, observationSize: 4, actionSize: 1, environments: 2, steps: 5,
                                             sequence: 3, weightsVersion: 4, truncations: 1, receipt: 9))
        var copied = [Float](repeating: 0, count: 40)
        TransitionsView.copyFloats(view.observations, count: 40, to: &copied)
        #expect(copied == columns.observations)
        var cut = [Float](repeating: 0, count: 4)
        TransitionsView.copyFloats(view.truncationObservations, count: 4, to: &cut)
        #expect(cut == columns.cut)
        #expect(bytes.withUnsafeBytes { MessageDecoder.claimedTransitionCount($0) } == 10)
    }

    @Test("a segment is checked as transitions are: whole actions within Discrete(n), its truncations, its steps, finite values")
    func rejections() {
        #expect(throws: Never.self) { _ = try decode(SegmentColumns().encoded(), with: segmentDecoder) }
        var columns = SegmentColumns()
        columns.actions[3] = 0.5
        expectRejection(columns.encoded(), "out_of_range", by: segmentDecoder)
        columns = SegmentColumns()
        columns.actions[3] = 2  // Discrete(2) has 0 and 1
        expectRejection(columns.encoded(), "out_of_range", by: segmentDecoder)
        columns = SegmentColumns()
        columns.logProbabilities[0] = .nan
        expectRejection(columns.encoded(), "non_finite", by: segmentDecoder)
        columns = SegmentColumns()
        columns.truncated[1] = 1  // a second truncation without its observation
        expectRejection(columns.encoded(), "length_mismatch", by: segmentDecoder)
        columns = SegmentColumns()
        columns.observations[0] = 5  // the cart's position is within ±4.8
        expectRejection(columns.encoded(), "out_of_range", by: segmentDecoder)
        columns = SegmentColumns()
        columns.bootstrap[0] = .infinity
        expectRejection(columns.encoded(), "non_finite", by: segmentDecoder)
        columns = SegmentColumns()
        columns.rewards[0] = 2  // CartPole's reward is 1
        expectRejection(columns.encoded(), "out_of_range", by: segmentDecoder)
        // Another --rollout-steps than the learner's.
        expectRejection(SegmentColumns(steps: 4).encoded(), "out_of_range", by: segmentDecoder)
    }

    @Test("each learner takes its own data kind: segments are wrong_data_kind off-policy, transitions on-policy")
    func dataKinds() {
        expectRejection(SegmentColumns().encoded(), "wrong_data_kind", by: decoder)
        expectRejection(transitionsMessage(), "wrong_data_kind",
                        by: MessageDecoder(expected: ExpectedShapes(spec: pendulumSpec, dataKind: .segment), accepting: .workerToLearner))
    }

    @Test("a hello carries Discrete(n), and a learner of a Box environment is told the spaces differ")
    func discreteHello() throws {
        let bytes = helloMessage(spec: cartPoleSpec)
        guard case let .hello(hello) = try decode(bytes, with: segmentDecoder) else { Issue.record("not a hello"); return }
        #expect(hello.spec == cartPoleSpec && hello.spec.discreteActions == 2)
        let boxed = EnvironmentSpec(id: "CartPole-v1", observationLow: cartPoleSpec.observationLow, observationHigh: cartPoleSpec.observationHigh,
                                    actionLow: [0], actionHigh: [1], rewardRange: 1...1, maxEpisodeSteps: 500)
        expectRejection(helloMessage(spec: boxed), "wrong_environment", by: segmentDecoder)
        // A Discrete(1) is no choice at all: the spec's own check refuses it.
        var one = bytes
        one[WireFormat.headerSize + 46] = 1  // the discrete-actions field, after the id length
        expectRejection(one, "out_of_range", by: segmentDecoder)
    }
}
