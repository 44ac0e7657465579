import ArgumentParser
import Agents
import Environments
import Foundation
import KernelSelection
import Logging
import NeuralNetwork
import RunConfiguration
import RunRecords
import Settings
import Training

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train in one process: one environment, no network.",
        discussion: "Writes summary.json into --run-dir (default runs/train) when done."
    )
    private static let defaults = TrainingConfiguration()

    @OptionGroup var common: CommonOptions

    @Option(parsing: .unconditional, help: "Initial steps acted uniformly at random.")
    var randomSteps = defaults.randomSteps

    @Option(parsing: .unconditional, help: "Gradient updates per environment step.")
    var updatesPerStep = defaults.updatesPerStep

    @Option(parsing: .unconditional, help: "A2C/A3C: environment copies acting together; each update learns from all their segments (SB3's n_envs; default 8).")
    var envs: Int?

    /// rl-baselines3-zoo's CartPole-v1 A2C acts in 8 environments.
    static let onPolicyEnvironments = 8

    @Option(parsing: .unconditional, help: "Stop at the first evaluation whose mean return reaches this, then play the final evaluation with those weights.")
    var untilReturn: Double?

    @OptionGroup(title: "DDPG")
    var agent: AgentOptions

    @OptionGroup(title: "Exploration")
    var noise: NoiseOptions

    var trainingConfiguration: TrainingConfiguration {
        var c = TrainingConfiguration()
        common.apply(to: &c)
        c.randomSteps = randomSteps
        c.updatesPerStep = updatesPerStep
        c.untilReturn = untilReturn
        c.agent = agent.configuration
        // After the agent: whether it learns on-policy decides the default.
        c.environments = envs ?? (c.isOnPolicy ? Self.onPolicyEnvironments : 1)
        c.noise = noise.configuration
        return c
    }

    func validate() throws {
        try agent.validateAlgorithmSettings()
        do {
            try trainingConfiguration.validate(spec: NativeEnvironments.type(named: common.environment)?.init().spec)
        } catch {
            throw error.validationError(in: self, \.trainingConfiguration)
        }
        try checkFlagsApply(to: agent.algorithm, in: self)
        try common.validateNativeEnvironment()
        try common.validateLogLevel()
    }

    func run() throws {
        bootstrapLogging(level: common.logLevel)
        let directory = common.runDirectory(default: "train")
        // Fails now, not after training, if the summary could not be written.
        try prepareRunDirectory(directory)
        BLAS.setThreadCount(common.blasThreads)
        let blas = KernelSelection.report
        Logger(label: "ddpg.train").info("BLAS: \(blas.line)")
        let configuration = trainingConfiguration, events = try common.eventWriter()
        var summary = configuration.isOnPolicy ? OnPolicyTrainer(configuration: configuration, events: events).run()
            : Trainer(configuration: configuration, events: events).run()
        summary.blas = blas
        do {
            try summary.write(toDirectory: directory)
        } catch {
            throw ValidationError("--run-dir: cannot write \(directory.appendingPathComponent("summary.json").path): \(posixReason(error))")
        }
        print(directory.appendingPathComponent("summary.json").path)
    }
}
