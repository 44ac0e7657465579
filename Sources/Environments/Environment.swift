import Specs

/// What one step of an environment produced.
public struct StepResult: Sendable, Equatable {
    public var reward: Double
    /// The episode reached a terminal state: the value of what follows is zero.
    public var terminated: Bool
    /// The episode was cut by a time limit: the state still has a future, so
    /// learners must bootstrap through it (see `docs/ALGORITHM.md`).
    public var truncated: Bool

    public init(reward: Double, terminated: Bool, truncated: Bool) {
        self.reward = reward
        self.terminated = terminated
        self.truncated = truncated
    }

    public var isDone: Bool { terminated || truncated }
}

/// An environment with the Gymnasium step semantics: continuous control (a `Box` action space) or
/// a choice among n actions (`Discrete(n)`, its action one float holding the index).
///
/// Observations are written into caller-owned storage so that stepping
/// millions of times allocates nothing.
public protocol Environment {
    /// A stable identifier such as `"Pendulum-v1"`.
    static var id: String { get }
    /// The mean evaluation return that counts as solving it (gymnasium's `reward_threshold` where
    /// it has one; for Pendulum-v1, which has none, −200).
    static var solvedReturn: Double { get }
    /// The environment as gymnasium registers it, time limit included.
    init()
    var observationSize: Int { get }
    var actionSize: Int { get }
    /// Actions are valid in `[-actionBound, actionBound]` in every dimension, unless the
    /// environment gives per-dimension `actionLow` and `actionHigh` of its own.
    var actionBound: Float { get }
    var actionLow: [Float] { get }
    var actionHigh: [Float] { get }
    /// The episode length after which `truncated` is set.
    var maxEpisodeSteps: Int { get }
    /// Per-dimension bounds of every observation the environment can produce (its observation space).
    var observationLow: [Float] { get }
    var observationHigh: [Float] { get }
    /// Bounds of one reward, as float32 rounded outward (a learner rejects data outside them).
    var rewardRange: ClosedRange<Float> { get }
    /// n when the action space is `Discrete(n)`; nil (the default) for a `Box`.
    var discreteActions: Int? { get }

    /// Starts a new episode from a random initial state drawn from `generator`.
    mutating func reset<G: RandomNumberGenerator>(using generator: inout G, observation: UnsafeMutablePointer<Float>)
    /// Applies `action` (clipped to the bound by the environment; for a Discrete space, an index in
    /// 0..<n, which the caller guarantees) and writes the next observation.
    mutating func step(_ action: UnsafePointer<Float>, observation: UnsafeMutablePointer<Float>) -> StepResult
}

extension Environment {
    /// `[-actionBound, actionBound]` in every dimension.
    public var actionLow: [Float] { Array(repeating: -actionBound, count: actionSize) }
    public var actionHigh: [Float] { Array(repeating: actionBound, count: actionSize) }
    public var discreteActions: Int? { nil }

    /// What a learner needs to know of this environment.
    public var spec: EnvironmentSpec {
        if let n = discreteActions {
            return EnvironmentSpec(id: Self.id, observationLow: observationLow, observationHigh: observationHigh, discreteActions: n,
                                   rewardRange: rewardRange, maxEpisodeSteps: maxEpisodeSteps)
        }
        return EnvironmentSpec(id: Self.id, observationLow: observationLow, observationHigh: observationHigh, actionLow: actionLow,
                        actionHigh: actionHigh, rewardRange: rewardRange, maxEpisodeSteps: maxEpisodeSteps)
    }
}
