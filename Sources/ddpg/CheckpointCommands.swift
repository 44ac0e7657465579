import ArgumentParser
import Agents
import Checkpoint
import Environments
import Evaluation
import Foundation
import NeuralNetwork
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
