import Tensors
import NeuralNetwork
import Policy
import Randomness
import Replay

// The parts DDPG, TD3 and SAC share, so that each algorithm's file is only its update rule:
// a policy with its target, a critic with its target, the Bellman target, and the target move.
// Every buffer is allocated when a part is made; an update allocates nothing.

/// The actor μ with its target μ′, its Adam and its workspaces.
final class PolicyPart: AgentPart {
    let actor: Actor
    let target: MLP
    let optimizer: Adam
    private let workspace: MLPWorkspace
    private let targetWorkspace: MLPWorkspace

    init<G: RandomNumberGenerator>(observationSize: Int, actionLow: [Float], actionHigh: [Float],
                                   configuration c: AgentConfiguration, using generator: inout G) {
        let shape = Actor.architecture(observationSize: observationSize, actionSize: actionLow.count, hiddenSizes: c.actorHiddenSizes,
                                       normalization: c.actorNormalization)
        let network = MLP(shape, finalLayerScale: c.finalLayerInitScale, using: &generator)
        actor = Actor(network: network, actionLow: actionLow, actionHigh: actionHigh)
        target = MLP(shape)
        target.copyState(from: network)
        optimizer = Adam(parameterCount: network.parameterCount, configuration: .init(learningRate: c.actorLearningRate))
        workspace = MLPWorkspace(for: network, capacity: c.batchSize)
        targetWorkspace = MLPWorkspace(for: target, capacity: c.batchSize)
    }

    /// μ′(s′) as actions for the first `n` rows of `nextObservations`, written into `destination`.
    func targetActions(_ nextObservations: Matrix, count n: Int, into destination: MatrixView) {
        targetWorkspace.input(batch: n).base.update(from: nextObservations.storage, count: n * actor.observationSize)
        target.forward(batch: n, workspace: targetWorkspace, mode: .inference)
        actor.writeActions(fromTanh: targetWorkspace.output(batch: n), into: destination)
    }

    /// One step ascending Q(s, μ(s)) of `critic`: dL/dθ_μ = −(1/N) Σ ∂Q/∂a · ∂μ/∂θ_μ, with ∂Q/∂a from a
    /// backward pass through the critic that stops at the action's layer. Returns −mean Q before the step.
    func ascend(_ critic: CriticPart, on batch: TransitionBatch, count n: Int, clipNorm: Float) -> Float {
        let network = actor.network
        workspace.input(batch: n).base.update(from: batch.observations.storage, count: n * actor.observationSize)
        network.forward(batch: n, workspace: workspace, mode: .training(updatingStatistics: true))
        let criticWorkspace = critic.workspace
        criticWorkspace.input(batch: n).copyRows(from: batch.observations.storage)
        actor.writeActions(fromTanh: workspace.output(batch: n), into: criticWorkspace.auxiliaryInput(batch: n))
        critic.network.forward(batch: n, workspace: criticWorkspace, mode: .training(updatingStatistics: false))
        let q = criticWorkspace.output(batch: n).base
        let dq = criticWorkspace.outputGradient(batch: n).base
        let inverseN = 1 / Float(n)
        var meanQ: Float = 0
        for i in 0..<n {
            meanQ += q[i]
            dq[i] = -inverseN
        }
        critic.network.backward(batch: n, workspace: criticWorkspace, parameterGradients: false, auxiliaryGradient: true)
        // a = scale · tanh(z) + bias: the tanh factor is applied by the actor's backward pass.
        actor.writeTanhGradient(fromActionGradient: criticWorkspace.auxiliaryGradient(batch: n), into: workspace.outputGradient(batch: n))
        network.backward(batch: n, workspace: workspace, parameterGradients: true)
        if clipNorm > 0 { network.gradients.clipNorm(to: clipNorm) }
        optimizer.update(network.parameters, gradients: network.gradients)
        return -meanQ * inverseN
    }

    /// The actor, its target and its Adam moments, under `actor`, `target_actor`, `actor_adam_m`, `actor_adam_v`;
    /// with batch normalization also `actor_statistics` and `target_actor_statistics`.
    var tensors: [NamedTensor] {
        [NamedTensor("actor", actor.network.parameters), NamedTensor("target_actor", target.parameters),
         NamedTensor("actor_adam_m", optimizer.firstMoment), NamedTensor("actor_adam_v", optimizer.secondMoment)]
            + statisticsTensors(actor.network, target, name: "actor")
    }

    var counters: [NamedCounter] { [optimizer.counter(named: "actor_adam_step")] }
}

