import ArgumentParser
import Environments
import Foundation

/// How `launch` runs an environment that is not native: its workers are `ddpg-gym-worker`
/// processes (the `ddpg_gym` package in python/) on gymnasium's implementation of it.
struct PythonWorkers {
    /// The interpreter, as the user named it (`--python`), found on PATH if it has no slash.
    let python: String
    /// What `ddpg-gym-worker --describe` said of the environment.
    let description: GymEnvironmentDescription

    /// Asks `python -m ddpg_gym --env ID --describe` whether this interpreter has the package,
    /// gymnasium and the environment, so that a missing piece is one clear error before anything starts.
    static func probe(python: String, environment: String) throws -> PythonWorkers {
        let result = try PythonProcess.run(python: python, module: "ddpg_gym", arguments: ["--env", environment, "--describe"])
        let stderr = result.standardError
        let lastError = stderr.split(whereSeparator: \.isNewline).last.map(String.init) ?? ""
        guard result.status == 0 else {
            if stderr.contains("No module named ddpg_gym") {
                throw ValidationError("""
                    --env: '\(environment)' is not a native environment (\(NativeEnvironments.ids.joined(separator: ", "))), so launch runs it \
                    with Python workers, but '\(python)' has no ddpg_gym package; install it with \
                    `\(python) -m pip install ./python` (and "gymnasium[mujoco]" for the MuJoCo environments), or name another interpreter with --python
                    """)
            }
            throw ValidationError(lastError.isEmpty ? "--env: '\(python) -m ddpg_gym --describe' failed with status \(result.status)" : lastError)
        }
        // MuJoCo may print warnings first: the description is the last JSON line.
        let line = result.standardOutput.split(whereSeparator: \.isNewline).last { $0.hasPrefix("{") }
        guard let line, let description = try? JSONDecoder.snakeCase.decode(GymEnvironmentDescription.self, from: Data(line.utf8)) else {
            throw ValidationError("--env: '\(python) -m ddpg_gym --describe' printed no description of '\(environment)'")
        }
        return PythonWorkers(python: python, description: description)
    }

    /// The executable and arguments of one `ddpg-gym-worker` with `arguments`.
    func command(_ arguments: [String]) -> (executable: URL, arguments: [String]) {
        (URL(fileURLWithPath: "/usr/bin/env"), [python, "-m", "ddpg_gym"] + arguments)
    }
}

/// `python -m MODULE ARGUMENTS` run to its end, for the commands whose second half is the Python package.
enum PythonProcess {
    struct Result {
        var status: Int32
        var standardOutput: String
        var standardError: String
    }

    /// Runs it; an interpreter that cannot be started, or is not on PATH, is an error naming --python. Not `capturing`,
    /// its output goes to this process's as it comes, and the result's texts are empty.
    static func run(python: String, module: String, arguments: [String], capturing: Bool = true) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, "-m", module] + arguments
        let output = Pipe(), errors = Pipe()
        if capturing {
            process.standardOutput = output
            process.standardError = errors
        }
        do {
            try process.run()
        } catch {
            throw ValidationError("--python: cannot run '\(python)': \(error.localizedDescription)")
        }
        guard capturing else {
            process.waitUntilExit()
            if process.terminationStatus == 127 { throw ValidationError("--python: no interpreter '\(python)' (not found, or not on PATH)") }
            return Result(status: process.terminationStatus, standardOutput: "", standardError: "")
        }
        // Both pipes drain while the child runs: a full one would stall it.
        let stderrBox = DrainedPipe(errors)
        let stdout = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = stderrBox.wait()
        process.waitUntilExit()
        if process.terminationStatus == 127 {
            throw ValidationError("--python: no interpreter '\(python)' (not found, or not on PATH)")
        }
        return Result(status: process.terminationStatus, standardOutput: String(decoding: stdout, as: UTF8.self),
                      standardError: String(decoding: stderr, as: UTF8.self))
    }

    /// Runs `module` on `document` (the `ddpg-actor` JSON), handed over as `--actor FILE` in a directory of its own that is
    /// removed afterwards; `name` (the checkpoint) is what the module's errors call it.
    static func run(python: String, module: String, document: [String: Any], name: String, arguments: [String],
                    capturing: Bool = true) throws -> Result {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ddpg-\(UUID().uuidString)")
        let staged = directory.appendingPathComponent("actor.json")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
            try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys]).write(to: staged)
        } catch {
            throw ValidationError("cannot stage the actor for \(module) in \(directory.path): \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(at: directory) }
        return try run(python: python, module: module, arguments: ["--actor", staged.path, "--name", name] + arguments, capturing: capturing)
    }
}

extension PythonProcess.Result {
    /// Python could not import `module`: `python -m` says "No module named …" of it or of a package above it.
    func lacksModule(_ module: String) -> Bool {
        let parts = module.split(separator: ".")
        return (1...parts.count).contains { standardError.contains("No module named '\(parts.prefix($0).joined(separator: "."))'") }
            || standardError.contains("No module named \(parts[0])")
    }
}

/// A pipe read to its end on another thread.
private final class DrainedPipe: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ pipe: Pipe) {
        let handle = pipe.fileHandleForReading
        DispatchQueue.global().async {
            self.data = handle.readDataToEndOfFile()
            self.done.signal()
        }
    }

    /// The whole of it, once the writer closed its end.
    func wait() -> Data {
        done.wait()
        return data
    }
}

/// `ddpg-gym-worker --describe`'s JSON.
struct GymEnvironmentDescription: Decodable {
    var id: String
    var observationSize: Int
    var actionSize: Int
    var maxEpisodeSteps: Int
    /// gymnasium's `spec.reward_threshold`, if the environment declares one.
    var rewardThreshold: Double?
}

extension JSONDecoder {
    static var snakeCase: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }
}
