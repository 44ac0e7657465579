import NeuralNetwork

/// A copy of an agent's training state, to return to when an update goes non-finite.
/// Its tensors are allocated once; taking and restoring one copies memory.
public final class AgentSnapshot {
    private let copies: [ParameterVector]
    private var counters: [String: Int] = [:]
    /// The agent's update count when the snapshot was taken.
    public private(set) var updateCount = 0

    public init(of agent: any LearningAgent) {
        copies = agent.tensors.map { ParameterVector(count: $0.values.count) }
        take(agent)
    }

    public func take(_ agent: any LearningAgent) {
        for (copy, live) in zip(copies, agent.tensors) { copy.copy(from: live.values) }
        counters = agent.counters
        updateCount = agent.updateCount
    }

    /// Puts the saved tensors and optimizer steps back; the agent's update count keeps counting.
    public func restore(into agent: any LearningAgent) {
        for (copy, live) in zip(copies, agent.tensors) { live.values.copy(from: copy) }
        for (name, value) in counters where name != "updates" { agent.restore(counter: name, to: value) }
    }
}
