import Foundation
import Randomness

/// Gymnasium's `MountainCarContinuous-v0` (gymnasium 1.4, NumPy 2), step for step.
///
/// `gymnasium/envs/classic_control/continuous_mountain_car.py` with its `TimeLimit(999)`:
/// force = clip(a, −1, 1); v += 0.0015·force − 0.0025·cos(3x), clipped to ±0.07; x += v, clipped
/// to [−1.2, 0.6], with v = 0 at the left wall when moving left; the episode terminates at
/// x ≥ 0.45 with v ≥ 0. Reward: +100 on reaching the goal, minus 0.1·a² of the *unclipped* action.
///
/// Matching it to the last bit means following NumPy's types, which change along the way:
/// - `reset` stores the state as float64; every `step` stores it as float32. So the first step
///   of an episode computes in float64 and every later one in float32.
/// - Under NumPy 2 (NEP 50) a Python float meeting a NumPy scalar takes the scalar's type: it is
///   rounded to float32 first when the state is float32, comparisons included.
/// - Python's `min`/`max` return the Python float bound when they clip the float32 action, so a
///   clipped force is a float64 product.
/// - A clipped velocity or position becomes the Python float bound itself, which then compares
///   in float64.
///
/// Only the reset distribution comes from our own generator (NumPy's PCG64 is not reproduced):
/// x ~ U[−0.6, −0.4], v = 0.
public struct MountainCarContinuous: Environment, Sendable {
    public static let id = "MountainCarContinuous-v0"
    public static let minPosition = -1.2
    public static let maxPosition = 0.6
    public static let maxSpeed = 0.07
    public static let goalPosition = 0.45
    public static let power = 0.0015
    public static let goalReward = 100.0

    public let observationSize = 2
    public let actionSize = 1
    public let actionBound: Float = 1
    public let maxEpisodeSteps: Int
    /// gymnasium's observation space, float32: position in [−1.2, 0.6], velocity in [−0.07, 0.07].
    public var observationLow: [Float] { [Float(Self.minPosition), -Float(Self.maxSpeed)] }
    public var observationHigh: [Float] { [Float(Self.maxPosition), Float(Self.maxSpeed)] }
    /// With actions within the bound: −0.1·a² ≥ −0.1, and at most the goal reward.
    public var rewardRange: ClosedRange<Float> { Float(-0.1).nextDown...Float(Self.goalReward) }

    /// Position and velocity exactly as `env.unwrapped.state` holds them.
    public private(set) var position: Double = 0
    public private(set) var velocity: Double = 0
    /// False right after `reset` (gymnasium's state is then a float64 array), true after any step.
    public private(set) var stateIsFloat32 = false
    public private(set) var elapsedSteps = 0

    /// gymnasium's `reward_threshold` for this environment.
    public static let solvedReturn = 90.0

    public init() { self.init(maxEpisodeSteps: 999) }

    public init(maxEpisodeSteps: Int) {
        precondition(maxEpisodeSteps > 0, "maxEpisodeSteps must be positive")
        self.maxEpisodeSteps = maxEpisodeSteps
    }

    /// Places the car in a given state, `elapsedSteps` into an episode. Used to replay recorded
    /// trajectories: a state recorded right after a reset is float64, any later one float32.
    public mutating func setState(position: Double, velocity: Double, stateIsFloat32: Bool, elapsedSteps: Int = 0) {
        self.position = stateIsFloat32 ? Double(Float(position)) : position
        self.velocity = stateIsFloat32 ? Double(Float(velocity)) : velocity
        self.stateIsFloat32 = stateIsFloat32
        self.elapsedSteps = elapsedSteps
    }

    public mutating func reset<G: RandomNumberGenerator>(using generator: inout G, observation: UnsafeMutablePointer<Float>) {
        setState(position: generator.nextUniform(-0.6, -0.4), velocity: 0, stateIsFloat32: false)
        writeObservation(observation)
    }

    public func writeObservation(_ observation: UnsafeMutablePointer<Float>) {
        observation[0] = Float(position)
        observation[1] = Float(velocity)
    }

    @inlinable
    public mutating func step(_ action: UnsafePointer<Float>, observation: UnsafeMutablePointer<Float>) -> StepResult {
        step(force: action[0], observation: observation)
    }

    /// Steps with a scalar float32 action, as gymnasium receives it.
    public mutating func step(force action: Float, observation: UnsafeMutablePointer<Float>) -> StepResult {
        let single = stateIsFloat32
        // min(max(a, -1.0), 1.0): the float32 action, or the Python float bound it was clipped to.
        let clippedForce: Double? = action < -1 ? -1 : (action > 1 ? 1 : nil)
        let slope = 0.0025 * cos(single ? Double(3 * Float(position)) : 3 * position)
        var v: Double
        if let clippedForce {
            let acceleration = clippedForce * Self.power - slope                       // Python floats
            v = single ? Double(Float(velocity) + Float(acceleration)) : velocity + acceleration
        } else {
            let acceleration = action * Float(Self.power) - Float(slope)              // float32
            v = single ? Double(Float(velocity) + acceleration) : velocity + Double(acceleration)
        }
        if greater(v, than: Self.maxSpeed, single: single) { v = Self.maxSpeed }
        if greater(-Self.maxSpeed, than: v, single: single) { v = -Self.maxSpeed }

        var x = single ? Double(Float(position) + Float(v)) : position + v
        // Once clipped, the position is the Python float bound and compares in float64.
        var positionIsBound = false
        if greater(x, than: Self.maxPosition, single: single) { x = Self.maxPosition; positionIsBound = true }
        if greater(Self.minPosition, than: x, single: single) { x = Self.minPosition; positionIsBound = true }
        let compareSingle = single && !positionIsBound
        if equal(x, Self.minPosition, single: compareSingle), v < 0 { v = 0 }

        let terminated = !greater(Self.goalPosition, than: x, single: compareSingle) && v >= 0
            && !x.isNaN
        let actionCost = Double(action) * Double(action) * 0.1   // math.pow(a, 2) is exact for a float32
        let reward = (terminated ? Self.goalReward : 0) - actionCost

        position = Double(Float(x))
        velocity = Double(Float(v))
        stateIsFloat32 = true
        elapsedSteps += 1
        writeObservation(observation)
        return StepResult(reward: reward, terminated: terminated, truncated: elapsedSteps >= maxEpisodeSteps)
    }

    /// `a > b` as NumPy evaluates it: in float32 when the NumPy side is float32 (the Python float
    /// rounded to it), else in float64.
    private func greater(_ a: Double, than b: Double, single: Bool) -> Bool {
        single ? Float(a) > Float(b) : a > b
    }

    private func equal(_ a: Double, _ b: Double, single: Bool) -> Bool {
        single ? Float(a) == Float(b) : a == b
    }
}
