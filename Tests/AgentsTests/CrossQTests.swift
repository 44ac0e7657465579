import NeuralNetwork
import Policy
import Randomness
import Settings
import Tensors
import Testing
@testable import Agents
@testable import Replay

/// A small CrossQ agent on asymmetric bounds and a fixed batch of 8 random transitions (see ``smallAgent(_:make:)``).
func makeCrossQ(settings: CrossQ.Settings = CrossQ.Settings(), configure: (inout AgentConfiguration) -> Void = { _ in })
    -> (CrossQAgent, TransitionBatch) {
    let config = smallConfiguration(.crossq) {
        $0.set(settings, of: CrossQ.self)
        configure(&$0)
    }
    return smallAgent(config) { low, high, generator in
        CrossQAgent(observationSize: 3, actionLow: low, actionHigh: high, configuration: config, using: &generator)
    }
}

@Suite("CrossQ")
struct CrossQTests {
    /// Rows (s, a) of `batch` then (s′, ã′), as the joint pass stacks them.
    static func stacked(_ batch: TransitionBatch, nextActions: [Float]) -> (observations: [Float], actions: [Float]) {
        (batch.observations.view.toArray() + batch.nextObservations.view.toArray(), batch.actions.view.toArray() + nextActions)
    }

    @Test("the target: y = r + γ(1 − d)(min(Q₁, Q₂)(s′, ã′) − α log π(ã′ | s′)), from one pass over (s, a) and (s′, ã′) together")
    func jointTarget() throws {
        let (agent, batch) = makeCrossQ { $0.discount = 0.9 }
        var noise = Xoshiro256(seed: 21)
        agent.computeTargets(batch, count: 8, noise: &noise)
        let computed = (0..<8).map { agent.targets.storage[$0] }
        var again = Xoshiro256(seed: 21)
        let actions = Matrix(rows: 8, columns: 2)
        let logProbabilities = agent.policy.sample(batch.nextObservations, count: 8, noise: &again, into: actions.view)
        let logp = (0..<8).map { logProbabilities[$0] }
        let drawn = actions.view.toArray(), joint = Self.stacked(batch, nextActions: drawn)
        let batchMoments = ForwardMode.training(updatingStatistics: false)
        let q1 = agent.q1.network.values(observations: joint.observations, actions: joint.actions, mode: batchMoments)
        let q2 = agent.q2.network.values(observations: joint.observations, actions: joint.actions, mode: batchMoments)
        for i in 0..<8 {
            let done = batch.terminated[i, 0], r = batch.rewards[i, 0]
            let expected = r + 0.9 * (1 - done) * (min(q1[8 + i], q2[8 + i]) - agent.alpha * logp[i])
            #expect(abs(computed[i] - expected) < 1e-4, "row \(i): \(computed[i]) vs \(expected)")
        }
        // The next pairs alone would have had other statistics, and other values: the joint pass is not a shortcut.
        let alone = agent.q1.network.values(observations: batch.nextObservations.view.toArray(), actions: drawn, mode: batchMoments)
        #expect((0..<8).contains { abs(alone[$0] - q1[8 + $0]) > 1e-3 })
    }

    @Test("the critic's gradient through the joint pass matches finite differences, the next pairs carrying statistics but no loss")
    func criticGradient() throws {
        let (agent, batch) = makeCrossQ { $0.criticLoss = .mse }
        var noise = Xoshiro256(seed: 5)
        agent.computeTargets(batch, count: 8, noise: &noise)
        let targets = (0..<8).map { agent.targets.storage[$0] }
        let nextActions = agent.q1.workspace.auxiliaryInput(batch: 16).rows(8..<16).toArray()
        let joint = Self.stacked(batch, nextActions: nextActions)
        let network = agent.q1.network, before = network.parameters.toArray()
        _ = agent.q1.fit(batch, targets: agent.targets.storage, count: 8, configuration: agent.configuration, tdErrors: nil)
        let analytic = network.gradients.toArray()
        network.parameters.values.update(from: before, count: before.count)
        func loss() -> Double {
            let q = network.values(observations: joint.observations, actions: joint.actions, mode: .training(updatingStatistics: false))
            var sum = 0.0
            for i in 0..<8 {
                let e = Double(q[i] - targets[i])
                sum += e * e
            }
            return sum / 8
        }
        var worst = 0.0, compared = 0
        for index in stride(from: 0, to: before.count, by: 3) {
            let h: Float = 1e-3
            network.parameters.values[index] = before[index] + h
            let up = loss()
            network.parameters.values[index] = before[index] - h
            let down = loss()
            network.parameters.values[index] = before[index]
            let numeric = (up - down) / (2 * Double(h))
            guard abs(numeric) > 1e-2 else { continue }
            compared += 1
            worst = max(worst, abs(numeric - Double(analytic[index])) / abs(numeric))
        }
        #expect(compared > 50, "\(compared) coordinates compared")
        #expect(worst < 5e-2, "worst relative error \(worst)")
    }

    @Test("no target networks; the actor and α step on every policyDelay-th update, the critics on all; only joint passes move the moments")
    func schedule() {
        let (agent, batch) = makeCrossQ()
        #expect(!agent.tensors.contains { $0.name.hasPrefix("target_") })
        let statistics = agent.q1.network.statistics.toArray()
        for _ in 0..<4 { agent.update(batch) }
        #expect(agent.counters["actor_adam_step"] == 2 && agent.counters["log_alpha_adam_step"] == 2, "updates 0 and 3 of 4: \(agent.counters)")
        #expect(agent.counters["critic_adam_step"] == 4 && agent.counters["critic_2_adam_step"] == 4)
        #expect(agent.counters["critic_statistics_updates"] == 4, "the actor's steps evaluate on the running moments without moving them")
        #expect(agent.q1.network.statistics.toArray() != statistics)
        #expect(agent.isFinite)
    }

    @Test("the settings: sb3-contrib's defaults, each checked by name")
    func settings() throws {
        let defaults = CrossQ.Settings()
        #expect(defaults.policyDelay == 3 && defaults.adamBeta1 == 0.5 && defaults.batchNormMomentum == 0.01 && defaults.renormWarmup == 100_000)
        var wrong = defaults
        wrong.batchNormMomentum = 0
        #expect(throws: ConfigurationError.self) { try wrong.validate() }
        var layer = smallConfiguration(.crossq) { _ in }
        layer.criticNormalization = .layer
        let error = #expect(throws: ConfigurationError.self) { try layer.validate() }
        #expect(error?.field == "criticNormalization")
    }
}
