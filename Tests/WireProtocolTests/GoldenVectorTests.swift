import Policy
import Foundation
import NeuralNetwork
import Specs
import Testing
@testable import WireProtocol

/// The encoded messages in `python/tests/golden/`, one `.bin` per message beside a `.json` of its
/// fields: this suite checks that the Swift encoder produces every `.bin` byte for byte, and the
/// Python package's tests check its own codec against the same files, so the two cannot drift.
/// `DDPG_WRITE_GOLDEN=1 swift test --filter GoldenVectorTests` rewrites them after a protocol change.
enum GoldenVectors {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("python/tests/golden")

    static let mountainCar = EnvironmentSpec(id: "MountainCarContinuous-v0", observationLow: [-1.2, -0.07], observationHigh: [0.6, 0.07],
                                             actionLow: [-1], actionHigh: [1], rewardRange: Float(-0.1).nextDown...100, maxEpisodeSteps: 999)
    /// Two action dimensions with different bounds, and an unbounded observation.
    static let wide = EnvironmentSpec(id: "Wide-v0", observationLow: [-.infinity, -1, 0], observationHigh: [.infinity, 1, 5],
                                      actionLow: [-1, 0], actionHigh: [1, 4], rewardLow: -.infinity, rewardHigh: .infinity, maxEpisodeSteps: 1_000)

    /// A Discrete(2) action space, as CartPole's (protocol 7).
    static let cartPole = EnvironmentSpec(id: "CartPole-v1", observationLow: [-4.8, -.infinity, -0.41887903, -.infinity],
                                          observationHigh: [4.8, .infinity, 0.41887903, .infinity], discreteActions: 2,
                                          rewardRange: 1...1, maxEpisodeSteps: 500)

    static func json(_ spec: EnvironmentSpec) -> [String: Any] {
        func floats(_ values: [Float]) -> [Any] { values.map { $0.isFinite ? Double($0) as Any : ($0 > 0 ? "inf" : "-inf") as Any } }
        var fields: [String: Any] = [
            "id": spec.id, "observation_low": floats(spec.observationLow), "observation_high": floats(spec.observationHigh),
            "action_low": floats(spec.actionLow), "action_high": floats(spec.actionHigh),
            "reward_low": floats([spec.rewardLow])[0], "reward_high": floats([spec.rewardHigh])[0], "max_episode_steps": spec.maxEpisodeSteps,
        ]
        if let n = spec.discreteActions { fields["discrete_actions"] = n }
        return fields
    }

    /// The spec a vector's message is decoded against.
    static func spec(of name: String) -> EnvironmentSpec {
        switch name {
        case "hello_evaluator": wide
        case "hello_discrete", "weights_categorical", "weights_value_network", "gradient": cartPole
        case _ where name.hasPrefix("weights"): weightsSpec
        default: mountainCar
        }
    }

