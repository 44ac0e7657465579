import Foundation
import NeuralNetwork
import Policy
import Randomness
import Specs
import Tensors

/// A2C (Mnih et al. 2016, synchronous; SB3's `A2C`): every worker acts `rolloutSteps` steps in each of its
/// environments with the current policy, and the learner makes one update on all their segments.
public enum A2C: OnPolicyAlgorithm {
    public typealias Settings = OnPolicySettings
    public static let id: AlgorithmID = .a2c
    public static let summary = "advantage actor–critic, synchronous: one update on every worker's segments of the current policy"
    public static let isAsynchronous = false

    public static func makeAgent<G: RandomNumberGenerator>(spec: EnvironmentSpec, configuration: AgentConfiguration,
                                                           using generator: inout G) -> any OnPolicyAgent {
        ActorCriticAgent(spec: spec, configuration: configuration, using: &generator)
    }
}

/// A3C (Mnih et al. 2016): each worker computes the actor–critic gradient on its own segment with its
/// copy of the networks; the learner applies each on arrival with one shared optimizer and broadcasts.
public enum A3C: OnPolicyAlgorithm {
    public typealias Settings = OnPolicySettings
    public static let id: AlgorithmID = .a3c
    public static let summary = "asynchronous advantage actor–critic: workers send gradients, applied on arrival with one shared RMSprop"
    public static let isAsynchronous = true

    public static func makeAgent<G: RandomNumberGenerator>(spec: EnvironmentSpec, configuration: AgentConfiguration,
                                                           using generator: inout G) -> any OnPolicyAgent {
        ActorCriticAgent(spec: spec, configuration: configuration, using: &generator)
    }
}

extension AlgorithmID {
    public static let a2c: AlgorithmID = "a2c"
    public static let a3c: AlgorithmID = "a3c"
}

/// The actor–critic both algorithms train, with SB3's `ActorCriticPolicy` shapes: separate policy and value
/// MLPs with tanh hidden layers (`actorHiddenSizes`, `criticHiddenSizes`), orthogonal initialization
/// (gain √2, then 0.01 for the policy's outputs and 1 for the value), a categorical head for a Discrete
/// space and a Gaussian with state-independent log σ for a Box. On a rollout it minimizes
///
///     L = −mean(Â · log π(a | s)) − entCoef · mean(H(π(· | s))) + vfCoef · mean((R − V(s))²)
///
/// with Â and R from ``estimateAdvantages(_:values:bootstrapValues:truncationValues:discount:lambda:advantages:returns:)``,
/// clips the two networks' gradient together to `maxGradNorm`, and steps each network's RMSprop (or Adam).
public final class ActorCriticAgent: OnPolicyAgent {
    public let configuration: AgentConfiguration
    public let settings: OnPolicySettings
    public let updates = UpdateCount()
    public let actor: Actor
    public let critic: MLP
    let policy: TrainedNetwork
    let value: TrainedNetwork
    private var policyWorkspace: MLPWorkspace
    private var valueWorkspace: MLPWorkspace
    private var advantages: [Float] = []
    private var returns: [Float] = []

    public init<G: RandomNumberGenerator>(spec: EnvironmentSpec, configuration c: AgentConfiguration, using generator: inout G) {
        configuration = c
        settings = c.onPolicySettings
        let head: PolicyHead = spec.isDiscrete ? .categorical : .gaussian
        let network = MLP(Actor.architecture(observationSize: spec.observationSize, actionLow: spec.actionLow, actionHigh: spec.actionHigh,
                                             hiddenSizes: c.actorHiddenSizes, hiddenActivation: .tanh, normalization: c.actorNormalization,
                                             head: head))
        network.initializeOrthogonally(hiddenGain: Float(2).squareRoot(), outputGain: 0.01, using: &generator)
        actor = Actor(network: network, head: head, actionLow: spec.actionLow, actionHigh: spec.actionHigh)
        if head == .gaussian { Self.startLogStd(network, actionSize: spec.actionSize, at: settings.logStdInit) }
        critic = MLP(MLPArchitecture(inputSize: spec.observationSize, hiddenSizes: c.criticHiddenSizes, outputSize: 1,
                                     hiddenActivation: .tanh, outputActivation: .identity, normalization: c.criticNormalization))
        critic.initializeOrthogonally(hiddenGain: Float(2).squareRoot(), outputGain: 1, using: &generator)
        policy = TrainedNetwork(name: "policy", network: network, settings: settings)
        value = TrainedNetwork(name: "value", network: critic, settings: settings)
        policyWorkspace = MLPWorkspace(for: network, capacity: 64)
        valueWorkspace = MLPWorkspace(for: critic, capacity: 64)
    }

