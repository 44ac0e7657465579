import Foundation
import Randomness
import Testing
@testable import Environments

/// `$CARTPOLE_REFERENCE_DIR`, default `../shared/reference/CartPole-v1` (recorded by `gen_cartpole_reference.py`
/// beside the trajectories).
func cartPoleReferenceDirectory() -> URL {
    referenceDirectory(variable: "CARTPOLE_REFERENCE_DIR", fallback: "../shared/reference/CartPole-v1")
}

@Suite("CartPole-v1 against gymnasium's recorded trajectories")
struct CartPoleReferenceTests {
    @Test("every recorded step bit for bit: state, observation, reward, terminated and truncated")
    func replayTrajectories() throws {
        let episodes = try loadReferenceEpisodes(in: cartPoleReferenceDirectory())
        try #require(!episodes.isEmpty, "no trajectories found in \(cartPoleReferenceDirectory().path); set CARTPOLE_REFERENCE_DIR")
        var checkedSteps = 0, terminations = 0, truncations = 0, offTrack = 0
        var observation = [Float](repeating: 0, count: CartPole.observationSize)
        for (file, episode) in episodes {
            var env = CartPole()
            let label = "\(file) seed \(episode.seed) \(episode.kind)"
            for step in episode.steps {
                let s = step.stateBefore
                env.setState(x: s[0], xDot: s[1], theta: s[2], thetaDot: s[3], elapsedSteps: step.t)
                env.writeObservation(&observation)
                #expect(observation.map(Double.init) == step.obsBefore, "\(label) t \(step.t) obs_before")
                let result = env.step(action: Int(step.action), observation: &observation)
                let after = [env.state.x, env.state.xDot, env.state.theta, env.state.thetaDot]
                #expect(after == step.stateAfter, "\(label) t \(step.t) state \(after) vs \(step.stateAfter)")
                #expect(observation.map(Double.init) == step.obsAfter, "\(label) t \(step.t) obs_after")
                #expect(result.reward == step.reward, "\(label) t \(step.t) reward")
                #expect(result.terminated == step.terminated && result.truncated == step.truncated, "\(label) t \(step.t) how it ended")
                checkedSteps += 1
                terminations += step.terminated ? 1 : 0
                truncations += step.truncated ? 1 : 0
                offTrack += step.terminated && abs(step.stateAfter[0]) > CartPole.xThreshold ? 1 : 0
            }
        }
        // The recordings cover the pole falling, the cart leaving the track and the 500-step limit.
        #expect(terminations > offTrack && offTrack > 0 && truncations > 0, "\(terminations) terminations (\(offTrack) off the track), \(truncations) truncations")
        print("checked \(checkedSteps) CartPole steps of \(episodes.count) episodes (\(terminations) terminations, \(offTrack) off the track, \(truncations) truncations)")
    }

    @Test("whole episodes replayed from the first state alone stay on the recorded path, bit for bit")
    func freeRunningEpisodes() throws {
        let episodes = try loadReferenceEpisodes(in: cartPoleReferenceDirectory())
        try #require(!episodes.isEmpty, "no trajectories found in \(cartPoleReferenceDirectory().path)")
        var observation = [Float](repeating: 0, count: CartPole.observationSize)
        for (file, episode) in episodes {
            var env = CartPole()
            let s = episode.steps[0].stateBefore
            env.setState(x: s[0], xDot: s[1], theta: s[2], thetaDot: s[3])
            var total = 0.0, last = StepResult(reward: 0, terminated: false, truncated: false)
            for step in episode.steps {
                last = env.step(action: Int(step.action), observation: &observation)
                total += last.reward
            }
            let final = episode.steps[episode.steps.count - 1]
            let label = "\(file) seed \(episode.seed) \(episode.kind)"
            #expect([env.state.x, env.state.xDot, env.state.theta, env.state.thetaDot] == final.stateAfter, "\(label): final state")
            #expect(last.terminated == final.terminated && last.truncated == final.truncated, "\(label): how it ended")
            #expect(total == Double(episode.steps.count), "\(label): return \(total)")
        }
    }

    @Test("reset draws each state variable in [−0.05, 0.05) and the observation is the state as float32")
    func reset() {
        var env = CartPole()
        var generator = Xoshiro256(seed: 3)
        var observation = [Float](repeating: 9, count: CartPole.observationSize)
        for _ in 0..<100 {
            env.reset(using: &generator, observation: &observation)
            let state = [env.state.x, env.state.xDot, env.state.theta, env.state.thetaDot]
            #expect(state.allSatisfy { (-0.05..<0.05).contains($0) })
            #expect(observation == state.map(Float.init) && env.elapsedSteps == 0)
        }
        #expect(CartPole.solvedReturn == 475 && CartPole().maxEpisodeSteps == 500)
    }
}
