import Agents
import NeuralNetwork
import Policy
import Randomness
import Replay
import Specs

/// An agent whose updates are whatever a test says: it counts them, remembers what it was given,
/// and can go non-finite on command. Its actor is a real (tiny) one, so weights can be published.
public final class FakeAgent: Agent {
    public let configuration: AgentConfiguration
    public let updates = UpdateCount()
    public let actor: Actor
    private let state: FakeState
    /// Updates from this count on return a NaN loss (as a diverged update does).
    public var divergeFromUpdate = Int.max
    /// Rows of every batch it was given, in order.
    public private(set) var rowsSeen = 0

    public init(spec: EnvironmentSpec, configuration: AgentConfiguration = AgentConfiguration()) {
        self.configuration = configuration
        var generator = Xoshiro256(seed: 7)
        let network = MLP(Actor.architecture(observationSize: spec.observationSize, actionSize: spec.actionSize, hiddenSizes: [4]),
                          using: &generator)
        actor = Actor(network: network, actionLow: spec.actionLow, actionHigh: spec.actionHigh)
        state = FakeState(actor: network)
    }

    public var parts: [any AgentPart] { [updates, state] }

    public func update(_ batch: TransitionBatch) -> UpdateStatistics {
        updates.increment()
        rowsSeen += batch.count
        var statistics = UpdateStatistics()
        statistics.criticLoss = updateCount >= divergeFromUpdate ? .nan : 1
        if updateCount >= divergeFromUpdate { state.values.values[0] = .nan }
        // A real update moves the actor: the weights a worker acts with then change.
        actor.network.parameters.values[0] += 0.001
        return statistics
    }

    public func qValues(observations: [Float], actions: [Float]) -> [Float] { Array(repeating: 0, count: observations.count / actor.observationSize) }
}

/// The fake's training state: the actor's parameters and a vector of its own, with a step counter.
private final class FakeState: AgentPart {
    let actor: MLP
    let values = ParameterVector(count: 4)
    var step = 0

    init(actor: MLP) { self.actor = actor }

    var tensors: [NamedTensor] { [NamedTensor("actor", actor.parameters), NamedTensor("fake", values)] }
    var counters: [NamedCounter] { [NamedCounter("fake_step", value: { self.step }, restore: { self.step = $0 })] }
}
