import Randomness

/// The policy that collects experience: uniformly random actions before there is an actor, then a
/// stochastic actor's draws, or a deterministic actor's action plus exploration noise in units of each
/// dimension's half-range (CleanRL's `normal(0, action_scale · σ)`); either clipped to the bounds.
///
/// `ddpg train`, `ddpg worker` and (in numpy) `ddpg-gym-worker` all act through this one rule.
/// The caller owns the random streams, so each keeps the draws it always made.
public final class BehaviourPolicy {
    public let actionLow: [Float]
    public let actionHigh: [Float]
    /// (high − low) / 2 per dimension: what one unit of noise moves an action by.
    public let halfRange: [Float]
    private var perturbation: [Float]

    public init(actionLow: [Float], actionHigh: [Float]) {
        precondition(actionLow.count == actionHigh.count, "\(actionLow.count) low and \(actionHigh.count) high bounds")
        self.actionLow = actionLow
        self.actionHigh = actionHigh
        halfRange = zip(actionLow, actionHigh).map { ($1 - $0) / 2 }
        perturbation = Array(repeating: 0, count: actionLow.count)
    }

    public var actionSize: Int { actionLow.count }

    /// Uniform actions in [low, high) for `count` environments, row-major.
    public func randomActions<G: RandomNumberGenerator>(count: Int, into actions: UnsafeMutablePointer<Float>, using generator: inout G) {
        let a = actionSize
        for i in 0..<count {
            for j in 0..<a { actions[i * a + j] = generator.nextUniform(actionLow[j], actionHigh[j]) }
        }
    }

    /// The actor's actions for `count` observations: a stochastic policy's draws (from `generator`; it
    /// explores by itself), or a deterministic one's, each explored with its environment's noise
    /// (`noises[i]`, drawn from `generator`); either clipped to the bounds, which a squashed draw can
    /// pass by a rounding error.
    public func explore<G: RandomNumberGenerator>(_ actor: Actor, observations: UnsafePointer<Float>, count: Int,
                                                  noises: inout [ExplorationNoise], into actions: UnsafeMutablePointer<Float>,
                                                  using generator: inout G) {
        let a = actionSize
        if actor.head.isStochastic {
            actor.sample(observations: observations, count: count, actions: actions, using: &generator)
        } else {
            precondition(noises.count >= count, "\(noises.count) noise processes for \(count) environments")
            actor.act(observations: observations, count: count, actions: actions)
            for i in 0..<count {
                perturbation.withUnsafeMutableBufferPointer { noises[i].sample(into: $0.baseAddress!, using: &generator) }
                for j in 0..<a { actions[i * a + j] += halfRange[j] * perturbation[j] }
            }
        }
        for i in 0..<count {
            for j in 0..<a { actions[i * a + j] = min(max(actions[i * a + j], actionLow[j]), actionHigh[j]) }
        }
    }
}
