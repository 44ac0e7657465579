import Tensors
import NeuralNetwork
import Randomness
import Testing
@testable import Agents
@testable import Replay

/// A small TD3 agent on asymmetric bounds ([−1, 3] and [−2, 2]) and a fixed batch of 8 random transitions.
func makeTD3(settings: TD3.Settings = TD3.Settings(), configure: (inout AgentConfiguration) -> Void = { _ in }) -> (TD3Agent, TransitionBatch) {
    let config = smallConfiguration(.td3) {
        $0.set(settings, of: TD3.self)
        configure(&$0)
    }
    return smallAgent(config) { low, high, generator in
        TD3Agent(observationSize: 3, actionLow: low, actionHigh: high, configuration: config, using: &generator)
    }
}

/// μ′(s′) of the target actor for the batch's next observations, row-major.
private func targetPolicyActions(_ agent: TD3Agent, _ batch: TransitionBatch) -> [Float] {
    let output = Matrix(rows: 8, columns: 2)
    agent.policy.targetActions(batch.nextObservations, count: 8, into: output.view)
    return output.view.toArray()
}

@Suite("TD3")
struct TD3Tests {
    @Test("the target is r + γ(1 − d)·min(Q′₁, Q′₂) at the smoothed target action")
    func targetUsesTheMinimum() {
        let (agent, batch) = makeTD3(settings: TD3.Settings(targetNoise: 0)) { $0.discount = 0.9 }
        agent.computeTargets(batch, count: 8)
        let next = batch.nextObservations.view.toArray(), actions = targetPolicyActions(agent, batch)
        let q1 = agent.q1.target.values(observations: next, actions: actions)
        let q2 = agent.q2.target.values(observations: next, actions: actions)
        #expect(zip(q1, q2).contains { abs($0 - $1) > 1e-3 }, "the twins must differ for the test to mean anything")
        for i in 0..<8 {
            let expected = batch.rewards[i, 0] + (i == 3 ? 0 : 0.9 * min(q1[i], q2[i]))
            #expect(abs(agent.targets[i, 0] - expected) < 1e-5, "row \(i): \(agent.targets[i, 0]) vs \(expected)")
        }
    }

    @Test("smoothing noise is clipped to ±c·scale per dimension, and the action to its bounds")
    func smoothingIsClipped() {
        let (agent, batch) = makeTD3(settings: TD3.Settings(targetNoise: 50, targetNoiseClip: 0.5))
        let clean = targetPolicyActions(agent, batch)
        let smoothed = Matrix(rows: 8, columns: 2)
        agent.writeSmoothedTargetActions(batch, count: 8, into: smoothed.view)
        let noisy = smoothed.view.toArray()
        let scale: [Float] = [2, 2], low: [Float] = [-1, -2], high: [Float] = [3, 2]
        var atLimit = 0
        for row in 0..<8 {
            for j in 0..<2 {
                let a = noisy[row * 2 + j], mu = clean[row * 2 + j]
                #expect(a >= low[j] && a <= high[j])
                // Noise this wide saturates the clip: ã sits at μ′ ± c·scale unless the action bound cut it.
                let expected = [min(max(mu + 0.5 * scale[j], low[j]), high[j]), min(max(mu - 0.5 * scale[j], low[j]), high[j])]
                #expect(expected.contains { abs($0 - a) < 1e-5 }, "row \(row) dim \(j): μ′ \(mu), ã \(a)")
                if abs(abs(a - mu) - 0.5 * scale[j]) < 1e-5 { atLimit += 1 }
            }
        }
        #expect(atLimit >= 8)
    }

    @Test("smoothing noise has σ·scale spread and changes from update to update")
    func smoothingNoiseSpread() {
        let (agent, batch) = makeTD3(settings: TD3.Settings(targetNoise: 0.05, targetNoiseClip: 10))
        let clean = targetPolicyActions(agent, batch)
        let smoothed = Matrix(rows: 8, columns: 2)
        agent.writeSmoothedTargetActions(batch, count: 8, into: smoothed.view)
        let first = smoothed.view.toArray()
        let noise = zip(first, clean).map { $0 - $1 }
        let rms = (noise.map { $0 * $0 }.reduce(0, +) / Float(noise.count)).squareRoot()
        #expect(rms > 0.02 && rms < 0.25, "rms \(rms) for σ·scale = 0.1")
        agent.update(batch)
        agent.writeSmoothedTargetActions(batch, count: 8, into: smoothed.view)
        #expect(smoothed.view.toArray() != first)
    }

