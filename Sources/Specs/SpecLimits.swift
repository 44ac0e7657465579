/// What an operator lets a peer's hello decide when the learner was not told its environment
/// (no `--env` it knows, no `--spec-file`, no checkpoint): how wide the spaces, how long the episodes,
/// and how large the rewards may be. A spec from a hello is accepted only within these, and its
/// reward range is narrowed to them, never widened: an unbounded range becomes ±``maxRewardMagnitude``.
public struct SpecLimits: Codable, Sendable, Equatable {
    public var maxObservationDims = 512
    public var maxActionDims = 64
    public var maxEpisodeSteps = 100_000
    /// The largest |reward| a learned spec may allow. Gymnasium declares no reward range, so a Python
    /// worker announces (−∞, ∞): without this, whoever said hello first chose the learner's bounds.
    public var maxRewardMagnitude: Float = 10_000

    public init() {}

    /// Why these limits are unusable, or nil.
    public var problem: String? {
        if !(1...EnvironmentSpec.maxDimension).contains(maxObservationDims) {
            return "--max-observation-dims must be in 1...\(EnvironmentSpec.maxDimension), got \(maxObservationDims)"
        }
        if !(1...EnvironmentSpec.maxDimension).contains(maxActionDims) {
            return "--max-action-dims must be in 1...\(EnvironmentSpec.maxDimension), got \(maxActionDims)"
        }
        if maxEpisodeSteps < 1 { return "--max-episode-steps must be positive, got \(maxEpisodeSteps)" }
        if !(maxRewardMagnitude > 0 && maxRewardMagnitude <= EnvironmentSpec.maxMagnitude) {
            return "--max-reward must be in (0, \(EnvironmentSpec.maxMagnitude)], got \(maxRewardMagnitude)"
        }
        return nil
    }

    /// `spec` as the learner may adopt it: its reward range narrowed to ±``maxRewardMagnitude``; or why not.
    public func admit(_ spec: EnvironmentSpec) -> Result<EnvironmentSpec, SpecRefusal> {
        if spec.observationSize > maxObservationDims {
            return .failure(SpecRefusal("\(spec.observationSize) observation dimensions, over --max-observation-dims \(maxObservationDims)"))
        }
        if spec.actionSize > maxActionDims {
            return .failure(SpecRefusal("\(spec.actionSize) action dimensions, over --max-action-dims \(maxActionDims)"))
        }
        if spec.maxEpisodeSteps > maxEpisodeSteps {
            return .failure(SpecRefusal("an episode limit of \(spec.maxEpisodeSteps) steps, over --max-episode-steps \(maxEpisodeSteps)"))
        }
        var admitted = spec
        admitted.rewardLow = max(spec.rewardLow, -maxRewardMagnitude)
        admitted.rewardHigh = min(spec.rewardHigh, maxRewardMagnitude)
        guard admitted.rewardLow <= admitted.rewardHigh else {
            return .failure(SpecRefusal("a reward range [\(spec.rewardLow), \(spec.rewardHigh)] outside ±\(maxRewardMagnitude) (--max-reward)"))
        }
        return .success(admitted)
    }
}

/// Why a learner would not adopt a spec a peer announced.
public struct SpecRefusal: Error, Equatable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
