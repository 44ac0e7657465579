import Agents
import Environments
import Foundation
import NeuralNetwork
import Randomness
import Replay
import RunConfiguration
import RunRecords
import Testing
@testable import Checkpoint

@Suite("Checkpoint sections come from the agent's state")
struct AgentStateCheckpointTests {
    static func trainedAgent(_ algorithm: AlgorithmID, normalization: Normalization = .none, normalizeObservations: Bool = false) -> any Agent {
        var configuration = AgentConfiguration()
        configuration.algorithm = algorithm
        configuration.normalizeObservations = normalizeObservations
        configuration.actorNormalization = normalization
        configuration.criticNormalization = normalization
        configuration.actorHiddenSizes = [8]
        configuration.criticHiddenSizes = [8]
        configuration.batchSize = 16
        var generator = Xoshiro256(seed: 4)
        let agent = makeAgent(spec: Pendulum().spec, configuration: configuration, using: &generator)
        let replay = ReplayBuffer(capacity: 64, observationSize: 3, actionSize: 1)
        for i in 0..<64 {
            let f = Float(i % 13) / 13
            replay.add(observation: [f, -f, 1], action: [2 * f - 1], reward: -f, nextObservation: [-f, f, 0], terminated: false, truncated: false)
            agent.observe(freshObservations: [f, -f, 1], count: 1, stride: 3)
        }
        let batch = TransitionBatch(capacity: 16, observationSize: 3, actionSize: 1)
        for _ in 0..<5 {
            replay.sample(16, into: batch, using: &generator)
            agent.update(batch)
        }
        return agent
    }

    static func capture(_ agent: any LearningAgent) -> LearnerCheckpoint {
        var configuration = TrainingConfiguration()
        configuration.agent = agent.configuration
        let progress = LearnerProgress(envSteps: 64, weightsVersion: 1, episodes: 0, wallSeconds: 1, evaluations: [], solvedAt: nil)
        return LearnerCheckpoint.capture(agent: agent, replay: nil, replayGenerator: Xoshiro256(seed: 1), progress: progress,
                                         configuration: configuration, spec: Pendulum().spec)
    }

    @Test("each algorithm's tensors and counters round-trip under their own names", arguments: Algorithms.offPolicyIDs)
    func roundTrip(algorithm: AlgorithmID) throws {
        let agent = Self.trainedAgent(algorithm)
        let loaded = try LearnerCheckpoint(bytes: Self.capture(agent).encoded())
        #expect(Set(loaded.sections.keys) == Set(agent.tensors.map(\.name)))
        let restored = try loaded.makeAgent()
        #expect(restored.configuration.algorithm == algorithm)
        #expect(restored.counters == agent.counters)
        for (a, b) in zip(agent.tensors, restored.tensors) {
            #expect(a.name == b.name && a.values.toArray().map(\.bitPattern) == b.values.toArray().map(\.bitPattern), "\(a.name)")
        }
        if algorithm == .td3 {
            #expect(loaded.sections["critic_2"] != nil && loaded.sections["target_critic_2"] != nil)
            #expect(agent.counters["updates"] == 5 && agent.counters["actor_adam_step"] == 2, "TD3's actor steps every second update")
        }
    }

    @Test("observation statistics are sections and a counter, restored bit for bit into an actor that normalizes as before")
    func observationStatistics() throws {
        let agent = Self.trainedAgent(.sac, normalizeObservations: true)
        let loaded = try LearnerCheckpoint(bytes: Self.capture(agent).encoded())
        #expect(loaded.sections["observation_mean"] != nil && loaded.sections["observation_variance"] != nil)
        let restored = try loaded.makeAgent()
        #expect(restored.counters["observation_count"] == 64)
        #expect(restored.actor.observationNormalization == agent.actor.observationNormalization && agent.actor.observationNormalization != nil)
        #expect(throws: CheckpointError.self) { try loaded.checkCompatible(with: Self.trainedAgent(.sac), spec: Pendulum().spec) }
    }

    @Test("batch normalization's running statistics are sections too, restored bit for bit, and a run without it refuses them")
    func normalizationStatistics() throws {
        let agent = Self.trainedAgent(.td3, normalization: .batch)
        let names = Set(agent.tensors.map(\.name))
        #expect(names.isSuperset(of: ["actor_statistics", "target_actor_statistics", "critic_statistics", "critic_2_statistics"]))
        let statistics = try #require(agent.tensors.first { $0.name == "actor_statistics" })
        #expect(statistics.values.toArray().contains { $0 != 0 && $0 != 1 }, "training moved the running statistics")
        let loaded = try LearnerCheckpoint(bytes: Self.capture(agent).encoded())
        let restored = try loaded.makeAgent()
        for (a, b) in zip(agent.tensors, restored.tensors) {
            #expect(a.values.toArray().map(\.bitPattern) == b.values.toArray().map(\.bitPattern), "\(a.name)")
        }
        #expect(throws: CheckpointError.self) { try loaded.checkCompatible(with: Self.trainedAgent(.td3), spec: Pendulum().spec) }
    }

    @Test("a checkpoint of one algorithm is refused by a run of the other, naming --algorithm")
    func otherAlgorithm() throws {
        let checkpoint = try LearnerCheckpoint(bytes: Self.capture(Self.trainedAgent(.td3)).encoded())
        let ddpg = Self.trainedAgent(.ddpg)
        #expect(throws: CheckpointError.incompatible("it was trained with td3, this run uses ddpg (--algorithm)")) {
            try checkpoint.checkCompatible(with: ddpg, spec: Pendulum().spec)
        }
    }

    /// Written by `ddpg launch --actor-hidden 8 --critic-hidden 8 --max-env-steps 2000` at 41de47d, before the Agent seam:
    /// a header with `actor_adam_step`/`critic_adam_step` and no `counters`, a configuration with no `algorithm`.
    @Test("a checkpoint written before the Agent seam loads as DDPG, its Adam steps and update count intact")
    func legacyCheckpoint() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/before-agent-seam.ddpgckpt")
        let checkpoint = try LearnerCheckpoint(bytes: Array(try Data(contentsOf: file)))
        #expect(checkpoint.header.counters == nil)
        let actorSteps = try #require(checkpoint.header.actorAdamStep), criticSteps = try #require(checkpoint.header.criticAdamStep)
        let agent = try checkpoint.makeAgent()
        #expect(agent is DDPGAgent && agent.configuration.algorithm == .ddpg)
        #expect(agent.counters == ["updates": checkpoint.header.updates, "actor_adam_step": actorSteps, "critic_adam_step": criticSteps])
        #expect(checkpoint.header.updates > 0)
        for tensor in agent.tensors {
            let saved = try #require(checkpoint.sections[tensor.name])
            let bytes = tensor.values.toArray().withUnsafeBytes { Array($0) }
            #expect(bytes == saved, "\(tensor.name)")
        }
        // Re-saved, it is a checkpoint of today's format with the same state.
        let resaved = try LearnerCheckpoint(bytes: Self.capture(agent).encoded())
        #expect(resaved.header.counters == agent.counters)
    }
}
