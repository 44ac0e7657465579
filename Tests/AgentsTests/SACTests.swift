import NeuralNetwork
import Policy
import Randomness
import Tensors
import Testing
@testable import Agents
@testable import Replay

/// A small SAC agent on asymmetric bounds ([−1, 3] and [−2, 2]) and a fixed batch of 8 random transitions.
func makeSAC(settings: SAC.Settings = SAC.Settings(initialAlpha: 0.3), configure: (inout AgentConfiguration) -> Void = { _ in })
    -> (SACAgent, TransitionBatch) {
    let config = smallConfiguration(.sac) {
        $0.set(settings, of: SAC.self)
        configure(&$0)
    }
    return smallAgent(config) { low, high, generator in
        SACAgent(observationSize: 3, actionLow: low, actionHigh: high, configuration: config, using: &generator)
    }
}

@Suite("SAC")
struct SACTests {
    @Test("the soft target: y = r + γ(1 − d)(min(Q′₁, Q′₂)(s′, ã′) − α log π(ã′ | s′)), with ã′ drawn from the current policy")
    func softTarget() throws {
        let (agent, batch) = makeSAC { $0.discount = 0.9 }
        var noise = Xoshiro256(seed: 21)
        agent.computeTargets(batch, count: 8, noise: &noise)
        let computed = (0..<8).map { agent.targets.storage[$0] }
        // The same draw, by hand.
        var again = Xoshiro256(seed: 21)
        let actions = Matrix(rows: 8, columns: 2)
        let logProbabilities = agent.policy.sample(batch.nextObservations, count: 8, noise: &again, into: actions.view)
        let logp = (0..<8).map { logProbabilities[$0] }
        let next = batch.nextObservations.view.toArray(), drawn = actions.view.toArray()
        let q1 = agent.q1.target.values(observations: next, actions: drawn), q2 = agent.q2.target.values(observations: next, actions: drawn)
        for i in 0..<8 {
            let done = batch.terminated[i, 0], r = batch.rewards[i, 0]
            let expected = r + 0.9 * (1 - done) * (min(q1[i], q2[i]) - agent.alpha * logp[i])
            #expect(abs(computed[i] - expected) < 1e-4, "row \(i): \(computed[i]) vs \(expected)")
        }
    }

    @Test("the actor's gradient of mean(α log π − min(Q₁, Q₂)) through the reparameterized draw matches finite differences")
    func actorGradient() throws {
        let (agent, batch) = makeSAC()
        let network = agent.actor.network
        let before = network.parameters.toArray()
        let observations = batch.observations.view.toArray()
        func loss() -> Double {
            var noise = Xoshiro256(seed: 33)
            let actions = Matrix(rows: 8, columns: 2)
            let logProbabilities = agent.policy.sample(batch.observations, count: 8, noise: &noise, into: actions.view)
            let drawn = actions.view.toArray()
            let q1 = agent.q1.network.values(observations: observations, actions: drawn)
            let q2 = agent.q2.network.values(observations: observations, actions: drawn)
            return (0..<8).reduce(0.0) { $0 + Double(agent.alpha * logProbabilities[$1] - min(q1[$1], q2[$1])) } / 8
        }
        var noise = Xoshiro256(seed: 33)
        // Leaves dL/dθ in the actor's gradients, then steps.
        _ = agent.policy.improve(against: agent.q1, agent.q2, alpha: agent.alpha, on: batch, count: 8, noise: &noise,
                                 criticMode: .training(updatingStatistics: false), clipNorm: 0)
        let analytic = network.gradients.toArray()
        network.parameters.values.update(from: before, count: before.count)
        #expect(analytic.contains { abs($0) > 1e-3 }, "gradients should not all vanish")
        // The output layer: 16 × 4 weights and 4 biases (means and log-std parameters of both dimensions).
        var worst = 0.0
        for index in (before.count - 68)..<before.count {
            let h: Float = 1e-3
            network.parameters.values[index] = before[index] + h
            let up = loss()
            network.parameters.values[index] = before[index] - h
            let down = loss()
            network.parameters.values[index] = before[index]
            let numeric = (up - down) / (2 * Double(h))
            worst = max(worst, abs(numeric - Double(analytic[index])) / max(1e-2, abs(numeric)))
        }
        #expect(worst < 5e-2, "worst relative error \(worst)")
    }

    @Test("α rises while the policy's entropy is below the target and falls while it is above; a rate of 0 keeps it")
    func temperature() {
        for (meanLogProbability, rises) in [(Float(3), true), (Float(-3), false)] {
            let temperature = Temperature(initial: 0.5, learningRate: 0.01)
            for _ in 0..<10 { temperature.step(towards: -2, meanLogProbability: meanLogProbability) }
            #expect((temperature.alpha > 0.5) == rises, "entropy \(-meanLogProbability) against a target of −2: α \(temperature.alpha)")
        }
        let fixed = Temperature(initial: 0.5, learningRate: 0)
        fixed.step(towards: -2, meanLogProbability: 3)
        #expect(fixed.alpha == 0.5)
    }

    @Test("an update changes the actor, both critics and α, and their targets only the critics'")
    func update() {
        let (agent, batch) = makeSAC()
        let actor = agent.actor.network.parameters.toArray(), target = agent.q1.target.parameters.toArray(), alpha = agent.alpha
        let statistics = agent.update(batch)
        #expect(statistics.isFinite && agent.updateCount == 1)
        #expect(agent.actor.network.parameters.toArray() != actor && agent.q1.target.parameters.toArray() != target && agent.alpha != alpha)
        #expect(agent.tensors.map(\.name).contains("log_alpha") && agent.counters["log_alpha_adam_step"] == 1)
    }
}
