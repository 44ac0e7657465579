import Foundation
import NeuralNetwork
import Policy
import Randomness
import Specs
import Testing
@testable import Agents

/// A rollout of `environments` × `steps` random steps in `spec`'s spaces, with one termination, one
/// truncation and one step that was both (terminal, so it carries no truncation observation).
func randomRollout(_ spec: EnvironmentSpec, environments: Int = 2, steps: Int = 4, seed: UInt64 = 3) -> Rollout {
    var generator = Xoshiro256(seed: seed)
    let o = spec.observationSize, a = spec.actionSize
    var rollout = Rollout(observationSize: o, actionSize: a, steps: steps)
    for e in 0..<environments {
        let terminated = (0..<steps).map { t in (e == 0 && t == 1) || (e == 1 && t == 2) }
        let truncated = (0..<steps).map { t in (e == 1 && t == 2) || (e == 0 && t == 2) }
        let cut = zip(truncated, terminated).filter { $0 && !$1 }.count
        let actions: [Float] = (0..<(steps * a)).map { _ in
            spec.isDiscrete ? Float(Int.random(in: 0..<spec.discreteActions!, using: &generator)) : generator.nextUniform(Float(-2), 2)
        }
        func floats(_ count: Int) -> [Float] { (0..<count).map { _ in generator.nextUniform(Float(-1), 1) } }
        rollout.append(observations: floats(steps * o), actions: actions, rewards: floats(steps), terminated: terminated, truncated: truncated,
                       logProbabilities: floats(steps), bootstrapObservation: floats(o), truncationObservations: floats(cut * o))
    }
    return rollout
}

let cartPoleLikeSpec = EnvironmentSpec(id: "Choice-v0", observationLow: [-1, -1, -1], observationHigh: [1, 1, 1], discreteActions: 3,
                                       rewardRange: -1...1, maxEpisodeSteps: 10)
let boxSpec = EnvironmentSpec(id: "Box-v0", observationLow: [-1, -1, -1], observationHigh: [1, 1, 1], actionLow: [-1, -2], actionHigh: [3, 2],
                              rewardRange: -1...1, maxEpisodeSteps: 10)

func smallActorCritic(_ spec: EnvironmentSpec, algorithm: AlgorithmID = .a2c, configure: (inout OnPolicySettings) -> Void = { _ in })
    -> ActorCriticAgent {
    var configuration = AgentConfiguration()
    configuration.algorithm = algorithm
    configuration.actorHiddenSizes = [8, 8]
    configuration.criticHiddenSizes = [8]
    var settings = OnPolicySettings()
    settings.entCoef = 0.05
    settings.logStdInit = -0.5
    configure(&settings)
    if algorithm == .a3c { configuration.set(settings, of: A3C.self) } else { configuration.set(settings, of: A2C.self) }
    var generator = Xoshiro256(seed: 5)
    let agent = ActorCriticAgent(spec: spec, configuration: configuration, using: &generator)
    // Orthogonal init makes the policy's outputs nearly uniform (gain 0.01); larger ones test more of the head.
    let last = agent.actor.network.layers.count - 1
    for i in 0..<agent.actor.network.weights(last).rows * agent.actor.network.weights(last).columns where spec.isDiscrete {
        agent.actor.network.weights(last).base[i] *= 100
    }
    return agent
}

@Suite("On-policy: advantages, heads and the actor–critic gradient")
struct OnPolicyTests {
    @Test("advantages bootstrap at a segment's end and at truncations, never at terminations; λ cuts the sum")
    func advantages() {
        // One environment, 4 steps: a truncation at t = 1 (its last observation has V = 10), a termination at t = 2.
        var rollout = Rollout(observationSize: 1, actionSize: 1, steps: 4)
        rollout.append(observations: [0, 0, 0, 0], actions: [0, 0, 0, 0], rewards: [1, 2, 3, 4], terminated: [false, false, true, false],
                       truncated: [false, true, false, false], logProbabilities: [0, 0, 0, 0], bootstrapObservation: [0],
                       truncationObservations: [0])
        let values: [Float] = [0.5, 1, 1.5, 2], bootstrap: [Float] = [7], truncation: [Float] = [10]
        var advantages = [Float](repeating: 0, count: 4), returns = [Float](repeating: 0, count: 4)
        let gamma: Float = 0.9, lambda: Float = 0.5
        estimateAdvantages(rollout, values: values, bootstrapValues: bootstrap, truncationValues: truncation, discount: gamma, lambda: lambda,
                           advantages: &advantages, returns: &returns)
        let a3: Float = 4 + gamma * 7 - 2   // bootstraps from the segment's last observation
        let a2: Float = 3 - 1.5             // terminal: nothing follows
        let a1: Float = 2 + gamma * 10 - 1  // truncated: V of the episode's last observation, and the sum is cut
        let delta0: Float = 1 + gamma * 1 - 0.5
        let expected: [Float] = [delta0 + gamma * lambda * a1, a1, a2, a3]
        #expect(zip(advantages, expected).allSatisfy { abs($0 - $1) < 1e-5 }, "\(advantages)")
        let expectedReturns = zip(expected, values).map { $0 + $1 }
        #expect(zip(returns, expectedReturns).allSatisfy { abs($0 - $1) < 1e-5 })
    }

