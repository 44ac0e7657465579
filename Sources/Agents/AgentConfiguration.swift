import Adders
import NeuralNetwork
import Settings

/// How the critic's regression error is turned into a loss.
public enum CriticLoss: String, Codable, Sendable, CaseIterable {
    /// Mean squared error, as in the paper.
    case mse
    /// Huber (smooth L1) with threshold ``AgentConfiguration/huberDelta``: quadratic near zero, linear beyond.
    case huber
}

/// Every hyperparameter of the agent's update. Defaults favour wall-clock time to
/// solve Pendulum on two cores; the papers' values are noted where they differ.
public struct AgentConfiguration: DefaultedConfiguration, Sendable, Equatable {
    /// The update rule (``Algorithms/all``).
    public var algorithm: AlgorithmID = .ddpg
    /// Hidden layer widths of the actor μ(s). The paper uses [400, 300].
    public var actorHiddenSizes: [Int] = [64, 64]
    /// Hidden layer widths of the critic Q(s, a). The paper uses [400, 300].
    public var criticHiddenSizes: [Int] = [64, 64]
    /// Dense layer of the critic whose input the action joins: 0 concatenates it with the observation
    /// (TD3's, SB3's and CleanRL's critic), 1 is the DDPG paper's (after the first hidden layer).
    /// Not 1 by default: there the action enters one linear map, so the young critic's ∂Q/∂a has one
    /// sign in every state and drives the whole actor into tanh saturation within a few hundred updates;
    /// with n-step returns it stays one-signed and the actor stays pinned at full action (docs/ALGORITHM.md).
    public var criticActionLayer: Int = 0
    public var actorLearningRate: Float = 1e-3
    public var criticLearningRate: Float = 1e-3
    /// L2 decay on the critic's parameters (the paper used 1e-2).
    public var criticWeightDecay: Float = 0
    public var discount: Float = 0.99
    /// Polyak rate of the soft target update θ′ ← τθ + (1 − τ)θ′ (the paper used 1e-3).
    public var tau: Float = 0.005
    /// If positive, copy the online networks into the targets every this many updates instead of Polyak averaging.
    public var hardTargetUpdateInterval: Int = 0
    public var batchSize: Int = 128
    /// Huber by default: over 30 Pendulum seeds it solved sooner (median 5,000 env steps against
    /// 6,000) and left fewer final policies below −160 (4 against 7) than the squared error.
    public var criticLoss: CriticLoss = .huber
    public var huberDelta: Float = 1
    /// If positive, rescale each network's gradient to at most this global L2 norm (0 = no clipping).
    public var gradientClipNorm: Float = 0
    /// Rewards enter the target as `rewardScale · r + rewardShift`.
    public var rewardScale: Float = 1
    public var rewardShift: Float = 0
    /// Bound of the uniform initialization of both networks' final layers.
    public var finalLayerInitScale: Float = 3e-3
    /// Normalization of the actor's and the critic's hidden layers (none, layer, or batch as in the DDPG paper).
    public var actorNormalization: Normalization = .none
    public var criticNormalization: Normalization = .none
    /// Steps summed into each transition's return by the workers' adders (n-step returns, Ape-X DPG and D4PG).
    public var nStep: Int = 1
    /// Normalize observations by running estimates of their mean and variance (Acme's design; see ``ObservationStatistics``).
    public var normalizeObservations = false
    /// The bound of every normalized observation value.
    public var observationClip: Float = 10
    /// Each algorithm's own hyperparameters (TD3's policy delay and target noise), where they differ from its defaults.
    public var algorithmSettings = AlgorithmSettingsSet()

    public init() {}

    /// Records written before algorithms had settings of their own kept TD3's beside the shared ones.
    public mutating func didDecode(from record: Decoder, presentKeys: Set<String>) throws {
        if algorithm == TD3.id, algorithmSettings[TD3.id] == nil, let settings = try TD3.Settings(legacyRecord: record) {
            set(settings, of: TD3.self)
        }
    }

