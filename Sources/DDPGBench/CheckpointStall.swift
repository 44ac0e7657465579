import Checkpoint
import Agents
import Environments
import Foundation
import Randomness
import Telemetry
import RunConfiguration
import RunRecords
import Training

extension DistributedBenchmarks {
    /// What a checkpoint costs the learner with [256,256] networks, no replay:
    /// the in-process time to copy the state (the stall) and to encode and write it
    /// (the background thread), then the stall as a real learner's
    /// `ddpg_checkpoint_stall_seconds` histogram records it, checkpointing every second.
    static func checkpointStall(seconds: Double, port: Int) throws -> [(String, Double, String)] {
        var results: [(String, Double, String)] = []
        var configuration = AgentConfiguration()
        configuration.actorHiddenSizes = [256, 256]
        configuration.criticHiddenSizes = [256, 256]
        configuration.batchSize = 256
        var generator = Xoshiro256(seed: 1)
        let agent = DDPGAgent(observationSize: 3, actionSize: 1, actionBound: 2, configuration: configuration, using: &generator)
        var training = TrainingConfiguration()
        training.agent = configuration
        let progress = LearnerProgress(envSteps: 0, weightsVersion: 0, episodes: 0, wallSeconds: 0, evaluations: [], solvedAt: nil)
        var captures: [Double] = [], writes: [Double] = []
        let directory = URL(fileURLWithPath: NSTemporaryDirectory() + "ddpg-bench-checkpoint-\(port)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = CheckpointStore(directory: directory, keep: 2)
        var bytes = 0
        for i in 0..<30 {
            let start = ContinuousClock.now
            let checkpoint = LearnerCheckpoint.capture(agent: agent, replay: nil, replayGenerator: generator, progress: progress,
                                                       configuration: training, spec: Pendulum().spec)
            let captured = ContinuousClock.now
            let encoded = checkpoint.encoded()
            try store.write(encoded, updates: i)
            let written = ContinuousClock.now
            captures.append((captured - start).seconds * 1e3)
            writes.append((written - captured).seconds * 1e3)
            bytes = encoded.count
        }
        captures.sort()
        writes.sort()
        results.append(("checkpoint_256x256_bytes", Double(bytes), "bytes"))
        results.append(("checkpoint_256x256_copy_p50", captures[captures.count / 2], "ms"))
        results.append(("checkpoint_256x256_copy_max", captures.last!, "ms"))
        results.append(("checkpoint_256x256_encode_write_fsync_p50", writes[writes.count / 2], "ms (background thread)"))

        // A real learner: [256,256], training without rate limiting, a checkpoint every second.
        let run = NSTemporaryDirectory() + "ddpg-bench-checkpoint-run-\(port)"
        try? FileManager.default.removeItem(atPath: run)
        defer { try? FileManager.default.removeItem(atPath: run) }
        let learner = try start([
            "learner", "--bind", "127.0.0.1", "--transitions-port", "\(port)", "--weights-port", "\(port + 1)", "--metrics-port", "\(port + 2)",
            "--run-dir", run, "--max-env-steps", "1000000000", "--learning-starts", "1000", "--samples-per-insert", "0",
            "--actor-hidden", "256,256", "--critic-hidden", "256,256", "--batch-size", "256", "--checkpoint-every", "1s",
            "--eval-every", "1000000000", "--final-eval-episodes", "1", "--drain-seconds", "0", "--console", "none",
        ])
        waitForPort(port)
        let counter = TransitionCounter()
        let sender = Thread {
            try? send(workerId: 0, port: port, perMessage: 64, counter: counter, pauseAfter: 2_048, pauseMicroseconds: 10_000)
        }
        sender.start()
        usleep(UInt32(seconds * 1_000_000))
        let metrics = (try? MonitoringClient(address: "127.0.0.1:\(port + 2)").get("metrics")).map { String(decoding: $0, as: UTF8.self) } ?? ""
        counter.stop()
        kill(learner.processIdentifier, SIGTERM)
        learner.waitUntilExit()
        func sample(_ name: String) -> Double? {
            metrics.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last!) }
        }
        let count = sample("ddpg_checkpoint_stall_seconds_count") ?? 0
        let sum = sample("ddpg_checkpoint_stall_seconds_sum") ?? .nan
        let within20 = sample("ddpg_checkpoint_stall_seconds_bucket{le=\"0.02\"}") ?? .nan
        let within5 = sample("ddpg_checkpoint_stall_seconds_bucket{le=\"0.005\"}") ?? .nan
        results.append(("learner_256x256_checkpoints", count, "checkpoints"))
        results.append(("learner_256x256_checkpoint_stall_mean", sum / count * 1e3, "ms"))
        results.append(("learner_256x256_checkpoint_stalls_within_5ms", within5, "checkpoints"))
        results.append(("learner_256x256_checkpoint_stalls_within_20ms", within20, "checkpoints"))
        return results
    }
}