    @Test("with λ = 1 and no episode end, the return is the n-step return to the segment's end")
    func nStepReturn() {
        var rollout = Rollout(observationSize: 1, actionSize: 1, steps: 3)
        rollout.append(observations: [0, 0, 0], actions: [0, 0, 0], rewards: [1, 1, 1], terminated: [false, false, false],
                       truncated: [false, false, false], logProbabilities: [0, 0, 0], bootstrapObservation: [0], truncationObservations: [])
        var advantages = [Float](repeating: 0, count: 3), returns = [Float](repeating: 0, count: 3)
        estimateAdvantages(rollout, values: [3, 2, 1], bootstrapValues: [5], truncationValues: [], discount: 0.5, lambda: 1,
                           advantages: &advantages, returns: &returns)
        #expect(abs(returns[0] - (1 + 0.5 + 0.25 + 0.125 * 5)) < 1e-6)
        #expect(abs(returns[2] - (1 + 0.5 * 5)) < 1e-6)
    }

    @Test("the gradient of the actor–critic loss matches central differences", arguments: ["categorical", "gaussian"])
    func gradient(head: String) throws {
        let spec = head == "categorical" ? cartPoleLikeSpec : boxSpec
        let agent = smallActorCritic(spec)
        let rollout = randomRollout(spec)
        let n = rollout.rows, e = rollout.environments, k = rollout.truncations, o = spec.observationSize
        // The advantages and returns the update holds fixed (computed from V before any perturbation).
        func values(_ rows: [Float], count: Int) -> [Float] {
            let workspace = MLPWorkspace(for: agent.critic, capacity: count)
            workspace.input(batch: count).base.update(from: rows, count: count * o)
            agent.critic.forward(batch: count, workspace: workspace)
            return Array(UnsafeBufferPointer(start: workspace.output(batch: count).base, count: count))
        }
        let v = values(rollout.observations + rollout.bootstrapObservations + rollout.truncationObservations, count: n + e + k)
        var advantages = [Float](repeating: 0, count: n), returns = [Float](repeating: 0, count: n)
        estimateAdvantages(rollout, values: v, bootstrapValues: Array(v[n...]), truncationValues: Array(v[(n + e)...]), discount: 0.99,
                           lambda: 1, advantages: &advantages, returns: &returns)
        let settings = agent.settings
        func loss() -> Double {
            let workspace = MLPWorkspace(for: agent.actor.network, capacity: n)
            workspace.input(batch: n).base.update(from: rollout.observations, count: n * o)
            agent.actor.network.forward(batch: n, workspace: workspace)
            let terms = agent.actor.policyTerms(outputs: workspace.output(batch: n), actions: rollout.actions, advantages: advantages,
                                                entropyCoefficient: 0, gradient: nil)
            let valueLoss = zip(values(rollout.observations, count: n), returns).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / Double(n)
            return Double(terms.policyLoss) - Double(settings.entCoef * terms.entropy) + Double(settings.vfCoef) * valueLoss
        }
        _ = agent.computeGradients(rollout)
        for network in [agent.actor.network, agent.critic] {
            let analytic = network.gradients.toArray()
            var worst = 0.0
            // A Gaussian's log σ outputs have weights held at zero: only their biases learn.
            let last = network.layers[network.layers.count - 1], a = spec.actionSize
            func heldAtZero(_ index: Int) -> Bool {
                guard network === agent.actor.network, !spec.isDiscrete, (last.weightOffset..<last.biasOffset).contains(index) else { return false }
                return (index - last.weightOffset) % last.outputSize >= a
            }
            for index in stride(from: 0, to: network.parameterCount, by: 3) {
                if heldAtZero(index) {
                    #expect(analytic[index] == 0)
                    continue
                }
                let saved = network.parameters.values[index], h: Float = 1e-2
                network.parameters.values[index] = saved + h
                let up = loss()
                network.parameters.values[index] = saved - h
                let down = loss()
                network.parameters.values[index] = saved
                let numeric = (up - down) / (2 * Double(h))
                worst = max(worst, abs(numeric - Double(analytic[index])) / max(1e-2, abs(numeric)))
            }
            #expect(worst < 0.03, "worst relative error \(worst) for a \(head) head's \(network === agent.critic ? "value" : "policy") network")
        }
    }

