import Foundation
import NeuralNetwork
import Policy
import Randomness
import Replay
import Settings
import Tensors

/// SAC (Haarnoja et al. 2018): a squashed Gaussian policy trained for reward plus entropy, twin
/// critics with targets, and a temperature α tuned so that the policy's entropy stays near a target.
public enum SAC: OffPolicyAlgorithm {
    public static let id: AlgorithmID = .sac
    public static let summary = "squashed Gaussian policy, twin critics, entropy tuned toward −|A|"

    public struct Settings: AlgorithmSettings {
        /// The temperature α at the start (SB3's `ent_coef="auto"` starts at 1).
        public var initialAlpha: Float = 1
        /// Adam's learning rate for log α; 0 keeps α at its initial value.
        public var alphaLearningRate: Float = 3e-4
        /// The entropy α is tuned toward, per action dimension (−1: the paper's −|A|).
        public var targetEntropy: Float = -1

        public init() {}

        public init(initialAlpha: Float = 1, alphaLearningRate: Float = 3e-4, targetEntropy: Float = -1) {
            self.initialAlpha = initialAlpha
            self.alphaLearningRate = alphaLearningRate
            self.targetEntropy = targetEntropy
        }

        public func validate() throws(ConfigurationError) {
            let check = ConfigurationError.check
            try check(initialAlpha > 0 && initialAlpha.isFinite, "initialAlpha", "must be positive, got \(initialAlpha)")
            try check(alphaLearningRate >= 0 && alphaLearningRate.isFinite, "alphaLearningRate", "must be non-negative (0: a fixed α), got \(alphaLearningRate)")
            try check(targetEntropy.isFinite, "targetEntropy", "must be finite, got \(targetEntropy)")
        }
    }

    public static func makeAgent<G: RandomNumberGenerator>(observationSize: Int, actionLow: [Float], actionHigh: [Float],
                                                           configuration: AgentConfiguration, using generator: inout G) -> any Agent {
        SACAgent(observationSize: observationSize, actionLow: actionLow, actionHigh: actionHigh, configuration: configuration, using: &generator)
    }
}

extension AlgorithmID {
    public static let sac: AlgorithmID = "sac"
}

/// One call to ``update(_:)`` does, on a minibatch (s, a, r, s′, d), with ã ~ π(· | ·) reparameterized:
/// 1. y = rewardScale·r + rewardShift + γ·(1 − d)·(min(Q′₁, Q′₂)(s′, ã′) − α log π(ã′ | s′));
/// 2. a step of each critic toward y (the TD error a prioritized replay sees is critic 1's);
/// 3. an actor step on mean(α log π(ã | s) − min(Q₁, Q₂)(s, ã)), through ã = scale·tanh(m + σε) + bias;
/// 4. a step of log α on −log α · mean(log π(ã | s) + target entropy), then the critics' targets move.
public final class SACAgent: Agent {
    public let configuration: AgentConfiguration
    public let settings: SAC.Settings
    public let updates = UpdateCount()
    public let actor: Actor
    let policy: GaussianPolicyPart
    let temperature: Temperature
    let q1: CriticPart
    let q2: CriticPart
    let targets: Matrix
    private let minimum: Matrix
    /// Sampling noise of update k comes from stream k of this seed, so a restored update count resumes it.
    private let noiseSeed: UInt64

    public var parts: [any AgentPart] { [updates, policy, q1, q2, temperature] }
    /// The entropy α is tuned toward: the target per dimension times the action dimensions.
    public var targetEntropy: Float { settings.targetEntropy * Float(actor.actionSize) }

    public init<G: RandomNumberGenerator>(observationSize: Int, actionLow: [Float], actionHigh: [Float],
                                          configuration c: AgentConfiguration, using generator: inout G) {
        configuration = c
        settings = c.settings(of: SAC.self)
        let actionSize = actionLow.count
        policy = GaussianPolicyPart(observationSize: observationSize, actionLow: actionLow, actionHigh: actionHigh, configuration: c, using: &generator)
        actor = policy.actor
        q1 = CriticPart(name: "critic", observationSize: observationSize, actionSize: actionSize, configuration: c, using: &generator)
        q2 = CriticPart(name: "critic_2", observationSize: observationSize, actionSize: actionSize, configuration: c, using: &generator)
        temperature = Temperature(initial: settings.initialAlpha, learningRate: settings.alphaLearningRate)
        targets = Matrix(rows: c.batchSize, columns: 1)
        minimum = Matrix(rows: c.batchSize, columns: 1)
        noiseSeed = generator.next()
    }

    public var alpha: Float { temperature.alpha }

