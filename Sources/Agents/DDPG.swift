import NeuralNetwork
import Policy
import Randomness
import Replay
import Specs
import Tensors

/// DDPG (Lillicrap et al. 2015): one critic; the actor and the targets step on every update.
public enum DDPG: OffPolicyAlgorithm {
    public static let id: AlgorithmID = .ddpg
    public static let summary = "one critic, actor and targets every update"
    public typealias Settings = NoSettings

    public static func makeAgent<G: RandomNumberGenerator>(observationSize: Int, actionLow: [Float], actionHigh: [Float],
                                                           configuration: AgentConfiguration, using generator: inout G) -> any Agent {
        DDPGAgent(observationSize: observationSize, actionLow: actionLow, actionHigh: actionHigh, configuration: configuration, using: &generator)
    }
}

extension AlgorithmID {
    public static let ddpg: AlgorithmID = "ddpg"
}

/// One call to ``update(_:)`` does, on a minibatch (s, a, r, s′, d):
/// 1. y = rewardScale·r + rewardShift + γ·(1 − d)·Q′(s′, μ′(s′)), d being 1 only for a true terminal state;
/// 2. a critic step on mean (Q(s, a) − y)² (or Huber), weighted per row by a prioritized sample;
/// 3. an actor step ascending Q(s, μ(s)) through the just-updated critic;
/// 4. the targets move: Polyak θ′ ← τθ + (1 − τ)θ′, or a hard copy every K updates.
public final class DDPGAgent: Agent {
    public let configuration: AgentConfiguration
    public let updates = UpdateCount()
    let policy: PolicyPart
    let q: CriticPart
    let targets: Matrix

    public var actor: Actor { policy.actor }
    public var parts: [any AgentPart] { [updates, policy, q] }
    public var critic: MLP { q.network }
    public var targetActor: MLP { policy.target }
    public var targetCritic: MLP { q.target }
    public var actorOptimizer: Adam { policy.optimizer }
    public var criticOptimizer: Adam { q.optimizer }

    /// Networks shaped by `spec` (Acme's `make_networks(spec)`).
    public convenience init<G: RandomNumberGenerator>(spec: EnvironmentSpec, configuration: AgentConfiguration, using generator: inout G) {
        self.init(observationSize: spec.observationSize, actionLow: spec.actionLow, actionHigh: spec.actionHigh,
                  configuration: configuration, using: &generator)
    }

    /// Every action dimension in [−actionBound, actionBound].
    public convenience init<G: RandomNumberGenerator>(observationSize: Int, actionSize: Int, actionBound: Float,
                                                      configuration: AgentConfiguration, using generator: inout G) {
        self.init(observationSize: observationSize, actionLow: Array(repeating: -actionBound, count: actionSize),
                  actionHigh: Array(repeating: actionBound, count: actionSize), configuration: configuration, using: &generator)
    }

    public init<G: RandomNumberGenerator>(observationSize: Int, actionLow: [Float], actionHigh: [Float],
                                          configuration: AgentConfiguration, using generator: inout G) {
        self.configuration = configuration
        policy = PolicyPart(observationSize: observationSize, actionLow: actionLow, actionHigh: actionHigh,
                            configuration: configuration, using: &generator)
        q = CriticPart(name: "critic", observationSize: observationSize, actionSize: actionLow.count, configuration: configuration, using: &generator)
        targets = Matrix(rows: configuration.batchSize, columns: 1)
    }

    @discardableResult
    public func update(_ batch: TransitionBatch) -> UpdateStatistics {
        let n = batch.count
        precondition(n > 0 && n <= configuration.batchSize, "batch of \(n) for an agent built for \(configuration.batchSize)")
        var stats = UpdateStatistics()
        computeTargets(batch, count: n)
        stats.criticLoss = q.fit(batch, targets: targets.storage, count: n, configuration: configuration, tdErrors: batch.tdErrors.storage)
        (stats.meanQ, stats.maxQ) = q.meanAndMaxQ(count: n)
        stats.actorLoss = policy.ascend(q, on: batch, count: n, clipNorm: configuration.gradientClipNorm)
        updates.increment()
        configuration.moveTarget(policy.target, towards: actor.network, move: updateCount)
        configuration.moveTarget(q.target, towards: q.network, move: updateCount)
        return stats
    }

    func computeTargets(_ batch: TransitionBatch, count n: Int) {
        policy.targetActions(batch.nextObservations, count: n, into: q.targetActionInput(count: n))
        configuration.writeBellmanTargets(batch, nextQ: q.targetValues(batch.nextObservations, count: n), count: n, into: targets.storage)
    }

    public func qValues(observations: [Float], actions: [Float]) -> [Float] { q.network.values(observations: observations, actions: actions) }
}

extension MLP {
    /// The network's outputs for row-major inputs and auxiliary inputs, through a workspace of their own.
    func values(observations: [Float], actions: [Float], mode: ForwardMode = .inference) -> [Float] {
        let n = observations.count / architecture.inputSize
        let workspace = MLPWorkspace(for: self, capacity: max(n, 1))
        workspace.input(batch: n).assign(observations)
        workspace.auxiliaryInput(batch: n).assign(actions)
        forward(batch: n, workspace: workspace, mode: mode)
        return workspace.output(batch: n).toArray()
    }
}
