import NeuralNetwork
import Randomness
import Replay
import Testing
@testable import Agents

/// A small agent and a fixed batch of random Pendulum-shaped transitions.
func makeAgent(actionLayer: Int = 1, configure: (inout AgentConfiguration) -> Void = { _ in }) -> (DDPGAgent, TransitionBatch) {
    var config = AgentConfiguration()
    config.actorHiddenSizes = [16, 16]
    config.criticHiddenSizes = [16, 16]
    config.criticActionLayer = actionLayer
    config.batchSize = 8
    config.finalLayerInitScale = 0.3
    configure(&config)
    var generator = Xoshiro256(seed: 21)
    let agent = DDPGAgent(observationSize: 3, actionSize: 1, actionBound: 2, configuration: config, using: &generator)
    let batch = TransitionBatch(capacity: 8, observationSize: 3, actionSize: 1)
    let replay = ReplayBuffer(capacity: 8, observationSize: 3, actionSize: 1, gamma: config.discount)
    for i in 0..<8 {
        let s = (0..<3).map { _ in generator.nextUniform(Float(-1), 1) }
        let s2 = (0..<3).map { _ in generator.nextUniform(Float(-1), 1) }
        replay.add(observation: s, action: [generator.nextUniform(Float(-2), 2)], reward: -Float(i),
                   nextObservation: s2, terminated: false, truncated: i == 7)
    }
    replay.sample(8, into: batch, using: &generator)
    return (agent, batch)
}

@Suite("DDPG update")
struct DDPGUpdateTests {
    @Test("the critic's dQ/da matches finite differences", arguments: [0, 1, 2])
    func criticActionGradient(actionLayer: Int) {
        let (agent, _) = makeAgent(actionLayer: actionLayer)
        var generator = Xoshiro256(seed: 5)
        let observations = (0..<12).map { _ in generator.nextUniform(Float(-1), 1) }
        let actions = (0..<4).map { _ in generator.nextUniform(Float(-2), 2) }
        let workspace = MLPWorkspace(for: agent.critic, capacity: 4)
        workspace.input(batch: 4).assign(observations)
        workspace.auxiliaryInput(batch: 4).assign(actions)
        agent.critic.forward(batch: 4, workspace: workspace)
        workspace.outputGradient(batch: 4).fill(1)
        // The same partial pass the actor update uses: no weight gradients, stop at the action's layer.
        agent.critic.backward(batch: 4, workspace: workspace, parameterGradients: false, auxiliaryGradient: true)
        let analytic = workspace.auxiliaryGradient(batch: 4).toArray()
        #expect(analytic.contains { abs($0) > 1e-3 }, "gradients should not all vanish")
        for i in 0..<4 {
            let h: Float = 1e-3
            var up = actions, down = actions
            up[i] += h
            down[i] -= h
            let qUp = agent.qValues(observations: observations, actions: up)[i]
            let qDown = agent.qValues(observations: observations, actions: down)[i]
            let numeric = Double(qUp - qDown) / Double(2 * h)
            #expect(abs(Double(analytic[i]) - numeric) <= 2e-3 + 2e-2 * abs(numeric), "row \(i): \(analytic[i]) vs \(numeric)")
        }
    }

    @Test("an actor step raises Q(s, μ(s)) on a fixed batch, and leaves the critic alone")
    func actorStepRaisesQ() {
        let (agent, batch) = makeAgent { $0.actorLearningRate = 1e-3 }
        func meanQ() -> Float {
            var actions = [Float](repeating: 0, count: 8)
            agent.actor.act(observations: batch.observations.storage, count: 8, actions: &actions)
            let q = agent.qValues(observations: batch.observations.view.toArray(), actions: actions)
            return q.reduce(0, +) / 8
        }
        let critic = agent.critic.parameters.toArray()
        var previous = meanQ()
        for step in 0..<5 {
            let reportedLoss = agent.policy.ascend(agent.q, on: batch, count: 8, clipNorm: 0)
            let now = meanQ()
            #expect(now > previous, "step \(step): mean Q \(previous) → \(now)")
            #expect(abs(reportedLoss + previous) < 1e-4, "actor loss is −mean Q before the step")
            previous = now
        }
        #expect(agent.critic.parameters.toArray() == critic)
    }

    // Every action layer: joined with the observation (0), the critic's input rows are wider than the
    // observation, and writing the batch's observations must honour that stride.
    @Test("truncation bootstraps, termination does not", arguments: [0, 1, 2])
    func bootstrapping(actionLayer: Int) {
        let (agent, batch) = makeAgent(actionLayer: actionLayer) { $0.discount = 0.9 }
        // Same transition twice, once ended by the time limit (stored as not terminated), once terminal.
        for column in 0..<3 { batch.nextObservations[1, column] = batch.nextObservations[0, column] }
        batch.rewards[0, 0] = -1
        batch.rewards[1, 0] = -1
        batch.terminated[0, 0] = 0
        batch.terminated[1, 0] = 1
        agent.computeTargets(batch, count: 8)
        var nextAction: [Float] = [0]
        let next = Array(batch.nextObservations.view.toArray()[0..<3])
        nextAction[0] = 0
        let targetActorWorkspace = MLPWorkspace(for: agent.targetActor, capacity: 1)
        targetActorWorkspace.input(batch: 1).assign(next)
        agent.targetActor.forward(batch: 1, workspace: targetActorWorkspace)
        nextAction[0] = 2 * targetActorWorkspace.output(batch: 1)[0, 0]
        let targetCriticWorkspace = MLPWorkspace(for: agent.targetCritic, capacity: 1)
        targetCriticWorkspace.input(batch: 1).assign(next)
        targetCriticWorkspace.auxiliaryInput(batch: 1).assign(nextAction)
        agent.targetCritic.forward(batch: 1, workspace: targetCriticWorkspace)
        let nextQ = targetCriticWorkspace.output(batch: 1)[0, 0]
        #expect(abs(nextQ) > 1e-3, "the bootstrap term must be visible")
        #expect(abs(agent.targets[0, 0] - (-1 + 0.9 * nextQ)) < 1e-5)
        #expect(agent.targets[1, 0] == -1)
    }

