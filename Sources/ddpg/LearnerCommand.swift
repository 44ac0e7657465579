import ArgumentParser
import Agents
import Checkpoint
import Environments
import Foundation
import KernelSelection
import Learner
import Learning
import Logging
import ProcessSupport
import Replay
import RunConfiguration
import RunRecords
import Settings
import Specs
import WireProtocol

/// Flags of the learner's network side and rate limiting.
struct LearnerOptions: ParsableArguments {
    private static let defaults = LearnerSettings()

    @Option(parsing: .unconditional, help: "Address to bind both endpoints on (127.0.0.1: this machine only; 0.0.0.0: every interface, which needs CURVE keys or --insecure).")
    var bind = "127.0.0.1"

    @Flag(help: "Allow binding an address other than loopback without CURVE: anyone who can reach the ports can then feed replay and read the actor.")
    var insecure = false

    @Option(parsing: .unconditional, help: "Open connections allowed on each socket; more are refused (bounds the memory peers can take).")
    var maxPeers = defaults.maxPeers

    @Flag(help: "Accept and count transitions but never train (for measuring ingest).")
    var ingestOnly = false

    @Flag(inversion: .prefixedNo, help: "Pace workers: each acts with one weights version about twice its share of what the learner consumes between broadcasts, then waits briefly for newer weights, so its data does not age in queues.")
    var workerPace = true

    @Option(parsing: .unconditional, help: "Port where workers send transitions (DEALER → ROUTER: each session bound to its connection).")
    var transitionsPort = 5555

    @Option(parsing: .unconditional, help: "Port where the learner publishes actor weights (PUB → SUB).")
    var weightsPort = 5556

    @Option(parsing: .unconditional, help: "Sampled transitions per inserted transition (default: batch size, one update per transition; 0 = no rate limit).")
    var samplesPerInsert: Double?

    @Option(parsing: .unconditional, help: "Transitions inserts may run ahead of the ratio before workers are slowed.")
    var rateTolerance = defaults.rateTolerance

    @Option(parsing: .unconditional, help: "Publish actor weights every K updates (if --broadcast-budget allows).")
    var broadcastEvery = defaults.broadcastEvery

    @Option(parsing: .unconditional, help: "MB/s that weight broadcasts may take over all subscribers; larger actors or more workers publish less often.")
    var broadcastBudget = defaults.broadcastBytesPerSecond / 1e6

    @Option(parsing: .unconditional, help: "a2c: seconds a round waits, from its first segment, for the live workers' segments before it updates without them.")
    var segmentWait = defaults.segmentWaitSeconds

    @Option(parsing: .unconditional, help: "Stop once an evaluation's mean return reaches R.")
    var untilReturn: Double?

    @Option(parsing: .unconditional, help: "Seconds to wait at shutdown for workers to flush.")
    var drainSeconds = defaults.drainSeconds

    @Option(parsing: .unconditional, help: "Seconds to wait at the end for an evaluator's final evaluation (--final-eval-episodes).")
    var finalEvalSeconds = defaults.finalEvaluationSeconds

    @Option(parsing: .unconditional, help: "Checkpoint every N seconds (60s, 5m) or N updates (20000u), or off. A last checkpoint is always written when the learner stops.")
    var checkpointEvery = "60s"

    @Option(parsing: .unconditional, help: "Checkpoint files to keep in RUN_DIR/checkpoints.")
    var keepCheckpoints = defaults.keepCheckpoints

    @Flag(help: "Include the replay buffer's contents in checkpoints (large: about 41 bytes per Pendulum-v1 transition).")
    var checkpointReplay = false

    @Option(parsing: .unconditional, help: "Continue the run in RUN_DIR from its newest valid checkpoint (RUN_DIR becomes the run directory).")
    var resume: String?

    @Option(parsing: .unconditional, help: "Pin the environment's spec: a JSON file as `ddpg-gym-worker --describe` prints it (id, observation_low/high, action_low/high, max_episode_steps; optionally reward_low/high). Workers announcing anything else are rejected.")
    var specFile: String?

    @Option(parsing: .unconditional, help: "Without --env it knows or --spec-file: the most observation dimensions a worker's hello may announce.")
    var maxObservationDims = defaults.specLimits.maxObservationDims

