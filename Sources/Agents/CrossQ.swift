import NeuralNetwork
import Policy
import Randomness
import Replay
import Settings
import Tensors

/// CrossQ (Bhatt, Palenicek et al., ICLR 2024): SAC without target networks. Its critics are batch-renormalized and
/// see (s, a) and (s′, ã′) in one forward pass, so the next pairs share the batch statistics instead of
/// looking out of distribution to them; that is what makes the targets stable without target networks.
public enum CrossQ: OffPolicyAlgorithm {
    public static let id: AlgorithmID = .crossq
    public static let summary = "SAC without targets: batch-renormalized critics on (s, a) and (s′, a′) in one pass"

    /// sb3-contrib's defaults, except where a flag shared with SAC already names the setting (α's learning rate).
    public struct Settings: AlgorithmSettings {
        public var initialAlpha: Float = 1
        /// Adam's learning rate for log α (sb3-contrib uses its one learning rate, 1e-3, for α too).
        public var alphaLearningRate: Float = 3e-4
        public var targetEntropy: Float = -1
        /// The actor and α step once every this many critic steps.
        public var policyDelay = 3
        /// Adam's β1 for the actor and the critics: 0.5, as the paper's and sb3-contrib's.
        public var adamBeta1: Float = 0.5
        /// The critics' batch renormalization: the running moments' momentum and ε, and the critic steps
        /// before the running moments correct the batch's (r and d clipped to 3 and 5).
        public var batchNormMomentum: Float = 0.01
        public var batchNormEpsilon: Float = 1e-3
        public var renormWarmup = 100_000

        public init() {}

        public func validate() throws(ConfigurationError) {
            let check = ConfigurationError.check
            try SAC.Settings(initialAlpha: initialAlpha, alphaLearningRate: alphaLearningRate, targetEntropy: targetEntropy).validate()
            try check(policyDelay >= 1, "policyDelay", "must be at least 1, got \(policyDelay)")
            try check(adamBeta1 >= 0 && adamBeta1 < 1, "adamBeta1", "must be in [0, 1), got \(adamBeta1)")
            try check(batchNormMomentum > 0 && batchNormMomentum <= 1, "batchNormMomentum", "must be in (0, 1], got \(batchNormMomentum)")
            try check(batchNormEpsilon > 0 && batchNormEpsilon.isFinite, "batchNormEpsilon", "must be positive, got \(batchNormEpsilon)")
            try check(renormWarmup >= 0, "renormWarmup", "must be non-negative, got \(renormWarmup)")
        }

        var batchNormalization: BatchNormalizationSettings {
            BatchNormalizationSettings(momentum: batchNormMomentum, epsilon: batchNormEpsilon,
                                       renormalization: .init(warmup: renormWarmup, rMax: 3, dMax: 5))
        }
    }

    public static func makeAgent<G: RandomNumberGenerator>(observationSize: Int, actionLow: [Float], actionHigh: [Float],
                                                           configuration: AgentConfiguration, using generator: inout G) -> any Agent {
        CrossQAgent(observationSize: observationSize, actionLow: actionLow, actionHigh: actionHigh, configuration: configuration, using: &generator)
    }
}

extension AlgorithmID {
    public static let crossq: AlgorithmID = "crossq"
}

/// One call to ``update(_:)`` does, on a minibatch (s, a, r, s′, d), with ã′ ~ π(· | s′):
/// 1. each critic's one training-mode pass over the 2N rows [(s, a); (s′, ã′)], folding both halves into its running moments;
/// 2. y = rewardScale·r + rewardShift + γ·(1 − d)·(min(Q₁, Q₂)(s′, ã′) − α log π(ã′ | s′)), held constant;
/// 3. a step of each critic on its first N rows toward y (the last N carry no loss, but their statistics shape the gradient);
/// 4. every `policyDelay`-th update (the first among them), SAC's actor step with the critics on their running moments, and α's step.
public final class CrossQAgent: Agent {
    public let configuration: AgentConfiguration
    public let settings: CrossQ.Settings
    public let updates = UpdateCount()
    public let actor: Actor
    let policy: GaussianPolicyPart
    let temperature: Temperature
    let q1: JointCriticPart
    let q2: JointCriticPart
    let targets: Matrix
    private let nextActions: Matrix
    private let soft: Matrix
    private let noiseSeed: UInt64
    /// The latest actor step's loss, reported between steps as TD3's is.
    private var actorLoss: Float = 0

