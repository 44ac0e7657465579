import Specs
import Testing
@testable import WireProtocol

/// One Pendulum transition with `reward` and `discount`, terminated or not.
private func row(reward: Float = -1, discount: Float, terminated: Bool = false) -> [UInt8] {
    var encoder = MessageEncoder()
    let header = TransitionsHeader(workerId: 5, session: 0x5E55, observationSize: 3, actionSize: 1, sequence: 0, weightsVersion: 0, count: 1)
    let observation: [Float] = [1, 0, 0], action: [Float] = [0], rewards = [reward], discounts = [discount]
    let flags: [UInt8] = [terminated ? 1 : 0], none: [UInt8] = [0]
    return observation.withUnsafeBufferPointer { o in action.withUnsafeBufferPointer { a in rewards.withUnsafeBufferPointer { r in
        discounts.withUnsafeBufferPointer { d in flags.withUnsafeBufferPointer { t in none.withUnsafeBufferPointer { u in
            encoder.encodeTransitions(header, observations: o, actions: a, rewards: r, nextObservations: o, terminated: t, truncated: u, discounts: d)
        } } }
    } } }
}

@Suite("Per-transition discounts (protocol 4, n-step returns)")
struct DiscountTests {
    static let threeStep = MessageDecoder(expected: ExpectedShapes(spec: pendulumSpec, nStep: 3, gamma: 0.99), accepting: .workerToLearner)

    @Test("a learner with --n-step 3 accepts γ, γ², γ³, and 0 on a terminated row", arguments: [Float(0.99), 0.9801, 0.970299])
    func accepted(discount: Float) throws {
        if case .transitions(let view) = try decode(row(discount: discount), with: Self.threeStep) {
            #expect(view.discounts.loadUnaligned(as: Float.self) == discount)
        } else {
            Issue.record("expected transitions")
        }
        _ = try decode(row(discount: 0, terminated: true), with: Self.threeStep)
    }

    @Test("any other discount is refused, saying what the learner expected")
    func refused() {
        let cases: [(bytes: [UInt8], decoder: MessageDecoder, says: String)] = [
            (row(discount: 0.9801), decoder, "1 ≤ k ≤ 1"),       // a 2-step worker, a one-step learner
            (row(discount: 0.5), Self.threeStep, "γ^k for γ 0.99"),
            (row(discount: 0), Self.threeStep, "γ^k"),           // 0 without termination
            (row(discount: 0.99, terminated: true), Self.threeStep, "0 for a terminated transition"),
            (row(discount: 1.5), Self.threeStep, "1.5"),
        ]
        for (bytes, decoder, says) in cases {
            do throws(ProtocolError) {
                _ = try decode(bytes, with: decoder)
                Issue.record("accepted a discount it should refuse (\(says))")
            } catch {
                #expect(error.reason == "out_of_range" && "\(error)".contains("discount") && "\(error)".contains(says), "\(error)")
            }
        }
        #expect(throws: ProtocolError.nonFinite(field: "discount")) { try decode(row(discount: .nan), with: Self.threeStep) }
    }

    @Test("an n-step reward may reach n discounted rewards, and no further")
    func rewardBounds() throws {
        // Pendulum's range is [−16.3, 0]; three steps at γ 0.99 reach −16.3 · 2.9701.
        _ = try decode(row(reward: -48, discount: 0.970299), with: Self.threeStep)
        #expect(throws: ProtocolError.self) { try decode(row(reward: -49, discount: 0.970299), with: Self.threeStep) }
        #expect(throws: ProtocolError.self) { try decode(row(reward: -17, discount: 0.99)) }
    }
}
