import Foundation
import Randomness
import Specs
import Testing
@testable import Environments

/// `$MOUNTAINCAR_REFERENCE_DIR`, default `../shared/reference/MountainCarContinuous-v0` (recorded by
/// `gen_mountaincar_reference.py` beside the trajectories).
func mountainCarReferenceDirectory() -> URL {
    referenceDirectory(variable: "MOUNTAINCAR_REFERENCE_DIR", fallback: "../shared/reference/MountainCarContinuous-v0")
}

func loadMountainCarEpisodes() throws -> [(file: String, episode: ReferenceEpisode)] {
    try loadReferenceEpisodes(in: mountainCarReferenceDirectory())
}

@Suite("MountainCarContinuous-v0 against gymnasium's recorded trajectories")
struct MountainCarReferenceTests {
    @Test("every recorded step: reward and observation to 1e-5, state to 1e-9, terminated and truncated exactly")
    func replayTrajectories() throws {
        let episodes = try loadMountainCarEpisodes()
        try #require(!episodes.isEmpty, "no trajectories found in \(mountainCarReferenceDirectory().path); set MOUNTAINCAR_REFERENCE_DIR")
        var checkedSteps = 0, terminations = 0, truncations = 0, clippedActions = 0
        var worstState = 0.0
        var observation = [Float](repeating: 0, count: 2)
        for (file, episode) in episodes {
            var env = MountainCarContinuous()
            let label = "\(file) seed \(episode.seed) \(episode.kind)"
            for step in episode.steps {
                // The state right after reset is float64 in gymnasium, float32 after any step.
                env.setState(position: step.stateBefore[0], velocity: step.stateBefore[1], stateIsFloat32: step.t > 0, elapsedSteps: step.t)
                env.writeObservation(&observation)
                for i in 0..<2 {
                    #expect(abs(Double(observation[i]) - step.obsBefore[i]) <= 1e-5, "\(label) t \(step.t) obs_before[\(i)]")
                }
                let result = env.step(force: Float(step.action), observation: &observation)
                worstState = max(worstState, abs(env.position - step.stateAfter[0]), abs(env.velocity - step.stateAfter[1]))
                #expect(abs(result.reward - step.reward) <= 1e-5, "\(label) t \(step.t) reward \(result.reward) vs \(step.reward)")
                for i in 0..<2 {
                    #expect(abs(Double(observation[i]) - step.obsAfter[i]) <= 1e-5, "\(label) t \(step.t) obs_after[\(i)]")
                }
                #expect(abs(env.position - step.stateAfter[0]) <= 1e-9, "\(label) t \(step.t) position \(env.position) vs \(step.stateAfter[0])")
                #expect(abs(env.velocity - step.stateAfter[1]) <= 1e-9, "\(label) t \(step.t) velocity \(env.velocity) vs \(step.stateAfter[1])")
                #expect(result.terminated == step.terminated, "\(label) t \(step.t) terminated")
                #expect(result.truncated == step.truncated, "\(label) t \(step.t) truncated")
                checkedSteps += 1
                terminations += step.terminated ? 1 : 0
                truncations += step.truncated ? 1 : 0
                clippedActions += abs(step.action) > 1 ? 1 : 0
            }
        }
        // The recordings cover the goal, the time limit and clipped actions; a folder that did not would prove little.
        #expect(terminations > 0 && truncations > 0 && clippedActions > 0)
        print("checked \(checkedSteps) steps of \(episodes.count) episodes (\(terminations) terminations, \(truncations) truncations, \(clippedActions) clipped actions); worst state error \(worstState)")
    }

    @Test("whole episodes replayed from the first state alone stay on the recorded path, bit for bit")
    func freeRunningEpisodes() throws {
        let episodes = try loadMountainCarEpisodes()
        try #require(!episodes.isEmpty, "no trajectories found in \(mountainCarReferenceDirectory().path)")
        var observation = [Float](repeating: 0, count: 2)
        for (file, episode) in episodes {
            var env = MountainCarContinuous()
            env.setState(position: episode.steps[0].stateBefore[0], velocity: episode.steps[0].stateBefore[1], stateIsFloat32: false)
            var total = 0.0, recorded = 0.0, last = StepResult(reward: 0, terminated: false, truncated: false)
            for step in episode.steps {
                last = env.step(force: Float(step.action), observation: &observation)
                total += last.reward
                recorded += step.reward
            }
            let final = episode.steps[episode.steps.count - 1]
            let label = "\(file) seed \(episode.seed) \(episode.kind)"
            #expect(env.position == final.stateAfter[0] && env.velocity == final.stateAfter[1], "\(label): final state")
            #expect(last.terminated == final.terminated && last.truncated == final.truncated, "\(label): how it ended")
            #expect(abs(total - recorded) <= 1e-9, "\(label): return \(total) vs \(recorded)")
        }
    }

