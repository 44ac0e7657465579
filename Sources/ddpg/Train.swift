import ArgumentParser
import DDPG
import Foundation
import Logging
import Training

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train DDPG in one process: one environment, no network.",
        discussion: "Writes summary.json into --run-dir when done."
    )
    private static let defaults = TrainingConfiguration()

    @Option(parsing: .unconditional, help: "Environment id.")
    var env = defaults.environment

    @Option(parsing: .unconditional, help: "Seed of every random stream of the run.")
    var seed = defaults.seed

    @Option(parsing: .unconditional, help: "Directory for summary.json (created if missing).")
    var runDir = "runs/train"

    @Option(parsing: .unconditional, help: "Environment steps to train for.")
    var maxEnvSteps = defaults.maxEnvSteps

    @Option(parsing: .unconditional, help: "Replay buffer capacity, in transitions.")
    var replayCapacity = defaults.replayCapacity

    @Option(parsing: .unconditional, help: "Initial steps acted uniformly at random.")
    var randomSteps = defaults.randomSteps

    @Option(parsing: .unconditional, help: "Environment steps before the first update.")
    var learningStarts = defaults.learningStarts

    @Option(parsing: .unconditional, help: "Gradient updates per environment step.")
    var updatesPerStep = defaults.updatesPerStep

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

    @OptionGroup(title: "DDPG")
    var agent: AgentOptions

    @OptionGroup(title: "Exploration")
    var noise: NoiseOptions

    var trainingConfiguration: TrainingConfiguration {
        var c = TrainingConfiguration()
        c.environment = env
        c.seed = seed
        c.maxEnvSteps = maxEnvSteps
        c.replayCapacity = replayCapacity
        c.randomSteps = randomSteps
        c.learningStarts = learningStarts
        c.updatesPerStep = updatesPerStep
        c.evalEvery = evalEvery
        c.evalEpisodes = evalEpisodes
        c.finalEvalEpisodes = finalEvalEpisodes
        c.evalSeed = evalSeed
        c.blasThreads = blasThreads
        c.agent = agent.configuration
        c.noise = noise.configuration
        return c
    }

    func validate() throws {
        do {
            try trainingConfiguration.validate()
        } catch {
            throw error.validationError
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level: unknown level '\(logLevel)'")
        }
    }

    func run() throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let summary = Trainer(configuration: trainingConfiguration).run()
        let directory = URL(fileURLWithPath: runDir)
        try summary.write(toDirectory: directory)
        print(directory.appendingPathComponent("summary.json").path)
    }
}