    public var parts: [any AgentPart] { [updates, policy, q1, q2, temperature] }
    public var targetEntropy: Float { settings.targetEntropy * Float(actor.actionSize) }
    public var alpha: Float { temperature.alpha }

    public init<G: RandomNumberGenerator>(observationSize: Int, actionLow: [Float], actionHigh: [Float],
                                          configuration c: AgentConfiguration, using generator: inout G) {
        configuration = c
        settings = c.settings(of: CrossQ.self)
        let actionSize = actionLow.count
        policy = GaussianPolicyPart(observationSize: observationSize, actionLow: actionLow, actionHigh: actionHigh, configuration: c,
                                    adamBeta1: settings.adamBeta1, using: &generator)
        actor = policy.actor
        q1 = JointCriticPart(name: "critic", observationSize: observationSize, actionSize: actionSize, configuration: c, settings: settings,
                             using: &generator)
        q2 = JointCriticPart(name: "critic_2", observationSize: observationSize, actionSize: actionSize, configuration: c, settings: settings,
                             using: &generator)
        temperature = Temperature(initial: settings.initialAlpha, learningRate: settings.alphaLearningRate)
        targets = Matrix(rows: c.batchSize, columns: 1)
        nextActions = Matrix(rows: c.batchSize, columns: actionSize)
        soft = Matrix(rows: c.batchSize, columns: 1)
        noiseSeed = generator.next()
    }

    @discardableResult
    public func update(_ batch: TransitionBatch) -> UpdateStatistics {
        let n = batch.count
        precondition(n > 0 && n <= configuration.batchSize, "batch of \(n) for an agent built for \(configuration.batchSize)")
        var noise = Xoshiro256(seed: noiseSeed, stream: UInt64(updateCount))
        var stats = UpdateStatistics()
        computeTargets(batch, count: n, noise: &noise)
        stats.criticLoss = q1.fit(batch, targets: targets.storage, count: n, configuration: configuration, tdErrors: batch.tdErrors.storage)
        (stats.meanQ, stats.maxQ) = meanAndMax(q1.workspace.output(batch: n).base, count: n)
        stats.criticLoss += q2.fit(batch, targets: targets.storage, count: n, configuration: configuration, tdErrors: nil)
        if updateCount % settings.policyDelay == 0 {
            let meanLogProbability: Float
            // The critics act on their running moments here: the draws are not data, and must not move the statistics.
            (actorLoss, meanLogProbability) = policy.improve(against: q1, q2, alpha: temperature.alpha, on: batch, count: n, noise: &noise,
                                                             criticMode: .inference, clipNorm: configuration.gradientClipNorm)
            temperature.step(towards: targetEntropy, meanLogProbability: meanLogProbability)
        }
        stats.actorLoss = actorLoss
        updates.increment()
        return stats
    }

    /// Draws ã′ ~ π(· | s′), runs both critics' joint passes, and writes y from their second halves.
    func computeTargets<G: RandomNumberGenerator>(_ batch: TransitionBatch, count n: Int, noise: inout G) {
        let drawn = nextActions.view.topRows(n)
        let logProbabilities = policy.sample(batch.nextObservations, count: n, noise: &noise, into: drawn)
        let first = q1.jointValues(batch, nextActions: drawn, count: n) + n, second = q2.jointValues(batch, nextActions: drawn, count: n) + n
        let values = soft.storage, alpha = temperature.alpha
        for i in 0..<n { values[i] = min(first[i], second[i]) - alpha * logProbabilities[i] }
        configuration.writeBellmanTargets(batch, nextQ: values, count: n, into: targets.storage)
    }