    /// Every message, as (name, fields, bytes).
    static func all() -> [(name: String, fields: [String: Any], bytes: [UInt8])] {
        var encoder = MessageEncoder()
        var result: [(String, [String: Any], [UInt8])] = []
        for (name, role, spec) in [("hello_actor", WorkerRole.actor, mountainCar), ("hello_evaluator", WorkerRole.evaluator, wide),
                                   ("hello_discrete", WorkerRole.actor, cartPole)] {
            // An evaluator shows its token: "golden-token", zero-padded to 32 bytes.
            let token = role == .evaluator ? EvaluatorToken(secret: "golden-token")! : .none
            let hello = Hello(workerId: 42, session: 0xDEAD_BEEF, role: role, environmentCount: 8, seed: 99, nextSequence: 1_234, spec: spec,
                              token: token)
            var fields: [String: Any] = ["kind": "hello", "worker_id": 42, "session": 0xDEAD_BEEF, "role": role.name, "environment_count": 8,
                                         "seed": 99, "next_sequence": 1_234, "spec": json(spec)]
            if role == .evaluator { fields["token"] = "golden-token" }
            result.append((name, fields, encoder.encode(hello)))
        }
        let observations: [Float] = [-1.0, 0.05, 0.25, -0.07], next: [Float] = [-0.5, 0.0125, 0.3, 0.01]
        let actions: [Float] = [0.75, -1], rewards: [Float] = [-0.05625, 100], terminated: [UInt8] = [0, 1], truncated: [UInt8] = [1, 0]
        // A 2-step row (γ² for γ = 0.99) and a terminated one.
        let discounts: [Float] = [0.9801, 0]
        let header = TransitionsHeader(workerId: 3, session: 0x5E55, observationSize: 2, actionSize: 1, sequence: 77, weightsVersion: 12, count: 2,
                                       receipt: 0xFEED_0000_BEEF)
        let transitions = observations.withUnsafeBufferPointer { o in actions.withUnsafeBufferPointer { a in rewards.withUnsafeBufferPointer { r in
            next.withUnsafeBufferPointer { n in terminated.withUnsafeBufferPointer { t in truncated.withUnsafeBufferPointer { u in
                discounts.withUnsafeBufferPointer { d in
                    encoder.encodeTransitions(header, observations: o, actions: a, rewards: r, nextObservations: n, terminated: t, truncated: u,
                                              discounts: d)
                }
            } } } } } }
        result.append(("transitions", ["kind": "transitions", "worker_id": 3, "session": 0x5E55, "sequence": 77, "weights_version": 12,
                                        "receipt": 0xFEED_0000_BEEF,
                                        "observation_size": 2, "action_size": 1, "observations": observations.map(Double.init),
                                        "actions": actions.map(Double.init), "rewards": rewards.map(Double.init), "discounts": discounts.map(Double.init),
                                        "next_observations": next.map(Double.init), "terminated": [false, true], "truncated": [true, false]],
                       transitions))
        result.append(segmentVector(&encoder))
        result.append(("episode", ["kind": "episode", "worker_id": 3, "session": 0x5E55, "length": 999, "return": 93.25, "weights_version": 12],
                       encoder.encode(EpisodeReport(workerId: 3, session: 0x5E55, length: 999, episodeReturn: 93.25, weightsVersion: 12))))
        result.append(("worker_status", ["kind": "worker_status", "worker_id": 3, "session": 0x5E55, "final": true, "transitions_sent": 123_456,
                                         "episodes": 120, "messages_sent": 2_000],
                       encoder.encode(WorkerStatus(workerId: 3, session: 0x5E55, isFinal: true, transitionsSent: 123_456, episodes: 120,
                                                   messagesSent: 2_000))))
        let publication = Publication(version: 31, updates: 7_750, envSteps: 8_000)
        result.append(("evaluation", ["kind": "evaluation", "worker_id": 9, "session": 0xE7A1, "final": false, "weights_version": 31,
                                      "updates": 7_750, "env_steps": 8_000, "returns": [93.5, -12.25], "lengths": [120, 999],
                                      "nonce": 0x0123_4567_89AB_CDEF],
                       encoder.encode(EvaluationReport(workerId: 9, session: 0xE7A1, isFinal: false, nonce: 0x0123_4567_89AB_CDEF, publication: publication,
                                                       returns: [93.5, -12.25], lengths: [120, 999]))))
        let shape = ActorShape(layerSizes: [3, 4, 2], actionLow: [-1, 0], actionHigh: [1, 4])
        let parameters = (0..<shape.parameterCount).map { Float($0 - 13) / 8 }
        for (name, request) in [("weights", nil), ("weights_evaluation_request", EvaluationRequest(mark: 8_000, episodes: 50, seed: 1_000_003, isFinal: true))] {
            var fields: [String: Any] = ["kind": "weights", "version": 31, "learner_id": 0xABCD_EF01_2345, "published_at_ns": 1_700_000_000_123_456_789,
                                         "updates": 7_750, "env_steps": 8_000, "layer_sizes": [3, 4, 2], "action_low": [-1.0, 0.0],
                                         "action_high": [1.0, 4.0], "parameters": parameters.map(Double.init)]
            if let request {
                fields["evaluation_request"] = ["mark": request.mark, "episodes": request.episodes, "seed": request.seed, "final": request.isFinal]
            }
            let bytes = parameters.withUnsafeBufferPointer {
                encoder.encodeWeights(publication, learnerId: 0xABCD_EF01_2345, publishedAtNanoseconds: 1_700_000_000_123_456_789, shape: shape,
                                      evaluationRequest: request, parameters: $0)
            }
            result.append((name, fields, bytes))
        }
        result.append(normalizedActorVector(&encoder, publication))
        result.append(gaussianActorVector(&encoder, publication))
        result.append(observationNormalizationVector(&encoder, publication))
        result.append(onPolicyActorVector(&encoder, publication, head: .categorical))
        result.append(onPolicyActorVector(&encoder, publication, head: .gaussian))
        result.append(valueNetworkVector(&encoder, publication))
        result.append(gradientVector(&encoder))
        let announce = Announce(learnerId: 0xABCD_EF01_2345, weightsVersion: 31, maxTransitionsPerMessage: 4_096, credit: 96)
        result.append(("announce", ["kind": "announce", "learner_id": 0xABCD_EF01_2345, "weights_version": 31, "max_transitions_per_message": 4_096,
                                    "credit": 96],
                       encoder.encode(announce)))
        let acknowledgement = Acknowledgement(learnerId: 0xABCD_EF01_2345, workerId: 3, session: 0x5E55, nextSequence: 78, credit: 96,
                                              receipt: 0xFEED_0000_BEEF)
        result.append(("acknowledgement", ["kind": "acknowledgement", "learner_id": 0xABCD_EF01_2345, "worker_id": 3, "session": 0x5E55,
                                           "next_sequence": 78, "credit": 96, "receipt": 0xFEED_0000_BEEF],
                       encoder.encode(acknowledgement)))
        let ticket = EvaluationTicket(mark: 8_000, isFinal: true, nonce: 0x0123_4567_89AB_CDEF)
        result.append(("acknowledgement_ticket", ["kind": "acknowledgement", "learner_id": 0xABCD_EF01_2345, "worker_id": 9, "session": 0xE7A1,
                                                  "next_sequence": 0, "credit": 0,
                                                  "ticket": ["mark": 8_000, "final": true, "nonce": 0x0123_4567_89AB_CDEF]],
                       encoder.encode(Acknowledgement(learnerId: 0xABCD_EF01_2345, workerId: 9, session: 0xE7A1, nextSequence: 0, credit: 0,
                                                      ticket: ticket))))
        result.append(("shutdown", ["kind": "shutdown"], encoder.encodeShutdown()))
        return result
    }

