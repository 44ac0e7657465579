import CShims
import Foundation
import Randomness

/// Gymnasium's `Pendulum-v1` (gymnasium 1.4), step for step.
///
/// The physics, the reward and the time limit reproduce
/// `gymnasium/envs/classic_control/pendulum.py` and its `TimeLimit(200)` wrapper:
/// torque clipped to ±2, reward `-(normalize(θ)² + 0.1·θ̇² + 0.001·u²)` on the
/// state *before* the step, then semi-implicit Euler with θ̇ clipped to ±8.
/// The state is float64 and the observation float32 `[cos θ, sin θ, θ̇]`.
///
/// One subtlety: the action reaches gymnasium as float32, and NumPy 2 (NEP 50)
/// evaluates `0.001·u²` and `3·u` in float32 before promoting to float64. We do
/// the same, which makes our trajectories match the recorded ones to the last
/// bits instead of drifting by ~1e-8.
///
/// Only the reset distribution comes from our own generator (NumPy's PCG64 is
/// not reproduced): θ ~ U[−π, π], θ̇ ~ U[−1, 1].
public struct Pendulum: Environment, Sendable {
    public static let id = "Pendulum-v1"
    public static let maxSpeed = 8.0
    public static let maxTorque = 2.0
    public static let dt = 0.05
    public static let gravity = 10.0
    public static let mass = 1.0
    public static let length = 1.0

    public let observationSize = 3
    public let actionSize = 1
    public let actionBound = Float(Pendulum.maxTorque)
    public let maxEpisodeSteps: Int
    /// gymnasium's observation space: cos θ and sin θ in [−1, 1], θ̇ in [−8, 8] (clipped exactly).
    public var observationLow: [Float] { [-1, -1, -Float(Pendulum.maxSpeed)] }
    public var observationHigh: [Float] { [1, 1, Float(Pendulum.maxSpeed)] }
    /// The cost is at most π² + 0.1·8² + 0.001·2² (θ normalized to [−π, π)), never negative.
    public var rewardRange: ClosedRange<Float> {
        Float(-(Double.pi * Double.pi + 0.1 * Pendulum.maxSpeed * Pendulum.maxSpeed + 0.001 * Pendulum.maxTorque * Pendulum.maxTorque)).nextDown...0
    }

    /// θ (not wrapped) and θ̇, exactly as `env.unwrapped.state`.
    public private(set) var theta: Double = 0
    public private(set) var thetaDot: Double = 0
    /// sin θ of the current state, computed once for the observation and reused by the next step.
    private var sinTheta: Double = 0
    private var cosTheta: Double = 1
    public private(set) var elapsedSteps = 0

    public static let solvedReturn = -200.0

    public init() { self.init(maxEpisodeSteps: 200) }

    public init(maxEpisodeSteps: Int) {
        precondition(maxEpisodeSteps > 0, "maxEpisodeSteps must be positive")
        self.maxEpisodeSteps = maxEpisodeSteps
    }

    /// Places the pendulum in a given state, `elapsedSteps` into an episode (0: a new one).
    /// Used to replay recorded trajectories.
    public mutating func setState(theta: Double, thetaDot: Double, elapsedSteps: Int = 0) {
        self.theta = theta
        self.thetaDot = thetaDot
        ddpg_sincos(theta, &sinTheta, &cosTheta)
        self.elapsedSteps = elapsedSteps
    }

    public mutating func reset<G: RandomNumberGenerator>(using generator: inout G, observation: UnsafeMutablePointer<Float>) {
        let theta = generator.nextUniform(-Double.pi, Double.pi)
        let thetaDot = generator.nextUniform(-1.0, 1.0)
        setState(theta: theta, thetaDot: thetaDot)
        writeObservation(observation)
    }

    public func writeObservation(_ observation: UnsafeMutablePointer<Float>) {
        observation[0] = Float(cosTheta)
        observation[1] = Float(sinTheta)
        observation[2] = Float(thetaDot)
    }