/// A critic Q(s, a) with its target Q′, its Adam and its workspaces: DDPG trains one, TD3 and SAC two.
final class CriticPart: AgentPart {
    /// The name of its checkpoint sections: `critic`, `target_critic`, `critic_adam_m`, ….
    let name: String
    let network: MLP
    let target: MLP
    let optimizer: Adam
    let workspace: MLPWorkspace
    let targetWorkspace: MLPWorkspace

    init<G: RandomNumberGenerator>(name: String, observationSize: Int, actionSize: Int, configuration c: AgentConfiguration,
                                   using generator: inout G) {
        self.name = name
        let shape = Critic.architecture(observationSize: observationSize, actionSize: actionSize,
                                        hiddenSizes: c.criticHiddenSizes, actionLayer: c.criticActionLayer, normalization: c.criticNormalization)
        network = MLP(shape, finalLayerScale: c.finalLayerInitScale, using: &generator)
        target = MLP(shape)
        target.copyState(from: network)
        optimizer = Adam(parameterCount: network.parameterCount,
                         configuration: .init(learningRate: c.criticLearningRate, weightDecay: c.criticWeightDecay))
        workspace = MLPWorkspace(for: network, capacity: c.batchSize)
        targetWorkspace = MLPWorkspace(for: target, capacity: c.batchSize)
    }

    /// Where the caller writes a′ before ``targetValues(_:count:)``.
    func targetActionInput(count n: Int) -> MatrixView { targetWorkspace.auxiliaryInput(batch: n) }

    /// Q′(s′, a′) for the first `n` rows, with a′ already in ``targetActionInput(count:)``.
    func targetValues(_ nextObservations: Matrix, count n: Int) -> UnsafeMutablePointer<Float> {
        targetWorkspace.input(batch: n).copyRows(from: nextObservations.storage)
        target.forward(batch: n, workspace: targetWorkspace, mode: .inference)
        return targetWorkspace.output(batch: n).base
    }

    /// One regression step of Q(s, a) toward `targets` on mean w·ℓ(Q − y), ℓ the squared error or Huber,
    /// w each row's importance weight (1 unless the batch is weighted). Writes |Q − y| into `tdErrors`
    /// when given. Returns the loss; ``meanAndMaxQ(count:)`` then reads the Q(s, a) it fitted.
    func fit(_ batch: TransitionBatch, targets: UnsafePointer<Float>, count n: Int, configuration c: AgentConfiguration,
             tdErrors: UnsafeMutablePointer<Float>?) -> Float {
        workspace.input(batch: n).copyRows(from: batch.observations.storage)
        VectorKernels.scaledCopy(MatrixView(base: batch.actions.storage, rows: n, columns: batch.actions.columns),
                                 into: workspace.auxiliaryInput(batch: n), factor: 1)
        network.forward(batch: n, workspace: workspace, mode: .training(updatingStatistics: true))
        let loss = c.writeRegressionGradient(batch, values: workspace.output(batch: n).base, targets: targets, count: n,
                                             into: workspace.outputGradient(batch: n).base, tdErrors: tdErrors)
        network.backward(batch: n, workspace: workspace, parameterGradients: true)
        if c.gradientClipNorm > 0 { network.gradients.clipNorm(to: c.gradientClipNorm) }
        optimizer.update(network.parameters, gradients: network.gradients)
        return loss
    }

    /// Mean and max of Q(s, a) from the last ``fit(_:targets:count:configuration:tdErrors:)``, until the workspace is used again.
    func meanAndMaxQ(count n: Int) -> (mean: Float, max: Float) { meanAndMax(workspace.output(batch: n).base, count: n) }

    var tensors: [NamedTensor] {
        [NamedTensor(name, network.parameters), NamedTensor("target_\(name)", target.parameters),
         NamedTensor("\(name)_adam_m", optimizer.firstMoment), NamedTensor("\(name)_adam_v", optimizer.secondMoment)]
            + statisticsTensors(network, target, name: name)
    }

    var counters: [NamedCounter] { [optimizer.counter(named: "\(name)_adam_step")] }
}

/// Mean and max of the first `n` values.
func meanAndMax(_ values: UnsafePointer<Float>, count n: Int) -> (mean: Float, max: Float) {
    var sum: Float = 0, largest = -Float.infinity
    for i in 0..<n {
        sum += values[i]
        largest = max(largest, values[i])
    }
    return (sum / Float(n), largest)
}

