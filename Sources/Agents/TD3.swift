import NeuralNetwork
import Policy
import Randomness
import Replay
import Settings
import Tensors

/// TD3 (Fujimoto et al. 2018): DDPG with twin critics, target policy smoothing and delayed actor updates.
public enum TD3: OffPolicyAlgorithm {
    public static let id: AlgorithmID = .td3
    public static let summary = "twin critics, target smoothing, delayed actor"

    public struct Settings: AlgorithmSettings {
        /// The actor and the targets step once every this many critic updates (the paper's d = 2).
        public var policyDelay = 2
        /// σ of the Gaussian noise added to the target action, as a fraction of each dimension's half-range.
        public var targetNoise: Float = 0.2
        /// That noise is clipped to ± this fraction of each dimension's half-range.
        public var targetNoiseClip: Float = 0.5

        public init() {}

        public init(policyDelay: Int = 2, targetNoise: Float = 0.2, targetNoiseClip: Float = 0.5) {
            self.policyDelay = policyDelay
            self.targetNoise = targetNoise
            self.targetNoiseClip = targetNoiseClip
        }

        public func validate() throws(ConfigurationError) {
            let check = ConfigurationError.check
            try check(policyDelay >= 1, "policyDelay", "must be at least 1, got \(policyDelay)")
            try check(targetNoise >= 0 && targetNoise.isFinite, "targetNoise", "must be non-negative, got \(targetNoise)")
            try check(targetNoiseClip >= 0 && targetNoiseClip.isFinite, "targetNoiseClip", "must be non-negative, got \(targetNoiseClip)")
        }
    }

    public static func makeAgent<G: RandomNumberGenerator>(observationSize: Int, actionLow: [Float], actionHigh: [Float],
                                                           configuration: AgentConfiguration, using generator: inout G) -> any Agent {
        TD3Agent(observationSize: observationSize, actionLow: actionLow, actionHigh: actionHigh, configuration: configuration, using: &generator)
    }
}

extension AlgorithmID {
    public static let td3: AlgorithmID = "td3"
}

extension TD3.Settings {
    /// The settings as records before per-algorithm settings held them: beside the shared ones, the
    /// smoothing noise named `target_policy_noise`. Nil when `record` holds none of them.
    init?(legacyRecord record: Decoder) throws {
        enum Keys: String, CodingKey { case policyDelay, targetPolicyNoise, targetNoiseClip }
        let container = try record.container(keyedBy: Keys.self)
        guard !container.allKeys.isEmpty else { return nil }
        self.init()
        policyDelay = try container.decodeIfPresent(Int.self, forKey: .policyDelay) ?? policyDelay
        targetNoise = try container.decodeIfPresent(Float.self, forKey: .targetPolicyNoise) ?? targetNoise
        targetNoiseClip = try container.decodeIfPresent(Float.self, forKey: .targetNoiseClip) ?? targetNoiseClip
    }
}

/// One call to ``update(_:)`` does, on a minibatch (s, a, r, s′, d):
/// 1. ã = clip(μ′(s′) + clip(ε, −c, c), low, high), ε ~ N(0, σ²), with σ and c fractions of each
///    dimension's half-range (0.2 and 0.5 by default);
/// 2. y = rewardScale·r + rewardShift + γ·(1 − d)·min(Q′₁(s′, ã), Q′₂(s′, ã));
/// 3. a step of each critic toward y (the TD error a prioritized replay sees is critic 1's);
/// 4. every `policyDelay`-th update only: an actor step ascending Q₁(s, μ(s)), then all three targets move.
public final class TD3Agent: Agent {
    public let configuration: AgentConfiguration
    public let settings: TD3.Settings
    public let updates = UpdateCount()
    let policy: PolicyPart
    let q1: CriticPart
    let q2: CriticPart
    let targets: Matrix
    private let nextQ: Matrix
    /// Smoothing noise of update k comes from stream k of this seed, so a restored update count
    /// resumes the same noise without saving a generator.
    private let smoothingSeed: UInt64
    private var lastActorLoss: Float = 0

