import Adders
import Agents
import Foundation
import NeuralNetwork
import Policy
import Settings
import WireProtocol

/// Everything that defines one worker process.
public struct WorkerConfiguration: DefaultedConfiguration, Sendable, Equatable {
    /// Where the learner's PULL socket listens, e.g. "tcp://10.0.0.5:5555".
    public var transitionsEndpoint = "tcp://127.0.0.1:5555"
    /// Where the learner publishes weights, e.g. "tcp://10.0.0.5:5556".
    public var weightsEndpoint = "tcp://127.0.0.1:5556"
    /// The native environment this worker steps (`NativeEnvironments`).
    public var environment = "Pendulum-v1"
    /// Acting (noise, transitions) or evaluating (deterministic episodes when the learner asks).
    public var role = WorkerRole.actor
    public var workerId: UInt32 = 0
    /// Workers in the run, for the Ape-X noise spread.
    public var workerCount = 1
    public var seed: UInt64 = 1
    /// Environments stepped together, acting with one batched forward pass.
    public var environments = 1
    public var noise = NoiseConfiguration()
    /// Ape-X spread exponent α: worker i of N uses σ_i = σ^(1 + α·i/(N−1)).
    public var noiseSpreadAlpha = 1.0
    /// Explicit per-worker σ, indexed by worker id modulo its length; overrides the spread.
    public var noiseSigmas: [Double] = []
    /// Transitions per message.
    public var transitionsPerMessage = 64
    /// Send a partial message once its oldest transition is this old.
    public var flushMilliseconds = 5.0
    /// Stop after this many environment steps (0: until told to stop).
    public var maxEnvSteps = 0
    /// Seconds between status messages.
    public var statusSeconds = 1.0
    /// Steps summed into each transition's return (n-step returns); the learner's --n-step must match.
    public var nStep = 1
    /// The discount γ of those returns; the learner's --gamma must match.
    public var gamma: Float = 0.99
    /// On-policy (A2C): each environment acts this many steps with the newest weights, sent as one segment,
    /// then the worker waits for the weights they train. Nil: off-policy, transitions. The learner's --rollout-steps must match.
    public var rolloutSteps: Int?
    /// A3C: each segment's actor–critic gradient is computed here, with these loss settings (γ is `gamma`), and sent
    /// instead of the segment. Nil: the segment goes (A2C).
    public var gradientLoss: OnPolicySettings?
    /// A3C: each worker's entropy coefficient, indexed by worker id modulo its length (overrides the loss settings'
    /// and the spread). Empty: the spread below.
    public var entropyCoefficients: [Float] = []
    /// A3C: workers explore differently, as the σ spread makes off-policy workers do: worker i of N adds
    /// `entropySpread` · i/(N − 1) to the learner's entropy coefficient (one worker: nothing). With 2 workers on CartPole,
    /// the spread's 0 and 0.01 kept every final evaluation at 500 over 30 runs, where one coefficient for all lost
    /// the solved policy in 2 of 15 (docs/BENCHMARKS.md).
    public var entropySpread: Float = 0.01

    public init() {}

    /// This worker's entropy coefficient: its entry of `entropyCoefficients`, else `base` plus its share of the spread.
    public func entropyCoefficient(base: Float) -> Float {
        if !entropyCoefficients.isEmpty { return entropyCoefficients[Int(workerId) % entropyCoefficients.count] }
        guard workerCount > 1 else { return base }
        return base + entropySpread * Float(Int(workerId) % workerCount) / Float(workerCount - 1)
    }

    /// The agent configuration an A3C worker computes its gradients with, its entropy coefficient its own.
    public var gradientConfiguration: AgentConfiguration? {
        guard var loss = gradientLoss else { return nil }
        loss.entCoef = entropyCoefficient(base: loss.entCoef)
        var c = AgentConfiguration()
        c.algorithm = A3C.id
        c.discount = gamma
        c.set(loss, of: A3C.self)
        return c
    }

    /// The σ this worker explores with.
    public var effectiveSigma: Double {
        if !noiseSigmas.isEmpty { return noiseSigmas[Int(workerId) % noiseSigmas.count] }
        guard workerCount > 1 else { return noise.sigma }
        // Ids past the count (e.g. hashed from host names) wrap around the spread.
        let exponent = 1 + noiseSpreadAlpha * Double(Int(workerId) % workerCount) / Double(workerCount - 1)
        return pow(noise.sigma, exponent)
    }

    public func validate() throws(ConfigurationError) {
        let check = ConfigurationError.check
        try check(workerCount >= 1, "workerCount", "must be at least 1, got \(workerCount)")
        try check(environments >= 1 && environments <= 4_096, "environments", "must be in 1...4096, got \(environments)")
        try check(noiseSpreadAlpha >= 0 && noiseSpreadAlpha.isFinite, "noiseSpreadAlpha", "must be non-negative, got \(noiseSpreadAlpha)")
        try check(noiseSigmas.allSatisfy { $0 >= 0 && $0.isFinite }, "noiseSigmas", "must be non-negative numbers, got \(noiseSigmas)")
        try check(transitionsPerMessage >= 1 && transitionsPerMessage <= 65_536, "transitionsPerMessage", "must be in 1...65536, got \(transitionsPerMessage)")
        try check(flushMilliseconds > 0 && flushMilliseconds.isFinite, "flushMilliseconds", "must be positive, got \(flushMilliseconds)")
        try check(maxEnvSteps >= 0, "maxEnvSteps", "must be non-negative, got \(maxEnvSteps)")
        try check(statusSeconds > 0, "statusSeconds", "must be positive, got \(statusSeconds)")
        try check((1...NStepAdder.maxN).contains(nStep), "nStep", "must be in 1...\(NStepAdder.maxN), got \(nStep)")
        try check(gamma >= 0 && gamma <= 1, "gamma", "must be in [0, 1], got \(gamma)")
        if let rolloutSteps { try check((1...4_096).contains(rolloutSteps), "rolloutSteps", "must be in 1...4096, got \(rolloutSteps)") }
        try check(gradientLoss == nil || rolloutSteps != nil, "gradientLoss", "A3C's gradients are computed on segments: give --rollout-steps too")
        try gradientLoss?.validate()
        try check(entropySpread >= 0 && entropySpread.isFinite, "entropySpread", "must be non-negative, got \(entropySpread)")
        try check(entropyCoefficients.allSatisfy { $0 >= 0 && $0.isFinite }, "entropyCoefficients",
                  "must be non-negative numbers, got \(entropyCoefficients)")
        try noise.validate()
    }
}

/// What a worker reports about itself when it stops (`--stats-file`).
public struct WorkerReport: Codable, Sendable {
    public var workerId: UInt32
    public var envSteps: Int
    public var transitionsSent: Int
    public var messagesSent: Int
    public var episodes: Int
    public var wallSeconds: Double
    public var envStepsPerSecond: Double
    public var sigma: Double
    public var weightsApplied: Int
    public var latestWeightsVersion: UInt64
    /// Publish-to-applied latency of weights, in milliseconds (p50, p90, p99, max).
    public var weightsLatencyMilliseconds: [String: Double]
    public var weightsRejected: Int
    /// Evaluations played and reported (an evaluator's; 0 for an actor).
    public var evaluations: Int
    /// Seconds spent waiting for the learner to consume what this worker sent (its credit).
    public var pacedSeconds: Double
    /// Times it stopped waiting because the learner had acknowledged nothing of its for a second.
    public var creditStalls: Int
    public var stopReason: String
    /// The BLAS it acted with; set by the executable, which chose the kernels.
    public var blas: BLASReport?
}
