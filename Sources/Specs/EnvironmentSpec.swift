/// What a learner needs to know of an environment, and nothing it does not: the shapes
/// and bounds of its spaces, its reward range and its episode limit (Acme's `EnvironmentSpec`).
///
/// A value type with no dependencies, so that every layer can carry it: the environment
/// that defines it, the worker that announces it, the wire that transports it, and the
/// networks and replay that are built from it.
public struct EnvironmentSpec: Codable, Sendable, Equatable, CustomStringConvertible {
    /// A stable identifier such as `"Pendulum-v1"`.
    public var id: String
    public var observationSize: Int
    /// Per-dimension bounds of every observation the environment can produce.
    public var observationLow: [Float]
    public var observationHigh: [Float]
    /// Per-dimension bounds of a valid action (gymnasium's `Box` low and high); for a Discrete(n)
    /// space, one dimension in [0, n − 1].
    public var actionLow: [Float]
    public var actionHigh: [Float]
    /// n for gymnasium's `Discrete(n)`, whose action is one whole number in 0..<n (carried as a float,
    /// exact up to 2²⁴); nil for a `Box`. Optional so that records written before it decode as a Box.
    public var discreteActions: Int?
    /// Bounds of one reward, as float32 rounded outward; infinite where the environment declares none.
    public var rewardLow: Float
    public var rewardHigh: Float
    /// The step after which an episode is truncated.
    public var maxEpisodeSteps: Int

    public init(id: String, observationLow: [Float], observationHigh: [Float], actionLow: [Float], actionHigh: [Float],
                rewardRange: ClosedRange<Float>, maxEpisodeSteps: Int) {
        self.init(id: id, observationLow: observationLow, observationHigh: observationHigh, actionLow: actionLow, actionHigh: actionHigh,
                  rewardLow: rewardRange.lowerBound, rewardHigh: rewardRange.upperBound, maxEpisodeSteps: maxEpisodeSteps)
    }

    /// An environment whose action space is `Discrete(actions)`.
    public init(id: String, observationLow: [Float], observationHigh: [Float], discreteActions actions: Int,
                rewardRange: ClosedRange<Float>, maxEpisodeSteps: Int) {
        self.init(id: id, observationLow: observationLow, observationHigh: observationHigh, actionLow: [0], actionHigh: [Float(actions - 1)],
                  rewardLow: rewardRange.lowerBound, rewardHigh: rewardRange.upperBound, maxEpisodeSteps: maxEpisodeSteps)
        discreteActions = actions
    }

    /// Any values, as a peer may send them: check ``problem`` before trusting the result.
    public init(id: String, observationLow: [Float], observationHigh: [Float], actionLow: [Float], actionHigh: [Float],
                rewardLow: Float, rewardHigh: Float, maxEpisodeSteps: Int) {
        self.id = id
        observationSize = observationLow.count
        self.observationLow = observationLow
        self.observationHigh = observationHigh
        self.actionLow = actionLow
        self.actionHigh = actionHigh
        self.rewardLow = rewardLow
        self.rewardHigh = rewardHigh
        self.maxEpisodeSteps = maxEpisodeSteps
    }

    public var actionSize: Int { actionLow.count }

    public var isDiscrete: Bool { discreteActions != nil }

    /// gymnasium's name for the action space: "Discrete(2)", or "Box(1)" with its dimensions.
    public var actionSpaceName: String {
        if let n = discreteActions { return "Discrete(\(n))" }
        return "Box(\(actionSize))"
    }

    /// The most choices a Discrete action space may offer (a policy's logits are a layer this wide).
    public static let maxDiscreteActions = 1_024

    /// The affine map from tanh's (−1, 1) onto [low, high], per dimension: a = scale · t + bias
    /// (CleanRL's `action_scale` and `action_bias`, computed in float32 as there).
    public var actionScale: [Float] { zip(actionLow, actionHigh).map { ($1 - $0) / 2 } }
    public var actionBias: [Float] { zip(actionLow, actionHigh).map { ($1 + $0) / 2 } }

    /// The largest identifier a spec may carry, in UTF-8 bytes.
    public static let maxIdLength = 64
    /// The most dimensions an observation or an action may have.
    public static let maxDimension = 1_024
    /// The largest magnitude of a finite bound: beyond it the actor's scale (high − low) / 2 could overflow
    /// float32, and the wire caps unbounded values at this magnitude anyway.
    public static let maxMagnitude: Float = 1e6