    /// The settings of `algorithm` in this configuration: those set, or its defaults.
    public func settings<A: AgentAlgorithm>(of algorithm: A.Type) -> A.Settings {
        algorithmSettings[A.id] as? A.Settings ?? A.Settings()
    }

    /// Sets the settings of `algorithm`.
    public mutating func set<A: AgentAlgorithm>(_ settings: A.Settings, of algorithm: A.Type) {
        algorithmSettings[A.id] = settings
    }

    /// Checks the values a user can get wrong; the message names the field.
    public func validate() throws(ConfigurationError) {
        let check = ConfigurationError.check
        try check(!actorHiddenSizes.isEmpty && actorHiddenSizes.allSatisfy { $0 > 0 }, "actorHiddenSizes", "layer sizes must be positive integers, got \(actorHiddenSizes)")
        try check(!criticHiddenSizes.isEmpty && criticHiddenSizes.allSatisfy { $0 > 0 }, "criticHiddenSizes", "layer sizes must be positive integers, got \(criticHiddenSizes)")
        try check((0...criticHiddenSizes.count).contains(criticActionLayer), "criticActionLayer", "must be in 0...\(criticHiddenSizes.count) for \(criticHiddenSizes.count) hidden layers, got \(criticActionLayer)")
        try check(actorLearningRate > 0 && actorLearningRate.isFinite, "actorLearningRate", "must be positive, got \(actorLearningRate)")
        try check(criticLearningRate > 0 && criticLearningRate.isFinite, "criticLearningRate", "must be positive, got \(criticLearningRate)")
        try check(criticWeightDecay >= 0 && criticWeightDecay.isFinite, "criticWeightDecay", "must be non-negative, got \(criticWeightDecay)")
        try check(discount >= 0 && discount <= 1, "discount", "must be in [0, 1], got \(discount)")
        try check(tau > 0 && tau <= 1, "tau", "must be in (0, 1], got \(tau)")
        try check(hardTargetUpdateInterval >= 0, "hardTargetUpdateInterval", "must be non-negative, got \(hardTargetUpdateInterval)")
        try check(batchSize > 0, "batchSize", "must be positive, got \(batchSize)")
        try check(huberDelta > 0 && huberDelta.isFinite, "huberDelta", "must be positive, got \(huberDelta)")
        try check(gradientClipNorm >= 0 && gradientClipNorm.isFinite, "gradientClipNorm", "must be non-negative (0 = off), got \(gradientClipNorm)")
        try check(rewardScale.isFinite && rewardShift.isFinite, "rewardScale", "reward scale and shift must be finite")
        try check(finalLayerInitScale > 0 && finalLayerInitScale.isFinite, "finalLayerInitScale", "must be positive, got \(finalLayerInitScale)")
        try check((1...NStepAdder.maxN).contains(nStep), "nStep", "must be in 1...\(NStepAdder.maxN), got \(nStep)")
        try check(algorithm != CrossQ.id || criticNormalization != .layer, "criticNormalization",
                  "crossq's critics are batch-renormalized (its point); layer normalization does not apply")
        try check(observationClip > 0 && observationClip.isFinite, "observationClip", "must be positive, got \(observationClip)")
        try check(!normalizeObservations || Algorithms.named(algorithm)?.isOnPolicy != true, "normalizeObservations",
                  "observation normalization is for the off-policy algorithms (\(Algorithms.offPolicyIDs.map(\.rawValue).joined(separator: ", "))), not \(algorithm)")
        guard let chosen = Algorithms.named(algorithm) else {
            throw ConfigurationError(field: "algorithm", message: "unknown algorithm '\(algorithm)'; known: \(Algorithms.names)")
        }
        try chosen.validate(algorithmSettings[algorithm] ?? chosen.defaultSettings)
    }
}

