import Randomness
import Settings

/// Which exploration noise the behaviour policy adds to μ(s). Scales are in
/// units of each dimension's half-range (high − low)/2: σ = 0.1 on Pendulum ([−2, 2]) is 0.2 N·m.
public enum NoiseKind: String, Codable, Sendable, CaseIterable {
    case none
    /// Independent N(0, σ²) per step, as TD3 and CleanRL use.
    case gaussian
    /// Ornstein–Uhlenbeck, temporally correlated, as in the DDPG paper.
    case ornsteinUhlenbeck = "ou"
}

public struct NoiseConfiguration: DefaultedConfiguration, Sendable, Equatable {
    public var kind: NoiseKind = .gaussian
    public var sigma: Double = 0.1
    /// OU mean-reversion rate θ (the paper: 0.15).
    public var ouTheta: Double = 0.15
    /// OU time step (OpenAI baselines: 1e-2).
    public var ouDt: Double = 1e-2

    public init() {}

    public init(kind: NoiseKind = .gaussian, sigma: Double = 0.1, ouTheta: Double = 0.15, ouDt: Double = 1e-2) {
        self.kind = kind
        self.sigma = sigma
        self.ouTheta = ouTheta
        self.ouDt = ouDt
    }

    public func validate() throws(ConfigurationError) {
        guard sigma >= 0, sigma.isFinite else { throw ConfigurationError(field: "sigma", message: "must be non-negative, got \(sigma)") }
        guard ouTheta >= 0, ouTheta.isFinite else { throw ConfigurationError(field: "ouTheta", message: "must be non-negative, got \(ouTheta)") }
        guard ouDt > 0, ouDt.isFinite else { throw ConfigurationError(field: "ouDt", message: "must be positive, got \(ouDt)") }
    }
}

/// A stateful noise process for one environment, in units of the half-range.
public struct ExplorationNoise: Sendable {
    public let configuration: NoiseConfiguration
    private var state: [Double]

    public init(_ configuration: NoiseConfiguration, actionSize: Int) {
        self.configuration = configuration
        state = Array(repeating: 0, count: actionSize)
    }

    /// Restarts the OU process at its mean, at the start of an episode.
    public mutating func reset() {
        for i in state.indices { state[i] = 0 }
    }

    /// Writes one noise sample per action dimension into `output`.
    public mutating func sample<G: RandomNumberGenerator>(into output: UnsafeMutablePointer<Float>, using generator: inout G) {
        let c = configuration
        for i in state.indices {
            switch c.kind {
            case .none:
                output[i] = 0
            case .gaussian:
                output[i] = Float(c.sigma * generator.nextGaussian())
            case .ornsteinUhlenbeck:
                state[i] += c.ouTheta * (0 - state[i]) * c.ouDt + c.sigma * c.ouDt.squareRoot() * generator.nextGaussian()
                output[i] = Float(state[i])
            }
        }
    }
}
