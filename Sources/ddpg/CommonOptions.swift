import ArgumentParser
import Environments
import Foundation
import Logging
import Replay
import RunConfiguration
import RunRecords
import Settings
import Telemetry
import Training

/// Options every training command shares: the run's identity, length, replay and evaluation.
struct CommonOptions: ParsableArguments {
    private static let defaults = TrainingConfiguration()

    @Option(parsing: .unconditional, help: "Environment id: \(NativeEnvironments.ids.joined(separator: " or ")) (default Pendulum-v1; a learner without --env learns it from its first worker's hello).")
    var env: String?

    /// The environment a run trains on: `--env`, or Pendulum-v1.
    var environment: String { env ?? Self.defaults.environment }

    @Option(parsing: .unconditional, help: "Mean evaluation return that counts as solved (default: the environment's own, e.g. -200 for Pendulum-v1, 90 for MountainCarContinuous-v0, gymnasium's reward_threshold for others; none if it declares none).")
    var solvedReturn: Double?

    /// `--solved-return`, else the native environment's threshold.
    func solvedThreshold(for id: String) -> Double? {
        solvedReturn ?? NativeEnvironments.type(named: id)?.solvedReturn
    }

    @Option(parsing: .unconditional, help: "Seed of every random stream of the run.")
    var seed = defaults.seed

    @Option(parsing: .unconditional, help: "Directory for summary.json (created if missing).")
    var runDir: String?

    @Option(parsing: .unconditional, help: "Environment steps (transitions) to train for.")
    var maxEnvSteps = defaults.maxEnvSteps

    @Option(parsing: .unconditional, help: "Replay buffer capacity, in transitions.")
    var replayCapacity = defaults.replayCapacity

    @Flag(help: "Prioritized replay (Schaul et al. 2016): sample transitions in proportion to (|TD error| + ε)^α, weighting the critic loss by importance weights whose exponent β anneals to 1.")
    var prioritizedReplay = false

    @Option(parsing: .unconditional, help: "Prioritized replay: α, how much priorities count (0 = uniform).")
    var priorityAlpha = PrioritizationConfiguration().alpha

    @Option(parsing: .unconditional, help: "Prioritized replay: β at the start of the run, annealed linearly to 1 by --max-env-steps.")
    var priorityBeta = PrioritizationConfiguration().initialBeta

    @Option(parsing: .unconditional, help: "Prioritized replay: ε added to |TD error|.")
    var priorityEpsilon = PrioritizationConfiguration().epsilon

    @Option(parsing: .unconditional, help: "Transitions collected before the first update.")
    var learningStarts = defaults.learningStarts

    @Option(parsing: .unconditional, help: "Environment steps between evaluations.")
    var evalEvery = defaults.evalEvery

    @Option(parsing: .unconditional, help: "Episodes per evaluation.")
    var evalEpisodes = defaults.evalEpisodes

    @Option(parsing: .unconditional, help: "Episodes of the final evaluation.")
    var finalEvalEpisodes = defaults.finalEvalEpisodes

    @Option(parsing: .unconditional, help: "Seed of the evaluation episodes' initial states.")
    var evalSeed = defaults.evalSeed

    @Option(parsing: .unconditional, help: "OpenBLAS threads (1 keeps runs reproducible and leaves cores to other processes).")
    var blasThreads = defaults.blasThreads

    @Option(parsing: .unconditional, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    @Option(parsing: .unconditional, help: "Write TensorBoard event files (scalars: Reward, Qmax, losses, eval return, throughput) into this directory.")
    var logdir: String?

    /// The TensorBoard writer for `--logdir`, if given.
    func eventWriter() throws -> TensorBoardWriter? {
        guard let logdir else { return nil }
        do {
            return try TensorBoardWriter(directory: URL(fileURLWithPath: logdir))
        } catch {
            throw ValidationError("--logdir: cannot write event files into '\(logdir)': \(error.localizedDescription)")
        }
    }

    /// A training configuration with these options and every other field at its default.
    var trainingConfiguration: TrainingConfiguration {
        var c = TrainingConfiguration()
        apply(to: &c)
        return c
    }

    /// The shared fields written into a training configuration.
    func apply(to c: inout TrainingConfiguration) {
        c.environment = environment
        // Each environment's own threshold (−200 for Pendulum-v1, gymnasium's 90 for MountainCarContinuous-v0).
        c.solvedReturn = solvedThreshold(for: environment)
        c.seed = seed
        c.maxEnvSteps = maxEnvSteps
        c.replayCapacity = replayCapacity
        if prioritizedReplay {
            var prioritization = PrioritizationConfiguration()
            prioritization.alpha = priorityAlpha
            prioritization.initialBeta = priorityBeta
            prioritization.epsilon = priorityEpsilon
            c.prioritizedReplay = prioritization
        }
        c.learningStarts = learningStarts
        c.evalEvery = evalEvery
        c.evalEpisodes = evalEpisodes
        c.finalEvalEpisodes = finalEvalEpisodes
        c.evalSeed = evalSeed
        c.blasThreads = blasThreads
    }

    /// `--env` must name a native environment (what `train` and Swift workers can run).
    func validateNativeEnvironment() throws {
        guard NativeEnvironments.type(named: environment) == nil else { return }
        throw ValidationError("""
            --env: unknown environment '\(environment)'; native environments: \(NativeEnvironments.ids.joined(separator: ", ")). \
            Gymnasium environments run on Python workers: `ddpg launch --env ID`, or `ddpg learner` with `ddpg-gym-worker` (python/)
            """)
    }

    func validateLogLevel() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level: unknown level '\(logLevel)'; use trace, debug, info, notice, warning, error or critical")
        }
    }

    func runDirectory(default name: String) -> URL { URL(fileURLWithPath: runDir ?? "runs/\(name)") }

}

