import Foundation
import NeuralNetwork
import Policy
import Randomness
import Testing
@testable import ddpg

@Suite("ddpg export's document")
struct ActorExportTests {
    /// What the few lines of NumPy in docs/CHECKPOINTS.md do with the document: dense layers, ReLU between, tanh last, mapped onto the bounds.
    static func play(_ document: [String: Any], _ observation: [Float]) throws -> [Double] {
        var x = observation.map(Double.init)
        if let normalization = document["observation_normalization"] as? [String: Any] {
            let mean = try #require(normalization["mean"] as? [Double]), std = try #require(normalization["std"] as? [Double])
            let clip = try #require(normalization["clip"] as? Double)
            x = x.indices.map { min(max((x[$0] - mean[$0]) / std[$0], -clip), clip) }
        }
        for layer in try #require(document["layers"] as? [[String: Any]]) {
            let weights = try #require(layer["weights"] as? [[Double]]), bias = try #require(layer["bias"] as? [Double])
            let activation = try #require(layer["activation"] as? String)
            x = bias.indices.map { j in
                let z = bias[j] + x.indices.reduce(0) { $0 + x[$1] * weights[$1][j] }
                return activation == "relu" ? max(z, 0) : activation == "tanh" ? tanh(z) : z
            }
        }
        let low = try #require(document["action_low"] as? [Double]), high = try #require(document["action_high"] as? [Double])
        return x.indices.map { (high[$0] - low[$0]) / 2 * x[$0] + (high[$0] + low[$0]) / 2 }
    }

    @Test("each head exports the policy evaluations play: μ(s), or a squashed Gaussian's mean, with its log-std layer beside it",
          arguments: PolicyHead.allCases.filter(\.isSquashed))
    func exportedPolicyActs(head: PolicyHead) throws {
        var generator = Xoshiro256(seed: 3)
        let network = MLP(Actor.architecture(observationSize: 3, actionSize: 2, hiddenSizes: [8, 8], head: head), finalLayerScale: 0.5,
                          using: &generator)
        let actor = Actor(network: network, head: head, actionLow: [-2, 0], actionHigh: [2, 1])
        var document = ActorExport.document(actor: actor)
        #expect(document["observation_normalization"] == nil)
        // With an observation normalization (--normalize-observations) whose clip binds on the last observation.
        actor.observationNormalization = ObservationNormalization(mean: [0.5, 0, 1], standardDeviation: [0.25, 2, 1.5], clip: 3)
        document = ActorExport.document(actor: actor)
        #expect(document["head"] as? String == head.rawValue && document["layer_sizes"] as? [Int] == [3, 8, 8, 2])
        let observations: [[Float]] = [[1, 0, 0], [0.6, -0.8, 3.5], [0.1, 0.995, -7.9]]
        var expected = [Float](repeating: 0, count: 6)
        actor.act(observations: observations.flatMap { $0 }, count: 3, actions: &expected)
        for (row, observation) in observations.enumerated() {
            let played = try Self.play(document, observation)
            for j in 0..<2 { #expect(abs(played[j] - Double(expected[row * 2 + j])) < 1e-5, "row \(row), action \(j)") }
        }
        let logStd = document["log_std_layer"] as? [String: Any]
        #expect((logStd == nil) == (head == .deterministic))
        if let logStd { #expect((logStd["bias"] as? [Double])?.count == 2 && logStd["log_std_min"] as? Double == -5) }
    }
}
