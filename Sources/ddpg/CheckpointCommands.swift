import ArgumentParser
import Agents
import Checkpoint
import Environments
import Evaluation
import Foundation
import NeuralNetwork
import Plotting
import Policy
import Randomness
import RunConfiguration
import RunRecords

/// A checkpoint named on the command line: a file, or a run directory (its newest valid checkpoint).
struct CheckpointArgument: ParsableArguments {
    @Argument(help: "A checkpoint file, or a run directory (its newest valid checkpoint is used).")
    var checkpoint: String

    func load() throws -> (checkpoint: LearnerCheckpoint, agent: any LearningAgent, file: URL) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: checkpoint, isDirectory: &isDirectory) else {
            throw ValidationError("\(checkpoint): no such checkpoint file or run directory")
        }
        let file: URL
        let loaded: LearnerCheckpoint
        if isDirectory.boolValue {
            let store = CheckpointStore(directory: CheckpointStore.directory(ofRun: URL(fileURLWithPath: checkpoint)))
            guard let found = store.latestValid(validate: { checkpoint throws(CheckpointError) in _ = try checkpoint.makeAgent() }) else {
                throw ValidationError("\(checkpoint): no valid checkpoint in \(store.directory.path)")
            }
            for (skipped, error) in found.skipped {
                FileHandle.standardError.write(Data("warning: \(skipped.path): \(error); using an older checkpoint\n".utf8))
            }
            (loaded, file) = (found.checkpoint, found.file)
        } else {
            file = URL(fileURLWithPath: checkpoint)
            do {
                loaded = try CheckpointStore.load(file)
            } catch {
                throw ValidationError("\(file.path): \(error)")
            }
        }
        do {
            return (loaded, try loaded.makeAgent(), file)
        } catch {
            throw ValidationError("\(file.path): \(error)")
        }
    }
}

extension CheckpointHeader {
    /// The native environment this checkpoint was trained on, checked against the spec it recorded.
    func nativeEnvironment(file: URL) throws -> any Environment.Type {
        guard let type = NativeEnvironments.type(named: environment) else {
            throw ValidationError("\(file.path): trained on \(environment), which is not a native environment (\(NativeEnvironments.ids.joined(separator: ", ")))")
        }
        let native = type.init().spec
        if let spec, spec != native {
            throw ValidationError("\(file.path): trained on \(spec), but this build's \(environment) is \(native)")
        }
        return type
    }
}

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a checkpoint's actor: deterministic episodes (no noise), mean ± std and min/max of the return."
    )

    @OptionGroup var source: CheckpointArgument

    @Option(parsing: .unconditional, help: "Episodes to run.")
    var episodes = 50

    @Option(parsing: .unconditional, help: "Seed of the episodes' initial states (episode i uses stream i).")
    var seed: UInt64 = 12_345

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func validate() throws {
        guard (1...100_000).contains(episodes) else { throw ValidationError("--episodes: must be in 1...100000, got \(episodes)") }
    }

    func run() throws {
        let (checkpoint, agent, file) = try source.load()
        let returns = Self.returns(of: agent.actor, on: try checkpoint.header.nativeEnvironment(file: file), episodes: episodes, seed: seed)
        let mean = returns.reduce(0, +) / Double(returns.count)
        let std = (returns.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(returns.count)).squareRoot()
        let h = checkpoint.header
        if json {
            let document: [String: Any] = [
                "checkpoint": file.path, "environment": h.environment, "env_steps": h.envSteps, "updates": h.updates,
                "episodes": episodes, "seed": seed, "mean_return": mean, "std_return": std,
                "min_return": returns.min()!, "max_return": returns.max()!, "returns": returns,
            ]
            let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("\(file.path): \(h.environment), \(h.envSteps) env steps, \(h.updates) updates")
            print("\(episodes) episodes, seed \(seed): mean \(format(mean)) ± \(format(std)), min \(format(returns.min()!)), max \(format(returns.max()!))")
        }
    }
}

