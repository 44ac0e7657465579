import NeuralNetwork
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

    public init() {}
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

/// The seam between an algorithm and whatever runs it: the Learner, the Trainer and checkpoints
/// speak only to this (Acme's learner step, `VariableSource` and `Saveable` in one).
///
/// An agent owns its networks and optimizers; its training state is ``tensors`` plus
/// ``counters``, both named, so that a checkpoint is a list of sections and a rollback a copy.
public protocol Agent: AnyObject {
    var configuration: AgentConfiguration { get }
    var observationSize: Int { get }
    var actionSize: Int { get }
    /// The policy that acts, is evaluated and is broadcast to workers.
    var actor: Actor { get }
    /// Updates done so far, across checkpoints.
    var updateCount: Int { get }

    /// One update on the first `batch.count` rows. Reads the rows' importance weights when
    /// `batch.isWeighted`, and writes each row's |TD error| into `batch.tdErrors`: what a
    /// prioritized replay needs back.
    @discardableResult
    func update(_ batch: TransitionBatch) -> UpdateStatistics

    /// Every tensor an update changes (networks, targets, optimizer moments), each name unique.
    var tensors: [NamedTensor] { get }
    /// The integers of the training state: "updates" and each optimizer's step.
    var counters: [String: Int] { get }
    /// Sets one of ``counters`` (a name it does not list is a programming error).
    func restore(counter name: String, to value: Int)

    /// Q(s, a) of the (first) critic for row-major observations and actions, for tests and diagnostics.
    func qValues(observations: [Float], actions: [Float]) -> [Float]
}

extension Agent {
    public var actionLow: [Float] { actor.actionLow }
    public var actionHigh: [Float] { actor.actionHigh }
    /// The largest |bound| of any dimension, for formats that store one symmetric bound.
    public var actionBound: Float { actor.actionBound }

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
    switch configuration.algorithm {
    case .ddpg:
        DDPGAgent(observationSize: observationSize, actionLow: actionLow, actionHigh: actionHigh, configuration: configuration, using: &generator)
    case .td3:
        TD3Agent(observationSize: observationSize, actionLow: actionLow, actionHigh: actionHigh, configuration: configuration, using: &generator)
    }
}