    public func qValues(observations: [Float], actions: [Float]) -> [Float] { q1.network.values(observations: observations, actions: actions) }
}

/// A critic without a target network: batch-renormalized hidden layers, a workspace for twice the batch,
/// and an Adam with CrossQ's β1.
final class JointCriticPart: AgentPart, ActionValueNetwork {
    let name: String
    let network: MLP
    let optimizer: Adam
    let workspace: MLPWorkspace

    init<G: RandomNumberGenerator>(name: String, observationSize: Int, actionSize: Int, configuration c: AgentConfiguration,
                                   settings: CrossQ.Settings, using generator: inout G) {
        self.name = name
        let shape = Critic.architecture(observationSize: observationSize, actionSize: actionSize, hiddenSizes: c.criticHiddenSizes,
                                        actionLayer: c.criticActionLayer, normalization: .batch)
        network = MLP(shape, finalLayerScale: c.finalLayerInitScale, using: &generator)
        network.batchNormalization = settings.batchNormalization
        optimizer = Adam(parameterCount: network.parameterCount,
                         configuration: .init(learningRate: c.criticLearningRate, beta1: settings.adamBeta1, weightDecay: c.criticWeightDecay))
        workspace = MLPWorkspace(for: network, capacity: 2 * c.batchSize)
    }

    /// Q(s, a) in rows 0..<n and Q(s′, ã′) in rows n..<2n, from one training-mode pass whose statistics are both halves'.
    func jointValues(_ batch: TransitionBatch, nextActions: MatrixView, count n: Int) -> UnsafeMutablePointer<Float> {
        let input = workspace.input(batch: 2 * n), actions = workspace.auxiliaryInput(batch: 2 * n)
        input.topRows(n).copyRows(from: batch.observations.storage)
        input.rows(n..<2 * n).copyRows(from: batch.nextObservations.storage)
        VectorKernels.scaledCopy(MatrixView(base: batch.actions.storage, rows: n, columns: batch.actions.columns), into: actions.topRows(n), factor: 1)
        VectorKernels.scaledCopy(nextActions, into: actions.rows(n..<2 * n), factor: 1)
        network.forward(batch: 2 * n, workspace: workspace, mode: .training(updatingStatistics: true))
        return workspace.output(batch: 2 * n).base
    }

    /// One step of the first `n` rows of the last ``jointValues(_:nextActions:count:)`` toward `targets`. The other
    /// rows carry no loss, yet the backward pass runs over all 2N: their values shaped the statistics every row was normalized by.
    func fit(_ batch: TransitionBatch, targets: UnsafePointer<Float>, count n: Int, configuration c: AgentConfiguration,
             tdErrors: UnsafeMutablePointer<Float>?) -> Float {
        let gradient = workspace.outputGradient(batch: 2 * n).base
        let loss = c.writeRegressionGradient(batch, values: workspace.output(batch: 2 * n).base, targets: targets, count: n,
                                             into: gradient, tdErrors: tdErrors)
        (gradient + n).update(repeating: 0, count: n)
        network.backward(batch: 2 * n, workspace: workspace, parameterGradients: true)
        if c.gradientClipNorm > 0 { network.gradients.clipNorm(to: c.gradientClipNorm) }
        optimizer.update(network.parameters, gradients: network.gradients)
        return loss
    }

    var tensors: [NamedTensor] {
        [NamedTensor(name, network.parameters), NamedTensor("\(name)_statistics", network.statistics),
         NamedTensor("\(name)_adam_m", optimizer.firstMoment), NamedTensor("\(name)_adam_v", optimizer.secondMoment)]
    }

    var counters: [NamedCounter] {
        [optimizer.counter(named: "\(name)_adam_step"),
         NamedCounter("\(name)_statistics_updates", value: { self.network.statisticsUpdates }, restore: { self.network.statisticsUpdates = $0 })]
    }
}