    /// Why this spec cannot describe an environment, or nil if it can. Every field is checked,
    /// so a spec that arrived from a peer can be trusted after this says nil.
    public var problem: String? {
        if id.isEmpty || id.utf8.count > Self.maxIdLength { return "id \"\(id)\" must have 1 to \(Self.maxIdLength) bytes" }
        if !(1...Self.maxDimension).contains(observationSize) { return "observation size \(observationSize) is not in 1...\(Self.maxDimension)" }
        if observationLow.count != observationSize || observationHigh.count != observationSize {
            return "observation bounds have \(observationLow.count) and \(observationHigh.count) values for \(observationSize) dimensions"
        }
        if !(1...Self.maxDimension).contains(actionSize) { return "action size \(actionSize) is not in 1...\(Self.maxDimension)" }
        if actionHigh.count != actionSize { return "action bounds have \(actionLow.count) low and \(actionHigh.count) high values" }
        let m = Self.maxMagnitude
        for (i, (low, high)) in zip(observationLow, observationHigh).enumerated() where low.isNaN || high.isNaN || !(low <= high) {
            return "observation dimension \(i): low \(low) is not ≤ high \(high)"
        }
        // A finite bound past ±1e6 would be capped, and could cross the other bound.
        for (i, (low, high)) in zip(observationLow, observationHigh).enumerated()
            where (low.isFinite && abs(low) > m) || (high.isFinite && abs(high) > m) {
            return "observation dimension \(i): finite bounds [\(low), \(high)] must lie within ±\(m) (or be infinite)"
        }
        if let n = discreteActions {
            guard (2...Self.maxDiscreteActions).contains(n) else { return "Discrete(\(n)) must offer 2 to \(Self.maxDiscreteActions) actions" }
            guard actionSize == 1, actionLow[0] == 0, actionHigh[0] == Float(n - 1) else {
                return "Discrete(\(n)) must have one action dimension in [0, \(n - 1)], got low \(actionLow) high \(actionHigh)"
            }
        }
        for (i, (low, high)) in zip(actionLow, actionHigh).enumerated() where !low.isFinite || !high.isFinite || !(low < high) || abs(low) > m || abs(high) > m {
            return "action dimension \(i): bounds [\(low), \(high)] must be finite, within ±\(m), with low < high"
        }
        if rewardLow.isNaN || rewardHigh.isNaN || !(rewardLow <= rewardHigh) || rewardLow == .infinity || rewardHigh == -.infinity {
            return "reward range [\(rewardLow), \(rewardHigh)] must be ordered"
        }
        if maxEpisodeSteps <= 0 { return "episode limit \(maxEpisodeSteps) must be positive" }
        return nil
    }

    /// Whether `other` describes the same environment: identical in everything but the reward range.
    /// Gymnasium 1.x declares no reward range, so a Python worker announces (−∞, ∞) for the Pendulum-v1
    /// whose Swift worker announces [−16.27, 0]; the range only bounds the learner's own checks, and the
    /// learner keeps the one it has.
    public func isSameEnvironment(as other: EnvironmentSpec) -> Bool {
        var other = other
        other.rewardLow = rewardLow
        other.rewardHigh = rewardHigh
        return self == other
    }

    /// The first field in which `other` differs from this spec (the reward range aside, as in
    /// ``isSameEnvironment(as:)``), named with both values and, for floats, their bits: two specs that
    /// print alike can differ in the last bit of one bound. Nil when they are the same environment.
    public func firstDifference(from other: EnvironmentSpec) -> String? {
        func bits(_ value: Float) -> String { "\(value) (bits \(String(value.bitPattern, radix: 16)))" }
        if id != other.id { return "id: \"\(other.id)\" where the learner has \"\(id)\"" }
        if observationSize != other.observationSize { return "observation size: \(other.observationSize) where the learner has \(observationSize)" }
        if discreteActions != other.discreteActions { return "action space: \(other.actionSpaceName) where the learner has \(actionSpaceName)" }
        if actionSize != other.actionSize { return "action size: \(other.actionSize) where the learner has \(actionSize)" }
        if maxEpisodeSteps != other.maxEpisodeSteps { return "episode limit: \(other.maxEpisodeSteps) where the learner has \(maxEpisodeSteps)" }
        for (name, mine, theirs) in [("observation low", observationLow, other.observationLow), ("observation high", observationHigh, other.observationHigh),
                                     ("action low", actionLow, other.actionLow), ("action high", actionHigh, other.actionHigh)] {
            if let i = zip(mine, theirs).enumerated().first(where: { $0.element.0.bitPattern != $0.element.1.bitPattern })?.offset {
                return "\(name)[\(i)]: \(bits(theirs[i])) where the learner has \(bits(mine[i]))"
            }
        }
        return nil
    }

    /// "Pendulum-v1 (observation 3, action 1 in [-2.0, 2.0], 200 steps)", for logs and errors that name two specs.
    public var description: String {
        if isDiscrete { return "\(id) (observation \(observationSize), action \(actionSpaceName), \(maxEpisodeSteps) steps)" }
        let uniform = Set(actionLow).count == 1 && Set(actionHigh).count == 1
        // Bounded in length: a spec from a peer may have a thousand dimensions.
        let bounds = uniform ? "[\(actionLow.first ?? 0), \(actionHigh.first ?? 0)]"
            : actionSize <= 8 ? "low \(actionLow), high \(actionHigh)"
            : "per-dimension bounds within [\(actionLow.min() ?? 0), \(actionHigh.max() ?? 0)]"
        return "\(id) (observation \(observationSize), action \(actionSize) in \(bounds), \(maxEpisodeSteps) steps)"
    }
}
