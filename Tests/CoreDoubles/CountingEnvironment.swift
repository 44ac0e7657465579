import Environments

/// An environment a test can reason about: the observation is (steps taken / 10, the last action),
/// every step costs 1, and an episode is truncated after 10 steps (terminated at none).
public struct CountingEnvironment: Environment {
    public static let id = "Counting-v0"
    public static let solvedReturn = -5.0
    public static let episodeSteps = 10
    public let observationSize = 2, actionSize = 1, maxEpisodeSteps = CountingEnvironment.episodeSteps
    public let actionBound: Float = 1
    public let observationLow: [Float] = [0, -1]
    public let observationHigh: [Float] = [1, 1]
    public let rewardRange: ClosedRange<Float> = -1...0
    private var steps = 0

    public init() {}

    public mutating func reset<G: RandomNumberGenerator>(using generator: inout G, observation: UnsafeMutablePointer<Float>) {
        steps = 0
        observation[0] = 0
        observation[1] = 0
    }

    public mutating func step(_ action: UnsafePointer<Float>, observation: UnsafeMutablePointer<Float>) -> StepResult {
        steps += 1
        observation[0] = Float(steps) / 10
        observation[1] = min(max(action[0], -1), 1)
        return StepResult(reward: -1, terminated: false, truncated: steps >= maxEpisodeSteps)
    }
}
