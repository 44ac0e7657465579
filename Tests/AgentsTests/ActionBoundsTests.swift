import NeuralNetwork
import Randomness
import Replay
import Specs
import Testing
@testable import Agents

/// An agent over three action dimensions with different bounds, none symmetric around 0 but the first.
private let low: [Float] = [-2, 0, -0.5]
private let high: [Float] = [2, 1, 3]

private func asymmetricAgent() -> (DDPGAgent, TransitionBatch) {
    var config = AgentConfiguration()
    config.actorHiddenSizes = [16, 16]
    config.criticHiddenSizes = [16, 16]
    config.batchSize = 8
    config.finalLayerInitScale = 0.3
    var generator = Xoshiro256(seed: 33)
    let spec = EnvironmentSpec(id: "Test-v0", observationLow: [-1, -1], observationHigh: [1, 1], actionLow: low, actionHigh: high,
                               rewardRange: -1...0, maxEpisodeSteps: 10)
    let agent = DDPGAgent(spec: spec, configuration: config, using: &generator)
    let replay = ReplayBuffer(capacity: 8, observationSize: 2, actionSize: 3)
    for _ in 0..<8 {
        replay.add(observation: (0..<2).map { _ in generator.nextUniform(Float(-1), 1) },
                   action: (0..<3).map { generator.nextUniform(low[$0], high[$0]) }, reward: -0.5,
                   nextObservation: (0..<2).map { _ in generator.nextUniform(Float(-1), 1) }, terminated: false, truncated: false)
    }
    let batch = TransitionBatch(capacity: 8, observationSize: 2, actionSize: 3)
    replay.sample(8, into: batch, using: &generator)
    return (agent, batch)
}

@Suite("Per-dimension action bounds")
struct ActionBoundsTests {
    @Test("the spec's scale and bias map (−1, 1) onto [low, high], as CleanRL's action_scale and action_bias")
    func specAffineMap() {
        let spec = EnvironmentSpec(id: "Test-v0", observationLow: [0], observationHigh: [1], actionLow: low, actionHigh: high,
                                   rewardRange: -1...0, maxEpisodeSteps: 10)
        #expect(spec.actionScale == [2, 0.5, 1.75] && spec.actionBias == [0, 0.5, 1.25])
        for j in 0..<3 {
            #expect(spec.actionScale[j] * -1 + spec.actionBias[j] == low[j] && spec.actionScale[j] + spec.actionBias[j] == high[j])
        }
        #expect(spec.problem == nil)
    }

    @Test("the actor acts with scale · tanh + bias per dimension, always within the bounds")
    func actorMapsOntoBounds() {
        let (agent, _) = asymmetricAgent()
        var generator = Xoshiro256(seed: 4)
        let observations = (0..<40).map { _ in generator.nextUniform(Float(-1), 1) }
        var actions = [Float](repeating: 0, count: 60)
        agent.actor.act(observations: observations, count: 20, actions: &actions)
        let workspace = MLPWorkspace(for: agent.actor.network, capacity: 20)
        workspace.input(batch: 20).assign(observations)
        agent.actor.network.forward(batch: 20, workspace: workspace)
        let tanh = workspace.output(batch: 20).toArray()
        let scale: [Float] = [2, 0.5, 1.75], bias: [Float] = [0, 0.5, 1.25]
        for row in 0..<20 {
            for j in 0..<3 {
                let a = actions[row * 3 + j]
                #expect(a == scale[j] * tanh[row * 3 + j] + bias[j], "row \(row) dimension \(j)")
                #expect(a >= low[j] && a <= high[j])
            }
        }
        #expect(agent.actionLow == low && agent.actionHigh == high)
    }

    @Test("with asymmetric bounds the actor's gradient matches finite differences of −mean Q(s, μ(s))")
    func actorGradientThroughBounds() {
        let (agent, batch) = asymmetricAgent()
        let network = agent.actor.network
        let before = network.parameters.toArray()
        let observations = batch.observations.view.toArray()
        func loss() -> Double {
            var actions = [Float](repeating: 0, count: 24)
            agent.actor.act(observations: observations, count: 8, actions: &actions)
            return -Double(agent.qValues(observations: observations, actions: actions).reduce(0, +)) / 8
        }
        _ = agent.policy.ascend(agent.q, on: batch, count: 8, clipNorm: 0)    // leaves dL/dθ in the actor's gradients, then steps
        let analytic = network.gradients.toArray()
        network.parameters.values.update(from: before, count: before.count)
        #expect(analytic.contains { abs($0) > 1e-3 }, "gradients should not all vanish")
        // The output layer's weights and biases: the parameters the action map acts on first.
        let checked = Array((before.count - 51)..<before.count)  // 16 × 3 weights and 3 biases
        var worst = 0.0
        for k in checked {
            let h: Float = 2e-3
            let saved = network.parameters.values[k]
            network.parameters.values[k] = saved + h
            let up = loss()
            network.parameters.values[k] = saved - h
            let down = loss()
            network.parameters.values[k] = saved
            let numeric = (up - down) / Double(2 * h)
            worst = max(worst, abs(Double(analytic[k]) - numeric))
            #expect(abs(Double(analytic[k]) - numeric) <= 1e-3 + 2e-2 * abs(numeric), "parameter \(k): \(analytic[k]) vs \(numeric)")
        }
        print("actor gradient through asymmetric bounds: worst difference \(worst) over \(checked.count) parameters")
    }

    @Test("a spec names what is wrong with it")
    func specProblems() {
        func spec(actionLow: [Float] = [-1], actionHigh: [Float] = [1], id: String = "X-v0", steps: Int = 10) -> EnvironmentSpec {
            EnvironmentSpec(id: id, observationLow: [0], observationHigh: [1], actionLow: actionLow, actionHigh: actionHigh,
                            rewardRange: -1...0, maxEpisodeSteps: steps)
        }
        #expect(spec().problem == nil)
        #expect(spec(actionLow: [1], actionHigh: [1]).problem?.contains("action dimension 0") == true)
        #expect(spec(actionLow: [-.infinity], actionHigh: [1]).problem?.contains("finite") == true)
        #expect(spec(actionLow: [.nan], actionHigh: [1]).problem != nil)
        #expect(spec(actionLow: [-1, -1], actionHigh: [1]).problem?.contains("action bounds") == true)
        #expect(spec(actionLow: [], actionHigh: []).problem?.contains("action size 0") == true)
        #expect(spec(id: "").problem?.contains("id") == true)
        #expect(spec(id: String(repeating: "x", count: 65)).problem?.contains("id") == true)
        #expect(spec(steps: 0).problem?.contains("episode limit") == true)
        #expect(spec().description == "X-v0 (observation 1, action 1 in [-1.0, 1.0], 10 steps)")
        #expect(spec(actionLow: [-1, 0], actionHigh: [1, 2]).description.contains("low [-1.0, 0.0], high [1.0, 2.0]"))
    }
}
