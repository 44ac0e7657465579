import Foundation
import NeuralNetwork
import Randomness
import Tensors
import Testing
import WireProtocol
@testable import Policy

@Suite("Policy: heads, the behaviour step, the wire's actor shape")
struct PolicyTests {
    static func gaussianActor(seed: UInt64 = 3) -> Actor {
        var generator = Xoshiro256(seed: seed)
        let network = MLP(Actor.architecture(observationSize: 3, actionSize: 2, hiddenSizes: [8], head: .squashedGaussian),
                          finalLayerScale: 0.5, using: &generator)
        return Actor(network: network, head: .squashedGaussian, actionLow: [-1, 0], actionHigh: [1, 4])
    }

    @Test("the squashed Gaussian's log-probability and its reparameterized gradients match finite differences")
    func squashedGaussianGradients() {
        let actor = Self.gaussianActor()
        let n = 4, a = 2
        var generator = Xoshiro256(seed: 11)
        let outputs = Matrix(rows: n, columns: 2 * a), noise = Matrix(rows: n, columns: a)
        for i in 0..<(n * 2 * a) { outputs.storage[i] = generator.nextUniform(Float(-1.5), 1.5) }
        for i in 0..<(n * a) { noise.storage[i] = Float(generator.nextGaussian()) }
        // A loss with both paths: L = Σ (w · a) + c · Σ log π.
        let weights: [Float] = [0.7, -0.3], c: Float = 0.4
        let head = SquashedGaussian(capacity: n, actionSize: a)
        let actions = Matrix(rows: n, columns: a)
        func loss() -> Double {
            head.evaluate(outputs.view, noise: noise.view, actor: actor, into: actions.view)
            var sum = 0.0
            for row in 0..<n {
                for j in 0..<a { sum += Double(weights[j] * actions[row, j]) }
                sum += Double(c * head.logProbabilities.storage[row])
            }
            return sum
        }
        _ = loss()
        let actionGradient = Matrix(rows: n, columns: a), logpGradient = [Float](repeating: c, count: n)
        for row in 0..<n { for j in 0..<a { actionGradient[row, j] = weights[j] } }
        let analytic = Matrix(rows: n, columns: 2 * a)
        head.backward(actionGradient: actionGradient.view, logProbabilityGradient: logpGradient, into: analytic.view)
        var worst = 0.0
        for i in 0..<(n * 2 * a) {
            let saved = outputs.storage[i], h: Float = 1e-3
            outputs.storage[i] = saved + h
            let up = loss()
            outputs.storage[i] = saved - h
            let down = loss()
            outputs.storage[i] = saved
            let numeric = (up - down) / (2 * Double(h))
            worst = max(worst, abs(numeric - Double(analytic.storage[i])) / max(1, abs(numeric)))
        }
        #expect(worst < 2e-2, "worst relative error \(worst)")
    }

    @Test("the log-probability is a density's: it integrates to one over the bounds (one dimension)")
    func logProbabilityIsADensity() {
        var generator = Xoshiro256(seed: 5)
        let network = MLP(Actor.architecture(observationSize: 1, actionSize: 1, hiddenSizes: [2], head: .squashedGaussian), using: &generator)
        let actor = Actor(network: network, head: .squashedGaussian, actionLow: [-2], actionHigh: [2])
        let head = SquashedGaussian(capacity: 1, actionSize: 1)
        let outputs = Matrix(rows: 1, columns: 2, values: [0.3, -0.4]), noise = Matrix(rows: 1, columns: 1), action = Matrix(rows: 1, columns: 1)
        // ∫ π(a) da over a = scale·tanh(m + σε) + bias, as a sum over ε with da/dε.
        var integral = 0.0, previous: Double?
        for k in 0...40_000 {
            noise.storage[0] = Float(-8 + 16 * Double(k) / 40_000)
            head.evaluate(outputs.view, noise: noise.view, actor: actor, into: action.view)
            let value = Double(action.storage[0])
            if let previous { integral += exp(Double(head.logProbabilities.storage[0])) * (value - previous) }
            previous = value
        }
        #expect(abs(integral - 1) < 1e-2, "∫ π = \(integral)")
    }

