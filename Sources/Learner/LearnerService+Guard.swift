import DDPG

/// The learner never publishes, evaluates or checkpoints a non-finite network.
///
/// Validation keeps absurd values out of replay, but an update can still
/// diverge (a learning rate too high, a bug). Every update's losses are checked,
/// and the whole state before anything leaves the learner; a non-finite state is
/// replaced by the last finite one, taken whenever weights were published. After
/// ``maxConsecutiveRollbacks`` rollbacks with no finite state in between, the run
/// stops cleanly (stop reason `non_finite`) and still writes its summary.
extension LearnerService {
    static let maxConsecutiveRollbacks = 5

    /// True if the agent is finite (and remembered as the last good state);
    /// otherwise rolls back and returns false. `action` names what needed it.
    func ensureFiniteState(before action: String) -> Bool {
        if agent.isFinite {
            lastGoodState.take(agent)
            consecutiveRollbacks = 0
            return true
        }
        rollBack(because: "the networks held NaN or infinity before \(action)")
        return false
    }

    /// Puts the last finite state back, and says so in the log, metrics and /status.
    func rollBack(because reason: String) {
        lastGoodState.restore(into: agent)
        rollbacks += 1
        consecutiveRollbacks += 1
        metrics.rollbacks.increment()
        let discarded = agent.updateCount - lastGoodState.updateCount
        lastRollback = "\(reason); rolled back \(discarded) updates to the state after update \(lastGoodState.updateCount)"
        logger.error("non-finite training state: \(lastRollback!) (\(consecutiveRollbacks) in a row; the run stops at \(Self.maxConsecutiveRollbacks))")
    }
}
