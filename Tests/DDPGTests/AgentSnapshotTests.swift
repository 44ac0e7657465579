import NeuralNetwork
import Randomness
import Replay
import Testing
@testable import DDPG

@Suite("Non-finite guard: finiteness and snapshots")
struct AgentSnapshotTests {
    static func agent() -> DDPGAgent {
        var configuration = DDPGConfiguration()
        configuration.actorHiddenSizes = [8]
        configuration.criticHiddenSizes = [8]
        configuration.batchSize = 4
        var generator = Xoshiro256(seed: 5)
        return DDPGAgent(observationSize: 3, actionSize: 1, actionBound: 2, configuration: configuration, using: &generator)
    }

    @Test("one NaN or infinity anywhere in any network or Adam moment makes the agent non-finite")
    func finiteness() {
        let agent = Self.agent()
        #expect(agent.isFinite)
        for (index, vector) in agent.trainedVectors.enumerated() {
            for bad in [Float.nan, .infinity, -.infinity] {
                let position = (index * 7) % vector.count, saved = vector.values[position]
                vector.values[position] = bad
                #expect(!agent.isFinite, "vector \(index) holding \(bad)")
                vector.values[position] = saved
            }
        }
        #expect(agent.isFinite)
    }

    @Test("restoring a snapshot puts back every network, target and Adam state, bit for bit")
    func roundTrip() {
        let agent = Self.agent()
        let snapshot = AgentSnapshot(of: agent)
        let saved = agent.trainedVectors.map { $0.toArray() }
        let batch = TransitionBatch(capacity: 4, observationSize: 3, actionSize: 1)
        let replay = ReplayBuffer(capacity: 16, observationSize: 3, actionSize: 1)
        for i in 0..<16 { replay.add(observation: [0.1, 0.2, Float(i)], action: [0.5], reward: -1, nextObservation: [0.2, 0.1, 0], terminated: false, truncated: false) }
        var generator = Xoshiro256(seed: 1)
        replay.sample(4, into: batch, using: &generator)
        agent.update(batch)
        agent.trainedVectors[1].values[0] = .nan
        #expect(!agent.isFinite && agent.actorOptimizer.step == 1)
        snapshot.restore(into: agent)
        #expect(agent.isFinite)
        #expect(agent.trainedVectors.map { $0.toArray() }.elementsEqual(saved) { $0.map(\.bitPattern) == $1.map(\.bitPattern) })
        #expect(agent.actorOptimizer.step == 0 && agent.criticOptimizer.step == 0)
        #expect(agent.updateCount == 1, "the update count keeps counting across a rollback")
    }
}
