import Foundation
import Randomness

/// Gymnasium's `CartPole-v1` (gymnasium 1.4), step for step: a pole on a cart that the agent
/// pushes left (action 0) or right (action 1) with a force of 10 N.
///
/// `gymnasium/envs/classic_control/cartpole.py` with its `TimeLimit(500)`, Euler integration:
///
///     temp     = (F + m_p·l·θ̇²·sin θ) / (m_c + m_p)
///     θ̈        = (g·sin θ − cos θ·temp) / (l·(4/3 − m_p·cos²θ / (m_c + m_p)))
///     ẍ        = temp − m_p·l·θ̈·cos θ / (m_c + m_p)
///     x += τ·ẋ;  ẋ += τ·ẍ;  θ += τ·θ̇;  θ̇ += τ·θ̈     (τ = 0.02 s)
///
/// The state is float64 throughout (gymnasium stores it as a float64 array); the observation is
/// the state rounded to float32. The episode terminates when |x| > 2.4 or |θ| > 12°, and the
/// reward is 1 for every step, the terminating one included.
///
/// Only the reset distribution comes from our own generator (NumPy's PCG64 is not reproduced):
/// each state variable ~ U[−0.05, 0.05).
public struct CartPole: Environment, Sendable {
    public static let id = "CartPole-v1"
    /// gymnasium's `reward_threshold` for this environment.
    public static let solvedReturn = 475.0
    public static let actionCount = 2
    public static let observationSize = 4

    // The constants as gymnasium computes them, in float64, so that derived ones round the same way.
    static let gravity = 9.8
    static let massCart = 1.0
    static let massPole = 0.1
    static let totalMass = massPole + massCart
    static let length = 0.5  // half the pole's length
    static let poleMassLength = massPole * length
    static let forceMagnitude = 10.0
    static let tau = 0.02
    public static let thetaThreshold = 12 * 2 * Double.pi / 360
    public static let xThreshold = 2.4

    public let maxEpisodeSteps: Int
    /// x, ẋ, θ, θ̇ exactly as `env.unwrapped.state` holds them.
    public private(set) var state: (x: Double, xDot: Double, theta: Double, thetaDot: Double) = (0, 0, 0, 0)
    public private(set) var elapsedSteps = 0

    public init() { self.init(maxEpisodeSteps: 500) }

    public init(maxEpisodeSteps: Int) {
        precondition(maxEpisodeSteps > 0, "maxEpisodeSteps must be positive")
        self.maxEpisodeSteps = maxEpisodeSteps
    }

    public var observationSize: Int { Self.observationSize }
    /// One dimension holding the index: 0 pushes left, 1 right.
    public var actionSize: Int { 1 }
    public var discreteActions: Int? { Self.actionCount }
    public var actionBound: Float { 1 }
    public var actionLow: [Float] { [0] }
    public var actionHigh: [Float] { [1] }
    /// Every step, the terminating one included, is worth 1.
    public var rewardRange: ClosedRange<Float> { 1...1 }

    /// gymnasium's observation space: x within twice its threshold, θ within twice its threshold, the
    /// velocities unbounded (gymnasium writes float32's largest value for that; a spec says infinity).
    public var observationHigh: [Float] { [Float(2 * Self.xThreshold), .infinity, Float(2 * Self.thetaThreshold), .infinity] }
    public var observationLow: [Float] { observationHigh.map { -$0 } }

    /// Places the cart in a given state, `elapsedSteps` into an episode (to replay recorded trajectories).
    public mutating func setState(x: Double, xDot: Double, theta: Double, thetaDot: Double, elapsedSteps: Int = 0) {
        state = (x, xDot, theta, thetaDot)
        self.elapsedSteps = elapsedSteps
    }

    public mutating func reset<G: RandomNumberGenerator>(using generator: inout G, observation: UnsafeMutablePointer<Float>) {
        state = (generator.nextUniform(-0.05, 0.05), generator.nextUniform(-0.05, 0.05),
                 generator.nextUniform(-0.05, 0.05), generator.nextUniform(-0.05, 0.05))
        elapsedSteps = 0
        writeObservation(observation)
    }

    public mutating func step(_ action: UnsafePointer<Float>, observation: UnsafeMutablePointer<Float>) -> StepResult {
        precondition(action[0] == 0 || action[0] == 1, "CartPole-v1's actions are 0 and 1, got \(action[0])")
        return step(action: Int(action[0]), observation: observation)
    }

    /// Pushes right for action 1 and left for any other (the caller checks that actions are 0 or 1).
    public mutating func step(action: Int, observation: UnsafeMutablePointer<Float>) -> StepResult {
        let (x, xDot, theta, thetaDot) = state
        let force = action == 1 ? Self.forceMagnitude : -Self.forceMagnitude
        let cosTheta = cos(theta), sinTheta = sin(theta)
        let temp = (force + Self.poleMassLength * (thetaDot * thetaDot) * sinTheta) / Self.totalMass
        let thetaAcc = (Self.gravity * sinTheta - cosTheta * temp)
            / (Self.length * (4.0 / 3.0 - Self.massPole * (cosTheta * cosTheta) / Self.totalMass))
        let xAcc = temp - Self.poleMassLength * thetaAcc * cosTheta / Self.totalMass
        state = (x + Self.tau * xDot, xDot + Self.tau * xAcc, theta + Self.tau * thetaDot, thetaDot + Self.tau * thetaAcc)
        elapsedSteps += 1
        writeObservation(observation)
        let terminated = state.x < -Self.xThreshold || state.x > Self.xThreshold
            || state.theta < -Self.thetaThreshold || state.theta > Self.thetaThreshold
        // TimeLimit sets truncated at its limit whether or not the step also terminated.
        return StepResult(reward: 1, terminated: terminated, truncated: elapsedSteps >= maxEpisodeSteps)
    }

    public func writeObservation(_ observation: UnsafeMutablePointer<Float>) {
        observation[0] = Float(state.x)
        observation[1] = Float(state.xDot)
        observation[2] = Float(state.theta)
        observation[3] = Float(state.thetaDot)
    }
}
