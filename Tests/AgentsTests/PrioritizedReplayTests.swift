import Foundation
import NeuralNetwork
import Randomness
import Testing
@testable import Replay

/// A replay of `count` one-dimensional transitions whose observation is their slot number.
private func filledReplay(capacity: Int, count: Int, alpha: Double = 1) -> ReplayBuffer {
    var configuration = PrioritizationConfiguration()
    configuration.alpha = alpha
    configuration.epsilon = 0
    let replay = ReplayBuffer(capacity: capacity, observationSize: 1, actionSize: 1, prioritization: configuration)
    for i in 0..<count {
        replay.add(observation: [Float(i)], action: [0], reward: 0, nextObservation: [0], terminated: false, truncated: false)
    }
    return replay
}

/// Sets the priorities of `slots` to |δ| = `errors`, as an update's TD errors would.
private func setPriorities(_ replay: ReplayBuffer, slots: [Int], errors: [Float]) {
    let batch = TransitionBatch(capacity: slots.count, observationSize: 1, actionSize: 1)
    for (i, slot) in slots.enumerated() {
        batch.slots[i] = slot
        batch.tdErrors[i, 0] = errors[i]
    }
    replay.gather(slots.count, into: batch)
    replay.updatePriorities(from: batch)
}

@Suite("Prioritized replay")
struct PrioritizedReplayTests {
    @Test("sampling frequencies match p^α / Σ p^α (chi-square, 7 degrees of freedom)", arguments: [1.0, 0.6])
    func frequenciesMatchPriorities(alpha: Double) {
        let replay = filledReplay(capacity: 8, count: 8, alpha: alpha)
        let errors: [Float] = [0.1, 0.5, 1, 2, 4, 0.3, 3, 8]
        setPriorities(replay, slots: Array(0..<8), errors: errors)
        let weights = errors.map { pow(Double($0), alpha) }, total = weights.reduce(0, +)
        let batch = TransitionBatch(capacity: 64, observationSize: 1, actionSize: 1)
        var counts = [Int](repeating: 0, count: 8)
        var generator = Xoshiro256(seed: 17)
        let batches = 500
        for _ in 0..<batches {
            replay.sample(64, into: batch, beta: 0.5, using: &generator)
            for i in 0..<64 {
                #expect(Int(batch.observations[i, 0]) == batch.slots[i], "rows hold the sampled slots' transitions")
                counts[batch.slots[i]] += 1
            }
        }
        let draws = Double(batches * 64)
        let chiSquare = (0..<8).reduce(0.0) { sum, slot in
            let expected = draws * weights[slot] / total
            return sum + pow(Double(counts[slot]) - expected, 2) / expected
        }
        // 24.3 is the 0.1% critical value of χ²(7); a sampler off by a few percent on any slot exceeds it at 32,000 draws.
        #expect(chiSquare < 24.3, "χ² = \(chiSquare); counts \(counts), probabilities \(weights.map { $0 / total })")
        #expect(abs(replay.prioritized!.probability(ofSlot: 7) - weights[7] / total) < 1e-12)
    }

    @Test("the sum tree's inner nodes stay the sums of their children, and a prefix sum finds its leaf, after any updates")
    func sumTreeInvariants() {
        let tree = PriorityTree(capacity: 37)
        var leaves = [Double](repeating: 0, count: 37)
        var generator = Xoshiro256(seed: 3)
        for round in 0..<400 {
            let leaf = generator.nextIndex(below: 37), value = round % 7 == 0 ? 0 : generator.nextUniform(0.0, 5.0)
            tree.set(leaf, value)
            leaves[leaf] = value
        }
        for node in tree.innerNodes {
            let (left, right) = tree.children(node)
            #expect(abs(tree.node(node) - (left + right)) <= 1e-9 * max(1, tree.node(node)), "node \(node)")
        }
        #expect(abs(tree.total - leaves.reduce(0, +)) < 1e-9)
        for _ in 0..<1_000 {
            let mass = generator.nextUniform(0.0, tree.total)
            var prefix = 0.0, expected = 0
            for (index, value) in leaves.enumerated() {
                if mass < prefix + value { expected = index; break }
                prefix += value
            }
            #expect(tree.find(mass: mass) == expected, "mass \(mass)")
        }
    }

    @Test("importance weights are (min P / P(i))^β over the batch: the largest is 1, and ratios follow the priorities")
    func weightNormalisation() {
        let replay = filledReplay(capacity: 16, count: 4)
        setPriorities(replay, slots: [0, 1, 2, 3], errors: [1, 2, 4, 8])
        let batch = TransitionBatch(capacity: 32, observationSize: 1, actionSize: 1)
        var generator = Xoshiro256(seed: 9)
        for beta in [0.4, 1.0] {
            replay.sample(32, into: batch, beta: beta, using: &generator)
            #expect(batch.isWeighted)
            let slots = (0..<32).map { batch.slots[$0] }, weights = (0..<32).map { batch.weights[$0, 0] }
            #expect(abs(weights.max()! - 1) < 1e-6)
            let smallest = slots.map { Double(1 << $0) }.min()!
            for i in 0..<32 {
                let expected = pow(smallest / Double(1 << slots[i]), beta)
                #expect(abs(Double(weights[i]) - expected) < 1e-6, "slot \(slots[i]) at β \(beta)")
            }
        }
        replay.sample(32, into: batch, using: &generator)
        #expect(!batch.isWeighted, "a uniform sample carries no weights")
    }