    @Test("a stochastic actor's draws vary, stay within the bounds, and its act is the squashed mean")
    func sampling() {
        let actor = Self.gaussianActor()
        let observations = [Float](repeating: 0.2, count: 3 * 500)
        var draws = [Float](repeating: 0, count: 2 * 500), means = [Float](repeating: 0, count: 2 * 500)
        var generator = Xoshiro256(seed: 9)
        actor.sample(observations: observations, count: 500, actions: &draws, using: &generator)
        actor.act(observations: observations, count: 500, actions: &means)
        #expect(draws.enumerated().allSatisfy { $0.offset % 2 == 0 ? (-1...1).contains($0.element) : (0...4).contains($0.element) })
        #expect(Set(draws).count > 900, "draws differ")
        #expect(Set(means).count == 2, "one observation, one action: its mean")
    }

    @Test("the behaviour step: uniform before an actor, μ(s) plus noise in half-ranges, clipped; a stochastic actor samples instead")
    func behaviour() {
        let behaviour = BehaviourPolicy(actionLow: [-1, 0], actionHigh: [1, 4])
        var generator = Xoshiro256(seed: 2)
        var actions = [Float](repeating: 0, count: 2 * 100)
        behaviour.randomActions(count: 100, into: &actions, using: &generator)
        #expect(actions.enumerated().allSatisfy { $0.offset % 2 == 0 ? (-1...1).contains($0.element) : (0...4).contains($0.element) })
        var deterministicGenerator = Xoshiro256(seed: 4)
        let network = MLP(Actor.architecture(observationSize: 3, actionSize: 2, hiddenSizes: [8]), using: &deterministicGenerator)
        let actor = Actor(network: network, actionLow: [-1, 0], actionHigh: [1, 4])
        let observations: [Float] = [0.1, 0.2, 0.3]
        var mean = [Float](repeating: 0, count: 2), explored = [Float](repeating: 0, count: 2)
        actor.act(observations: observations, count: 1, actions: &mean)
        var noises = [ExplorationNoise(NoiseConfiguration(kind: .gaussian, sigma: 0.5), actionSize: 2)]
        var noiseGenerator = Xoshiro256(seed: 8), replay = Xoshiro256(seed: 8)
        behaviour.explore(actor, observations: observations, count: 1, noises: &noises, into: &explored, using: &noiseGenerator)
        let expected = (0..<2).map { j in
            min(max(mean[j] + [1, 2][j] * Float(0.5 * replay.nextGaussian()), [-1, 0][j]), [1, 4][j])
        }
        #expect(explored == expected, "noise in units of each dimension's half-range (1 and 2), then clipped")
        let stochastic = Self.gaussianActor()
        var sampled = [Float](repeating: 0, count: 2), direct = [Float](repeating: 0, count: 2)
        var first = Xoshiro256(seed: 6), second = Xoshiro256(seed: 6)
        behaviour.explore(stochastic, observations: observations, count: 1, noises: &noises, into: &sampled, using: &first)
        stochastic.sample(observations: observations, count: 1, actions: &direct, using: &second)
        #expect(sampled == direct, "a stochastic actor explores by its own draws")
    }

    @Test("an actor's shape survives the weights message: head, normalization and bounds")
    func shapeRoundTrip() {
        for actor in [Self.gaussianActor(), Actor(network: MLP(Actor.architecture(observationSize: 3, actionSize: 2, hiddenSizes: [8, 8],
                                                                                    normalization: .layer)),
                                                   actionLow: [-1, 0], actionHigh: [1, 4])] {
            let rebuilt = Actor(shape: actor.shape, inferenceCapacity: 4)
            #expect(rebuilt.shape == actor.shape && rebuilt.head == actor.head && rebuilt.network.architecture == actor.network.architecture)
            #expect(actor.shape.actionSize == 2)
        }
    }
}