    @Test("each row's own discount (γ^k of a k-step row) multiplies its bootstrap, not γ", arguments: [0, 1])
    func nStepDiscountColumn(actionLayer: Int) {
        let (agent, batch) = makeAgent(actionLayer: actionLayer) { $0.discount = 0.9 }
        // Rows 0 and 1 are the same transition but for their discount: a three-step row and a one-step row.
        for column in 0..<3 { batch.nextObservations[1, column] = batch.nextObservations[0, column] }
        for row in 0..<2 {
            batch.rewards[row, 0] = -2
            batch.terminated[row, 0] = 0
        }
        batch.discounts[0, 0] = 0.729
        batch.discounts[1, 0] = 0.9
        agent.computeTargets(batch, count: 8)
        let threeStep = agent.targets[0, 0] + 2, oneStep = agent.targets[1, 0] + 2
        #expect(abs(oneStep) > 1e-3, "the bootstrap term must be visible")
        #expect(abs(threeStep - 0.81 * oneStep) <= 1e-5 * max(1, abs(oneStep)), "γ³·Q′ \(threeStep) vs 0.81 × γ·Q′ \(oneStep)")
    }

    @Test("the critic's reported loss is the mean squared error of Q(s, a) against the target", arguments: [0, 1, 2])
    func criticLossOnTheBatch(actionLayer: Int) {
        let (agent, batch) = makeAgent(actionLayer: actionLayer) { $0.criticLoss = .mse }
        agent.computeTargets(batch, count: 8)
        let targets = (0..<8).map { agent.targets[$0, 0] }
        let q = agent.qValues(observations: batch.observations.view.toArray(), actions: batch.actions.view.toArray())
        let expected = zip(q, targets).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / 8
        let stats = agent.update(batch)
        #expect(abs(stats.criticLoss - expected) <= 1e-5 * max(1, expected), "loss \(stats.criticLoss), expected \(expected)")
    }

    @Test("reward scale and shift enter the target")
    func rewardTransform() {
        let (agent, batch) = makeAgent { $0.rewardScale = 0.1; $0.rewardShift = 8 }
        let (plain, _) = makeAgent()
        agent.computeTargets(batch, count: 8)
        plain.computeTargets(batch, count: 8)
        for i in 0..<8 {
            let bootstrap = plain.targets[i, 0] - batch.rewards[i, 0]
            #expect(abs(agent.targets[i, 0] - (0.1 * batch.rewards[i, 0] + 8 + bootstrap)) < 1e-4)
        }
    }

    @Test("Polyak averaging moves targets by τ toward the updated networks")
    func softTargets() {
        let (agent, batch) = makeAgent { $0.tau = 0.25 }
        let before = agent.targetCritic.parameters.toArray()
        agent.update(batch)
        let online = agent.critic.parameters.toArray()
        let after = agent.targetCritic.parameters.toArray()
        for i in before.indices {
            #expect(abs(after[i] - (0.75 * before[i] + 0.25 * online[i])) < 1e-6)
        }
        #expect(after != before)
    }

    @Test("hard target updates copy every K updates and otherwise hold")
    func hardTargets() {
        let (agent, batch) = makeAgent { $0.hardTargetUpdateInterval = 2 }
        let initial = agent.targetActor.parameters.toArray()
        agent.update(batch)
        #expect(agent.targetActor.parameters.toArray() == initial)
        #expect(agent.actor.network.parameters.toArray() != initial)
        agent.update(batch)
        #expect(agent.targetActor.parameters.toArray() == agent.actor.network.parameters.toArray())
        #expect(agent.targetCritic.parameters.toArray() == agent.critic.parameters.toArray())
    }

    @Test("critic steps reduce the loss on a fixed batch, with MSE and with Huber", arguments: CriticLoss.allCases)
    func criticLearns(loss: CriticLoss) {
        let (agent, batch) = makeAgent { $0.criticLoss = loss; $0.hardTargetUpdateInterval = 1_000_000 }
        agent.computeTargets(batch, count: 8)
        func criticStep() -> Float {
            agent.q.fit(batch, targets: agent.targets.storage, count: 8, configuration: agent.configuration, tdErrors: nil)
        }
        let first = criticStep()
        var last = first
        for _ in 0..<200 { last = criticStep() }
        #expect(last < first * 0.5, "loss \(first) → \(last)")
    }

    @Test("gradient clipping bounds each step's gradient norm")
    func clipping() {
        let (agent, batch) = makeAgent { $0.gradientClipNorm = 1e-3; $0.criticLearningRate = 1e-3 }
        agent.update(batch)
        #expect(agent.critic.gradients.norm <= 1e-3 * 1.001)
        #expect(agent.actor.network.gradients.norm <= 1e-3 * 1.001)
    }

    @Test("the same seed builds the same networks and the same updates")
    func determinism() {
        let (a, batch) = makeAgent()
        let (b, _) = makeAgent()
        for _ in 0..<3 {
            a.update(batch)
            b.update(batch)
        }
        #expect(a.actor.network.parameters.toArray() == b.actor.network.parameters.toArray())
        #expect(a.critic.parameters.toArray() == b.critic.parameters.toArray())
    }
}
