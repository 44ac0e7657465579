import NeuralNetwork
import Randomness
import Replay
import Specs

/// Statistics of one update, for logging.
public struct UpdateStatistics: Sendable, Equatable {
    public var criticLoss: Float = 0
    public var actorLoss: Float = 0
    /// Mean and max of Q(s, a) over the batch (the seeds log `Qmax`).
    public var meanQ: Float = 0
    public var maxQ: Float = 0

    public init() {}
}

/// DDPG (Lillicrap et al. 2015): the four networks, their optimizers and the update.
///
/// One call to ``update(_:)`` does, on a minibatch (s, a, r, s′, d):
/// 1. y = rewardScale·r + rewardShift + γ·(1 − d)·Q′(s′, μ′(s′)), where d is 1
///    only for a true terminal state. A time-limit truncation is *not* terminal:
///    the pendulum would have kept swinging, so the target bootstraps through it.
/// 2. A critic step on mean (Q(s, a) − y)² (or Huber), with optional L2 decay and clipping.
/// 3. An actor step ascending Q(s, μ(s)) through the just-updated critic.
/// 4. Target networks: Polyak θ′ ← τθ + (1 − τ)θ′, or a hard copy every K updates.
///
/// All buffers are allocated here, once; an update allocates nothing.
public final class DDPGAgent {
    public let configuration: DDPGConfiguration
    public let observationSize: Int
    public let actionSize: Int
    /// Per-dimension action bounds; the actor owns the map of tanh onto them (scale · t + bias).
    public var actionLow: [Float] { actor.actionLow }
    public var actionHigh: [Float] { actor.actionHigh }
    /// The largest |bound| of any dimension, for formats that store one symmetric bound.
    public var actionBound: Float { actor.actionBound }

    public let actor: Actor
    public let critic: MLP
    public let targetActor: MLP
    public let targetCritic: MLP
    public let actorOptimizer: Adam
    public let criticOptimizer: Adam
    public private(set) var updateCount = 0

    /// Continues the update count of a restored checkpoint (parameters and Adam states are restored in place).
    public func restoreUpdateCount(_ count: Int) { updateCount = count }

    private let actorWorkspace: MLPWorkspace
    private let criticWorkspace: MLPWorkspace
    private let targetActorWorkspace: MLPWorkspace
    private let targetCriticWorkspace: MLPWorkspace
    let targets: Matrix

    /// Networks shaped by `spec` (Acme's `make_networks(spec)`).
    public convenience init<G: RandomNumberGenerator>(spec: EnvironmentSpec, configuration: DDPGConfiguration, using generator: inout G) {
        self.init(observationSize: spec.observationSize, actionLow: spec.actionLow, actionHigh: spec.actionHigh,
                  configuration: configuration, using: &generator)
    }

    /// Every action dimension in [−actionBound, actionBound].
    public convenience init<G: RandomNumberGenerator>(
        observationSize: Int, actionSize: Int, actionBound: Float,
        configuration: DDPGConfiguration, using generator: inout G
    ) {
        self.init(observationSize: observationSize, actionLow: Array(repeating: -actionBound, count: actionSize),
                  actionHigh: Array(repeating: actionBound, count: actionSize), configuration: configuration, using: &generator)
    }

    public init<G: RandomNumberGenerator>(
        observationSize: Int, actionLow: [Float], actionHigh: [Float],
        configuration: DDPGConfiguration, using generator: inout G
    ) {
        let actionSize = actionLow.count
        self.configuration = configuration
        self.observationSize = observationSize
        self.actionSize = actionSize
        let actorShape = Actor.architecture(observationSize: observationSize, actionSize: actionSize, hiddenSizes: configuration.actorHiddenSizes)
        let criticShape = Critic.architecture(observationSize: observationSize, actionSize: actionSize,
                                              hiddenSizes: configuration.criticHiddenSizes, actionLayer: configuration.criticActionLayer)
        let actorNetwork = MLP(actorShape, finalLayerScale: configuration.finalLayerInitScale, using: &generator)
        actor = Actor(network: actorNetwork, actionLow: actionLow, actionHigh: actionHigh)
        critic = MLP(criticShape, finalLayerScale: configuration.finalLayerInitScale, using: &generator)
        targetActor = MLP(actorShape)
        targetActor.parameters.copy(from: actorNetwork.parameters)
        targetCritic = MLP(criticShape)
        targetCritic.parameters.copy(from: critic.parameters)
        actorOptimizer = Adam(parameterCount: actorNetwork.parameterCount,
                              configuration: .init(learningRate: configuration.actorLearningRate))
        criticOptimizer = Adam(parameterCount: critic.parameterCount,
                               configuration: .init(learningRate: configuration.criticLearningRate, weightDecay: configuration.criticWeightDecay))
        let b = configuration.batchSize
        actorWorkspace = MLPWorkspace(for: actorNetwork, capacity: b)
        criticWorkspace = MLPWorkspace(for: critic, capacity: b)
        targetActorWorkspace = MLPWorkspace(for: targetActor, capacity: b)
        targetCriticWorkspace = MLPWorkspace(for: targetCritic, capacity: b)
        targets = Matrix(rows: b, columns: 1)
    }

