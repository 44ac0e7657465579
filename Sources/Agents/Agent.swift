import NeuralNetwork
import Policy
import Randomness
import Replay
import Specs

/// Statistics of one update, for logging.
public struct UpdateStatistics: Sendable, Equatable {
    public var criticLoss: Float = 0
    /// The loss of the latest actor step (TD3 steps its actor only every `policyDelay` updates).
    public var actorLoss: Float = 0
    /// Mean and max of Q(s, a) over the batch (the seeds log `Qmax`).
    public var meanQ: Float = 0
    public var maxQ: Float = 0
    /// An on-policy update's own statistics (its policy and value losses are also `actorLoss` and `criticLoss`).
    public var onPolicy: OnPolicyStatistics?

    public init() {}

    public init(_ onPolicy: OnPolicyStatistics) {
        criticLoss = onPolicy.valueLoss
        actorLoss = onPolicy.policyLoss
        self.onPolicy = onPolicy
    }

    /// Whether the losses stayed finite: an update that diverged is rolled back.
    public var isFinite: Bool { criticLoss.isFinite && actorLoss.isFinite && onPolicy?.isFinite != false }
}

/// One tensor of an agent's training state, under the name its checkpoint section has.
public struct NamedTensor {
    public let name: String
    public let values: ParameterVector

    public init(_ name: String, _ values: ParameterVector) {
        self.name = name
        self.values = values
    }
}

/// One integer of an agent's training state (an optimizer's step, the update count), under the name
/// a checkpoint header gives it, with the way to set it back.
public struct NamedCounter {
    public let name: String
    public let value: () -> Int
    public let restore: (Int) -> Void

    public init(_ name: String, value: @escaping () -> Int, restore: @escaping (Int) -> Void) {
        self.name = name
        self.value = value
        self.restore = restore
    }
}

/// A piece of an agent that holds training state: a network with its target and optimizer, or the update count.
/// An agent's state is the sum of its parts', so checkpoints, rollbacks and restores need no list of their own.
public protocol AgentPart: AnyObject {
    var tensors: [NamedTensor] { get }
    var counters: [NamedCounter] { get }
}

/// The updates an agent has done, across checkpoints: the counter `updates`.
public final class UpdateCount: AgentPart {
    public private(set) var value = 0

    public init() {}

    public func increment() { value += 1 }

    public var tensors: [NamedTensor] { [] }
    public var counters: [NamedCounter] { [NamedCounter("updates", value: { self.value }, restore: { self.value = $0 })] }
}

/// What every agent is to whatever holds it, however it learns: a policy to publish, and named training
/// state to checkpoint, snapshot and roll back (Acme's `VariableSource` and `Saveable`). ``Agent`` learns
/// off-policy from replayed batches, ``OnPolicyAgent`` from its own policy's rollouts or gradients.
///
/// An agent owns its networks and optimizers in ``parts``; its training state is their tensors
/// plus their counters, both named, so that a checkpoint is a list of sections and a rollback a copy.
public protocol LearningAgent: AnyObject {
    var configuration: AgentConfiguration { get }
    /// The policy that acts, is evaluated and is broadcast to workers.
    var actor: Actor { get }
    /// Everything with training state, each tensor and counter name unique among them.
    var parts: [any AgentPart] { get }
    /// Updates done so far, across checkpoints (one of the parts).
    var updates: UpdateCount { get }
    /// The running observation statistics it normalizes with (nil without `--normalize-observations`; one of the parts).
    var observationStatistics: ObservationStatistics? { get }
}

extension LearningAgent {
    public var observationStatistics: ObservationStatistics? { nil }
}

/// The seam between an off-policy algorithm and whatever runs it: the Learner, the Trainer and checkpoints
/// speak only to this and ``LearningAgent`` (the on-policy seam is ``OnPolicyAgent``) (Acme's learner step).
public protocol Agent: LearningAgent {

    /// One update on the first `batch.count` rows. Reads the rows' importance weights when
    /// `batch.isWeighted`, and writes each row's |TD error| into `batch.tdErrors`: what a
    /// prioritized replay needs back.
    @discardableResult
    func update(_ batch: TransitionBatch) -> UpdateStatistics

    /// Q(s, a) of the (first) critic for row-major observations and actions, for tests and diagnostics.
    func qValues(observations: [Float], actions: [Float]) -> [Float]

    /// `count` observations of fresh transitions, `stride` floats apart, as they arrive (before replay):
    /// what observation normalization estimates its statistics from. Most agents ignore them.
    func observe(freshObservations: UnsafePointer<Float>, count: Int, stride: Int)
}

extension Agent {
    public func observe(freshObservations: UnsafePointer<Float>, count: Int, stride: Int) {}
}

extension LearningAgent {
    public var observationSize: Int { actor.observationSize }
    public var actionSize: Int { actor.actionSize }
    public var updateCount: Int { updates.value }
    public var actionLow: [Float] { actor.actionLow }
    public var actionHigh: [Float] { actor.actionHigh }
    /// The largest |bound| of any dimension, for formats that store one symmetric bound.
    public var actionBound: Float { actor.actionBound }

    /// Every tensor an update changes (networks, targets, optimizer moments, normalization statistics).
    public var tensors: [NamedTensor] { parts.flatMap(\.tensors) }

    /// The integers of the training state: "updates" and each optimizer's step.
    public var counters: [String: Int] {
        Dictionary(uniqueKeysWithValues: parts.flatMap(\.counters).map { ($0.name, $0.value()) })
    }

    /// Sets one of ``counters`` (a name it does not list is a programming error).
    public func restore(counter name: String, to value: Int) {
        guard let counter = parts.flatMap(\.counters).first(where: { $0.name == name }) else {
            preconditionFailure("\(configuration.algorithm) has no counter \(name)")
        }
        counter.restore(value)
    }

    /// Whether every parameter and optimizer moment is finite.
    public var isFinite: Bool { tensors.allSatisfy { $0.values.isFinite } }
}

/// The agent `configuration.algorithm` names, with networks shaped by `spec` (Acme's `make_networks(spec)`).
public func makeAgent<G: RandomNumberGenerator>(spec: EnvironmentSpec, configuration: AgentConfiguration,
                                                 using generator: inout G) -> any Agent {
    makeAgent(observationSize: spec.observationSize, actionLow: spec.actionLow, actionHigh: spec.actionHigh,
              configuration: configuration, using: &generator)
}

public func makeAgent<G: RandomNumberGenerator>(observationSize: Int, actionLow: [Float], actionHigh: [Float],
                                                 configuration: AgentConfiguration, using generator: inout G) -> any Agent {
    guard let algorithm = Algorithms.named(configuration.algorithm) as? any OffPolicyAlgorithm.Type else {
        preconditionFailure("\(configuration.algorithm) is not an off-policy algorithm: validate the configuration first")
    }
    let agent = algorithm.makeAgent(observationSize: observationSize, actionLow: actionLow, actionHigh: actionHigh,
                                    configuration: configuration, using: &generator)
    return configuration.normalizeObservations ? ObservationNormalizingAgent(agent, clip: configuration.observationClip) : agent
}