    /// A batch-normalized [3, 4, 2] actor, with the actions the Swift actor takes for three observations:
    /// the Python package's actor must take the same ones from the same bytes.
    static func normalizedActorVector(_ encoder: inout MessageEncoder, _ publication: Publication) -> (String, [String: Any], [UInt8]) {
        let network = MLP(Actor.architecture(observationSize: 3, actionSize: 2, hiddenSizes: [4], normalization: .batch))
        for i in 0..<network.parameters.count { network.parameters.values[i] = Float((i * 7) % 19 - 9) / 8 }
        for i in 0..<4 { network.statistics.values[i] = Float(i) / 4 - 0.3 }          // running means
        for i in 4..<8 { network.statistics.values[i] = Float(i) / 5 }                // running variances
        let actor = Actor(network: network, actionLow: [-1, 0], actionHigh: [1, 4])
        let observations: [Float] = [0.5, -0.25, 1, -1, 0, 0.75, 0.1, 0.2, -0.3]
        var actions = [Float](repeating: 0, count: 6)
        actor.act(observations: observations, count: 3, actions: &actions)
        let shape = ActorShape(layerSizes: [3, 4, 2], actionLow: [-1, 0], actionHigh: [1, 4], normalization: .batch)
        let state = network.state
        let bytes = state.withUnsafeBufferPointer {
            encoder.encodeWeights(publication, learnerId: 0xABCD_EF01_2345, publishedAtNanoseconds: 1_700_000_000_123_456_789, shape: shape,
                                  parameters: $0)
        }
        let fields: [String: Any] = ["kind": "weights", "version": 31, "learner_id": 0xABCD_EF01_2345, "published_at_ns": 1_700_000_000_123_456_789,
                                     "updates": 7_750, "env_steps": 8_000, "layer_sizes": [3, 4, 2], "action_low": [-1.0, 0.0],
                                     "action_high": [1.0, 4.0], "parameters": state.map(Double.init), "normalization": "batch",
                                     "probe_observations": observations.map(Double.init), "probe_actions": actions.map(Double.init)]
        return ("weights_batch_norm", fields, bytes)
    }

