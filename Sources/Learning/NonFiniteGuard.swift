import Agents

/// The learner never publishes, evaluates or checkpoints a non-finite network.
///
/// Validation keeps absurd values out of the data, but an update can still diverge (a learning
/// rate too high, a bug). Every update's losses are checked, and the whole state before anything
/// leaves the learner; a non-finite state is replaced by the last finite one, taken whenever weights
/// were published. After ``maxConsecutiveRollbacks`` rollbacks with no finite state in between, the
/// run stops cleanly (stop reason `non_finite`) and still writes its summary.
struct NonFiniteGuard {
    static let maxConsecutiveRollbacks = 5

    /// The last state known to be finite.
    let lastGood: AgentSnapshot
    private(set) var rollbacks = 0
    private(set) var consecutiveRollbacks = 0
    /// Why the latest rollback happened, and how far back it went (for /status).
    private(set) var lastRollback: String?

    init(agent: any LearningAgent) { lastGood = AgentSnapshot(of: agent) }

    /// Whether the run must stop: the networks keep going non-finite.
    var gaveUp: Bool { consecutiveRollbacks >= Self.maxConsecutiveRollbacks }

    /// True if `agent` is finite (and remembered as the last good state); otherwise rolls back,
    /// describing the rollback in ``lastRollback``, and returns false.
    mutating func check(_ agent: any LearningAgent, before action: String) -> Bool {
        guard agent.isFinite else {
            rollBack(agent, because: "the networks held NaN or infinity before \(action)")
            return false
        }
        lastGood.take(agent)
        consecutiveRollbacks = 0
        return true
    }

    /// Puts the last finite state back.
    mutating func rollBack(_ agent: any LearningAgent, because reason: String) {
        lastGood.restore(into: agent)
        rollbacks += 1
        consecutiveRollbacks += 1
        let discarded = agent.updateCount - lastGood.updateCount
        lastRollback = "\(reason); rolled back \(discarded) updates to the state after update \(lastGood.updateCount)"
    }

    /// A resumed agent's state is the last good one.
    func resumed(_ agent: any LearningAgent) { lastGood.take(agent) }
}
