/// Turns one environment's steps into n-step transitions, as Acme's `NStepTransitionAdder` does
/// (the n-step returns of Ape-X DPG and D4PG):
///
///     (s_t, a_t, R = Σ_{i<k} γ^i r_{t+i}, s_{t+k}, discount = γ^k)
///
/// with k = n while the episode runs. When it ends, every step still pending is emitted with the
/// steps it has (k < n): a termination cuts the return (discount 0, the state after it has no
/// value), a truncation bootstraps from the last observation (discount γ^k). The learner's target
/// is then r + discount · Q′(s′, μ′(s′)); with n = 1 that is the one-step target exactly.
public struct NStepAdder {
    /// The largest n: a message's discounts are checked against γ^k for k ≤ n (docs/PROTOCOL.md).
    public static let maxN = 64

    public let n: Int
    public let gamma: Float
    public let observationSize: Int
    public let actionSize: Int
    /// The last `pending` steps, in a ring of n starting at `oldest`.
    private var observations: [Float]
    private var actions: [Float]
    private var rewards: [Double]
    private var oldest = 0
    private(set) var pending = 0
    /// γ^k for k = 0...n.
    private let powers: [Double]

    /// A transition as the adder emits it; its pointers are valid only during the call that receives it.
    public struct Transition {
        public let observation: UnsafePointer<Float>
        public let action: UnsafePointer<Float>
        public let reward: Float
        public let nextObservation: UnsafePointer<Float>
        public let discount: Float
        public let terminated: Bool
        public let truncated: Bool
    }

    public init(n: Int, gamma: Float, observationSize: Int, actionSize: Int) {
        precondition(n >= 1 && gamma >= 0 && gamma <= 1)
        self.n = n
        self.gamma = gamma
        self.observationSize = observationSize
        self.actionSize = actionSize
        observations = Array(repeating: 0, count: n * observationSize)
        actions = Array(repeating: 0, count: n * actionSize)
        rewards = Array(repeating: 0, count: n)
        powers = (0...n).map { k in (0..<k).reduce(1.0) { product, _ in product * Double(gamma) } }
    }

    /// Records one step and hands `emit` every transition it completes: the one starting n steps
    /// back while the episode runs, and all pending ones when `terminated` or `truncated` ends it.
    public mutating func add(observation: UnsafePointer<Float>, action: UnsafePointer<Float>, reward: Double,
                             nextObservation: UnsafePointer<Float>, terminated: Bool, truncated: Bool,
                             emit: (Transition) -> Void) {
        let slot = (oldest + pending) % n, o = observationSize, a = actionSize
        for j in 0..<o { observations[slot * o + j] = observation[j] }
        for j in 0..<a { actions[slot * a + j] = action[j] }
        rewards[slot] = reward
        pending += 1
        if terminated || truncated {
            while pending > 0 { emitOldest(steps: pending, nextObservation: nextObservation, terminated: terminated, truncated: truncated, emit) }
            oldest = 0
        } else if pending == n {
            emitOldest(steps: n, nextObservation: nextObservation, terminated: false, truncated: false, emit)
        }
    }

    /// Forgets pending steps (the environment was reset without ending its episode).
    public mutating func reset() {
        oldest = 0
        pending = 0
    }

    private mutating func emitOldest(steps k: Int, nextObservation: UnsafePointer<Float>, terminated: Bool, truncated: Bool,
                                     _ emit: (Transition) -> Void) {
        var total = 0.0
        for i in 0..<k { total += powers[i] * rewards[(oldest + i) % n] }
        let discount = terminated ? 0 : Float(powers[k])
        let o = observationSize, a = actionSize, start = oldest
        observations.withUnsafeBufferPointer { obs in
            actions.withUnsafeBufferPointer { act in
                emit(Transition(observation: obs.baseAddress! + start * o, action: act.baseAddress! + start * a, reward: Float(total),
                                nextObservation: nextObservation, discount: discount, terminated: terminated, truncated: truncated))
            }
        }
        oldest = (oldest + 1) % n
        pending -= 1
    }
}