    /// A [3, 4, 4] squashed-Gaussian actor (SAC's: a mean and a log-std parameter per action), with the actions the
    /// Swift actor plays for three observations (the means, squashed): the Python package's actor must play the same.
    static func gaussianActorVector(_ encoder: inout MessageEncoder, _ publication: Publication) -> (String, [String: Any], [UInt8]) {
        let network = MLP(Actor.architecture(observationSize: 3, actionSize: 2, hiddenSizes: [4], head: .squashedGaussian))
        for i in 0..<network.parameters.count { network.parameters.values[i] = Float((i * 5) % 17 - 8) / 8 }
        let actor = Actor(network: network, head: .squashedGaussian, actionLow: [-1, 0], actionHigh: [1, 4])
        let observations: [Float] = [0.5, -0.25, 1, -1, 0, 0.75, 0.1, 0.2, -0.3]
        var actions = [Float](repeating: 0, count: 6)
        actor.act(observations: observations, count: 3, actions: &actions)
        let shape = actor.shape
        let parameters = network.parameters.toArray()
        let bytes = parameters.withUnsafeBufferPointer {
            encoder.encodeWeights(publication, learnerId: 0xABCD_EF01_2345, publishedAtNanoseconds: 1_700_000_000_123_456_789, shape: shape,
                                  parameters: $0)
        }
        let fields: [String: Any] = ["kind": "weights", "version": 31, "learner_id": 0xABCD_EF01_2345, "published_at_ns": 1_700_000_000_123_456_789,
                                     "updates": 7_750, "env_steps": 8_000, "layer_sizes": [3, 4, 4], "action_low": [-1.0, 0.0],
                                     "action_high": [1.0, 4.0], "parameters": parameters.map(Double.init), "head": "squashed_gaussian",
                                     "probe_observations": observations.map(Double.init), "probe_actions": actions.map(Double.init)]
        return ("weights_squashed_gaussian", fields, bytes)
    }

