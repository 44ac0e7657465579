import ArgumentParser
import Agents
import Environments
import Foundation
import Logging
import ProcessSupport
import ZeroMQ

struct LaunchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "launch",
        abstract: "Run a learner, N workers and an evaluator on this machine, as child processes of this binary.",
        discussion: """
            Stops at --max-env-steps transitions or --until-return R, or on SIGINT/SIGTERM, which it \
            forwards. Children exit with the launcher even if it is killed. The learner writes \
            summary.json into --run-dir (default runs/launch); each worker writes worker-ID.json beside it, \
            the evaluator evaluator.json. An --env that is not native (any gymnasium environment with a Box \
            action space, e.g. HalfCheetah-v5) runs on Python workers: `ddpg-gym-worker` from the ddpg_gym \
            package (pip install ./python) under --python.
            """
    )

    @Option(parsing: .unconditional, help: "Number of worker processes.")
    var workers = 2

    @Option(parsing: .unconditional, help: "Restarts allowed per worker (or evaluator) that crashes while the learner runs.")
    var workerRestarts = 3

    @Option(parsing: .unconditional, help: "Evaluator processes (0: none; the run then has no evaluations).")
    var evaluators = 1

    @Option(parsing: .unconditional, help: "Python interpreter with the ddpg_gym package and gymnasium, for an --env that is not native.")
    var python = "python3"

    @OptionGroup var common: CommonOptions
    @OptionGroup(title: "Learner") var learner: LearnerOptions
    @OptionGroup(title: "Worker") var worker: WorkerOptions
    @OptionGroup(title: "DDPG") var agent: AgentOptions
    @OptionGroup(title: "Exploration") var noise: NoiseOptions
    @OptionGroup(title: "Monitoring") var monitoring: MonitoringOptions

    @Option(parsing: .unconditional, help: "Secure the learner and workers with CURVE, using the keys in DIR (fresh ones are generated there if missing).")
    var curveKeys: String?

    func validate() throws {
        if curveKeys != nil, !Curve.isAvailable { throw ValidationError("--curve-keys: this libzmq is built without CURVE") }
        guard workers >= 1, workers <= 256 else { throw ValidationError("--workers: must be in 1...256, got \(workers)") }
        guard evaluators >= 0, evaluators <= 8 else { throw ValidationError("--evaluators: must be in 0...8, got \(evaluators)") }
        // An --env that is not native is checked when run() asks Python about it (a second or two, once).
        guard workerRestarts >= 0 else { throw ValidationError("--worker-restarts: must be non-negative, got \(workerRestarts)") }
        // The children validate everything again; checking here reports errors before anything starts.
        // Parsed, not made empty: every option then has a value, which finding the flag behind an error reads.
        var learnerCommand = try LearnerCommand.parse([])
        learnerCommand.common = common
        learnerCommand.learner = learner
        learnerCommand.agent = agent
        learnerCommand.monitoring = monitoring
        // The learner's CURVE flags come from --curve-keys at run time; none to check here.
        learnerCommand.security = try LearnerSecurityOptions.parse([])
        try learnerCommand.validate(usesCurve: curveKeys != nil)
        _ = try worker.parsedSigmas()
        _ = try worker.parsedEntropyCoefficients()
        try noise.validateWorkerNoise()
    }

    func run() throws {
        ShutdownSignal.install()
        let interactive = monitoring.consoleMode == .interactive
        bootstrapLogging(level: common.logLevel, interactive: interactive)
        let logger = Logger(label: "ddpg.launch")
        try checkPortsAreFree()
        // Gymnasium environments run on Python workers; their spec reaches the learner in the hello.
        let pythonWorkers = NativeEnvironments.type(named: common.environment) == nil
            ? try PythonWorkers.probe(python: python, environment: common.environment) : nil
        if pythonWorkers != nil {
            logger.info("\(common.environment) is not a native environment: running it on Python workers (\(python) -m ddpg_gym)")
        }
        let runDirectory = learner.resume.map { URL(fileURLWithPath: $0) } ?? common.runDirectory(default: "launch")
        try prepareRunDirectory(runDirectory, flag: learner.resume != nil ? "--resume" : "--run-dir",
                                bytesNeeded: learner.checkpointBytes(agent: agent, replayCapacity: common.replayCapacity, environment: common.environment))
        let supervisor = Supervisor(logger: logger)
        let parent = ["--parent-pid", "\(getpid())"]
        let (learnerSecurity, workerSecurity) = try curveKeys.map { try Self.curveArguments(directory: $0, logger: logger) } ?? ([], [])
        // Under the learner's redrawn status block, the workers' routine info lines would scroll it away.
        let workerLogLevel = interactive && common.logLevel == "info" ? "notice" : common.logLevel
        let children = childArguments(runDirectory: runDirectory, gym: pythonWorkers.map { ($0.description.id, $0.description.rewardThreshold) },
                                      workerLogLevel: workerLogLevel)
        // The evaluators this launcher starts are the learner's: they share a token nobody else sees.
        let token = [EvaluatorTokenOption.environmentVariable: ProcessInfo.processInfo.environment[EvaluatorTokenOption.environmentVariable]
            .flatMap { $0.isEmpty ? nil : $0 } ?? EvaluatorTokenOption.random()]
        // OpenBLAS starts a thread per core when it loads, and they spin for a while before they sleep, on the cores the
        // workers need: each child gets the threads it uses (the learner --blas-threads, a worker one), unless the user chose.
        func blasThreads(_ count: Int) -> [String: String] {
            ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] == nil ? ["OPENBLAS_NUM_THREADS": "\(count)"] : [:]
        }
        let learnerProcess = try supervisor.start(children.learner + learnerSecurity + parent,
                                                  environment: token.merging(blasThreads(common.blasThreads)) { $1 })
        let host = learnerHost
        // Under an interactive console only the learner writes while it runs; another process's line would break its redraw.
        logger.log(level: interactive ? .debug : .info, "learner started (pid \(learnerProcess.processIdentifier)); starting \(workers) workers and \(evaluators) evaluator\(evaluators == 1 ? "" : "s")")
        func workerArguments(_ id: Int) -> [String] { children.worker(id) + workerSecurity + parent }
        // Started alongside the learner, not after it listens: they retry their connection every few
        // milliseconds, and process start-up, a good part of a Pendulum run, overlaps the learner's.
        func startWorker(_ id: Int) throws -> Process {
            let environment = (id >= workers ? token : [:]).merging(blasThreads(1)) { $1 }
            guard let pythonWorkers else { return try supervisor.start(workerArguments(id), environment: environment) }
            let (executable, arguments) = pythonWorkers.command(workerArguments(id))
            return try supervisor.start(arguments, executable: executable, environment: environment)
        }
        var workerProcesses = try (0..<(workers + evaluators)).map { try startWorker($0) }
        if !Supervisor.waitUntilListening(host: host, port: learner.transitionsPort, timeout: 10, while: learnerProcess),
           learnerProcess.isRunning {
            logger.warning("the learner is not accepting connections on \(host):\(learner.transitionsPort) after 10 s; the workers keep trying")
        }
        var restarts = Array(repeating: 0, count: workerProcesses.count)

        var forwarded = false
        while learnerProcess.isRunning {
            if ShutdownSignal.isRequested, !forwarded {
                logger.info("forwarding \(ShutdownSignal.signalNumber == SIGINT ? "SIGINT" : "SIGTERM") to the learner; it stops the workers")
                kill(learnerProcess.processIdentifier, SIGTERM)
                forwarded = true
            }
            // A worker that exits by itself with status 0 was told to stop; only a crash earns a restart.
            for id in workerProcesses.indices where !workerProcesses[id].isRunning && !forwarded
                && !(workerProcesses[id].terminationReason == .exit && workerProcesses[id].terminationStatus == 0) {
                guard restarts[id] < workerRestarts else { continue }
                restarts[id] += 1
                logger.warning("\(id < workers ? "worker" : "evaluator") \(id) exited (\(Supervisor.describe(workerProcesses[id]))); restarting it (\(restarts[id]) of \(workerRestarts))")
                workerProcesses[id] = try startWorker(id)
            }
            usleep(50_000)
        }
        logger.info("learner exited (\(Supervisor.describe(learnerProcess))); waiting for workers")
        supervisor.stopAll(gracePeriod: 5)
        let summary = runDirectory.appendingPathComponent("summary.json")
        guard learnerProcess.terminationReason == .exit, learnerProcess.terminationStatus == 0 else {
            throw ExitCode(learnerProcess.terminationStatus == 0 ? 1 : learnerProcess.terminationStatus)
        }
        do {
            try Self.attachWorkerReports(to: summary, from: runDirectory, workers: workers, evaluators: evaluators)
        } catch {
            logger.warning("could not add the worker reports to \(summary.path): \(error)")
        }
        print(summary.path)
    }

    /// The workers start alongside the learner and connect to its ports at once: were they taken (by
    /// another run's learner, say), they would reach that learner, not this one.
    func checkPortsAreFree() throws {
        for (flag, port) in [("--transitions-port", learner.transitionsPort), ("--weights-port", learner.weightsPort)]
        where TCPProbe.canBind(host: learner.bind, port: port) == false {
            throw ValidationError("""
                \(flag): port \(port) on \(learner.bind) is in use (another learner's run?), and this run's workers would \
                connect to whatever holds it: stop that, or choose free ports with --transitions-port and --weights-port
                """)
        }
    }

    /// Where the workers find the learner: its --bind address, or loopback when it binds every interface.
    var learnerHost: String { ["0.0.0.0", "*", "::", "[::]"].contains(learner.bind) ? "127.0.0.1" : learner.bind }

    /// What each child is started with, CURVE and parent watch aside: the learner's arguments, and
    /// worker `id`'s (ids from `workers` on are evaluators). `gym` describes a non-native environment
    /// as its Python workers do; its workers then take the same arguments without the `worker` subcommand.
    func childArguments(runDirectory: URL, gym: (id: String, rewardThreshold: Double?)?, workerLogLevel: String)
        -> (learner: [String], worker: (Int) -> [String]) {
        var commonOptions = common
        commonOptions.runDir = runDirectory.path
        // The learner knows the environment from the start, not from its first worker's hello.
        commonOptions.env = common.environment
        if let gym {
            // gymnasium's threshold for the environment, unless the user gave one; and the id the hello
            // carries ("module:Name-v0" imports module to register Name-v0).
            commonOptions.solvedReturn = common.solvedReturn ?? gym.rewardThreshold
            commonOptions.env = gym.id
        }
        var learnerMonitoring = monitoring
        // The learner draws on the terminal the launcher was given; decided here, where the terminal is known.
        learnerMonitoring.console = monitoring.consoleMode.rawValue
        var learnerOptions = learner
        // Every worker holds a connection on each socket; leave room for restarts and a few more.
        learnerOptions.maxPeers = max(learner.maxPeers, workers + 8)
        let learnerArguments = ["learner"] + commonOptions.arguments + learnerOptions.arguments + agent.arguments + learnerMonitoring.arguments
        let (workers, evaluators, host) = (workers, evaluators, learnerHost)
        let (common, learner, worker, noise, agent) = (common, learner, worker, noise, agent)
        return (learnerArguments, { id in
            let evaluator = id >= workers
            let stats = evaluator ? (evaluators == 1 ? "evaluator.json" : "evaluator-\(id - workers).json") : "worker-\(id).json"
            return (gym == nil ? ["worker"] : []) + ["--env", common.environment, "--learner", host, "--transitions-port", "\(learner.transitionsPort)",
                    "--weights-port", "\(learner.weightsPort)", "--worker-id", "\(id)", "--workers", "\(workers)", "--seed", "\(common.seed)",
                    "--log-level", workerLogLevel, "--stats-file", runDirectory.appendingPathComponent(stats).path]
                + (evaluator ? ["--evaluator"] : agent.isOnPolicy ? agent.onPolicyWorkerArguments + worker.arguments
                    : ["--n-step", "\(agent.nStep)", "--gamma", "\(agent.gamma)"] + worker.arguments + noise.arguments)
        })
    }

    /// Flags that give the learner and the workers CURVE keys from `directory`:
    /// learner.key/.pub, worker.key/.pub and authorized/worker.pub, generated if missing.
    static func curveArguments(directory: String, logger: Logger) throws -> (learner: [String], worker: [String]) {
        let root = URL(fileURLWithPath: directory), authorized = root.appendingPathComponent("authorized")
        try FileManager.default.createDirectory(at: authorized, withIntermediateDirectories: true)
        for name in ["learner", "worker"] where !FileManager.default.fileExists(atPath: root.appendingPathComponent("\(name).key").path) {
            let pair = try Curve.generateKeyPair()
            try CurveKeyFile.write(secret: pair, to: root.appendingPathComponent("\(name).key"))
            try? FileManager.default.removeItem(at: root.appendingPathComponent("\(name).pub"))
            try CurveKeyFile.write(publicKey: pair.publicKey, to: root.appendingPathComponent("\(name).pub"))
            logger.info("generated CURVE keys \(root.appendingPathComponent(name).path).key/.pub")
        }
        let workerPublic = authorized.appendingPathComponent("worker.pub")
        if !FileManager.default.fileExists(atPath: workerPublic.path) {
            try FileManager.default.copyItem(at: root.appendingPathComponent("worker.pub"), to: workerPublic)
        }
        return (["--curve-secret-key", root.appendingPathComponent("learner.key").path, "--authorized-keys", authorized.path],
                ["--curve-secret-key", root.appendingPathComponent("worker.key").path, "--learner-public-key", root.appendingPathComponent("learner.pub").path])
    }

    /// Adds each worker's own report (its σ, env steps/s, weights latency…) to the
    /// learner's summary as `worker_reports`, and the evaluators' as `evaluator_reports`, so one file describes the whole run.
    static func attachWorkerReports(to summary: URL, from directory: URL, workers: Int, evaluators: Int) throws {
        var document = try JSONSerialization.jsonObject(with: Data(contentsOf: summary)) as? [String: Any] ?? [:]
        func reports(_ names: [String]) -> [Any] {
            names.compactMap { name -> Any? in
                (try? Data(contentsOf: directory.appendingPathComponent(name))).flatMap { try? JSONSerialization.jsonObject(with: $0) }
            }
        }
        document["worker_reports"] = reports((0..<workers).map { "worker-\($0).json" })
        document["evaluator_reports"] = reports(evaluators == 1 ? ["evaluator.json"] : (0..<evaluators).map { "evaluator-\($0).json" })
        let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: summary, options: .atomic)
    }
}

