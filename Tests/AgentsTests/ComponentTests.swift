import Policy
import Foundation
import NeuralNetwork
import Randomness
import Replay
import Testing
@testable import Agents

@Suite("Replay, noise and configuration")
struct ComponentTests {
    @Test("the replay ring keeps the last `capacity` transitions, in structure-of-arrays layout")
    func replayRing() {
        let replay = ReplayBuffer(capacity: 5, observationSize: 2, actionSize: 1)
        for i in 0..<7 {
            let f = Float(i)
            replay.add(observation: [f, f], action: [f], reward: f, nextObservation: [f + 1, f + 1], terminated: i == 6, truncated: i == 3)
        }
        #expect(replay.count == 5)
        #expect(replay.totalAdded == 7)
        // Slots 0 and 1 were overwritten by transitions 5 and 6.
        #expect(replay.reward(slot: 0) == 5 && replay.reward(slot: 1) == 6 && replay.reward(slot: 2) == 2)
        #expect(replay.isTerminated(slot: 1) && replay.isTruncated(slot: 3) && !replay.isTerminated(slot: 3))
        let batch = TransitionBatch(capacity: 64, observationSize: 2, actionSize: 1)
        var generator = Xoshiro256(seed: 1)
        replay.sample(64, into: batch, using: &generator)
        var seen = Set<Float>()
        for i in 0..<64 {
            let r = batch.rewards[i, 0]
            seen.insert(r)
            #expect(r >= 2 && r <= 6)
            #expect(batch.observations[i, 0] == r && batch.observations[i, 1] == r && batch.actions[i, 0] == r)
            #expect(batch.nextObservations[i, 0] == r + 1)
            #expect(batch.terminated[i, 0] == (r == 6 ? 1 : 0))
        }
        #expect(seen.count == 5, "uniform sampling should reach every stored transition")
    }

    @Test("a million-transition buffer costs memory only as it fills")
    func replayMemory() {
        let replay = ReplayBuffer(capacity: 1_000_000, observationSize: 3, actionSize: 1)
        #expect(replay.bytesPerTransition == 41)
    }

    @Test("Gaussian noise has the configured scale")
    func gaussian() {
        var noise = ExplorationNoise(NoiseConfiguration(kind: .gaussian, sigma: 0.3), actionSize: 1)
        var generator = Xoshiro256(seed: 2)
        var sample: Float = 0, sum = 0.0, squares = 0.0
        let n = 20_000
        for _ in 0..<n {
            noise.sample(into: &sample, using: &generator)
            sum += Double(sample)
            squares += Double(sample * sample)
        }
        let mean = sum / Double(n)
        #expect(abs(mean) < 0.01)
        #expect(abs((squares / Double(n) - mean * mean).squareRoot() - 0.3) < 0.01)
    }

    @Test("Ornstein–Uhlenbeck noise is correlated in time and restarts at zero")
    func ornsteinUhlenbeck() {
        var noise = ExplorationNoise(NoiseConfiguration(kind: .ornsteinUhlenbeck, sigma: 0.2, ouTheta: 0.15, ouDt: 0.01), actionSize: 1)
        var generator = Xoshiro256(seed: 3)
        var previous: Float = 0, current: Float = 0
        var products = 0.0, squares = 0.0
        for _ in 0..<5000 {
            noise.sample(into: &current, using: &generator)
            products += Double(previous * current)
            squares += Double(current * current)
            previous = current
        }
        #expect(products / squares > 0.9, "successive OU samples should be strongly correlated")
        noise.reset()
        noise.sample(into: &current, using: &generator)
        #expect(abs(current) < 0.1, "after reset the process starts from its mean")
        var silent = ExplorationNoise(NoiseConfiguration(kind: .none), actionSize: 1)
        silent.sample(into: &current, using: &generator)
        #expect(current == 0)
    }