    /// The [3, 4, 2] deterministic actor of ``all()`` with an observation normalization (protocol 8) whose clip
    /// of 2 binds on one probe value, and the actions the Swift actor takes: the Python package's must match.
    static func observationNormalizationVector(_ encoder: inout MessageEncoder, _ publication: Publication) -> (String, [String: Any], [UInt8]) {
        let network = MLP(Actor.architecture(observationSize: 3, actionSize: 2, hiddenSizes: [4]))
        for i in 0..<network.parameters.count { network.parameters.values[i] = Float((i * 3) % 11 - 5) / 6 }
        let actor = Actor(network: network, actionLow: [-1, 0], actionHigh: [1, 4])
        let normalization = ObservationNormalization(mean: [0.25, -0.5, 2], standardDeviation: [0.5, 2, 0.125], clip: 2)
        actor.observationNormalization = normalization
        let observations: [Float] = [0.5, -0.25, 1, -1, 0, 2.1, 0.1, 0.2, -0.3]
        var actions = [Float](repeating: 0, count: 6)
        actor.act(observations: observations, count: 3, actions: &actions)
        let parameters = network.parameters.toArray()
        let bytes = parameters.withUnsafeBufferPointer {
            encoder.encodeWeights(publication, learnerId: 0xABCD_EF01_2345, publishedAtNanoseconds: 1_700_000_000_123_456_789, shape: actor.shape,
                                  parameters: $0, observationScaling: normalization.scaling)
        }
        let fields: [String: Any] = ["kind": "weights", "version": 31, "learner_id": 0xABCD_EF01_2345, "published_at_ns": 1_700_000_000_123_456_789,
                                     "updates": 7_750, "env_steps": 8_000, "layer_sizes": [3, 4, 2], "action_low": [-1.0, 0.0],
                                     "action_high": [1.0, 4.0], "parameters": parameters.map(Double.init),
                                     "observation_normalization": ["mean": normalization.mean.map(Double.init),
                                                                   "std": normalization.standardDeviation.map(Double.init), "clip": 2.0],
                                     "probe_observations": observations.map(Double.init), "probe_actions": actions.map(Double.init)]
        return ("weights_observation_normalization", fields, bytes)
    }
}

extension GoldenVectors {
    /// Two environments' two steps of MountainCarContinuous (Gaussian draws, one beyond the bounds as a
    /// draw may be): the second environment's first step is truncated, and carries its last observation.
    static func segmentVector(_ encoder: inout MessageEncoder) -> (String, [String: Any], [UInt8]) {
        let observations: [Float] = [-0.5, 0.01, -0.45, 0.02, 0.3, -0.05, -0.6, 0]
        let actions: [Float] = [0.5, -1.5, 2, 0.25], rewards: [Float] = [-0.025, -0.1, -0.1, -0.00625]
        let logProbabilities: [Float] = [-1.0439385, -2.0439385, -2.9189386, -0.9501885]
        let bootstrap: [Float] = [-0.4, 0.03, -0.58, 0.004], cut: [Float] = [0.35, -0.04]
        let terminated: [UInt8] = [0, 0, 0, 0], truncated: [UInt8] = [0, 0, 1, 0]
        let header = SegmentHeader(workerId: 3, session: 0x5E55, observationSize: 2, actionSize: 1, environments: 2, steps: 2, sequence: 78,
                                   weightsVersion: 12, truncations: 1, receipt: 0xFEED_0000_BEEF)
        let bytes = observations.withUnsafeBufferPointer { o in actions.withUnsafeBufferPointer { a in rewards.withUnsafeBufferPointer { r in
            logProbabilities.withUnsafeBufferPointer { l in bootstrap.withUnsafeBufferPointer { b in cut.withUnsafeBufferPointer { c in
                terminated.withUnsafeBufferPointer { t in truncated.withUnsafeBufferPointer { u in
                    encoder.encodeSegment(header, observations: o, actions: a, rewards: r, logProbabilities: l, bootstrapObservations: b,
                                          truncationObservations: c, terminated: t, truncated: u)
                } }
            } } } } } }
        func doubles(_ values: [Float]) -> [Double] { values.map(Double.init) }
        let fields: [String: Any] = [
            "kind": "segment", "worker_id": 3, "session": 0x5E55, "sequence": 78, "weights_version": 12, "receipt": 0xFEED_0000_BEEF,
            "observation_size": 2, "action_size": 1, "steps": 2, "observations": doubles(observations), "actions": doubles(actions),
            "rewards": doubles(rewards), "log_probabilities": doubles(logProbabilities), "bootstrap_observations": doubles(bootstrap),
            "truncation_observations": doubles(cut), "terminated": terminated.map { $0 == 1 }, "truncated": truncated.map { $0 == 1 },
        ]
        return ("segment", fields, bytes)
    }