    @inlinable
    public mutating func step(_ action: UnsafePointer<Float>, observation: UnsafeMutablePointer<Float>) -> StepResult {
        step(torque: action[0], observation: observation)
    }

    /// Steps with a scalar float32 torque, as gymnasium receives it.
    public mutating func step(torque action: Float, observation: UnsafeMutablePointer<Float>) -> StepResult {
        // np.clip on a float32 array stays float32 (NaN passes through, as in NumPy).
        let u: Float = action < -Float(Self.maxTorque) ? -Float(Self.maxTorque) : (action > Float(Self.maxTorque) ? Float(Self.maxTorque) : action)
        let normalized = Self.angleNormalize(theta)
        let torqueCost = Double(0.001 as Float * Self.libmSquare(u))  // float32, per NEP 50
        let cost = normalized * normalized + 0.1 * (thetaDot * thetaDot) + torqueCost
        let torqueTerm = Double(3.0 as Float * u)          // 3/(m·l²)·u in float32, per NEP 50
        let gravityTerm = 3 * Self.gravity / (2 * Self.length) * sinTheta
        var newThetaDot = thetaDot + (gravityTerm + torqueTerm) * Self.dt
        newThetaDot = newThetaDot < -Self.maxSpeed ? -Self.maxSpeed : (newThetaDot > Self.maxSpeed ? Self.maxSpeed : newThetaDot)
        theta = theta + newThetaDot * Self.dt
        thetaDot = newThetaDot
        ddpg_sincos(theta, &sinTheta, &cosTheta)  // sin θ is reused by the next step
        elapsedSteps += 1
        writeObservation(observation)
        return StepResult(reward: -cost, terminated: false, truncated: elapsedSteps >= maxEpisodeSteps)
    }

    /// `u**2` of a NumPy float32 scalar, which NumPy computes with libm's `powf`
    /// rather than `u * u`. The two differ in the last bit when u² lies within
    /// about 2⁻³³ (relative) of a float32 rounding midpoint, as at seed 3, step
    /// 145 of the reference trajectories. An exhaustive sweep of every float32
    /// with |u| ≤ 2 (the clipped range) found no other difference, so `powf` is
    /// called only within 2⁻³⁰ of a midpoint (~3% of steps) and the correctly
    /// rounded square is returned otherwise. The exponent is opaque so the
    /// optimizer cannot rewrite `powf(u, 2)` into `u * u`.
    @inline(__always)
    static func libmSquare(_ u: Float) -> Float {
        let exact = Double(u) * Double(u)  // exact: 48 significant bits fit in a Double
        let rounded = Float(exact)
        let neighbour = exact >= Double(rounded) ? rounded.nextUp : rounded.nextDown
        let midpoint = (Double(rounded) + Double(neighbour)) / 2
        if abs(exact - midpoint) > exact * 0x1p-30 { return rounded }
        return powf(u, opaqueTwo())
    }

    @inline(never)
    static func opaqueTwo() -> Float { 2 }

    /// `((x + π) mod 2π) − π` with Python's floored modulo, as gymnasium's `angle_normalize`.
    @inlinable
    public static func angleNormalize(_ x: Double) -> Double {
        let shifted = x + Double.pi
        let period = 2 * Double.pi
        // Fast path: fmod leaves values already in [0, 2π) untouched, and so does Python's %.
        if shifted >= 0 && shifted < period { return shifted - Double.pi }
        return pythonModulo(shifted, period) - Double.pi
    }

    /// Python's float `%` (NumPy's `npy_divmod`): the result takes the divisor's sign.
    @inlinable
    public static func pythonModulo(_ a: Double, _ b: Double) -> Double {
        var mod = fmod(a, b)
        if mod != 0 {
            if (b < 0) != (mod < 0) { mod += b }
        } else {
            mod = copysign(0, b)
        }
        return mod
    }
}