/// Makes sure a run can write its records before it starts, rather than losing
/// them at the end: creates `directory`, writes and removes a probe file, and
/// checks that the file system has `bytesNeeded` free.
func prepareRunDirectory(_ directory: URL, flag: String = "--run-dir", bytesNeeded: Int = 1 << 20) throws {
    let path = directory.path
    do {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    } catch {
        throw ValidationError("\(flag): cannot create '\(path)': \(posixReason(error))")
    }
    let probe = directory.appendingPathComponent(".ddpg-write-probe-\(getpid())")
    guard FileManager.default.createFile(atPath: probe.path, contents: Data("probe\n".utf8)) else {
        throw ValidationError("\(flag): cannot write into '\(path)': \(String(cString: strerror(errno)))")
    }
    try? FileManager.default.removeItem(at: probe)
    var stats = statvfs()
    if statvfs(path, &stats) == 0 {
        let free = Double(stats.f_bavail) * Double(stats.f_frsize)
        if free < Double(bytesNeeded) {
            throw ValidationError("\(flag): '\(path)' has \(formatBytes(free)) free, and this run needs about \(formatBytes(Double(bytesNeeded))) for its checkpoints and records")
        }
    }
}

/// "Permission denied", not Foundation's "You don't have permission to save the file…".
func posixReason(_ error: any Error) -> String {
    let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
    if let code = underlying?.code ?? ((error as NSError).domain == NSPOSIXErrorDomain ? (error as NSError).code : nil) {
        return String(cString: strerror(Int32(code)))
    }
    return error.localizedDescription
}

/// Checks a `--bind` address before anything binds: dotted quads must be IPv4 addresses,
/// and anything with a colon an IPv6 one; other names (interfaces, host names) are left to the bind.
func checkBindAddress(_ address: String) throws {
    if address == "*" { return }
    if !address.isEmpty, address.allSatisfy({ $0.isNumber || $0 == "." }) {
        var ipv4 = in_addr()
        guard inet_pton(AF_INET, address, &ipv4) == 1 else {
            throw ValidationError("--bind: '\(address)' is not a valid IPv4 address")
        }
    } else if address.contains(":") {
        var ipv6 = in6_addr()
        let bare = address.hasPrefix("[") && address.hasSuffix("]") ? String(address.dropFirst().dropLast()) : address
        guard inet_pton(AF_INET6, bare, &ipv6) == 1 else { throw ValidationError("--bind: '\(address)' is not a valid IPv6 address") }
    } else if address.isEmpty {
        throw ValidationError("--bind: the address must not be empty")
    }
}

/// Whether a `--bind` address keeps the learner on this machine.
func isLoopback(_ address: String) -> Bool {
    let bare = address.hasPrefix("[") && address.hasSuffix("]") ? String(address.dropFirst().dropLast()) : address
    return bare.hasPrefix("127.") || bare == "::1" || bare == "localhost" || bare == "lo"
}

/// A host as a ZeroMQ TCP endpoint needs it: IPv6 literals in brackets.
func endpointHost(_ host: String) -> String {
    host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
}

/// Checks the two ZeroMQ ports a learner binds or a worker connects to.
func checkPorts(transitions: Int, weights: Int) throws {
    for (flag, port) in [("--transitions-port", transitions), ("--weights-port", weights)] where !(1...65_535).contains(port) {
        throw ValidationError("\(flag): must be a port in 1...65535, got \(port)")
    }
    if transitions == weights { throw ValidationError("--weights-port: must differ from --transitions-port (\(transitions))") }
}

/// Sends swift-log output to standard error at `level`; `interactive` shares the
/// terminal with the status block redrawn below the log.
func bootstrapLogging(level name: String, interactive: Bool = false) {
    let level = Logger.Level(rawValue: name) ?? .info
    LoggingSystem.bootstrap { label in
        if interactive { return ConsoleLogHandler(label: label, level: level) }
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
}