/// What a soft policy step evaluates its draws with: a critic's network and the workspace that holds (s, ã).
protocol ActionValueNetwork: AnyObject {
    var network: MLP { get }
    var workspace: MLPWorkspace { get }
}

extension CriticPart: ActionValueNetwork {}

/// A network's and its target's batch-normalization statistics as tensors; none without batch normalization.
private func statisticsTensors(_ online: MLP, _ target: MLP, name: String) -> [NamedTensor] {
    online.statistics.count == 0 ? [] : [NamedTensor("\(name)_statistics", online.statistics), NamedTensor("target_\(name)_statistics", target.statistics)]
}

extension Adam {
    /// Its step count, which bias correction reads, as a checkpoint names it.
    func counter(named name: String) -> NamedCounter {
        NamedCounter(name, value: { self.step }, restore: { self.restore(step: $0) })
    }
}

extension MLP {
    /// Parameters and normalization statistics, as a target network takes them.
    func copyState(from other: MLP) {
        parameters.copy(from: other.parameters)
        statistics.copy(from: other.statistics)
    }
}

extension AgentConfiguration {
    /// y = rewardScale·r + rewardShift + discount·Q′, written for the first `n` rows, with each row's own
    /// discount: γ^k for a k-step transition (γ for one step), 0 after a termination. A time-limit
    /// truncation is not terminal: the episode would have gone on, so the target bootstraps through it.
    func writeBellmanTargets(_ batch: TransitionBatch, nextQ: UnsafePointer<Float>, count n: Int, into y: UnsafeMutablePointer<Float>) {
        let r = batch.rewards.storage, done = batch.terminated.storage, discounts = batch.discounts.storage
        for i in 0..<n {
            y[i] = rewardScale * r[i] + rewardShift + discounts[i] * (1 - done[i]) * nextQ[i]
        }
    }

    /// The regression of Q on the targets, mean w·ℓ(Q − y) with ℓ the squared error or Huber and w each row's
    /// importance weight (1 unless the batch is weighted): writes dL/dQ for the first `n` rows into `gradient`
    /// and |Q − y| into `tdErrors` when given, and returns the loss.
    func writeRegressionGradient(_ batch: TransitionBatch, values q: UnsafePointer<Float>, targets: UnsafePointer<Float>, count n: Int,
                                 into dq: UnsafeMutablePointer<Float>, tdErrors: UnsafeMutablePointer<Float>?) -> Float {
        let weights: UnsafePointer<Float>? = batch.isWeighted ? UnsafePointer(batch.weights.storage) : nil
        let inverseN = 1 / Float(n), delta = huberDelta
        var loss: Float = 0
        for i in 0..<n {
            let e = q[i] - targets[i], w = weights?[i] ?? 1
            tdErrors?[i] = abs(e)
            switch criticLoss {
            case .mse:
                loss += w * e * e
                dq[i] = 2 * w * e * inverseN
            case .huber where abs(e) <= delta:
                loss += w * 0.5 * e * e
                dq[i] = w * e * inverseN
            case .huber:
                loss += w * delta * (abs(e) - 0.5 * delta)
                dq[i] = w * (e > 0 ? delta : -delta) * inverseN
            }
        }
        return loss * inverseN
    }

    /// Moves a target toward its online network: Polyak θ′ ← τθ + (1 − τ)θ′, or a hard copy
    /// on every `hardTargetUpdateInterval`-th move when that is set. `move` counts moves from 1.
    /// Batch normalization's running statistics move with the parameters.
    func moveTarget(_ target: MLP, towards online: MLP, move: Int) {
        if hardTargetUpdateInterval > 0 {
            if move % hardTargetUpdateInterval == 0 { target.copyState(from: online) }
        } else {
            target.parameters.blend(towards: online.parameters, rate: tau)
            target.statistics.blend(towards: online.statistics, rate: tau)
        }
    }
}

/// The action-value function Q(s, a), an MLP whose action input joins at a configurable layer.
public enum Critic {
    public static func architecture(observationSize: Int, actionSize: Int, hiddenSizes: [Int], actionLayer: Int,
                                    normalization: Normalization = .none) -> MLPArchitecture {
        MLPArchitecture(inputSize: observationSize, hiddenSizes: hiddenSizes, outputSize: 1,
                        hiddenActivation: .relu, outputActivation: .identity,
                        auxiliaryInput: AuxiliaryInput(size: actionSize, layer: actionLayer), normalization: normalization)
    }
}
