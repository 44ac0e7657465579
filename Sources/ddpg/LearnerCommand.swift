import ArgumentParser
import DDPG
import Foundation
import Learner
import Logging
import ProcessSupport
import Training

/// Flags of the learner's network side and rate limiting.
struct LearnerOptions: ParsableArguments {
    private static let defaults = LearnerSettings()

    @Option(parsing: .unconditional, help: "Address to bind both endpoints on.")
    var bind = "0.0.0.0"

    @Option(parsing: .unconditional, help: "Port where workers send transitions (PUSH → PULL).")
    var transitionsPort = 5555

    @Option(parsing: .unconditional, help: "Port where the learner publishes actor weights (PUB → SUB).")
    var weightsPort = 5556

    @Option(parsing: .unconditional, help: "Sampled transitions per inserted transition (default: batch size, one update per transition; 0 = no rate limit).")
    var samplesPerInsert: Double?

    @Option(parsing: .unconditional, help: "Transitions inserts may run ahead of the ratio before workers are slowed.")
    var rateTolerance = defaults.rateTolerance

    @Option(parsing: .unconditional, help: "Publish actor weights every K updates.")
    var broadcastEvery = defaults.broadcastEvery

    @Option(parsing: .unconditional, help: "Stop once an evaluation's mean return reaches R.")
    var untilReturn: Double?

    @Option(parsing: .unconditional, help: "Seconds to wait at shutdown for workers to flush.")
    var drainSeconds = defaults.drainSeconds

    func settings(batchSize: Int) -> LearnerSettings {
        var s = LearnerSettings()
        s.transitionsEndpoint = "tcp://\(bind):\(transitionsPort)"
        s.weightsEndpoint = "tcp://\(bind):\(weightsPort)"
        s.samplesPerInsert = samplesPerInsert ?? Double(batchSize)
        s.rateTolerance = rateTolerance
        s.broadcastEvery = broadcastEvery
        s.untilReturn = untilReturn
        s.drainSeconds = drainSeconds
        return s
    }

    func validatePorts() throws {
        try checkPorts(transitions: transitionsPort, weights: weightsPort)
    }

    var arguments: [String] {
        var result = ["--bind", bind, "--transitions-port", "\(transitionsPort)", "--weights-port", "\(weightsPort)",
                      "--rate-tolerance", "\(rateTolerance)", "--broadcast-every", "\(broadcastEvery)", "--drain-seconds", "\(drainSeconds)"]
        if let samplesPerInsert { result += ["--samples-per-insert", "\(samplesPerInsert)"] }
        if let untilReturn { result += ["--until-return", "\(untilReturn)"] }
        return result
    }
}

struct LearnerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "learner",
        abstract: "Run the learner: replay, networks and training, fed by workers over ZeroMQ.",
        discussion: "Binds a PULL socket for transitions and a PUB socket for weights. Writes summary.json into --run-dir (default runs/learner) when it stops: after --max-env-steps transitions, at --until-return, or on SIGINT/SIGTERM."
    )

    @OptionGroup var common: CommonOptions
    @OptionGroup(title: "Learner") var learner: LearnerOptions
    @OptionGroup(title: "DDPG") var agent: AgentOptions
    @OptionGroup(title: "Monitoring") var monitoring: MonitoringOptions

    @Option(help: .hidden) var parentPid: Int32?

    var learnerConfiguration: LearnerConfiguration {
        var c = LearnerConfiguration()
        common.apply(to: &c.training)
        c.training.agent = agent.configuration
        c.learner = learner.settings(batchSize: agent.batchSize)
        return c
    }

    func validate() throws {
        do {
            try learnerConfiguration.validate()
        } catch {
            throw error.validationError
        }
        try learner.validatePorts()
        try common.validateLogLevel()
        try monitoring.validate()
    }

    func run() throws {
        if let parentPid { ParentWatch.terminateWithParent(parentPid) }
        ShutdownSignal.install()
        bootstrapLogging(level: common.logLevel, interactive: monitoring.consoleMode == .interactive)
        let directory = common.runDirectory(default: "learner")
        let logger = Logger(label: "ddpg.learner")
        let (learnerMonitoring, console, server) = try monitoring.start(runDirectory: directory, events: try common.eventWriter(), logger: logger)
        let service: LearnerService
        do {
            service = try LearnerService(configuration: learnerConfiguration, logger: logger, monitoring: learnerMonitoring)
        } catch {
            throw ValidationError("cannot start the learner: \(error)")
        }
        let summary = try service.run()
        console.finish()
        // The endpoint keeps serving the final status until the process exits.
        _ = server
        try summary.write(toDirectory: directory)
        print(directory.appendingPathComponent("summary.json").path)
    }
}
