import NeuralNetwork
import Policy
import Settings

/// The optimizer of an on-policy agent's networks.
public enum OnPolicyOptimizer: String, Codable, Sendable, CaseIterable {
    /// SB3's A2C default, and A3C's shared RMSprop (Mnih et al. 2016).
    case rmsprop
    case adam
}

/// How the learning rate moves over a run.
public enum LearningRateSchedule: String, Codable, Sendable, CaseIterable {
    /// The algorithm's own: constant for A2C (SB3's), linear for A3C (Mnih et al. 2016 anneal it to 0).
    case auto
    /// `--learning-rate` throughout.
    case constant
    /// From `--learning-rate` at the start to 0 at `--max-env-steps`.
    case linear

    /// Whether `algorithm`'s learning rate falls linearly to 0 over the run.
    public func isLinear(for algorithm: AlgorithmID) -> Bool {
        switch self {
        case .auto: algorithm == .a3c
        case .constant: false
        case .linear: true
        }
    }
}

/// The hyperparameters A2C and A3C share: SB3's A2C defaults, with A3C's own at the end (how often A3C's
/// learner broadcasts is the learner's `--broadcast-every`, as for every algorithm).
/// Each is named like the flag that sets it (`rolloutSteps` is `--rollout-steps`).
public struct OnPolicySettings: AlgorithmSettings {
    /// Steps each environment takes with the current policy before its segment is learned from (SB3's `n_steps`).
    public var rolloutSteps = 5
    /// λ of the generalized advantage estimate; 1 gives the n-step return minus V(s), as A2C does.
    public var gaeLambda: Float = 1
    /// The value loss's weight in the total loss.
    public var vfCoef: Float = 0.5
    /// The entropy bonus's weight (0: none, SB3's default).
    public var entCoef: Float = 0
    public var learningRate: Float = 7e-4
    /// Constant or falling linearly to 0 over the run; `auto` is each algorithm's own (see ``LearningRateSchedule``).
    /// A3C's workers each step the shared optimizer with a fraction of an A2C batch, several times as often: held
    /// constant, its policy kept leaving the solved one on CartPole (2 of 5 final evaluations below 475).
    public var learningRateSchedule = LearningRateSchedule.auto
    /// The gradient of every network together is rescaled to at most this L2 norm (0: never).
    public var maxGradNorm: Float = 0.5
    public var optimizer = OnPolicyOptimizer.rmsprop
    /// RMSprop's decay of the squared-gradient average, and the ε added to its square root (PyTorch's placement).
    public var rmspropAlpha: Float = 0.99
    public var rmspropEpsilon: Float = 1e-5
    /// Whether each batch's advantages are standardized to mean 0 and deviation 1 (SB3: off for A2C).
    public var normalizeAdvantage = false
    /// The Gaussian head's log σ at the start (SB3's `log_std_init`).
    public var logStdInit: Float = 0
    /// A3C: a gradient computed at weights more than this many versions old is rejected.
    public var maxStaleness = 8
    /// A3C: a worker's gradient whose L2 norm (both networks, before clipping) exceeds this is rejected. A plausibility
    /// bound, not the step's: every gradient is clipped to `maxGradNorm` before the optimizer sees it. Valid ones reach
    /// 10⁴ on CartPole early on and about 10⁵ where returns are in the thousands (Pendulum's value loss).
    public var gradientNormLimit: Float = 10_000_000

    public init() {}

    public func validate() throws(ConfigurationError) {
        let check = ConfigurationError.check
        try check((1...4_096).contains(rolloutSteps), "rolloutSteps", "must be in 1...4096, got \(rolloutSteps)")
        try check((0...1).contains(gaeLambda), "gaeLambda", "must be in [0, 1], got \(gaeLambda)")
        try check(vfCoef >= 0 && vfCoef.isFinite, "vfCoef", "must be non-negative, got \(vfCoef)")
        try check(entCoef >= 0 && entCoef.isFinite, "entCoef", "must be non-negative, got \(entCoef)")
        try check(learningRate > 0 && learningRate.isFinite, "learningRate", "must be positive, got \(learningRate)")
        try check(maxGradNorm >= 0 && maxGradNorm.isFinite, "maxGradNorm", "must be non-negative (0: no clipping), got \(maxGradNorm)")
        try check(rmspropAlpha > 0 && rmspropAlpha < 1, "rmspropAlpha", "must be in (0, 1), got \(rmspropAlpha)")
        try check(rmspropEpsilon > 0 && rmspropEpsilon.isFinite, "rmspropEpsilon", "must be positive, got \(rmspropEpsilon)")
        try check(logStdInit.isFinite && abs(logStdInit) <= 10, "logStdInit", "must be within ±10, got \(logStdInit)")
        try check(maxStaleness >= 0, "maxStaleness", "must be non-negative, got \(maxStaleness)")
        try check(gradientNormLimit > 0 && gradientNormLimit.isFinite, "gradientNormLimit", "must be positive, got \(gradientNormLimit)")
    }
}

