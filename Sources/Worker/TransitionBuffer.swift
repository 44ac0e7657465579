import Replay

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

    var isFull: Bool { count >= capacity }

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

    /// Forgets the first `rows` rows (already sent), keeping the rest in order.
    mutating func removeFirst(_ rows: Int) {
        // Every flush sends the whole buffer but for a stop mid-way: then nothing moves.
        guard rows < count else {
            count = 0
            return
        }
        let o = observationSize, a = actionSize, rest = count - rows
        guard rows > 0 else { return }
        observations.replaceSubrange(0..<(rest * o), with: observations[(rows * o)..<(count * o)])
        nextObservations.replaceSubrange(0..<(rest * o), with: nextObservations[(rows * o)..<(count * o)])
        actions.replaceSubrange(0..<(rest * a), with: actions[(rows * a)..<(count * a)])
        rewards.replaceSubrange(0..<rest, with: rewards[rows..<count])
        discounts.replaceSubrange(0..<rest, with: discounts[rows..<count])
        terminated.replaceSubrange(0..<rest, with: terminated[rows..<count])
        truncated.replaceSubrange(0..<rest, with: truncated[rows..<count])
        count = rest
    }
}