/// Starts children of this binary and stops them: SIGTERM first, SIGKILL after a grace period.
final class Supervisor {
    private let logger: Logger
    private(set) var children: [Process] = []
    private let executable: URL

    init(logger: Logger) {
        self.logger = logger
        // The running binary itself, wherever it was started from.
        let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        executable = URL(fileURLWithPath: path)
    }

    /// Starts this binary with `arguments`, or another program (a Python worker) when `executable` is given.
    func start(_ arguments: [String], executable: URL? = nil, environment: [String: String] = [:]) throws -> Process {
        let process = Process()
        process.executableURL = executable ?? self.executable
        process.arguments = arguments
        // In the environment, not the arguments: /proc/PID/environ is readable by its owner alone, argv by anyone.
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        // The learner prints its summary path; the launcher prints it once for all.
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        children.append(process)
        return process
    }

    /// Waits up to `gracePeriod` seconds for every child to exit by itself, then SIGTERMs, then SIGKILLs.
    func stopAll(gracePeriod: Double) {
        func waitForAll(_ seconds: Double) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while children.contains(where: \.isRunning), Date() < deadline { usleep(20_000) }
            return !children.contains(where: \.isRunning)
        }
        if waitForAll(gracePeriod) { return }
        for child in children where child.isRunning {
            logger.warning("child \(child.processIdentifier) still running; sending SIGTERM")
            kill(child.processIdentifier, SIGTERM)
        }
        if waitForAll(3) { return }
        for child in children where child.isRunning {
            logger.error("child \(child.processIdentifier) ignored SIGTERM; killing it")
            kill(child.processIdentifier, SIGKILL)
        }
        _ = waitForAll(2)
    }

    /// Polls until a TCP connection to `host:port` succeeds, `timeout` passes, or `process` exits.
    static func waitUntilListening(host: String, port: Int, timeout: Double, while process: Process) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline, process.isRunning {
            if TCPProbe.canConnect(host: host, port: port) { return true }
            usleep(1_000)
        }
        return false
    }

    static func describe(_ process: Process) -> String {
        process.terminationReason == .exit ? "exit status \(process.terminationStatus)" : "signal \(process.terminationStatus)"
    }
}
