import Checkpoint
import DDPGTestSupport
import Foundation
import Telemetry
import Testing

/// Part of the serialized suite, so no two tests that bind loopback ports run at once.
extension DistributedTests {
    @Test("after a crash, --resume continues counters, versions and evaluations from the last checkpoint, and the worker carries on")
    func checkpointAndResume() throws {
        let directory = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ports = Harness.freePorts()
        let extra = ["--checkpoint-every", "500u", "--keep-checkpoints", "2"]
        var learner = try Child(Harness.learnerArguments(ports: ports, runDirectory: directory, extra: extra), name: "learner")
        let worker = try Child(Harness.workerArguments(ports: ports, id: 0), name: "worker")
        let evaluator = try Child(Harness.evaluatorArguments(ports: ports), name: "evaluator")
        Harness.waitForStatus(ports, "training past a few checkpoints") { $0.updates >= 2_000 && $0.latestEvaluation != nil }
        let atKill = try #require(Harness.status(ports))
        learner.signal(SIGKILL)
        learner.waitForExit()
        let store = CheckpointStore(directory: CheckpointStore.directory(ofRun: directory))
        // The store makes room before each rename so that a crash never leaves more than --keep-checkpoints;
        // a SIGKILL between the two leaves one.
        #expect((1...2).contains(store.files().count), "--keep-checkpoints 2: \(store.files().map(\.lastPathComponent))")
        let saved = try #require(store.latestValid()).checkpoint.header
        #expect(saved.updates >= 1_500 && saved.envSteps > 0 && saved.weightsVersion > 0)

        let progressFile = directory.appendingPathComponent("progress.csv")
        let rowsBefore = ProgressTable(csv: try String(contentsOf: progressFile, encoding: .utf8)).rowCount

        // The worker keeps running; a resumed learner takes it back.
        learner = try Child(Harness.learnerArguments(ports: ports, runDirectory: directory, extra: extra + ["--resume", directory.path]), name: "resumed learner")
        learner.waitForLog("the resume notice") { $0.contains("resumed from") }
        let resumed = Harness.waitForStatus(ports, "training after the resume") { $0.updates >= saved.updates + 500 && $0.envSteps > saved.envSteps }
        #expect((resumed?.weightsVersion ?? 0) > atKill.weightsVersion,
                "versions continue above every one published before the crash, not only the checkpoint's (v\(saved.weightsVersion))")
        worker.waitForLog("the worker to notice the new learner") { $0.contains("the learner restarted") }
        learner.signal(SIGTERM)
        #expect(learner.waitForExit() == 0)
        #expect(worker.waitForExit() == 0, "the worker was never restarted and stops with the learner")
        #expect(evaluator.waitForExit() == 0, "the evaluator followed the new learner too")

        let summary = try Harness.summary(in: directory)
        let updates = try #require(summary["updates"] as? Int)
        #expect((summary["env_steps"] as? Int ?? 0) > saved.envSteps)
        #expect(updates >= saved.updates + 500)
        #expect((summary["eval"] as? [[String: Any]] ?? []).count > saved.evaluations.count, "the evaluation history continues")
        #expect((summary["resumed_from"] as? String)?.contains("checkpoint-") == true)
        let progress = ProgressTable(csv: try String(contentsOf: progressFile, encoding: .utf8))
        #expect(progress.rowCount > 0 && rowsBefore > 0, "the resumed run continues progress.csv instead of starting it again")
        let rows = progress.series("wall_seconds", "env_steps")
        #expect(zip(rows, rows.dropFirst()).allSatisfy { $0.0 <= $1.0 && $0.1 <= $1.1 },
                "time and steps never go back: the rows after the checkpoint were dropped")
        #expect(rows.contains { $0.1 > Double(saved.envSteps) }, "and the resumed run's rows follow")
        // SIGTERM wrote a last checkpoint: the state at stop.
        let last = try #require(store.latestValid()).checkpoint.header
        #expect(last.updates == updates && last.envSteps == summary["env_steps"] as? Int)
    }

    @Test("a checkpoint that cannot be written is counted, logged with the reason, and fails the run at the end")
    func checkpointFailure() throws {
        let directory = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // A file where the checkpoints directory should be: every write fails, as on a read-only or full disk.
        try Data("in the way".utf8).write(to: CheckpointStore.directory(ofRun: directory))
        let ports = Harness.freePorts()
        let learner = try Child(Harness.learnerArguments(ports: ports, runDirectory: directory, extra: ["--checkpoint-every", "300u"]), name: "learner")
        let worker = try Child(Harness.workerArguments(ports: ports, id: 0), name: "worker")
        Harness.waitForStatus(ports, "a failed checkpoint in /status") { $0.checkpointFailures >= 1 }
        let metrics = try MonitoringClient(address: "127.0.0.1:\(ports.metrics)").get("metrics")
        let failures = try PrometheusText(String(decoding: metrics, as: UTF8.self)).value("ddpg_checkpoint_failures_total") ?? 0
        #expect(failures >= 1)
        learner.signal(SIGTERM)
        #expect(learner.waitForExit() == 1, "a run whose checkpoints were lost does not exit 0")
        worker.waitForExit()
        #expect(learner.log.contains("checkpoint not written") && learner.log.contains("checkpoints could not be written"))
        let summary = try Harness.summary(in: directory)
        #expect((summary["checkpoint_failures"] as? Int ?? 0) >= 2, "the scheduled ones and the last one")
    }

    @Test("--resume with only damaged or incompatible checkpoints fails naming each file and why")
    func resumeRefusesBadCheckpoints() throws {
        let directory = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let checkpoints = CheckpointStore.directory(ofRun: directory)
        try FileManager.default.createDirectory(at: checkpoints, withIntermediateDirectories: true)
        try Data("not a checkpoint".utf8).write(to: checkpoints.appendingPathComponent(CheckpointStore.fileName(updates: 10)))
        let ports = Harness.freePorts()
        let result = try DDPGProcess.run(Harness.learnerArguments(ports: ports, runDirectory: directory, extra: ["--resume", directory.path]), timeout: 30)
        #expect(result.status != 0)
        #expect(result.stderr.contains("--resume") && result.stderr.contains(CheckpointStore.fileName(updates: 10))
                && result.stderr.contains("not a ddpg checkpoint"), "\(result.stderr.suffix(600))")
        let empty = Harness.temporaryDirectory()
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let none = try DDPGProcess.run(Harness.learnerArguments(ports: ports, runDirectory: empty, extra: ["--resume", empty.path]), timeout: 30)
        #expect(none.status != 0 && none.stderr.contains("no checkpoints in"), "\(none.stderr.suffix(400))")
    }
}