    /// An A3C worker's copy: its `actor` and `critic` (the networks the learner's weights are assigned into), and the
    /// loss settings of `configuration`. Its optimizers are never stepped: the learner applies what it computes.
    public init(actor: Actor, critic: MLP, configuration c: AgentConfiguration) {
        configuration = c
        settings = c.onPolicySettings
        self.actor = actor
        self.critic = critic
        policy = TrainedNetwork(name: "policy", network: actor.network, settings: settings)
        value = TrainedNetwork(name: "value", network: critic, settings: settings)
        policyWorkspace = MLPWorkspace(for: actor.network, capacity: 64)
        valueWorkspace = MLPWorkspace(for: critic, capacity: 64)
    }

    public var parts: [any AgentPart] { [updates, policy, value] }

    /// The log σ outputs' weights at zero and their biases at `logStd`: σ independent of the state.
    private static func startLogStd(_ network: MLP, actionSize a: Int, at logStd: Float) {
        let last = network.layers.count - 1, w = network.weights(last)
        for r in 0..<w.rows {
            for j in a..<(2 * a) { w[r, j] = 0 }
        }
        (network.biases(last) + a).update(repeating: logStd, count: a)
    }

    public func computeGradients(_ rollout: Rollout) -> OnPolicyStatistics {
        let n = rollout.rows, e = rollout.environments, k = rollout.truncations
        precondition(n > 0 && rollout.observationSize == actor.observationSize && rollout.actionSize == actor.actionSize,
                     "a rollout of \(n) rows of \(rollout.observationSize) → \(rollout.actionSize) for an actor of \(actor.observationSize) → \(actor.actionSize)")
        let o = actor.observationSize
        if valueWorkspace.capacity < n + e + k { valueWorkspace = MLPWorkspace(for: critic, capacity: n + e + k) }
        if policyWorkspace.capacity < n { policyWorkspace = MLPWorkspace(for: actor.network, capacity: n) }
        if advantages.count < n {
            advantages = [Float](repeating: 0, count: n)
            returns = [Float](repeating: 0, count: n)
        }

        // V of every row, every bootstrap observation and every truncated episode's last one, in one pass.
        let input = valueWorkspace.input(batch: n + e + k).base
        input.update(from: rollout.observations, count: n * o)
        (input + n * o).update(from: rollout.bootstrapObservations, count: e * o)
        (input + (n + e) * o).update(from: rollout.truncationObservations, count: k * o)
        critic.forward(batch: n + e + k, workspace: valueWorkspace, mode: .training(updatingStatistics: true))
        let v = valueWorkspace.output(batch: n + e + k).base
        estimateAdvantages(rollout, values: v, bootstrapValues: v + n, truncationValues: v + n + e, discount: configuration.discount,
                           lambda: settings.gaeLambda, advantages: &advantages, returns: &returns)

        var statistics = OnPolicyStatistics()
        statistics.rows = n
        statistics.explainedVariance = explainedVariance(values: v, returns: returns, count: n)
        // The value loss's gradient on the rows; the bootstrap rows are targets, held fixed.
        let dv = valueWorkspace.outputGradient(batch: n + e + k).base
        var squaredError = 0.0
        for i in 0..<n {
            let error = v[i] - returns[i]
            squaredError += Double(error * error)
            dv[i] = settings.vfCoef * 2 * error / Float(n)
        }
        for i in n..<(n + e + k) { dv[i] = 0 }
        statistics.valueLoss = Float(squaredError / Double(n))
        critic.backward(batch: n + e + k, workspace: valueWorkspace, parameterGradients: true)

        if settings.normalizeAdvantage, n > 1 { standardize(&advantages, count: n) }
        policyWorkspace.input(batch: n).base.update(from: rollout.observations, count: n * o)
        actor.network.forward(batch: n, workspace: policyWorkspace, mode: .training(updatingStatistics: true))
        let terms = rollout.actions.withUnsafeBufferPointer { actions in
            actor.policyTerms(outputs: policyWorkspace.output(batch: n), actions: actions.baseAddress!, advantages: advantages,
                              entropyCoefficient: settings.entCoef, gradient: policyWorkspace.outputGradient(batch: n))
        }
        actor.network.backward(batch: n, workspace: policyWorkspace, parameterGradients: true)
        if actor.head == .gaussian { holdLogStdIndependentOfState() }
        statistics.policyLoss = terms.policyLoss
        statistics.entropy = terms.entropy
        return statistics
    }