    static func invalidConfigurations() -> [(field: String, config: AgentConfiguration)] {
        var cases: [(String, AgentConfiguration)] = []
        func add(_ field: String, _ change: (inout AgentConfiguration) -> Void) {
            var config = AgentConfiguration()
            change(&config)
            cases.append((field, config))
        }
        add("tau") { $0.tau = 1.5 }
        add("tau") { $0.tau = 0 }
        add("actorHiddenSizes") { $0.actorHiddenSizes = [64, 0] }
        add("criticHiddenSizes") { $0.criticHiddenSizes = [] }
        add("criticActionLayer") { $0.criticActionLayer = 3 }
        add("batchSize") { $0.batchSize = 0 }
        add("discount") { $0.discount = 1.2 }
        add("gradientClipNorm") { $0.gradientClipNorm = -1 }
        return cases
    }

    @Test("invalid settings name the field")
    func validation() {
        #expect(throws: Never.self) { try AgentConfiguration().validate() }
        for (field, config) in Self.invalidConfigurations() {
            do {
                try config.validate()
                Issue.record("expected \(field) to be rejected")
            } catch {
                #expect(error.field == field)
            }
        }
    }
}

@Suite("Replay bulk append")
struct ReplayAppendTests {
    @Test("appending columns wraps the ring exactly as adding one by one")
    func bulkMatchesSingle() {
        let bulk = ReplayBuffer(capacity: 7, observationSize: 2, actionSize: 1)
        let single = ReplayBuffer(capacity: 7, observationSize: 2, actionSize: 1)
        var next = 0
        for chunk in [3, 5, 4, 6] {
            let rows = (next..<(next + chunk)).map(Float.init)
            let observations = rows.flatMap { [$0, -$0] }, nexts = rows.flatMap { [$0 + 1, -$0 - 1] }
            let terminated = rows.map { UInt8(Int($0) % 3 == 0 ? 1 : 0) }, truncated = rows.map { UInt8(Int($0) % 5 == 0 ? 1 : 0) }
            let discounts = rows.map { Int($0) % 3 == 0 ? Float(0) : Float(0.9) + $0 / 1_000 }
            observations.withUnsafeBytes { o in rows.withUnsafeBytes { a in rows.withUnsafeBytes { r in nexts.withUnsafeBytes { n in
                terminated.withUnsafeBufferPointer { t in truncated.withUnsafeBufferPointer { u in discounts.withUnsafeBytes { d in
                    bulk.append(count: chunk, observations: o.baseAddress!, actions: a.baseAddress!, rewards: r.baseAddress!,
                                nextObservations: n.baseAddress!, terminated: t.baseAddress!, truncated: u.baseAddress!, discounts: d.baseAddress!)
                } } } } } } }
            for (i, row) in rows.enumerated() {
                single.add(observation: [row, -row], action: [row], reward: row, nextObservation: [row + 1, -row - 1],
                           terminated: terminated[i] == 1, truncated: truncated[i] == 1, discount: discounts[i])
            }
            next += chunk
        }
        #expect(bulk.count == single.count && bulk.totalAdded == single.totalAdded)
        let a = TransitionBatch(capacity: 50, observationSize: 2, actionSize: 1), b = TransitionBatch(capacity: 50, observationSize: 2, actionSize: 1)
        var g1 = Xoshiro256(seed: 3), g2 = Xoshiro256(seed: 3)
        bulk.sample(50, into: a, using: &g1)
        single.sample(50, into: b, using: &g2)
        #expect(a.observations.view.toArray() == b.observations.view.toArray())
        #expect(a.nextObservations.view.toArray() == b.nextObservations.view.toArray())
        #expect(a.discounts.view.toArray() == b.discounts.view.toArray() && a.discounts.view.toArray().contains { $0 > 0.9 })
        #expect(a.rewards.view.toArray() == b.rewards.view.toArray())
        #expect(a.terminated.view.toArray() == b.terminated.view.toArray())
        for slot in 0..<7 { #expect(bulk.isTruncated(slot: slot) == single.isTruncated(slot: slot)) }
    }
}
