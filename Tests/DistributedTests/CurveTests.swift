import DDPGTestSupport
import Foundation
import Telemetry
import Testing

/// Part of the serialized suite, so no two tests that bind loopback ports run at once.
extension DistributedTests {
    /// `ddpg keys generate --out directory --name name`, returning the public key.
    static func generateKeys(_ directory: URL, _ name: String) throws -> String {
        let result = try DDPGProcess.run(["keys", "generate", "--out", directory.path, "--name", name], timeout: 20)
        try #require(result.status == 0, "\(result.stderr)")
        let text = try String(contentsOf: directory.appendingPathComponent("\(name).pub"), encoding: .utf8)
        return try #require(text.split(separator: "\n").last.map(String.init))
    }

    @Test("CURVE: an authorized worker learns; an unauthorized one, one without keys and one with a wrong server key get nothing in and nothing out")
    func curve() throws {
        let directory = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let keys = directory.appendingPathComponent("keys"), authorized = keys.appendingPathComponent("authorized")
        try FileManager.default.createDirectory(at: authorized, withIntermediateDirectories: true)
        _ = try Self.generateKeys(keys, "learner")
        _ = try Self.generateKeys(authorized, "good")
        let strangerKey = try Self.generateKeys(keys, "stranger")
        _ = try Self.generateKeys(keys, "impostor")
        // The evaluator's key is in a list of its own: a worker's key may feed replay, not evaluate.
        let evaluators = keys.appendingPathComponent("evaluators")
        _ = try Self.generateKeys(evaluators, "eval")
        let secretMode = try FileManager.default.attributesOfItem(atPath: keys.appendingPathComponent("learner.key").path)[.posixPermissions] as? Int
        #expect(secretMode == 0o600, "secret keys are private")
        let again = try DDPGProcess.run(["keys", "generate", "--out", keys.path, "--name", "learner"], timeout: 20)
        #expect(again.status != 0 && again.stderr.contains("not overwriting"), "an existing key is never overwritten")

        let ports = Harness.freePorts()
        let learner = try Child(Harness.learnerArguments(ports: ports, runDirectory: directory, extra: [
            "--curve-secret-key", keys.appendingPathComponent("learner.key").path, "--authorized-keys", authorized.path,
            "--evaluator-keys", evaluators.path,
        ]), name: "learner")
        let learnerPublic = keys.appendingPathComponent("learner.pub").path
        let good = try Child(Harness.workerArguments(ports: ports, id: 0, extra: [
            "--curve-secret-key", authorized.appendingPathComponent("good.key").path, "--learner-public-key", learnerPublic,
        ]), name: "authorized worker")
        // No token: under CURVE its key is what authorizes it.
        let evaluator = try Child(Harness.workerArguments(ports: ports, id: 99, extra: [
            "--evaluator", "--curve-secret-key", evaluators.appendingPathComponent("eval.key").path, "--learner-public-key", learnerPublic,
        ]), name: "authorized evaluator")
        let stranger = try Child(Harness.workerArguments(ports: ports, id: 1, extra: [
            "--curve-secret-key", keys.appendingPathComponent("stranger.key").path, "--learner-public-key", learnerPublic,
        ]), name: "unauthorized worker")
        let keyless = try Child(Harness.workerArguments(ports: ports, id: 2), name: "worker without keys")
        let impostor = try Child(Harness.workerArguments(ports: ports, id: 3, extra: [
            "--curve-secret-key", authorized.appendingPathComponent("good.key").path,
            "--learner-public-key", keys.appendingPathComponent("impostor.pub").path,
        ]), name: "worker with a wrong server key")

        // Learning, not just moving data: an evaluation reaches the solved return from the authorized worker's data alone.
        Harness.waitForStatus(ports, "the authorized worker's data to solve Pendulum", timeout: 90) { $0.solvedAtEnvSteps != nil && $0.weightsVersion > 5 }
        learner.waitForLog("the refused key in the log") { $0.contains("worker key \(strangerKey) is not in --authorized-keys") }
        let metrics = try PrometheusText(String(decoding: try MonitoringClient(address: "127.0.0.1:\(ports.metrics)").get("metrics"), as: UTF8.self))
        #expect((metrics.value("ddpg_connections_rejected_total", ["reason": "unauthorized_key"]) ?? 0) >= 1)
        #expect((metrics.value("ddpg_connections_rejected_total", ["reason": "handshake_failed"]) ?? 0) >= 2, "no keys, and a wrong server key")
        #expect((metrics.value("ddpg_connections_authorized_total") ?? 0) >= 2, "the authorized worker's two sockets")
        let status = try #require(Harness.status(ports))
        #expect(status.workers.map(\.workerId) == [0, 99], "only the authorized worker and evaluator were ever heard from")
        #expect(status.messagesRejected == 0, "\(status.messagesRejectedByReason)")
        stranger.waitForLog("the rejected worker to point at the keys", timeout: 20) { $0.contains("--authorized-keys?") }

        learner.signal(SIGTERM)
        #expect(learner.waitForExit() == 0)
        #expect(good.waitForExit() == 0, "the authorized worker received the shutdown notice")
        #expect(evaluator.waitForExit() == 0)
        for rejected in [stranger, keyless, impostor] {
            #expect(rejected.process.isRunning, "a rejected worker never hears the learner's shutdown")
            #expect(!rejected.log.contains("acting with"), "a rejected worker never receives weights")
            rejected.signal(SIGTERM)
            rejected.waitForExit()
        }
        let summary = try Harness.summary(in: directory)
        #expect((summary["transitions_sent"] as? [String: Int])?.keys.sorted() == ["0"])
        #expect((summary["workers"] as? [[String: Any]])?.count == 2)
        #expect((summary["transitions_received"] as? Int ?? 0) + (summary["transitions_after_stop"] as? Int ?? 0)
                == (summary["transitions_sent"] as? [String: Int])?["0"],
                "everything in replay came from the authorized worker")
        #expect(good.log.contains("acting with"))
    }
}
