import Adders

/// Transitions collected for the next message, in the wire format's column order.
struct TransitionBuffer {
    let capacity: Int
    let observationSize: Int
    let actionSize: Int
    var observations: [Float]
    var actions: [Float]
    var rewards: [Float]
    var discounts: [Float]
    var nextObservations: [Float]
    var terminated: [UInt8]
    var truncated: [UInt8]
    private(set) var count = 0

    init(capacity: Int, observationSize: Int, actionSize: Int) {
        self.capacity = capacity
        self.observationSize = observationSize
        self.actionSize = actionSize
        observations = Array(repeating: 0, count: capacity * observationSize)
        actions = Array(repeating: 0, count: capacity * actionSize)
        rewards = Array(repeating: 0, count: capacity)
        discounts = Array(repeating: 0, count: capacity)
        nextObservations = Array(repeating: 0, count: capacity * observationSize)
        terminated = Array(repeating: 0, count: capacity)
        truncated = Array(repeating: 0, count: capacity)
    }

    mutating func append(_ transition: NStepAdder.Transition) {
        append(observation: transition.observation, action: transition.action, reward: transition.reward, discount: transition.discount,
               nextObservation: transition.nextObservation, terminated: transition.terminated, truncated: transition.truncated)
    }

    mutating func append(
        observation: UnsafePointer<Float>, action: UnsafePointer<Float>, reward: Float, discount: Float,
        nextObservation: UnsafePointer<Float>, terminated isTerminal: Bool, truncated isTruncated: Bool
    ) {
        precondition(count < capacity, "transition buffer overflow")
        let o = observationSize, a = actionSize, i = count
        for j in 0..<o {
            observations[i * o + j] = observation[j]
            nextObservations[i * o + j] = nextObservation[j]
        }
        for j in 0..<a { actions[i * a + j] = action[j] }
        rewards[i] = reward
        discounts[i] = discount
        terminated[i] = isTerminal ? 1 : 0
        truncated[i] = isTruncated ? 1 : 0
        count += 1
    }

    mutating func clear() { count = 0 }

    /// Rows `range`, copied into a buffer of their own.
    func rows(_ range: Range<Int>) -> TransitionBuffer {
        var copy = TransitionBuffer(capacity: range.count, observationSize: observationSize, actionSize: actionSize)
        let o = observationSize, a = actionSize
        copy.observations.replaceSubrange(0..., with: observations[(range.lowerBound * o)..<(range.upperBound * o)])
        copy.nextObservations.replaceSubrange(0..., with: nextObservations[(range.lowerBound * o)..<(range.upperBound * o)])
        copy.actions.replaceSubrange(0..., with: actions[(range.lowerBound * a)..<(range.upperBound * a)])
        copy.rewards.replaceSubrange(0..., with: rewards[range])
        copy.discounts.replaceSubrange(0..., with: discounts[range])
        copy.terminated.replaceSubrange(0..., with: terminated[range])
        copy.truncated.replaceSubrange(0..., with: truncated[range])
        copy.count = range.count
        return copy
    }
}
