import ArgumentParser
import Checkpoint
import Foundation
import NeuralNetwork
import Policy
import Randomness

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a checkpoint's actor alone, to act anywhere: as JSON, or as an ONNX model for onnxruntime and its kin.",
        discussion: """
            JSON (docs/CHECKPOINTS.md, with a NumPy loader) needs nothing else. ONNX is written by the Python package \
            (python -m ddpg_gym.onnx_export, under --python) with the onnx package, and checked with onnxruntime against \
            ddpg's own forward pass on --check-observations observations before it is kept.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case json, onnx
    }

    @OptionGroup var source: CheckpointArgument

    @Option(parsing: .unconditional, help: "json or onnx (default: onnx if --out ends in .onnx, else json).")
    var format: Format?

    @Option(parsing: .unconditional, help: "Output file (default: actor.json or actor.onnx).")
    var out: String?

    @Option(parsing: .unconditional, help: "ONNX: the interpreter with the ddpg_gym, onnx and onnxruntime packages.")
    var python = "python3"

    @Option(parsing: .unconditional, help: "ONNX: observations the model is checked on against ddpg's forward pass (0: no check).")
    var checkObservations = 1_000

    func validate() throws {
        guard checkObservations >= 0 && checkObservations <= 1_000_000 else {
            throw ValidationError("--check-observations: must be in 0...1000000, got \(checkObservations)")
        }
        let suffix = out.map { URL(fileURLWithPath: $0).pathExtension.lowercased() }
        if let format, let suffix, (format == .onnx && suffix == "json") || (format == .json && suffix == "onnx") {
            throw ValidationError("--out: '\(out!)' is named for the other format than --format \(format.rawValue)")
        }
    }

    var chosenFormat: Format { format ?? (out?.lowercased().hasSuffix(".onnx") == true ? .onnx : .json) }

    func run() throws {
        let (checkpoint, agent, file) = try source.load()
        let format = chosenFormat, out = self.out ?? "actor.\(format.rawValue)"
        var document = ActorExport.document(actor: agent.actor, header: checkpoint.header)
        guard format == .onnx else {
            try writeOutput(try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys]), to: out)
            print(out)
            return
        }
        if checkObservations > 0 { document["check"] = ActorExport.check(of: agent.actor, observations: checkObservations) }
        let result = try PythonProcess.run(python: python, module: "ddpg_gym.onnx_export", document: document, name: file.path, arguments: ["--out", out])
        FileHandle.standardError.write(Data(result.standardError.utf8))
        guard result.status == 0 else {
            if result.lacksModule("ddpg_gym.onnx_export") {
                throw ValidationError("--python: '\(python)' has no ddpg_gym package with onnx_export (none, or one older than this ddpg); "
                                      + "install it with `\(python) -m pip install \"./python[onnx]\"`")
            }
            throw ValidationError("--format onnx: \(python) -m ddpg_gym.onnx_export failed (status \(result.status)); its error is above")
        }
        print(result.standardOutput, terminator: "")
        print(out)
    }
}

/// `ddpg act`: a checkpoint's actor on observations from a file, as evaluations play it (no exploration).
struct ActCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "act",
        abstract: "Print the actions a checkpoint's actor takes on observations read from a file (CSV, one observation a line; - for stdin).",
        discussion: "The actions are printed one a line, comma-separated, as evaluations play them: a stochastic policy's mean, a categorical's likeliest choice."
    )

    @OptionGroup var source: CheckpointArgument

    @Option(parsing: .unconditional, help: "The observations: a CSV file, or - for standard input.")
    var observations: String

    func run() throws {
        let (_, agent, _) = try source.load()
        let actor = agent.actor
        let text: String
        do {
            text = observations == "-" ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
                : try String(contentsOfFile: observations, encoding: .utf8)
        } catch {
            throw ValidationError("--observations: cannot read '\(observations)': \(error.localizedDescription)")
        }
        let rows = try ActorExport.parseObservations(text, size: actor.observationSize, source: observations)
        var actions = [Float](repeating: 0, count: rows.count * actor.actionSize)
        if !rows.isEmpty { actor.act(observations: rows.flatMap { $0 }, count: rows.count, actions: &actions) }
        var output = ""
        let indices = actor.head == .categorical
        for row in 0..<rows.count {
            let values = actions[(row * actor.actionSize)..<((row + 1) * actor.actionSize)]
            output += values.map { indices ? "\(Int($0))" : "\($0)" }.joined(separator: ",") + "\n"
        }
        print(output, terminator: "")
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

extension ActorExport {
    /// Observations to check an export on, with the actions ddpg's forward pass takes on them: drawn around the
    /// run's observation statistics when it normalized, else standard normal (seeded, so an export is reproducible).
    static func check(of actor: Actor, observations count: Int) -> [String: Any] {
        let size = actor.observationSize
        var generator = Xoshiro256(seed: 20_261_207, stream: 0)
        let mean = actor.observationNormalization?.mean ?? [Float](repeating: 0, count: size)
        let spread = actor.observationNormalization?.standardDeviation ?? [Float](repeating: 1, count: size)
        let observations = (0..<count * size).map { mean[$0 % size] + spread[$0 % size] * Float(generator.nextGaussian()) }
        var actions = [Float](repeating: 0, count: count * actor.actionSize)
        actor.act(observations: observations, count: count, actions: &actions)
        func rows(_ values: [Float], _ width: Int) -> [[Double]] { (0..<count).map { r in (0..<width).map { Double(values[r * width + $0]) } } }
        return ["observations": rows(observations, size), "actions": rows(actions, actor.actionSize)]
    }

    /// One observation a line, `size` numbers separated by commas or spaces; blank lines and `#` comments skipped.
    static func parseObservations(_ text: String, size: Int, source: String) throws -> [[Float]] {
        var rows: [[Float]] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = content.split { $0 == "," || $0 == " " || $0 == "\t" || $0 == "\r" }
            if fields.isEmpty { continue }
            let values = fields.compactMap { Float($0) }
            guard values.count == fields.count, values.allSatisfy(\.isFinite) else {
                throw ValidationError("--observations: \(source) line \(index + 1): not \(size) finite numbers: '\(content.prefix(80))'")
            }
            guard values.count == size else {
                throw ValidationError("--observations: \(source) line \(index + 1): \(values.count) numbers for an actor of \(size) observation dimensions")
            }
            rows.append(values)
        }
        return rows
    }
}
