import NeuralNetwork
import Randomness
import Replay
import Testing
@testable import Agents

@Suite("Non-finite guard: finiteness and snapshots")
struct AgentSnapshotTests {
    static func agent(_ algorithm: AlgorithmID = .ddpg) -> any Agent {
        var configuration = AgentConfiguration()
        configuration.algorithm = algorithm
        configuration.set(TD3.Settings(policyDelay: 1), of: TD3.self)
        configuration.actorHiddenSizes = [8]
        configuration.criticHiddenSizes = [8]
        configuration.batchSize = 4
        var generator = Xoshiro256(seed: 5)
        return makeAgent(observationSize: 3, actionLow: [-2], actionHigh: [2], configuration: configuration, using: &generator)
    }

    @Test("one NaN or infinity anywhere in any network or Adam moment makes the agent non-finite", arguments: Algorithms.offPolicyIDs)
    func finiteness(algorithm: AlgorithmID) {
        let agent = Self.agent(algorithm)
        #expect(agent.isFinite)
        // Each network and its Adam moments: DDPG's 4 networks, TD3's 6, SAC's 5 and its temperature (log α and its moments),
        // CrossQ's 3 and their batch statistics and the temperature.
        #expect(agent.tensors.count == [AlgorithmID.ddpg: 8, .td3: 12, .sac: 14, .crossq: 14][algorithm])
        for (index, vector) in agent.tensors.map(\.values).enumerated() {
            for bad in [Float.nan, .infinity, -.infinity] {
                let position = (index * 7) % vector.count, saved = vector.values[position]
                vector.values[position] = bad
                #expect(!agent.isFinite, "vector \(index) holding \(bad)")
                vector.values[position] = saved
            }
        }
        #expect(agent.isFinite)
    }

    @Test("restoring a snapshot puts back every network, target and Adam state, bit for bit", arguments: Algorithms.offPolicyIDs)
    func roundTrip(algorithm: AlgorithmID) {
        let agent = Self.agent(algorithm)
        let snapshot = AgentSnapshot(of: agent)
        let saved = agent.tensors.map { $0.values.toArray() }
        let batch = TransitionBatch(capacity: 4, observationSize: 3, actionSize: 1)
        let replay = ReplayBuffer(capacity: 16, observationSize: 3, actionSize: 1)
        for i in 0..<16 { replay.add(observation: [0.1, 0.2, Float(i)], action: [0.5], reward: -1, nextObservation: [0.2, 0.1, 0], terminated: false, truncated: false) }
        var generator = Xoshiro256(seed: 1)
        replay.sample(4, into: batch, using: &generator)
        agent.update(batch)
        agent.tensors[1].values.values[0] = .nan
        #expect(!agent.isFinite && agent.counters["actor_adam_step"] == 1)
        snapshot.restore(into: agent)
        #expect(agent.isFinite)
        #expect(agent.tensors.map { $0.values.toArray() }.elementsEqual(saved) { $0.map(\.bitPattern) == $1.map(\.bitPattern) })
        #expect(agent.counters.filter { $0.key != "updates" }.values.allSatisfy { $0 == 0 }, "\(agent.counters)")
        #expect(agent.updateCount == 1, "the update count keeps counting across a rollback")
    }
}