    @Option(parsing: .unconditional, help: "Without --env it knows or --spec-file: the most action dimensions a worker's hello may announce.")
    var maxActionDims = defaults.specLimits.maxActionDims

    @Option(parsing: .unconditional, help: "Without --env it knows or --spec-file: the longest episode limit a worker's hello may announce.")
    var maxEpisodeSteps = defaults.specLimits.maxEpisodeSteps

    @Option(parsing: .unconditional, help: "Without --env it knows or --spec-file: rewards beyond ±R are rejected, whatever range a worker's hello announces (gymnasium announces none).")
    var maxReward = Double(defaults.specLimits.maxRewardMagnitude)

    /// `--checkpoint-every` as (seconds, updates); both nil when off.
    func checkpointSchedule() throws -> (seconds: Double?, updates: Int?) {
        let text = checkpointEvery.trimmingCharacters(in: .whitespaces).lowercased()
        if text == "off" || text == "never" { return (nil, nil) }
        let units: [(suffix: String, seconds: Double?)] = [("updates", nil), ("u", nil), ("s", 1), ("m", 60), ("h", 3_600)]
        for (suffix, multiplier) in units where text.hasSuffix(suffix) {
            let number = String(text.dropLast(suffix.count))
            if let multiplier, let value = Double(number), value > 0, value.isFinite { return (value * multiplier, nil) }
            if multiplier == nil, let value = Int(number), value > 0 { return (nil, value) }
        }
        if let value = Double(text), value > 0, value.isFinite { return (value, nil) }
        throw ValidationError("--checkpoint-every: '\(checkpointEvery)' is not a duration (60s, 5m, 1h), a number of updates (20000u) or off")
    }

    /// Closed by default: a learner reachable from other machines must authenticate them, or be told not to.
    func checkExposure(usesCurve: Bool) throws {
        guard !isLoopback(bind), !usesCurve, !insecure else { return }
        throw ValidationError("""
            --bind: \(bind) lets other machines reach the learner, and without CURVE anyone who can reach ports \
            \(transitionsPort)/\(weightsPort) can feed replay and read the actor. Secure it with CURVE keys (see `ddpg keys generate`), \
            or pass --insecure on a network you trust.
            """)
    }

    /// About what the checkpoints of a run take on disk: the current file and the one being written
    /// (for Pendulum-v1's sizes when the environment is not known yet).
    func checkpointBytes(agent: AgentOptions, replayCapacity: Int, environment: String?) -> Int {
        func parameters(_ sizes: [Int]) -> Int { zip(sizes, sizes.dropFirst()).reduce(0) { $0 + ($1.0 + 1) * $1.1 } }
        let c = agent.configuration
        let spec = environment.flatMap { NativeEnvironments.type(named: $0) }?.init().spec
        let o = spec?.observationSize ?? 3, a = spec?.actionSize ?? 1
        // Networks, targets and both Adam moments, four bytes each; the critic's action joins early (its size counts once).
        let vectors = 4 * (parameters([o] + c.actorHiddenSizes + [a]) + parameters([o + a] + c.criticHiddenSizes + [1]))
        let replay = checkpointReplay ? replayCapacity * ReplayBuffer.bytesPerTransition(observationSize: o, actionSize: a) : 0
        return checkpointEvery.lowercased() == "off" ? 1 << 20 : 2 * (4 * vectors + replay) + (1 << 20)
    }

    func settings(batchSize: Int) -> LearnerSettings {
        var s = LearnerSettings()
        s.transitionsEndpoint = "tcp://\(endpointHost(bind)):\(transitionsPort)"
        s.weightsEndpoint = "tcp://\(endpointHost(bind)):\(weightsPort)"
        s.maxPeers = maxPeers
        s.ingestOnly = ingestOnly
        s.workerPace = workerPace
        s.samplesPerInsert = samplesPerInsert ?? Double(batchSize)
        s.rateTolerance = rateTolerance
        s.broadcastEvery = broadcastEvery
        s.segmentWaitSeconds = segmentWait
        s.broadcastBytesPerSecond = broadcastBudget * 1e6
        s.untilReturn = untilReturn
        s.drainSeconds = drainSeconds
        s.finalEvaluationSeconds = finalEvalSeconds
        let schedule = (try? checkpointSchedule()) ?? (seconds: nil, updates: nil)
        s.checkpointEverySeconds = schedule.seconds
        s.checkpointEveryUpdates = schedule.updates
        s.keepCheckpoints = keepCheckpoints
        s.checkpointReplay = checkpointReplay
        s.specLimits.maxObservationDims = maxObservationDims
        s.specLimits.maxActionDims = maxActionDims
        s.specLimits.maxEpisodeSteps = maxEpisodeSteps
        s.specLimits.maxRewardMagnitude = Float(maxReward)
        return s
    }