    @Test("spaces, bounds and reset as gymnasium declares them")
    func spaces() {
        var env = MountainCarContinuous()
        #expect(MountainCarContinuous.id == "MountainCarContinuous-v0")
        #expect(env.observationSize == 2 && env.actionSize == 1 && env.actionBound == 1 && env.maxEpisodeSteps == 999)
        #expect(env.observationLow == [-1.2, -0.07] && env.observationHigh == [0.6, 0.07])
        var generator = Xoshiro256(seed: 5)
        var observation = [Float](repeating: 0, count: 2)
        for _ in 0..<1_000 {
            env.reset(using: &generator, observation: &observation)
            #expect(observation[0] >= -0.6 && observation[0] <= -0.4 && observation[1] == 0)
            #expect(!env.stateIsFloat32)
        }
        // Full throttle both ways: the reward of every step stays within the declared range.
        for action: Float in [-1, 1, 0.5, -0.25] {
            env.reset(using: &generator, observation: &observation)
            for _ in 0..<999 {
                let result = env.step(force: action, observation: &observation)
                #expect(env.rewardRange.contains(Float(result.reward)))
                #expect(observation[0] >= env.observationLow[0] && observation[0] <= env.observationHigh[0])
                #expect(observation[1] >= env.observationLow[1] && observation[1] <= env.observationHigh[1])
                if result.isDone { break }
            }
        }
    }
}

@Suite("Environment specs")
struct EnvironmentSpecTests {
    @Test("each native environment describes itself with a valid spec")
    func nativeSpecs() {
        let pendulum = Pendulum().spec
        #expect(pendulum.id == "Pendulum-v1" && pendulum.observationSize == 3 && pendulum.actionSize == 1)
        #expect(pendulum.actionLow == [-2] && pendulum.actionHigh == [2] && pendulum.actionScale == [2] && pendulum.actionBias == [0])
        #expect(pendulum.maxEpisodeSteps == 200 && pendulum.rewardHigh == 0 && pendulum.problem == nil)
        let car = MountainCarContinuous().spec
        #expect(car.id == "MountainCarContinuous-v0" && car.observationSize == 2 && car.actionLow == [-1] && car.actionHigh == [1])
        #expect(car.observationLow == [-1.2, -0.07] && car.maxEpisodeSteps == 999 && car.rewardHigh == 100 && car.problem == nil)
        #expect(car != pendulum)
    }

    @Test("CartPole-v1 is Discrete(2), its velocities unbounded, and steps with the index it is given")
    func cartPoleSpec() throws {
        let spec = CartPole().spec
        #expect(spec.discreteActions == 2 && spec.isDiscrete && spec.actionSize == 1 && spec.actionLow == [0] && spec.actionHigh == [1])
        #expect(spec.observationHigh[1] == .infinity && spec.observationLow[3] == -.infinity && spec.maxEpisodeSteps == 500)
        #expect(spec.problem == nil && spec.description == "CartPole-v1 (observation 4, action Discrete(2), 500 steps)")
        #expect(NativeEnvironments.type(named: "CartPole-v1") != nil)
        var byIndex = CartPole(), byPointer = CartPole()
        var generator = Xoshiro256(seed: 1)
        var a = [Float](repeating: 0, count: 4), b = a
        byIndex.reset(using: &generator, observation: &a)
        byPointer.setState(x: byIndex.state.x, xDot: byIndex.state.xDot, theta: byIndex.state.theta, thetaDot: byIndex.state.thetaDot)
        for action in [1, 0, 0, 1] {
            _ = byIndex.step(action: action, observation: &a)
            _ = byPointer.step([Float(action)], observation: &b)
        }
        #expect(a == b)
    }

    @Test("a Discrete spec names a wrong count or wrong bounds, and differs from a Box one by its action space")
    func discreteSpecs() {
        let spec = CartPole().spec
        var one = spec
        one.discreteActions = 1
        one.actionHigh = [0]
        #expect(one.problem?.contains("2 to 1024") == true)
        var wrongBounds = spec
        wrongBounds.actionHigh = [3]
        #expect(wrongBounds.problem?.contains("one action dimension in [0, 1]") == true)
        var box = spec
        box.discreteActions = nil
        #expect(box.problem == nil && spec.firstDifference(from: box) == "action space: Box(1) where the learner has Discrete(2)")
        #expect(!spec.isSameEnvironment(as: box))
    }
}