    @discardableResult
    public func update(_ batch: TransitionBatch) -> UpdateStatistics {
        let n = batch.count
        precondition(n > 0 && n <= configuration.batchSize, "batch of \(n) for an agent built for \(configuration.batchSize)")
        var noise = Xoshiro256(seed: noiseSeed, stream: UInt64(updateCount))
        var stats = UpdateStatistics()
        computeTargets(batch, count: n, noise: &noise)
        stats.criticLoss = q1.fit(batch, targets: targets.storage, count: n, configuration: configuration, tdErrors: batch.tdErrors.storage)
        (stats.meanQ, stats.maxQ) = q1.meanAndMaxQ(count: n)
        stats.criticLoss += q2.fit(batch, targets: targets.storage, count: n, configuration: configuration, tdErrors: nil)
        let (actorLoss, meanLogProbability) = policy.improve(against: q1, q2, alpha: temperature.alpha, on: batch, count: n, noise: &noise,
                                                             criticMode: .training(updatingStatistics: false), clipNorm: configuration.gradientClipNorm)
        stats.actorLoss = actorLoss
        temperature.step(towards: targetEntropy, meanLogProbability: meanLogProbability)
        updates.increment()
        configuration.moveTarget(q1.target, towards: q1.network, move: updateCount)
        configuration.moveTarget(q2.target, towards: q2.network, move: updateCount)
        return stats
    }

    /// y = rewardScale·r + rewardShift + discount·(1 − d)·(min(Q′₁, Q′₂)(s′, ã′) − α log π(ã′ | s′)), ã′ drawn from the current policy.
    func computeTargets<G: RandomNumberGenerator>(_ batch: TransitionBatch, count n: Int, noise: inout G) {
        let sampled = q1.targetActionInput(count: n)
        let logProbabilities = policy.sample(batch.nextObservations, count: n, noise: &noise, into: sampled)
        VectorKernels.scaledCopy(sampled, into: q2.targetActionInput(count: n), factor: 1)
        let first = q1.targetValues(batch.nextObservations, count: n), second = q2.targetValues(batch.nextObservations, count: n)
        let soft = minimum.storage, alpha = temperature.alpha
        for i in 0..<n { soft[i] = min(first[i], second[i]) - alpha * logProbabilities[i] }
        configuration.writeBellmanTargets(batch, nextQ: soft, count: n, into: targets.storage)
    }

    public func qValues(observations: [Float], actions: [Float]) -> [Float] { q1.network.values(observations: observations, actions: actions) }
}

/// The squashed Gaussian actor with its Adam, workspace and sampler (SAC keeps no target policy).
final class GaussianPolicyPart: AgentPart {
    let actor: Actor
    let optimizer: Adam
    private let workspace: MLPWorkspace
    let sampler: SquashedGaussian
    private let actions: Matrix
    private let logProbabilityGradients: Matrix

    init<G: RandomNumberGenerator>(observationSize: Int, actionLow: [Float], actionHigh: [Float], configuration c: AgentConfiguration,
                                   adamBeta1: Float = 0.9, using generator: inout G) {
        let shape = Actor.architecture(observationSize: observationSize, actionSize: actionLow.count, hiddenSizes: c.actorHiddenSizes,
                                       normalization: c.actorNormalization, head: .squashedGaussian)
        let network = MLP(shape, finalLayerScale: c.finalLayerInitScale, using: &generator)
        actor = Actor(network: network, head: .squashedGaussian, actionLow: actionLow, actionHigh: actionHigh)
        optimizer = Adam(parameterCount: network.parameterCount, configuration: .init(learningRate: c.actorLearningRate, beta1: adamBeta1))
        workspace = MLPWorkspace(for: network, capacity: c.batchSize)
        sampler = SquashedGaussian(capacity: c.batchSize, actionSize: actionLow.count)
        actions = Matrix(rows: c.batchSize, columns: actionLow.count)
        logProbabilityGradients = Matrix(rows: c.batchSize, columns: 1)
    }

    /// Draws ã ~ π(· | s) for the first `n` rows of `observations` into `destination` (inference mode);
    /// returns their log-probabilities (valid until the next draw).
    func sample<G: RandomNumberGenerator>(_ observations: Matrix, count n: Int, noise: inout G, into destination: MatrixView)
        -> UnsafeMutablePointer<Float> {
        workspace.input(batch: n).base.update(from: observations.storage, count: n * actor.observationSize)
        actor.network.forward(batch: n, workspace: workspace, mode: .inference)
        sampler.sample(workspace.output(batch: n), noise: &noise, actor: actor, into: destination)
        return sampler.logProbabilities.storage
    }

    /// Draws ã ~ π(· | s) in training mode, keeping what ``step(actionGradient:logProbabilityGradient:count:clipNorm:)`` needs.
    func forwardForUpdate<G: RandomNumberGenerator>(_ observations: Matrix, count n: Int, noise: inout G) -> MatrixView {
        workspace.input(batch: n).base.update(from: observations.storage, count: n * actor.observationSize)
        actor.network.forward(batch: n, workspace: workspace, mode: .training(updatingStatistics: true))
        let destination = actions.view.topRows(n)
        sampler.sample(workspace.output(batch: n), noise: &noise, actor: actor, into: destination)
        return destination
    }