    public var actor: Actor { policy.actor }
    public var parts: [any AgentPart] { [updates, policy, q1, q2] }

    public init<G: RandomNumberGenerator>(observationSize: Int, actionLow: [Float], actionHigh: [Float],
                                          configuration: AgentConfiguration, using generator: inout G) {
        self.configuration = configuration
        settings = configuration.settings(of: TD3.self)
        let actionSize = actionLow.count
        policy = PolicyPart(observationSize: observationSize, actionLow: actionLow, actionHigh: actionHigh,
                            configuration: configuration, using: &generator)
        q1 = CriticPart(name: "critic", observationSize: observationSize, actionSize: actionSize, configuration: configuration, using: &generator)
        q2 = CriticPart(name: "critic_2", observationSize: observationSize, actionSize: actionSize, configuration: configuration, using: &generator)
        targets = Matrix(rows: configuration.batchSize, columns: 1)
        nextQ = Matrix(rows: configuration.batchSize, columns: 1)
        smoothingSeed = generator.next()
    }

    @discardableResult
    public func update(_ batch: TransitionBatch) -> UpdateStatistics {
        let n = batch.count
        precondition(n > 0 && n <= configuration.batchSize, "batch of \(n) for an agent built for \(configuration.batchSize)")
        var stats = UpdateStatistics()
        computeTargets(batch, count: n)
        stats.criticLoss = q1.fit(batch, targets: targets.storage, count: n, configuration: configuration, tdErrors: batch.tdErrors.storage)
        (stats.meanQ, stats.maxQ) = q1.meanAndMaxQ(count: n)
        stats.criticLoss += q2.fit(batch, targets: targets.storage, count: n, configuration: configuration, tdErrors: nil)
        updates.increment()
        if updateCount % settings.policyDelay == 0 {
            lastActorLoss = policy.ascend(q1, on: batch, count: n, clipNorm: configuration.gradientClipNorm)
            let move = updateCount / settings.policyDelay
            configuration.moveTarget(policy.target, towards: actor.network, move: move)
            configuration.moveTarget(q1.target, towards: q1.network, move: move)
            configuration.moveTarget(q2.target, towards: q2.network, move: move)
        }
        stats.actorLoss = lastActorLoss
        return stats
    }

    func computeTargets(_ batch: TransitionBatch, count n: Int) {
        let smoothed = q1.targetActionInput(count: n)
        writeSmoothedTargetActions(batch, count: n, into: smoothed)
        VectorKernels.scaledCopy(smoothed, into: q2.targetActionInput(count: n), factor: 1)
        let first = q1.targetValues(batch.nextObservations, count: n), second = q2.targetValues(batch.nextObservations, count: n)
        let lower = nextQ.storage
        for i in 0..<n { lower[i] = min(first[i], second[i]) }
        configuration.writeBellmanTargets(batch, nextQ: lower, count: n, into: targets.storage)
    }

    /// ã = clip(μ′(s′) + clip(ε, −c·scale, c·scale), low, high) with ε ~ N(0, (σ·scale)²) per dimension.
    func writeSmoothedTargetActions(_ batch: TransitionBatch, count n: Int, into actions: MatrixView) {
        policy.targetActions(batch.nextObservations, count: n, into: actions)
        var noise = Xoshiro256(seed: smoothingSeed, stream: UInt64(updateCount))
        let scale = actor.actionScale, low = actor.actionLow, high = actor.actionHigh
        for row in 0..<n {
            let a = actions.base + row * actions.stride
            for j in 0..<actionSize {
                let limit = settings.targetNoiseClip * scale[j]
                let epsilon = min(max(settings.targetNoise * scale[j] * Float(noise.nextGaussian()), -limit), limit)
                a[j] = min(max(a[j] + epsilon, low[j]), high[j])
            }
        }
    }

    public func qValues(observations: [Float], actions: [Float]) -> [Float] { q1.network.values(observations: observations, actions: actions) }
}
