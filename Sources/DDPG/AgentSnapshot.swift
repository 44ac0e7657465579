import NeuralNetwork

extension DDPGAgent {
    /// Everything an update changes: the four networks and both Adam moment vectors.
    public var trainedVectors: [ParameterVector] {
        [actor.network.parameters, critic.parameters, targetActor.parameters, targetCritic.parameters,
         actorOptimizer.firstMoment, actorOptimizer.secondMoment, criticOptimizer.firstMoment, criticOptimizer.secondMoment]
    }

    /// Whether every parameter and optimizer moment is finite.
    public var isFinite: Bool { trainedVectors.allSatisfy(\.isFinite) }
}

/// A copy of an agent's trained state, to return to when an update goes non-finite.
/// Its storage is allocated once; taking and restoring it copies memory and allocates nothing.
public final class AgentSnapshot {
    private let vectors: [ParameterVector]
    private var adamSteps = (actor: 0, critic: 0)
    /// The agent's update count when the snapshot was taken.
    public private(set) var updateCount = 0

    public init(of agent: DDPGAgent) {
        vectors = agent.trainedVectors.map { ParameterVector(count: $0.count) }
        take(agent)
    }

    public func take(_ agent: DDPGAgent) {
        for (copy, live) in zip(vectors, agent.trainedVectors) { copy.copy(from: live) }
        adamSteps = (agent.actorOptimizer.step, agent.criticOptimizer.step)
        updateCount = agent.updateCount
    }

    /// Puts the saved networks and optimizer states back; the agent's update count keeps counting.
    public func restore(into agent: DDPGAgent) {
        for (copy, live) in zip(vectors, agent.trainedVectors) { live.copy(from: copy) }
        agent.actorOptimizer.restore(step: adamSteps.actor)
        agent.criticOptimizer.restore(step: adamSteps.critic)
    }
}