    /// One DDPG update on the first `batch.count` transitions of `batch`.
    @discardableResult
    public func update(_ batch: TransitionBatch) -> UpdateStatistics {
        let n = batch.count
        precondition(n > 0 && n <= configuration.batchSize, "batch of \(n) for an agent built for \(configuration.batchSize)")
        var stats = UpdateStatistics()
        computeTargets(batch, count: n)
        stats.criticLoss = updateCritic(batch, count: n, stats: &stats)
        stats.actorLoss = updateActor(batch, count: n)
        updateTargets()
        updateCount += 1
        return stats
    }

    /// y = scale·r + shift + γ(1 − terminated)·Q′(s′, μ′(s′)).
    func computeTargets(_ batch: TransitionBatch, count n: Int) {
        let o = observationSize
        targetActorWorkspace.input(batch: n).base.update(from: batch.nextObservations.storage, count: n * o)
        targetActor.forward(batch: n, workspace: targetActorWorkspace)
        toActions(targetActorWorkspace.output(batch: n), into: targetCriticWorkspace.auxiliaryInput(batch: n))
        targetCriticWorkspace.input(batch: n).copyRows(from: batch.nextObservations.storage)
        targetCritic.forward(batch: n, workspace: targetCriticWorkspace)
        let nextQ = targetCriticWorkspace.output(batch: n).base
        let r = batch.rewards.storage, done = batch.terminated.storage, y = targets.storage
        let c = configuration
        for i in 0..<n {
            y[i] = c.rewardScale * r[i] + c.rewardShift + c.discount * (1 - done[i]) * nextQ[i]
        }
    }

    func updateCritic(_ batch: TransitionBatch, count n: Int, stats: inout UpdateStatistics) -> Float {
        criticWorkspace.input(batch: n).copyRows(from: batch.observations.storage)
        copy(MatrixView(base: batch.actions.storage, rows: n, columns: actionSize), into: criticWorkspace.auxiliaryInput(batch: n), scale: 1)
        critic.forward(batch: n, workspace: criticWorkspace)
        let q = criticWorkspace.output(batch: n).base, y = targets.storage
        let dq = criticWorkspace.outputGradient(batch: n).base
        let inverseN = 1 / Float(n)
        var loss: Float = 0, sumQ: Float = 0, maxQ = -Float.infinity
        switch configuration.criticLoss {
        case .mse:
            for i in 0..<n {
                let e = q[i] - y[i]
                loss += e * e
                dq[i] = 2 * e * inverseN
            }
        case .huber:
            let delta = configuration.huberDelta
            for i in 0..<n {
                let e = q[i] - y[i]
                if abs(e) <= delta {
                    loss += 0.5 * e * e
                    dq[i] = e * inverseN
                } else {
                    loss += delta * (abs(e) - 0.5 * delta)
                    dq[i] = (e > 0 ? delta : -delta) * inverseN
                }
            }
        }
        for i in 0..<n {
            sumQ += q[i]
            maxQ = max(maxQ, q[i])
        }
        stats.meanQ = sumQ * inverseN
        stats.maxQ = maxQ
        critic.backward(batch: n, workspace: criticWorkspace, parameterGradients: true)
        if configuration.gradientClipNorm > 0 { critic.gradients.clipNorm(to: configuration.gradientClipNorm) }
        criticOptimizer.update(critic.parameters, gradients: critic.gradients)
        return loss * inverseN
    }

