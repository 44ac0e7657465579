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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, "-m", "ddpg_gym", "--env", environment, "--describe"]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        do {
            try process.run()
        } catch {
            throw ValidationError("--python: cannot run '\(python)': \(error.localizedDescription)")
        }
        // Read before waiting: a full pipe would stall the child.
        let stdout = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let lastError = stderr.split(whereSeparator: \.isNewline).last.map(String.init) ?? ""
        guard process.terminationStatus == 0 else {
            if process.terminationStatus == 127 {
                throw ValidationError("--python: no interpreter '\(python)' on PATH")
            }
            if stderr.contains("No module named ddpg_gym") {
                throw ValidationError("""
                    --env: '\(environment)' is not a native environment (\(NativeEnvironments.ids.joined(separator: ", "))), so launch runs it \
                    with Python workers, but '\(python)' has no ddpg_gym package; install it with \
                    `\(python) -m pip install ./python` (and "gymnasium[mujoco]" for the MuJoCo environments), or name another interpreter with --python
                    """)
            }
            throw ValidationError(lastError.isEmpty ? "--env: '\(python) -m ddpg_gym --describe' failed with status \(process.terminationStatus)" : lastError)
        }
        // MuJoCo may print warnings first: the description is the last JSON line.
        let line = String(decoding: stdout, as: UTF8.self).split(whereSeparator: \.isNewline).last { $0.hasPrefix("{") }
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
