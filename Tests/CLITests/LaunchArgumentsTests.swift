import Agents
import ArgumentParser
import Foundation
import Testing
@testable import ddpg

@Suite("Flags are declared once: children's arguments and error messages are derived from the declarations")
struct LaunchArgumentsTests {
    /// Every option group's flags set away from its defaults, so that a flag lost on the way shows.
    static let everythingChanged = [
        "--env", "MountainCarContinuous-v0", "--seed", "7", "--max-env-steps", "12345", "--replay-capacity", "5000",
        "--prioritized-replay", "--priority-alpha", "0.7", "--priority-beta", "0.5", "--priority-epsilon", "0.001",
        "--learning-starts", "300", "--eval-every", "700", "--eval-episodes", "3", "--final-eval-episodes", "7", "--eval-seed", "11",
        "--blas-threads", "2", "--log-level", "debug", "--solved-return", "80.5",
        "--algorithm", "td3", "--actor-hidden", "400,300", "--critic-hidden", "256,256,64", "--critic-action-layer", "0",
        "--actor-lr", "0.0003", "--critic-lr", "0.0007", "--critic-weight-decay", "0.01", "--gamma", "0.98", "--tau", "0.0025",
        "--hard-target-every", "0", "--batch-size", "256", "--critic-loss", "mse", "--huber-delta", "2", "--grad-clip-norm", "10",
        "--reward-scale", "0.1", "--reward-shift", "-1.5", "--final-layer-init", "0.001", "--policy-delay", "3", "--target-noise", "0.1",
        "--target-noise-clip", "0.3",
        "--bind", "127.0.0.2", "--max-peers", "40", "--no-worker-pace", "--transitions-port", "6001", "--weights-port", "6002",
        "--samples-per-insert", "64", "--rate-tolerance", "3", "--broadcast-every", "50", "--broadcast-budget", "20",
        "--until-return", "-150", "--drain-seconds", "4", "--final-eval-seconds", "9", "--checkpoint-every", "30u",
        "--keep-checkpoints", "5", "--checkpoint-replay",
        "--envs-per-worker", "4", "--noise-spread-alpha", "0", "--noise-sigmas", "0.3,0.1,0.05", "--transitions-per-message", "64",
        "--flush-ms", "7", "--noise", "ou", "--noise-sigma", "0.3", "--ou-theta", "0.2", "--ou-dt", "0.02",
        "--metrics-port", "0", "--metrics-bind", "127.0.0.1", "--console", "plain",
        "--workers", "3", "--evaluators", "1",
    ]

    /// SAC's own settings, which only `--algorithm sac` reads.
    static let sacChanged = ["--algorithm", "sac", "--initial-alpha", "0.5", "--alpha-learning-rate", "0.001", "--target-entropy", "-2"]

    @Test("the learner and workers launch starts parse back to the configuration launch was given", arguments: [[], everythingChanged, sacChanged])
    func childrenParseBack(given: [String]) throws {
        let launch = try LaunchCommand.parse(given)
        let runDirectory = URL(fileURLWithPath: "/tmp/ddpg-launch-arguments")
        let children = launch.childArguments(runDirectory: runDirectory, gym: nil, workerLogLevel: launch.common.logLevel)

        #expect(children.learner.first == "learner")
        let learner = try LearnerCommand.parse(Array(children.learner.dropFirst()))
        var expected = LearnerCommand()
        expected.common = launch.common
        expected.agent = launch.agent
        expected.learner = launch.learner
        expected.learner.maxPeers = max(launch.learner.maxPeers, launch.workers + 8)
        #expect(learner.learnerConfiguration == expected.learnerConfiguration)
        #expect(learner.common.runDir == runDirectory.path && learner.common.env == launch.common.environment)
        #expect(learner.monitoring.metricsPort == launch.monitoring.metricsPort && learner.common.logLevel == launch.common.logLevel)
        #expect(learner.learner.resume == launch.learner.resume && learner.learner.insecure == launch.learner.insecure)

        for id in 0...launch.workers {
            let arguments = children.worker(id)
            #expect(arguments.first == "worker")
            let worker = try WorkerCommand.parse(Array(arguments.dropFirst()))
            let c = worker.workerConfiguration
            #expect(c.environment == launch.common.environment && c.seed == launch.common.seed)
            #expect(c.workerId == id && c.workerCount == launch.workers && c.role == (id < launch.workers ? .actor : .evaluator))
            #expect(c.transitionsEndpoint.hasSuffix(":\(launch.learner.transitionsPort)") && c.weightsEndpoint.hasSuffix(":\(launch.learner.weightsPort)"))
            guard id < launch.workers else { continue }
            var options = c
            launch.worker.apply(to: &options)
            #expect(c == options, "worker options")
            #expect(c.noise == launch.noise.workerConfiguration)
        }
        // Not vacuous: the changed values did reach the children.
        if given == Self.everythingChanged {
            #expect(learner.agent.configuration.algorithm == .td3 && learner.learnerConfiguration.training.prioritizedReplay?.alpha == 0.7)
            #expect(!learner.learner.workerPace && learner.learner.checkpointReplay)
        } else if given == Self.sacChanged {
            #expect(learner.agent.configuration.settings(of: SAC.self) == SAC.Settings(initialAlpha: 0.5, alphaLearningRate: 0.001, targetEntropy: -2))
        }
    }

    @Test("every stored property of every option group is an option, a flag or a group that reflection can pass on")
    func everythingReflects() throws {
        let groups: [any ParsableArguments.Type] = [CommonOptions.self, AgentOptions.self, NoiseOptions.self, WorkerOptions.self,
                                                    LearnerOptions.self, MonitoringOptions.self, LearnerSecurityOptions.self]
        for group in groups { #expect(group.unreflectedProperties.isEmpty, "\(group): \(group.unreflectedProperties)") }
        #expect(try AgentOptions.parse([]).flagNamed(like: "targetNoiseClip") == "--target-noise-clip")
        #expect(try CommonOptions.parse([]).flagNamed(like: "prioritizedReplay") == "--prioritized-replay")
    }

    @Test("an invalid configuration names the flag that set it, found from the declarations",
          arguments: [(["--gamma", "1.5"], "--gamma"), (["--policy-delay", "0"], "--policy-delay"), (["--target-noise", "-1"], "--target-noise"),
                      (["--prioritized-replay", "--priority-alpha", "2"], "--priority-alpha"), (["--noise-sigma", "-1"], "--noise-sigma"),
                      (["--learning-starts", "30000"], "--learning-starts"), (["--max-env-steps", "500"], "--learning-starts"),
                      (["--critic-hidden", "64", "--critic-action-layer", "2"], "--critic-action-layer")])
    func errorsNameTheirFlag(arguments: [String], flag: String) {
        do {
            _ = try Train.parse(arguments)
            Issue.record("\(arguments) should not parse")
        } catch {
            let message = Train.message(for: error)
            #expect(message.hasPrefix(flag + ":"), "\(arguments): \(message)")
        }
    }
}