    @Test("new transitions get the largest priority seen; a non-finite TD error changes nothing; β anneals to 1")
    func newTransitionsAndGuards() {
        let replay = filledReplay(capacity: 4, count: 2)
        setPriorities(replay, slots: [0, 1], errors: [5, 0.5])
        let prioritized = replay.prioritized!
        #expect(prioritized.maxPriority == 5)
        replay.add(observation: [2], action: [0], reward: 0, nextObservation: [0], terminated: false, truncated: false)
        #expect(abs(prioritized.probability(ofSlot: 2) - 5 / 10.5) < 1e-12)
        setPriorities(replay, slots: [1], errors: [.nan])
        setPriorities(replay, slots: [0], errors: [.infinity])
        #expect(abs(prioritized.probability(ofSlot: 1) - 0.5 / 10.5) < 1e-12 && prioritized.maxPriority == 5)
        let c = PrioritizationConfiguration()
        #expect(c.beta(envSteps: 0, maxEnvSteps: 100) == 0.4 && abs(c.beta(envSteps: 50, maxEnvSteps: 100) - 0.7) < 1e-12)
        #expect(c.beta(envSteps: 100, maxEnvSteps: 100) == 1 && c.beta(envSteps: 500, maxEnvSteps: 100) == 1)
    }

    @Test("after the ring wraps, the overwritten slots take the new transitions' priority")
    func ringWrap() {
        let replay = filledReplay(capacity: 3, count: 3)
        setPriorities(replay, slots: [0, 1, 2], errors: [0.1, 0.1, 9])
        let observations: [Float] = [10, 11]
        let zeros: [Float] = [0, 0], discounts: [Float] = [0.99, 0.99]
        let flags: [UInt8] = [0, 0]
        observations.withUnsafeBytes { o in
            zeros.withUnsafeBytes { z in discounts.withUnsafeBytes { d in
                replay.append(count: 2, observations: o.baseAddress!, actions: z.baseAddress!, rewards: z.baseAddress!,
                              nextObservations: o.baseAddress!, terminated: flags, truncated: flags, discounts: d.baseAddress!)
            } }
        }
        // Slots 0 and 1 now hold the new transitions at the largest priority, 9.
        #expect(abs(replay.prioritized!.probability(ofSlot: 0) - 1.0 / 3) < 1e-12)
    }

    @Test("a checkpoint keeps every slot's priority and the largest seen, restored under the new run's α")
    func prioritiesSurviveACheckpoint() {
        let replay = filledReplay(capacity: 8, count: 5, alpha: 0.6)
        let errors: [Float] = [0.25, 3, 0.5, 7, 1]
        setPriorities(replay, slots: Array(0..<5), errors: errors)
        var columns: [String: [UInt8]] = [:]
        replay.forEachColumn { name, raw in columns[name] = Array(raw) }
        let position = replay.ringPosition

        for alpha in [0.6, 1.0] {
            let restored = filledReplay(capacity: 8, count: 0, alpha: alpha)
            #expect(restored.restore(count: position.count, nextSlot: position.nextSlot, totalAdded: position.totalAdded) { columns[$0] })
            let total = errors.map { pow(Double($0), alpha) }.reduce(0, +)
            for slot in 0..<5 {
                #expect(restored.prioritized!.priority(ofSlot: slot) == errors[slot])
                #expect(abs(restored.prioritized!.probability(ofSlot: slot) - pow(Double(errors[slot]), alpha) / total) < 1e-12)
            }
            #expect(restored.prioritized!.maxPriority == 7, "the next insert still gets the largest priority seen before the checkpoint")
        }

        // A checkpoint without priorities (a uniform run's, or one from before they were saved) starts every slot at the largest.
        let older = filledReplay(capacity: 8, count: 0)
        #expect(older.restore(count: position.count, nextSlot: position.nextSlot, totalAdded: position.totalAdded) {
            $0 == "replay_priorities" ? nil : columns[$0]
        })
        #expect((0..<5).allSatisfy { abs(older.prioritized!.probability(ofSlot: $0) - 0.2) < 1e-12 })

        // Priorities that are not finite and positive are refused, and the replay is left as it was.
        for bad: Float in [.nan, -1, 0, .infinity] {
            var corrupt = columns
            corrupt["replay_priorities"]!.withUnsafeMutableBytes { $0.storeBytes(of: bad, toByteOffset: 4, as: Float.self) }
            let target = filledReplay(capacity: 8, count: 0)
            #expect(!target.restore(count: position.count, nextSlot: position.nextSlot, totalAdded: position.totalAdded) { corrupt[$0] })
            #expect(target.count == 0 && target.prioritized!.maxPriority == 1)
        }
    }
}