    /// One step on mean(α log π(ã | s) − min(Q₁, Q₂)(s, ã)), ã drawn afresh through the reparameterization; the
    /// critics see (s, ã) in `criticMode`. Returns the loss and the mean log π before the step.
    func improve<G: RandomNumberGenerator>(against q1: some ActionValueNetwork, _ q2: some ActionValueNetwork, alpha: Float,
                                           on batch: TransitionBatch, count n: Int, noise: inout G, criticMode: ForwardMode,
                                           clipNorm: Float) -> (loss: Float, meanLogProbability: Float) {
        let actions = forwardForUpdate(batch.observations, count: n, noise: &noise)
        let logProbabilities = sampler.logProbabilities.storage
        func evaluate(_ critic: some ActionValueNetwork) {
            critic.workspace.input(batch: n).copyRows(from: batch.observations.storage)
            VectorKernels.scaledCopy(actions, into: critic.workspace.auxiliaryInput(batch: n), factor: 1)
            critic.network.forward(batch: n, workspace: critic.workspace, mode: criticMode)
        }
        evaluate(q1)
        evaluate(q2)
        // The smaller critic of each row carries its gradient, as min does.
        let first = q1.workspace.output(batch: n).base, second = q2.workspace.output(batch: n).base
        let d1 = q1.workspace.outputGradient(batch: n).base, d2 = q2.workspace.outputGradient(batch: n).base
        let inverseN = 1 / Float(n)
        var loss: Float = 0, meanLogProbability: Float = 0
        for i in 0..<n {
            let firstIsLower = first[i] <= second[i]
            loss += alpha * logProbabilities[i] - (firstIsLower ? first[i] : second[i])
            meanLogProbability += logProbabilities[i]
            d1[i] = firstIsLower ? -inverseN : 0
            d2[i] = firstIsLower ? 0 : -inverseN
            logProbabilityGradients.storage[i] = alpha * inverseN
        }
        q1.network.backward(batch: n, workspace: q1.workspace, parameterGradients: false, auxiliaryGradient: true)
        q2.network.backward(batch: n, workspace: q2.workspace, parameterGradients: false, auxiliaryGradient: true)
        // dL/dã: each row's gradient lies in one of the two critics' (the other's is 0).
        let actionGradient = q1.workspace.auxiliaryGradient(batch: n), other = q2.workspace.auxiliaryGradient(batch: n)
        for row in 0..<n {
            let into = actionGradient.row(row), from = other.row(row)
            for j in 0..<actor.actionSize { into[j] += from[j] }
        }
        step(actionGradient: actionGradient, logProbabilityGradient: logProbabilityGradients.storage, count: n, clipNorm: clipNorm)
        return (loss * inverseN, meanLogProbability * inverseN)
    }

    /// One Adam step from dL/dã and dL/dlog π of the last ``forwardForUpdate(_:count:noise:)``.
    func step(actionGradient: MatrixView, logProbabilityGradient: UnsafePointer<Float>, count n: Int, clipNorm: Float) {
        sampler.backward(actionGradient: actionGradient, logProbabilityGradient: logProbabilityGradient, into: workspace.outputGradient(batch: n))
        actor.network.backward(batch: n, workspace: workspace, parameterGradients: true)
        if clipNorm > 0 { actor.network.gradients.clipNorm(to: clipNorm) }
        optimizer.update(actor.network.parameters, gradients: actor.network.gradients)
    }

    var tensors: [NamedTensor] {
        [NamedTensor("actor", actor.network.parameters), NamedTensor("actor_adam_m", optimizer.firstMoment),
         NamedTensor("actor_adam_v", optimizer.secondMoment)]
            + (actor.network.statistics.count == 0 ? [] : [NamedTensor("actor_statistics", actor.network.statistics)])
    }

    var counters: [NamedCounter] { [optimizer.counter(named: "actor_adam_step")] }
}

/// SAC's temperature: log α, stepped by Adam on −log α · (mean log π + target entropy) (SB3's `ent_coef_loss`).
final class Temperature: AgentPart {
    let logAlpha = ParameterVector(count: 1)
    private let gradient = ParameterVector(count: 1)
    let optimizer: Adam
    let learningRate: Float

    init(initial: Float, learningRate: Float) {
        logAlpha.values[0] = logf(initial)
        self.learningRate = learningRate
        optimizer = Adam(parameterCount: 1, configuration: .init(learningRate: max(learningRate, 1e-12)))
    }

    var alpha: Float { expf(logAlpha.values[0]) }

    /// d/dlog α of −log α · (log π + target) is −(mean log π + target): α grows while the entropy is below target.
    func step(towards targetEntropy: Float, meanLogProbability: Float) {
        guard learningRate > 0 else { return }
        gradient.values[0] = -(meanLogProbability + targetEntropy)
        optimizer.update(logAlpha, gradients: gradient)
    }

    var tensors: [NamedTensor] {
        [NamedTensor("log_alpha", logAlpha), NamedTensor("log_alpha_adam_m", optimizer.firstMoment),
         NamedTensor("log_alpha_adam_v", optimizer.secondMoment)]
    }

    var counters: [NamedCounter] { [optimizer.counter(named: "log_alpha_adam_step")] }
}