    func validatePorts() throws {
        try checkPorts(transitions: transitionsPort, weights: weightsPort)
        try checkBindAddress(bind)
        _ = try checkpointSchedule()
        if let resume {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: resume, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("--resume: '\(resume)' is not a run directory")
            }
        }
        if let specFile { _ = try SpecFile.read(specFile) }
    }

}

struct LearnerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "learner",
        abstract: "Run the learner: replay, networks and training, fed by workers over ZeroMQ.",
        discussion: "Binds a ROUTER socket for transitions (and each session's acknowledgements) and an XPUB socket for weights. Writes summary.json into --run-dir (default runs/learner) when it stops: after --max-env-steps transitions, at --until-return, or on SIGINT/SIGTERM."
    )

    @OptionGroup var common: CommonOptions
    @OptionGroup(title: "Learner") var learner: LearnerOptions
    @OptionGroup(title: "DDPG") var agent: AgentOptions
    @OptionGroup(title: "Monitoring") var monitoring: MonitoringOptions
    @OptionGroup(title: "Security") var security: LearnerSecurityOptions

    @Option(help: .hidden) var parentPid: Int32?

    var learnerConfiguration: LearnerConfiguration {
        var c = LearnerConfiguration()
        common.apply(to: &c.training)
        c.training.agent = agent.configuration
        c.learner = learner.settings(batchSize: agent.batchSize)
        return c
    }

    func validate() throws {
        try validate(usesCurve: security.curveSecretKey != nil)
    }

    /// Everything `validate()` checks; `launch` gives its learner CURVE flags only at run time.
    func validate(usesCurve: Bool) throws {
        try agent.validateAlgorithmSettings()
        if let algorithm = Algorithms.named(agent.algorithm) as? any OnPolicyAlgorithm.Type, algorithm.isAsynchronous {
            let c = agent.configuration
            guard c.actorNormalization == .none, c.criticNormalization == .none else {
                throw ValidationError("--actor-norm/--critic-norm: a3c's workers compute gradients of unnormalized networks; leave both at none")
            }
            // Both networks' gradients travel in one message (checked again against the environment once it is known).
            func count(_ sizes: [Int]) -> Int { zip(sizes, sizes.dropFirst()).reduce(0) { $0 + ($1.0 + 1) * $1.1 } }
            let smallest = count([1] + c.actorHiddenSizes + [2]) + count([1] + c.criticHiddenSizes + [1])
            guard smallest <= WireFormat.maxGradientParameters else {
                throw ValidationError("--actor-hidden/--critic-hidden: a3c's gradients travel in one message of at most \(WireFormat.maxGradientParameters) parameters; these networks have \(smallest) or more")
            }
        }
        // Before a worker announces the environment, the replay must at least fit for the smallest one.
        let smallest = EnvironmentSpec(id: "the smallest environment (1 observation, 1 action)", observationLow: [0], observationHigh: [0],
                                       actionLow: [-1], actionHigh: [1], rewardRange: 0...0, maxEpisodeSteps: 1)
        do {
            let pinned = learner.specFile.flatMap { try? SpecFile.read($0) }
            try learnerConfiguration.validate(spec: pinned ?? common.env.flatMap { NativeEnvironments.type(named: $0) }?.init().spec ?? smallest)
        } catch {
            throw error.validationError(in: self, \.learnerConfiguration)
        }
        try learner.validatePorts()
        try common.validateLogLevel()
        try monitoring.validate()
        try security.validate()
        try learner.checkExposure(usesCurve: usesCurve)
    }

    /// The spec `--env` names when it is native; else, when resuming without --env, the one its newest
    /// checkpoint recorded; else none, and the learner learns it from the first hello (of `--env`'s id, if given).
    func environment(resuming store: CheckpointStore) throws -> LearnerEnvironment {
        let options = common
        let solved: @Sendable (String) -> Double? = { options.solvedThreshold(for: $0) }
        if let path = learner.specFile {
            let spec = try SpecFile.read(path)
            if let id = common.env, id != spec.id {
                throw ValidationError("--spec-file: \(path) describes \(spec.id), but --env is \(id)")
            }
            return LearnerEnvironment(spec: spec, id: spec.id, solvedReturn: solved)
        }
        if let id = common.env {
            return LearnerEnvironment(spec: NativeEnvironments.type(named: id)?.init().spec, id: id, solvedReturn: solved)
        }
        if learner.resume != nil {
            let scan = store.scan()
            guard let (checkpoint, _) = scan.found else {
                throw ValidationError("--resume: \(ResumeError(directory: store.directory, skipped: scan.skipped))")
            }
            let header = checkpoint.header
            if let problem = header.spec?.problem {
                throw ValidationError("--resume: the newest checkpoint's environment spec is invalid: \(problem)")
            }
            let spec = header.spec ?? NativeEnvironments.type(named: header.environment)?.init().spec
            return LearnerEnvironment(spec: spec, id: header.environment, solvedReturn: solved)
        }
        return LearnerEnvironment(spec: nil, solvedReturn: solved)
    }

    func run() throws {
        if let parentPid { ParentWatch.terminateWithParent(parentPid) }
        ShutdownSignal.install()
        bootstrapLogging(level: common.logLevel, interactive: monitoring.consoleMode == .interactive)
        let directory = learner.resume.map { URL(fileURLWithPath: $0) } ?? common.runDirectory(default: "learner")
        try prepareRunDirectory(directory, flag: learner.resume != nil ? "--resume" : "--run-dir",
                                bytesNeeded: learner.checkpointBytes(agent: agent, replayCapacity: common.replayCapacity, environment: common.env))
        let logger = Logger(label: "ddpg.learner")
        let (learnerMonitoring, console, server) = try monitoring.start(runDirectory: directory, resuming: learner.resume != nil, events: try common.eventWriter(), logger: logger)
        let checkpointLogger = logger
        let store = CheckpointStore(directory: CheckpointStore.directory(ofRun: directory), keep: learner.keepCheckpoints)
        let writer = CheckpointWriter(store: store) { result in
            switch result {
            case let .success((file, bytes, seconds)):
                checkpointLogger.debug("wrote \(file.path) (\(bytes) bytes) in \(format(seconds * 1_000)) ms")
            case let .failure(error):
                checkpointLogger.error("checkpoint not written: \(error)")
            }
        }
        let environment = try environment(resuming: store)
        let service: LearnerService
        do {
            service = try LearnerService.start(configuration: learnerConfiguration, environment: environment,
                                               logger: logger, monitoring: learnerMonitoring, checkpoints: writer, security: try security.security(),
                                               evaluators: try security.evaluators())
        } catch {
            throw ValidationError("cannot start the learner: \(error)")
        }
        if learner.resume != nil {
            do {
                try service.resume(from: store)
            } catch {
                throw ValidationError("--resume: \(error)")
            }
        }
        logger.info("BLAS: \(KernelSelection.report.line)")
        var summary: LearnerSummary
        do {
            summary = try service.run()
        } catch let stopped as LearnerStopped {
            logger.notice("\(stopped)")
            return
        } catch let error as ResumeError {
            throw ValidationError("--resume: \(error)")
        } catch let error as ConfigurationError {
            // The environment a hello announced does not fit this learner (its replay, say).
            throw ValidationError("cannot start the learner: \(error)")
        }
        summary.run.blas = KernelSelection.report
        console.finish()
        // The endpoint keeps serving the final status until the process exits.
        _ = server
        do {
            try summary.write(toDirectory: directory)
        } catch {
            logger.critical("cannot write \(directory.appendingPathComponent("summary.json").path): \(posixReason(error))")
            throw ExitCode.failure
        }
        print(directory.appendingPathComponent("summary.json").path)
        if summary.checkpointFailures > 0 {
            logger.error("\(summary.checkpointFailures) checkpoints could not be written (\(writer.lastFailureDescription ?? "unknown reason")); exiting with status 1")
            throw ExitCode.failure
        }
        if summary.stopReason == "non_finite" {
            logger.error("training stopped: the networks kept going non-finite (see the rollbacks above); summary.json is written")
            throw ExitCode.failure
        }
    }
}