    @Test("critics step on every update; the actor and all three targets only on every d-th", arguments: [2, 3])
    func delayedPolicyUpdates(delay: Int) {
        let (agent, batch) = makeTD3(settings: TD3.Settings(policyDelay: delay))
        for update in 1...(2 * delay) {
            let actor = agent.actor.network.parameters.toArray(), targetActor = agent.policy.target.parameters.toArray()
            let critics = [agent.q1.network, agent.q2.network].map { $0.parameters.toArray() }
            let targets = [agent.q1.target, agent.q2.target].map { $0.parameters.toArray() }
            agent.update(batch)
            let stepped = update % delay == 0
            #expect((agent.actor.network.parameters.toArray() != actor) == stepped, "update \(update)")
            #expect((agent.policy.target.parameters.toArray() != targetActor) == stepped, "update \(update)")
            #expect(zip([agent.q1.target, agent.q2.target], targets).allSatisfy { ($0.parameters.toArray() != $1) == stepped })
            #expect(zip([agent.q1.network, agent.q2.network], critics).allSatisfy { $0.parameters.toArray() != $1 })
        }
        #expect(agent.counters == ["updates": 2 * delay, "actor_adam_step": 2, "critic_adam_step": 2 * delay, "critic_2_adam_step": 2 * delay])
    }

    @Test("the actor's gradient is that of −mean Q₁(s, μ(s)) by finite differences")
    func actorGradient() {
        let (agent, batch) = makeTD3()
        let network = agent.actor.network, saved = network.parameters.toArray()
        _ = agent.policy.ascend(agent.q1, on: batch, count: 8, clipNorm: 0)
        let analytic = network.gradients.toArray()
        network.parameters.assign(saved)
        let observations = batch.observations.view.toArray()
        func loss() -> Double {
            var actions = [Float](repeating: 0, count: 16)
            agent.actor.act(observations: observations, count: 8, actions: &actions)
            return -Double(agent.qValues(observations: observations, actions: actions).reduce(0, +)) / 8
        }
        checkGradient(network.parameters, analytic: analytic, loss: loss)
    }

    @Test("each critic's gradient is that of its importance-weighted loss by finite differences", arguments: CriticLoss.allCases)
    func weightedCriticGradient(kind: CriticLoss) {
        let (agent, batch) = makeTD3 { $0.criticLoss = kind; $0.huberDelta = 0.5 }
        agent.computeTargets(batch, count: 8)
        let weights: [Float] = [0.2, 1, 0.5, 0.9, 0.1, 0.7, 1, 0.3]
        batch.weights.view.assign(weights)
        batch.isWeighted = true
        let y = (0..<8).map { agent.targets[$0, 0] }
        for critic in [agent.q2, agent.q1] {
            let saved = critic.network.parameters.toArray()
            let reported = critic.fit(batch, targets: agent.targets.storage, count: 8, configuration: agent.configuration, tdErrors: batch.tdErrors.storage)
            let analytic = critic.network.gradients.toArray()
            critic.network.parameters.assign(saved)
            func loss() -> Double {
                let q = critic.network.values(observations: batch.observations.view.toArray(), actions: batch.actions.view.toArray())
                return (0..<8).reduce(0.0) { total, i in
                    let e = Double(q[i] - y[i]), w = Double(weights[i])
                    switch kind {
                    case .mse: return total + w * e * e / 8
                    case .huber: return total + w * (abs(e) <= 0.5 ? 0.5 * e * e : 0.5 * (abs(e) - 0.25)) / 8
                    }
                }
            }
            #expect(abs(Double(reported) - loss()) <= 1e-5 * max(1, loss()))
            let q = critic.network.values(observations: batch.observations.view.toArray(), actions: batch.actions.view.toArray())
            for i in 0..<8 { #expect(abs(batch.tdErrors[i, 0] - abs(q[i] - y[i])) < 1e-5, "|δ| of row \(i)") }
            checkGradient(critic.network.parameters, analytic: analytic, loss: loss)
        }
    }
}

/// Central differences on the 12 parameters with the largest analytic gradients.
func checkGradient(_ parameters: ParameterVector, analytic: [Float], loss: () -> Double, sourceLocation: SourceLocation = #_sourceLocation) {
    let largest = analytic.indices.sorted { abs(analytic[$0]) > abs(analytic[$1]) }.prefix(12)
    #expect(abs(analytic[largest.first!]) > 1e-4, "gradients should not all vanish", sourceLocation: sourceLocation)
    for index in largest {
        let saved = parameters.values[index], h: Float = 1e-3
        parameters.values[index] = saved + h
        let up = loss()
        parameters.values[index] = saved - h
        let down = loss()
        parameters.values[index] = saved
        let numeric = (up - down) / Double(2 * h)
        #expect(abs(Double(analytic[index]) - numeric) <= 2e-3 + 3e-2 * abs(numeric),
                "parameter \(index): \(analytic[index]) vs \(numeric)", sourceLocation: sourceLocation)
    }
}