    /// An on-policy [O, 4, …] actor with tanh hidden layers (protocol 7), with the actions the Swift actor plays for
    /// three observations (a categorical's most likely index; a Gaussian's mean, clipped): the Python package's must play the same.
    static func onPolicyActorVector(_ encoder: inout MessageEncoder, _ publication: Publication, head: PolicyHead)
        -> (String, [String: Any], [UInt8]) {
        let spec = head == .categorical ? cartPole : weightsSpec
        let o = spec.observationSize
        let network = MLP(Actor.architecture(observationSize: o, actionLow: spec.actionLow, actionHigh: spec.actionHigh, hiddenSizes: [4],
                                             hiddenActivation: .tanh, head: head))
        for i in 0..<network.parameters.count { network.parameters.values[i] = Float((i * 5) % 17 - 8) / 8 }
        let actor = Actor(network: network, head: head, actionLow: spec.actionLow, actionHigh: spec.actionHigh)
        let observations: [Float] = (0..<(3 * o)).map { Float(($0 * 7) % 11 - 5) / 4 }
        var actions = [Float](repeating: 0, count: 3 * spec.actionSize)
        actor.act(observations: observations, count: 3, actions: &actions)
        let parameters = network.parameters.toArray()
        let bytes = parameters.withUnsafeBufferPointer {
            encoder.encodeWeights(publication, learnerId: 0xABCD_EF01_2345, publishedAtNanoseconds: 1_700_000_000_123_456_789, shape: actor.shape,
                                  parameters: $0)
        }
        let name = head == .categorical ? "categorical" : "gaussian"
        let fields: [String: Any] = ["kind": "weights", "version": 31, "learner_id": 0xABCD_EF01_2345, "published_at_ns": 1_700_000_000_123_456_789,
                                     "updates": 7_750, "env_steps": 8_000, "layer_sizes": actor.shape.layerSizes,
                                     "action_low": spec.actionLow.map(Double.init), "action_high": spec.actionHigh.map(Double.init),
                                     "parameters": parameters.map(Double.init), "head": name, "hidden_activation": "tanh",
                                     "probe_observations": observations.map(Double.init), "probe_actions": actions.map(Double.init)]
        return ("weights_\(name)", fields, bytes)
    }
}

@Suite("Golden vectors shared with the Python package")
struct GoldenVectorTests {
    @Test("every message in python/tests/golden is what the Swift encoder produces, byte for byte, and decodes")
    func golden() throws {
        let vectors = GoldenVectors.all()
        if ProcessInfo.processInfo.environment["DDPG_WRITE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: GoldenVectors.directory, withIntermediateDirectories: true)
            for (name, fields, bytes) in vectors {
                try Data(bytes).write(to: GoldenVectors.directory.appendingPathComponent("\(name).bin"))
                let json = try JSONSerialization.data(withJSONObject: fields, options: [.prettyPrinted, .sortedKeys])
                try json.write(to: GoldenVectors.directory.appendingPathComponent("\(name).json"))
            }
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: GoldenVectors.directory.path).filter { $0.hasSuffix(".bin") }
        #expect(Set(files) == Set(vectors.map { "\($0.name).bin" }), "one file per vector, none stale")
        for (name, _, bytes) in vectors {
            let file = try Data(contentsOf: GoldenVectors.directory.appendingPathComponent("\(name).bin"))
            #expect(Array(file) == bytes, "\(name).bin")
            let kind = bytes.withUnsafeBytes { WireFormat.kind(of: $0) } ?? .hello
            // The transitions vector has a 2-step row; the segment goes to an on-policy learner.
            let dataKind: MessageKind = kind == .segment || kind == .gradient ? kind : .transitions
            let expected = ExpectedShapes(spec: GoldenVectors.spec(of: name), nStep: 2, dataKind: dataKind,
                                          gradients: kind == .gradient ? GoldenVectors.gradientLimits : nil)
            let decoder = MessageDecoder(expected: expected, accepting: kind.direction)
            #expect(throws: Never.self, "\(name) decodes") { _ = try file.withUnsafeBytes { try decoder.decode($0) } }
        }
    }
}