    @Test("a Gaussian head's log σ stays independent of the state through updates")
    func stateIndependentLogStd() {
        let agent = smallActorCritic(boxSpec)
        for seed in 1...5 { agent.update(randomRollout(boxSpec, seed: UInt64(seed))) }
        let network = agent.actor.network, last = network.layers.count - 1, w = network.weights(last)
        #expect((0..<w.rows).allSatisfy { r in (2..<4).allSatisfy { w[r, $0] == 0 } })
        #expect(network.biases(last)[2] != -0.5, "log σ's bias did learn")
    }

    @Test("one update moves the policy toward actions with positive advantage")
    func improves() {
        // One state, three choices; choice 2 always earns 1 and the others 0, with no future (every step terminal).
        let agent = smallActorCritic(cartPoleLikeSpec) { $0.entCoef = 0 }
        let state: [Float] = [0.1, -0.2, 0.3]
        func probabilityOfBest() -> Float {
            let workspace = MLPWorkspace(for: agent.actor.network, capacity: 1)
            workspace.input(batch: 1).base.update(from: state, count: 3)
            agent.actor.network.forward(batch: 1, workspace: workspace)
            var logP = [Float](repeating: 0, count: 3)
            Categorical.logSoftmax(workspace.output(batch: 1).base, count: 3, into: &logP)
            return expf(logP[2])
        }
        let before = probabilityOfBest()
        for _ in 0..<50 {
            var rollout = Rollout(observationSize: 3, actionSize: 1, steps: 3)
            rollout.append(observations: state + state + state, actions: [0, 1, 2], rewards: [0, 0, 1], terminated: [true, true, true],
                           truncated: [false, false, false], logProbabilities: [0, 0, 0], bootstrapObservation: state, truncationObservations: [])
            agent.update(rollout)
        }
        #expect(probabilityOfBest() > before + 0.3, "π(best) went from \(before) to \(probabilityOfBest())")
    }

    @Test("a non-finite gradient never reaches the weights")
    func nonFiniteGradient() {
        let agent = smallActorCritic(cartPoleLikeSpec)
        let before = agent.actor.network.parameters.toArray()
        agent.actor.network.gradients.values[0] = .nan
        let norm = agent.applyGradients()
        #expect(norm.isNaN && agent.actor.network.parameters.toArray() == before && agent.updateCount == 0)
    }

    @Test("the learning rate falls linearly to 0 over the run for a3c (auto) or with --learning-rate-schedule linear; a2c's stays constant")
    func learningRateSchedule() {
        /// How far one step moves the policy at `envSteps` of 1,000, from the same gradient.
        func step(_ algorithm: AlgorithmID, _ schedule: LearningRateSchedule, at envSteps: Int) -> [Float] {
            let agent = smallActorCritic(cartPoleLikeSpec, algorithm: algorithm) { $0.learningRateSchedule = schedule }
            _ = agent.computeGradients(randomRollout(cartPoleLikeSpec))
            let before = agent.actor.network.parameters.toArray()
            agent.schedule(envSteps: envSteps, of: 1_000)
            agent.applyGradients()
            return zip(agent.actor.network.parameters.toArray(), before).map { $0 - $1 }
        }
        func ratio(_ a: [Float], _ b: [Float]) -> Float {
            let pairs = zip(a, b).filter { abs($0.1) > 1e-6 }
            return pairs.map { $0.0 / $0.1 }.reduce(0, +) / Float(pairs.count)
        }
        let full = step(.a3c, .auto, at: 0)
        #expect(abs(ratio(step(.a3c, .auto, at: 750), full) - 0.25) < 1e-3, "a quarter of the run left: a quarter of the rate")
        #expect(step(.a3c, .auto, at: 1_000).allSatisfy { $0 == 0 } && step(.a3c, .linear, at: 2_000).allSatisfy { $0 == 0 }, "0 at the end and after")
        #expect(step(.a3c, .constant, at: 750) == full, "constant when asked")
        let a2c = step(.a2c, .auto, at: 0)
        #expect(step(.a2c, .auto, at: 750) == a2c && abs(ratio(step(.a2c, .linear, at: 500), a2c) - 0.5) < 1e-3, "a2c: constant unless asked")
    }

    @Test("off-policy algorithms refuse a Discrete space by name; on-policy ones take both")
    func actionSpaces() throws {
        let refusal = try #require(DDPG.refusal(of: cartPoleLikeSpec))
        #expect(refusal.contains("Discrete(3)") && refusal.contains("a2c"))
        #expect(A2C.refusal(of: cartPoleLikeSpec) == nil && A3C.refusal(of: boxSpec) == nil && TD3.refusal(of: boxSpec) == nil)
        #expect(A2C.isOnPolicy && A3C.isOnPolicy && !SAC.isOnPolicy)
    }
}