extension AgentConfiguration {
    /// The on-policy settings of whichever on-policy algorithm runs (A2C's and A3C's are one type, kept under each one's id).
    public var onPolicySettings: OnPolicySettings {
        algorithmSettings[algorithm] as? OnPolicySettings ?? OnPolicySettings()
    }
}

/// Segments of experience acted by one policy: `environments` environments, each for `steps` steps.
///
/// Rows are environment-major (row e·steps + t is environment e's step t), so that segments from several
/// workers join by appending. Each step's action is what the policy drew (a Gaussian's unclipped draw),
/// with its behaviour log-probability.
public struct Rollout: Sendable, Equatable {
    public let observationSize: Int
    public let actionSize: Int
    public let steps: Int
    public private(set) var environments = 0
    public private(set) var observations: [Float] = []
    public private(set) var actions: [Float] = []
    public private(set) var rewards: [Float] = []
    public private(set) var terminated: [Bool] = []
    public private(set) var truncated: [Bool] = []
    public private(set) var logProbabilities: [Float] = []
    /// The observation after each environment's last step (one row per environment): V(s) bootstraps from it.
    public private(set) var bootstrapObservations: [Float] = []
    /// For each step that was truncated and not terminated, in row order, the episode's last observation,
    /// from which V(s) bootstraps (the next row's observation is the next episode's first). A step that
    /// both terminated and hit the time limit is terminal: nothing follows a terminal state.
    public private(set) var truncationObservations: [Float] = []

    public init(observationSize: Int, actionSize: Int, steps: Int) {
        self.observationSize = observationSize
        self.actionSize = actionSize
        self.steps = steps
    }

    public var rows: Int { environments * steps }
    public var truncations: Int { truncationObservations.count / max(observationSize, 1) }

    /// Appends one environment's segment of `steps` steps; `truncationObservations` holds one row per step
    /// truncated and not terminated.
    public mutating func append(observations: [Float], actions: [Float], rewards: [Float], terminated: [Bool], truncated: [Bool],
                                logProbabilities: [Float], bootstrapObservation: [Float], truncationObservations: [Float]) {
        precondition(observations.count == steps * observationSize && actions.count == steps * actionSize && rewards.count == steps
                     && terminated.count == steps && truncated.count == steps && logProbabilities.count == steps
                     && bootstrapObservation.count == observationSize
                     && truncationObservations.count == zip(truncated, terminated).filter { $0 && !$1 }.count * observationSize,
                     "segment columns do not match its length")
        self.observations += observations
        self.actions += actions
        self.rewards += rewards
        self.terminated += terminated
        self.truncated += truncated
        self.logProbabilities += logProbabilities
        bootstrapObservations += bootstrapObservation
        self.truncationObservations += truncationObservations
        environments += 1
    }

    /// Empties it for the next segments, keeping its storage.
    public mutating func removeAll() {
        environments = 0
        observations.removeAll(keepingCapacity: true)
        actions.removeAll(keepingCapacity: true)
        rewards.removeAll(keepingCapacity: true)
        terminated.removeAll(keepingCapacity: true)
        truncated.removeAll(keepingCapacity: true)
        logProbabilities.removeAll(keepingCapacity: true)
        bootstrapObservations.removeAll(keepingCapacity: true)
        truncationObservations.removeAll(keepingCapacity: true)
    }
}

/// One environment's steps of a segment as they are acted, before they join a ``Rollout``: the trainer's
/// and an on-policy worker's.
public struct SegmentRecorder {
    public let observationSize: Int, actionSize: Int, steps: Int
    private var observations: [Float], actions: [Float], rewards: [Float], logProbabilities: [Float]
    private var terminated: [Bool], truncated: [Bool]
    private var truncationObservations: [Float] = []

    public init(observationSize: Int, actionSize: Int, steps: Int) {
        self.observationSize = observationSize
        self.actionSize = actionSize
        self.steps = steps
        observations = [Float](repeating: 0, count: steps * observationSize)
        actions = [Float](repeating: 0, count: steps * actionSize)
        rewards = [Float](repeating: 0, count: steps)
        logProbabilities = [Float](repeating: 0, count: steps)
        terminated = [Bool](repeating: false, count: steps)
        truncated = [Bool](repeating: false, count: steps)
    }

    /// What the policy saw and drew at step `t`.
    public mutating func record(step t: Int, observation: ArraySlice<Float>, action: ArraySlice<Float>, logProbability: Float) {
        observations.replaceSubrange((t * observationSize)..<((t + 1) * observationSize), with: observation)
        actions.replaceSubrange((t * actionSize)..<((t + 1) * actionSize), with: action)
        logProbabilities[t] = logProbability
    }

