import Policy
import Environments
import Foundation
import Randomness
import RunRecords

/// Runs the greedy policy μ(s), without noise, on episodes whose starts come
/// from fixed seeds, so that two evaluations differ only by the policy.
///
/// The episodes step in lockstep and the actor acts on all of them in one
/// batched forward pass, which makes an evaluation of 50 episodes cost about as
/// much as 200 forward passes.
public struct Evaluator<Env: Environment> {
    public let makeEnvironment: () -> Env
    public let seed: UInt64

    public init(seed: UInt64, makeEnvironment: @escaping () -> Env) {
        self.seed = seed
        self.makeEnvironment = makeEnvironment
    }

    /// Episode returns of `episodes` evaluation episodes; episode `i` always starts from the same state.
    public func returns(of actor: Actor, episodes: Int) -> [Double] {
        play(actor, episodes: episodes).returns
    }

    /// The return and the length of each of `episodes` evaluation episodes, numbered from `first`
    /// (episode i always starts from the same state, however the episodes are split into calls).
    public func play(_ actor: Actor, episodes: Int, first: Int = 0) -> (returns: [Double], lengths: [Int]) {
        var envs = (0..<episodes).map { _ in makeEnvironment() }
        let o = envs[0].observationSize, a = envs[0].actionSize
        let observations = UnsafeMutablePointer<Float>.allocate(capacity: episodes * o)
        let actions = UnsafeMutablePointer<Float>.allocate(capacity: episodes * a)
        defer {
            observations.deallocate()
            actions.deallocate()
        }
        for i in 0..<episodes {
            var generator = Xoshiro256(seed: seed, stream: UInt64(first + i))
            envs[i].reset(using: &generator, observation: observations + i * o)
        }
        var totals = [Double](repeating: 0, count: episodes)
        var lengths = [Int](repeating: 0, count: episodes)
        var running = [Bool](repeating: true, count: episodes)
        var active = episodes
        while active > 0 {
            actor.act(observations: observations, count: episodes, actions: actions)
            for i in 0..<episodes where running[i] {
                let result = envs[i].step(actions + i * a, observation: observations + i * o)
                totals[i] += result.reward
                lengths[i] += 1
                if result.isDone {
                    running[i] = false
                    active -= 1
                }
            }
        }
        return (totals, lengths)
    }

    public func evaluate(_ actor: Actor, episodes: Int, envSteps: Int, wallSeconds: Double) -> EvaluationResult {
        EvaluationResult(envSteps: envSteps, wallSeconds: wallSeconds, returns: returns(of: actor, episodes: episodes))
    }
}