extension EvalCommand {
    static func returns<Env: Environment>(of actor: Actor, on _: Env.Type, episodes: Int, seed: UInt64) -> [Double] {
        Evaluator(seed: seed) { Env() }.returns(of: actor, episodes: episodes)
    }
}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a checkpoint's actor alone as JSON (layer shapes, weights, action bound), to load anywhere.",
        discussion: "The format is specified in docs/CHECKPOINTS.md, with a NumPy loader."
    )

    @OptionGroup var source: CheckpointArgument

    @Option(parsing: .unconditional, help: "Output file.")
    var out = "actor.json"

    func run() throws {
        let (checkpoint, agent, _) = try source.load()
        let document = ActorExport.document(actor: agent.actor, header: checkpoint.header)
        let data = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
        try writeOutput(data, to: out)
        print(out)
    }
}

/// The `ddpg-actor` JSON document: y = x·W + b layer by layer, ReLU between, tanh at the end mapped onto
/// [action_low, action_high] per dimension (version 2; version 1 had one symmetric `action_bound`, still written).
/// A normalized hidden layer also has `normalization` ("layer" or "batch"), `gain` and `shift`, and for batch
/// normalization `running_mean` and `running_variance`: z = x·W + b, ẑ = (z − mean) / √(variance + 1e-5), y = ReLU(gain · ẑ + shift).
/// A squashed Gaussian policy is written as the policy evaluations play, its mean: the last layer keeps the mean's
/// columns under tanh, and `log_std_layer` holds the log-std columns for whoever wants to sample. The on-policy heads
/// (a2c) have tanh hidden layers and an `identity` last layer: a categorical's logits (act with the largest), or a
/// Gaussian's means (act with them clipped to the bounds; `log_std` has its state-independent log σ). An actor trained
/// with `--normalize-observations` has `observation_normalization`: `mean`, `std` and `clip`, x = clip((o − mean) / std, ±clip)
/// before the first layer.
enum ActorExport {
    static func document(actor: Actor, header: CheckpointHeader) -> [String: Any] {
        document(actor: actor).merging(["environment": header.environment, "env_steps": header.envSteps, "updates": header.updates,
                                        "weights_version": header.weightsVersion]) { _, provenance in provenance }
    }

    /// The policy's part of the document.
    static func document(actor: Actor) -> [String: Any] {
        let network = actor.network
        let parameters = network.parameters.toArray()
        /// The columns `columns` of a dense layer: its weights as `in` rows, its biases.
        func dense(_ layer: DenseLayer, columns: Range<Int>, activation: String) -> [String: Any] {
            let weights = (0..<layer.inputSize).map { row in columns.map { Double(parameters[layer.weightOffset + row * layer.outputSize + $0]) } }
            return ["weights": weights, "bias": columns.map { Double(parameters[layer.biasOffset + $0]) }, "activation": activation]
        }
        var layers: [[String: Any]] = network.layers.dropLast().map { layer in
            var entry = dense(layer, columns: 0..<layer.outputSize, activation: layer.activation.rawValue)
            if layer.normalization != .none {
                let m = layer.outputSize
                entry["normalization"] = layer.normalization.rawValue
                entry["gain"] = (0..<m).map { Double(parameters[layer.scaleOffset + $0]) }
                entry["shift"] = (0..<m).map { Double(parameters[layer.scaleOffset + m + $0]) }
                if layer.normalization == .batch {
                    let statistics = network.statistics.values + layer.statisticsOffset
                    entry["running_mean"] = (0..<m).map { Double(statistics[$0]) }
                    entry["running_variance"] = (0..<m).map { Double(statistics[m + $0]) }
                }
            }
            return entry
        }
        // The action layer: all of it for a deterministic actor; a squashed Gaussian's mean columns, which is what evaluations play;
        // a categorical's logits (evaluations play the largest); a Gaussian's means (evaluations play them clipped to the bounds).
        let output = network.layers[network.layers.count - 1], a = actor.actionSize
        switch actor.head {
        case .categorical: layers.append(dense(output, columns: 0..<output.outputSize, activation: "identity"))
        case .gaussian: layers.append(dense(output, columns: 0..<a, activation: "identity"))
        case .deterministic, .squashedGaussian: layers.append(dense(output, columns: 0..<a, activation: "tanh"))
        }
        var document: [String: Any] = [
            "format": "ddpg-actor", "version": 2, "head": actor.head.rawValue,
            "observation_size": actor.observationSize, "action_size": a, "action_bound": Double(actor.actionBound),
            "action_low": actor.actionLow.map(Double.init), "action_high": actor.actionHigh.map(Double.init),
            "layer_sizes": [network.layers[0].inputSize] + network.layers.dropLast().map(\.outputSize)
                + [actor.head == .categorical ? output.outputSize : a], "layers": layers,
        ]
        if actor.head == .gaussian {
            // State-independent: the log σ outputs' weights are held at zero, so their biases are log σ.
            document["log_std"] = (a..<(2 * a)).map { Double(parameters[output.biasOffset + $0]) }
        }
        if let normalization = actor.observationNormalization {
            // Applied to the observation before the first layer: x = clip((o − mean) / std, ±clip).
            document["observation_normalization"] = ["mean": normalization.mean.map(Double.init),
                                                     "std": normalization.standardDeviation.map(Double.init), "clip": Double(normalization.clip)]
        }
        if actor.head == .squashedGaussian {
            var logStd = dense(output, columns: a..<(2 * a), activation: "tanh")
            logStd["log_std_min"] = Double(SquashedGaussian.logStdMin)
            logStd["log_std_max"] = Double(SquashedGaussian.logStdMax)
            document["log_std_layer"] = logStd
        }
        return document
    }
}

struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Animate one episode of a checkpoint's actor as GIF or SVG: the pendulum, the torque, the running return.",
        discussion: "Both play in real time (50 ms a step): the GIF anywhere, the SVG in any web browser. --frame N writes a still of step N instead."
    )

    @OptionGroup var source: CheckpointArgument

    @Option(parsing: .unconditional, help: "Output file: .gif or .svg.")
    var out = "swing.gif"

    @Option(parsing: .unconditional, help: "Seed of the episode's initial state (the same as episode 0 of `ddpg eval --seed`).")
    var seed: UInt64 = 12_345

    @Option(parsing: .unconditional, help: "Write a still of this step (1-based) instead of the animation.")
    var frame: Int?

    func validate() throws {
        guard out.lowercased().hasSuffix(".svg") || out.lowercased().hasSuffix(".gif") else {
            throw ValidationError("--out: '\(out)' must end in .gif or .svg")
        }
        let steps = Pendulum().maxEpisodeSteps
        if let frame, !(1...steps).contains(frame) {
            throw ValidationError("--frame: must be in 1...\(steps), got \(frame)")
        }
    }

    func run() throws {
        let (checkpoint, agent, file) = try source.load()
        guard try checkpoint.header.nativeEnvironment(file: file) == Pendulum.self else {
            throw ValidationError("\(file.path): trained on \(checkpoint.header.environment); render draws \(Pendulum.id) only (use `ddpg eval` for the others)")
        }
        var environment = Pendulum()
        var observation = [Float](repeating: 0, count: environment.observationSize)
        var action = [Float](repeating: 0, count: environment.actionSize)
        var generator = Xoshiro256(seed: seed, stream: 0)
        environment.reset(using: &generator, observation: &observation)
        var frames: [PendulumFrame] = []
        var total = 0.0
        while true {
            agent.actor.act(observations: observation, count: 1, actions: &action)
            let result = environment.step(action, observation: &observation)
            total += result.reward
            frames.append(PendulumFrame(theta: atan2(Double(observation[1]), Double(observation[0])),
                                        torque: Double(max(-environment.actionBound, min(environment.actionBound, action[0]))),
                                        runningReturn: total))
            if result.isDone { break }
        }
        let title = "\(checkpoint.header.environment) · \(checkpoint.header.envSteps) env steps · return \(format(total))"
        let still = frame.map { $0 - 1 }
        let bytes = out.lowercased().hasSuffix(".gif")
            ? Data(SwingUpAnimation.gif(frames, secondsPerStep: Pendulum.dt, maxTorque: Double(environment.actionBound), frame: still))
            : Data(SwingUpAnimation.svg(frames, secondsPerStep: Pendulum.dt, maxTorque: Double(environment.actionBound), title: title, frame: still).utf8)
        try writeOutput(bytes, to: out)
        print("\(out): \(frames.count) steps of \(file.lastPathComponent), return \(format(total))")
    }
}