extension GoldenVectors {
    /// A3C's weights for CartPole: a [4, 3, 2] categorical actor and a [4, 3, 1] value network after it (protocol 7).
    static func valueNetworkVector(_ encoder: inout MessageEncoder, _ publication: Publication) -> (String, [String: Any], [UInt8]) {
        let shape = ActorShape(layerSizes: [4, 3, 2], actionLow: [0], actionHigh: [1], hiddenActivation: .tanh, head: .categorical)
        let parameters = (0..<shape.parameterCount).map { Float(($0 * 5) % 17 - 8) / 8 }
        let value = (0..<19).map { Float(($0 * 3) % 13 - 6) / 4 }
        let bytes = parameters.withUnsafeBufferPointer { p in value.withUnsafeBufferPointer { v in
            encoder.encodeWeights(publication, learnerId: 0xABCD_EF01_2345, publishedAtNanoseconds: 1_700_000_000_123_456_789, shape: shape,
                                  parameters: p, valueNetwork: (layerSizes: [4, 3, 1], parameters: v))
        } }
        let fields: [String: Any] = ["kind": "weights", "version": 31, "learner_id": 0xABCD_EF01_2345, "published_at_ns": 1_700_000_000_123_456_789,
                                     "updates": 7_750, "env_steps": 8_000, "layer_sizes": [4, 3, 2], "action_low": [0.0], "action_high": [1.0],
                                     "parameters": parameters.map(Double.init), "head": "categorical", "hidden_activation": "tanh",
                                     "value_layer_sizes": [4, 3, 1], "value_parameters": value.map(Double.init)]
        return ("weights_value_network", fields, bytes)
    }

    /// What the golden gradient fits: the value-network vector's two networks.
    static let gradientLimits = GradientLimits(policyParameters: 23, valueParameters: 19, maxNorm: 1e6, maxStaleness: 8)

    /// An A3C worker's gradient of those two networks, computed at version 12 on 2 × 5 steps.
    static func gradientVector(_ encoder: inout MessageEncoder) -> (String, [String: Any], [UInt8]) {
        let policy = (0..<23).map { Float($0 - 11) / 64 }, value = (0..<19).map { Float(9 - $0) / 32 }
        let header = GradientHeader(workerId: 3, session: 0x5E55, sequence: 79, weightsVersion: 12, rows: 10, policyParameters: 23,
                                    valueParameters: 19, receipt: 0xFEED_0000_BEEF, policyLoss: -0.125, valueLoss: 42.5, entropy: 0.6875,
                                    explainedVariance: 0.25)
        let bytes = (policy + value).withUnsafeBufferPointer { encoder.encodeGradient(header, values: $0) }
        let fields: [String: Any] = ["kind": "gradient", "worker_id": 3, "session": 0x5E55, "sequence": 79, "weights_version": 12, "rows": 10,
                                     "receipt": 0xFEED_0000_BEEF, "policy": policy.map(Double.init), "value": value.map(Double.init),
                                     "policy_loss": -0.125, "value_loss": 42.5, "entropy": 0.6875, "explained_variance": 0.25]
        return ("gradient", fields, bytes)
    }

    /// What the golden weights' actor fits: 3 observations, 2 actions in [−1, 1] and [0, 4].
    static let weightsSpec = EnvironmentSpec(id: "Wide-v0", observationLow: [-1, -1, -1], observationHigh: [1, 1, 1], actionLow: [-1, 0],
                                             actionHigh: [1, 4], rewardRange: -1...1, maxEpisodeSteps: 1_000)
}