    /// The log σ outputs' weights get no gradient: σ stays a function of nothing but its bias.
    private func holdLogStdIndependentOfState() {
        let network = actor.network, last = network.layers.count - 1, a = actor.actionSize
        let g = network.weightGradients(last)
        for r in 0..<g.rows {
            for j in a..<(2 * a) { g[r, j] = 0 }
        }
    }

    public func schedule(envSteps: Int, of maxEnvSteps: Int) {
        guard settings.learningRateSchedule.isLinear(for: configuration.algorithm), maxEnvSteps > 0 else { return }
        let remaining = max(0, 1 - Double(envSteps) / Double(maxEnvSteps))
        let rate = settings.learningRate * Float(remaining)
        policy.setLearningRate(rate)
        value.setLearningRate(rate)
    }

    @discardableResult
    public func applyGradients() -> Float {
        let norm = (pow(actor.network.gradients.norm, 2) + pow(critic.gradients.norm, 2)).squareRoot()
        // A non-finite gradient never reaches the weights.
        guard norm.isFinite else { return norm }
        if settings.maxGradNorm > 0, norm > settings.maxGradNorm {
            // torch.nn.utils.clip_grad_norm_: one factor for every parameter.
            let factor = settings.maxGradNorm / (norm + 1e-6)
            actor.network.gradients.scale(by: factor)
            critic.gradients.scale(by: factor)
        }
        policy.step()
        value.step()
        updates.increment()
        return norm
    }

    private func explainedVariance(values: UnsafePointer<Float>, returns: [Float], count n: Int) -> Float {
        var meanR = 0.0, meanD = 0.0
        for i in 0..<n {
            meanR += Double(returns[i])
            meanD += Double(returns[i] - values[i])
        }
        meanR /= Double(n)
        meanD /= Double(n)
        var varR = 0.0, varD = 0.0
        for i in 0..<n {
            varR += pow(Double(returns[i]) - meanR, 2)
            varD += pow(Double(returns[i] - values[i]) - meanD, 2)
        }
        // SB3 reports NaN when the returns do not vary; 0 says the same without poisoning averages.
        return varR == 0 ? 0 : Float(1 - varD / varR)
    }

    private func standardize(_ values: inout [Float], count n: Int) {
        var mean = 0.0, variance = 0.0
        for i in 0..<n { mean += Double(values[i]) }
        mean /= Double(n)
        for i in 0..<n { variance += pow(Double(values[i]) - mean, 2) }
        // torch's std is the unbiased one, and SB3 adds 1e-8 to it.
        let std = (variance / Double(n - 1)).squareRoot() + 1e-8
        for i in 0..<n { values[i] = Float((Double(values[i]) - mean) / std) }
    }
}

/// A network with its own optimizer (RMSprop or Adam, as the settings say): the policy or the value of an
/// ``ActorCriticAgent``, checkpointed as `<name>`, `<name>_rmsprop_v` (or `<name>_adam_m`, `<name>_adam_v`).
final class TrainedNetwork: AgentPart {
    let name: String
    let network: MLP
    private let rmsprop: RMSprop?
    private let adam: Adam?

    init(name: String, network: MLP, settings: OnPolicySettings) {
        self.name = name
        self.network = network
        switch settings.optimizer {
        case .rmsprop:
            rmsprop = RMSprop(parameterCount: network.parameterCount,
                              configuration: .init(learningRate: settings.learningRate, alpha: settings.rmspropAlpha, epsilon: settings.rmspropEpsilon))
            adam = nil
        case .adam:
            rmsprop = nil
            adam = Adam(parameterCount: network.parameterCount, configuration: .init(learningRate: settings.learningRate))
        }
    }

    func setLearningRate(_ rate: Float) {
        rmsprop?.configuration.learningRate = rate
        adam?.configuration.learningRate = rate
    }

    func step() {
        rmsprop?.update(network.parameters, gradients: network.gradients)
        adam?.update(network.parameters, gradients: network.gradients)
    }

    var tensors: [NamedTensor] {
        var tensors = [NamedTensor(name, network.parameters)]
        if network.statistics.count > 0 { tensors.append(NamedTensor("\(name)_statistics", network.statistics)) }
        if let rmsprop { tensors.append(NamedTensor("\(name)_rmsprop_v", rmsprop.squareAverage)) }
        if let adam { tensors += [NamedTensor("\(name)_adam_m", adam.firstMoment), NamedTensor("\(name)_adam_v", adam.secondMoment)] }
        return tensors
    }

    var counters: [NamedCounter] {
        if let rmsprop { return [NamedCounter("\(name)_rmsprop_step", value: { rmsprop.step }, restore: { rmsprop.restore(step: $0) })] }
        if let adam { return [adam.counter(named: "\(name)_adam_step")] }
        return []
    }
}