    /// What step `t` returned; `finalObservation` is kept when the episode was cut by its time limit alone.
    public mutating func record(step t: Int, reward: Double, terminated: Bool, truncated: Bool, finalObservation: ArraySlice<Float>) {
        rewards[t] = Float(reward)
        self.terminated[t] = terminated
        self.truncated[t] = truncated
        if truncated, !terminated { truncationObservations += finalObservation }
    }

    /// Appends the `steps` recorded steps to `rollout` and starts over.
    public mutating func append(to rollout: inout Rollout, bootstrapObservation: ArraySlice<Float>) {
        rollout.append(observations: observations, actions: actions, rewards: rewards, terminated: terminated, truncated: truncated,
                       logProbabilities: logProbabilities, bootstrapObservation: Array(bootstrapObservation),
                       truncationObservations: truncationObservations)
        truncationObservations.removeAll(keepingCapacity: true)
    }
}

/// Advantages and returns of a rollout's rows (Schulman et al. 2016, generalized advantage estimation):
///
///     δ_t = r_t + γ·V(s_{t+1}) − V(s_t);   Â_t = δ_t + γλ·Â_{t+1};   R_t = Â_t + V(s_t)
///
/// V(s_{t+1}) is 0 after a termination; after a truncation it is V of the episode's last observation; after
/// an environment's last step, V of its bootstrap observation. Either end of an episode cuts the sum.
/// With λ = 1 and no episode end, R_t is the n-step return to the segment's end.
///
/// - Parameters:
///   - values: V(s) of every row.
///   - bootstrapValues: V of each environment's bootstrap observation.
///   - truncationValues: V of each truncated (not terminated) step's last observation, in row order.
public func estimateAdvantages(_ rollout: Rollout, values: UnsafePointer<Float>, bootstrapValues: UnsafePointer<Float>,
                               truncationValues: UnsafePointer<Float>, discount gamma: Float, lambda: Float,
                               advantages: UnsafeMutablePointer<Float>, returns: UnsafeMutablePointer<Float>) {
    let steps = rollout.steps
    // Truncations are numbered in row order; walking each environment backwards starts from its last one.
    var truncationIndex = rollout.truncations
    for environment in stride(from: rollout.environments - 1, through: 0, by: -1) {
        var following: Float = 0
        for t in stride(from: steps - 1, through: 0, by: -1) {
            let row = environment * steps + t
            let next: Float, continues: Bool
            if rollout.terminated[row] {
                next = 0
                continues = false
            } else if rollout.truncated[row] {
                truncationIndex -= 1
                next = truncationValues[truncationIndex]
                continues = false
            } else {
                next = t == steps - 1 ? bootstrapValues[environment] : values[row + 1]
                continues = t < steps - 1
            }
            let delta = rollout.rewards[row] + gamma * next - values[row]
            following = delta + (continues ? gamma * lambda * following : 0)
            advantages[row] = following
            returns[row] = following + values[row]
        }
    }
}

/// Statistics of one on-policy update, for logs, metrics and summaries.
public struct OnPolicyStatistics: Sendable, Equatable {
    public var policyLoss: Float = 0
    /// mean (R − V)², before the coefficient.
    public var valueLoss: Float = 0
    public var entropy: Float = 0
    /// 1 − Var(R − V) / Var(R): how much of the returns' variance the critic explains (1 is perfect, ≤ 0 none).
    public var explainedVariance: Float = 0
    /// The global gradient norm before clipping.
    public var gradientNorm: Float = 0
    /// Rows learned from.
    public var rows = 0

    public init() {}

    public var isFinite: Bool { policyLoss.isFinite && valueLoss.isFinite && entropy.isFinite && gradientNorm.isFinite }
}

/// The seam between an on-policy algorithm and whatever runs it (the on-policy ``Agent``): a learner
/// gives it whole rollouts of its current policy (A2C), or applies gradients workers computed (A3C).
public protocol OnPolicyAgent: LearningAgent {
    var settings: OnPolicySettings { get }
    /// The value network V(s), which A3C's weights carry to its workers beside the actor.
    var critic: MLP { get }

    /// The gradient of the actor–critic loss on `rollout`, left in the networks' `gradients`, and what the loss came to.
    func computeGradients(_ rollout: Rollout) -> OnPolicyStatistics
    /// Clips the networks' gradients together and takes one optimizer step; returns the norm before clipping.
    @discardableResult
    func applyGradients() -> Float
    /// Sets the learning rate for a run `envSteps` into `maxEnvSteps`, as the settings' schedule says.
    func schedule(envSteps: Int, of maxEnvSteps: Int)
}

extension OnPolicyAgent {
    /// One update on the whole rollout: A2C's step.
    @discardableResult
    public func update(_ rollout: Rollout) -> OnPolicyStatistics {
        var statistics = computeGradients(rollout)
        statistics.gradientNorm = applyGradients()
        return statistics
    }
}
