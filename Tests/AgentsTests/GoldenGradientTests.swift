import Foundation
import NeuralNetwork
import Policy
import Specs
import Testing
@testable import Agents

/// A3C's gradients shared with the Python package: for a categorical and a Gaussian actor–critic, the weights, a
/// segment, the loss settings, and the gradient a Swift worker computes from them, in `python/tests/golden_gradients/`.
/// The Python package's tests compute the same gradient with numpy from the same file and must match it to float
/// tolerance, so that a learner cannot tell a Swift worker's gradient from a Python worker's.
/// `DDPG_WRITE_GOLDEN=1 swift test --filter GoldenGradientTests` rewrites them after a change to the loss.
enum GoldenGradients {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("python/tests/golden_gradients")

    /// (name, spec, settings): GAE with a cut and normalized advantages for the categorical; n-step returns for the Gaussian.
    static let cases: [(name: String, spec: EnvironmentSpec, configure: @Sendable (inout OnPolicySettings) -> Void)] = [
        ("categorical", cartPoleLikeSpec, { $0.gaeLambda = 0.95; $0.entCoef = 0.05; $0.vfCoef = 0.5; $0.normalizeAdvantage = true }),
        ("gaussian", boxSpec, { $0.gaeLambda = 1; $0.entCoef = 0.01; $0.vfCoef = 0.25; $0.normalizeAdvantage = false }),
    ]

    /// The vector's fields and the gradient (policy then value) Swift computes for them.
    static func vector(_ name: String, _ spec: EnvironmentSpec, _ configure: (inout OnPolicySettings) -> Void)
        -> (fields: [String: Any], policy: [Float], value: [Float]) {
        let agent = smallActorCritic(spec, configure: configure)
        let rollout = randomRollout(spec, environments: 2, steps: 4, seed: 11)
        let statistics = agent.computeGradients(rollout)
        let settings = agent.settings
        let policy = agent.actor.network.gradients.toArray(), value = agent.critic.gradients.toArray()
        func doubles(_ values: [Float]) -> [Double] { values.map(Double.init) }
        func sizes(_ a: MLPArchitecture) -> [Int] { [a.inputSize] + a.hiddenSizes + [a.outputSize] }
        let fields: [String: Any] = [
            "head": name, "hidden_activation": "tanh", "layer_sizes": sizes(agent.actor.network.architecture),
            "parameters": doubles(agent.actor.network.parameters.toArray()),
            "value_layer_sizes": sizes(agent.critic.architecture), "value_parameters": doubles(agent.critic.parameters.toArray()),
            "segment": [
                "steps": rollout.steps, "observations": doubles(rollout.observations), "actions": doubles(rollout.actions),
                "rewards": doubles(rollout.rewards), "log_probabilities": doubles(rollout.logProbabilities),
                "bootstrap_observations": doubles(rollout.bootstrapObservations), "truncation_observations": doubles(rollout.truncationObservations),
                "terminated": rollout.terminated, "truncated": rollout.truncated,
            ] as [String: Any],
            "settings": ["gamma": Double(agent.configuration.discount), "gae_lambda": Double(settings.gaeLambda), "vf_coef": Double(settings.vfCoef),
                         "ent_coef": Double(settings.entCoef), "normalize_advantage": settings.normalizeAdvantage] as [String: Any],
            "expected": ["policy": doubles(policy), "value": doubles(value), "policy_loss": Double(statistics.policyLoss),
                         "value_loss": Double(statistics.valueLoss), "entropy": Double(statistics.entropy),
                         "explained_variance": Double(statistics.explainedVariance)] as [String: Any],
        ]
        return (fields, policy, value)
    }
}

@Suite("Golden A3C gradients shared with the Python package")
struct GoldenGradientTests {
    @Test("python/tests/golden_gradients holds the gradient this build computes, to float tolerance, for every head", arguments: [0, 1])
    func golden(index: Int) throws {
        let (name, spec, configure) = GoldenGradients.cases[index]
        let (fields, policy, value) = GoldenGradients.vector(name, spec, configure)
        let file = GoldenGradients.directory.appendingPathComponent("\(name).json")
        if ProcessInfo.processInfo.environment["DDPG_WRITE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: GoldenGradients.directory, withIntermediateDirectories: true)
            try JSONSerialization.data(withJSONObject: fields, options: [.prettyPrinted, .sortedKeys]).write(to: file)
        }
        let stored = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
        let expected = try #require(stored["expected"] as? [String: Any])
        let storedPolicy = try #require(expected["policy"] as? [Double]), storedValue = try #require(expected["value"] as? [Double])
        // Every gradient entry matters (none is zero by construction but the Gaussian's held log σ weights).
        #expect(policy.filter { $0 != 0 }.count > policy.count / 2 && value.allSatisfy { $0 != 0 })
        // BLAS kernels differ between CPUs in their last bits: agree to float tolerance, not bit for bit.
        for (computed, stored, what) in [(policy, storedPolicy, "policy"), (value, storedValue, "value")] {
            #expect(computed.count == stored.count, "\(name) \(what) gradient size")
            let scale = stored.map(abs).max() ?? 1
            let worst = zip(computed, stored).map { abs(Double($0) - $1) }.max() ?? 0
            #expect(worst <= 1e-5 * scale, "\(name) \(what) gradient differs from the stored one by \(worst) (largest entry \(scale))")
        }
        let storedParameters = try #require(stored["parameters"] as? [Double])
        // JSON keeps a Float's value to within a Double's last digits; read back as Float, it is the same.
        #expect(storedParameters.map(Float.init) == (fields["parameters"] as? [Double])?.map(Float.init), "\(name): the stored weights are the ones this test builds")
    }
}