    /// Ascends Q(s, μ(s)): dL/dθ_μ = −(1/N) Σ ∂Q/∂a · ∂μ/∂θ_μ, with ∂Q/∂a from a
    /// backward pass through the critic that stops at the action's layer.
    func updateActor(_ batch: TransitionBatch, count n: Int) -> Float {
        let actorNetwork = actor.network
        actorWorkspace.input(batch: n).base.update(from: batch.observations.storage, count: n * observationSize)
        actorNetwork.forward(batch: n, workspace: actorWorkspace)
        criticWorkspace.input(batch: n).copyRows(from: batch.observations.storage)
        toActions(actorWorkspace.output(batch: n), into: criticWorkspace.auxiliaryInput(batch: n))
        critic.forward(batch: n, workspace: criticWorkspace)
        let q = criticWorkspace.output(batch: n).base
        let dq = criticWorkspace.outputGradient(batch: n).base
        let inverseN = 1 / Float(n)
        var meanQ: Float = 0
        for i in 0..<n {
            meanQ += q[i]
            dq[i] = -inverseN
        }
        critic.backward(batch: n, workspace: criticWorkspace, parameterGradients: false, auxiliaryGradient: true)
        // a = scale · tanh(z) + bias: the tanh factor is applied by the actor's backward pass.
        toTanhGradient(criticWorkspace.auxiliaryGradient(batch: n), into: actorWorkspace.outputGradient(batch: n))
        actorNetwork.backward(batch: n, workspace: actorWorkspace, parameterGradients: true)
        if configuration.gradientClipNorm > 0 { actorNetwork.gradients.clipNorm(to: configuration.gradientClipNorm) }
        actorOptimizer.update(actorNetwork.parameters, gradients: actorNetwork.gradients)
        return -meanQ * inverseN
    }

    func updateTargets() {
        let interval = configuration.hardTargetUpdateInterval
        if interval > 0 {
            if (updateCount + 1) % interval == 0 {
                targetActor.parameters.copy(from: actor.network.parameters)
                targetCritic.parameters.copy(from: critic.parameters)
            }
        } else {
            targetActor.parameters.blend(towards: actor.network.parameters, rate: configuration.tau)
            targetCritic.parameters.blend(towards: critic.parameters, rate: configuration.tau)
        }
    }

    /// Q(s, a) for `count` observation/action pairs (for tests and diagnostics).
    public func qValues(observations: [Float], actions: [Float]) -> [Float] {
        let n = observations.count / observationSize
        let workspace = MLPWorkspace(for: critic, capacity: max(n, 1))
        workspace.input(batch: n).assign(observations)
        workspace.auxiliaryInput(batch: n).assign(actions)
        critic.forward(batch: n, workspace: workspace)
        return workspace.output(batch: n).toArray()
    }

    private func copy(_ source: MatrixView, into destination: MatrixView, scale: Float) {
        VectorKernels.scaledCopy(source, into: destination, factor: scale)
    }

    /// a = scale · t + bias per column: tanh outputs to actions.
    private func toActions(_ tanh: MatrixView, into actions: MatrixView) {
        if let bound = actor.symmetricBound { return copy(tanh, into: actions, scale: bound) }
        affineColumns(tanh, into: actions, withBias: true)
    }

    /// dL/dt = scale · dL/da per column: the chain rule back through the action map.
    private func toTanhGradient(_ actionGradient: MatrixView, into tanhGradient: MatrixView) {
        if let bound = actor.symmetricBound { return copy(actionGradient, into: tanhGradient, scale: bound) }
        affineColumns(actionGradient, into: tanhGradient, withBias: false)
    }

    private func affineColumns(_ source: MatrixView, into destination: MatrixView, withBias: Bool) {
        precondition(source.rows == destination.rows && source.columns == actionSize && destination.columns == actionSize)
        let actionScale = actor.actionScale, actionBias = actor.actionBias
        for row in 0..<source.rows {
            let from = source.base + row * source.stride, to = destination.base + row * destination.stride
            for j in 0..<actionSize { to[j] = actionScale[j] * from[j] + (withBias ? actionBias[j] : 0) }
        }
    }
}
