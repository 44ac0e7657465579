import Foundation
import Testing
import WireProtocol
import ZeroMQ

/// Real `ddpg` processes on loopback, with free ports and bounded time.
@Suite("Learner and workers as real processes", .serialized)
struct DistributedTests {
    @Test("ddpg launch: transitions arrive, weights arrive, nothing is lost")
    func launch() throws {
        let directory = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ports = Harness.freePorts()
        let launcher = try Child([
            "launch", "--workers", "2", "--seed", "3", "--run-dir", directory.path, "--max-env-steps", "10000",
            "--learning-starts", "500", "--eval-every", "1000", "--eval-episodes", "2", "--final-eval-episodes", "5",
            "--bind", "127.0.0.1", "--transitions-port", "\(ports.transitions)", "--weights-port", "\(ports.weights)", "--broadcast-every", "100",
        ], name: "launch")
        #expect(launcher.waitForExit(timeout: 60) == 0, "launch log:\n\(launcher.log.suffix(2_000))")
        let summary = try Harness.summary(in: directory)
        let sent = try #require(summary["transitions_sent"] as? [String: Int])
        let received = try #require(summary["transitions_received"] as? Int)
        let rejected = try #require(summary["transitions_rejected"] as? Int)
        #expect(sent.count == 2, "both workers report what they sent")
        #expect(received >= 10_000)
        #expect(sent.values.reduce(0, +) == received + rejected, "sent \(sent) vs received \(received) + rejected \(rejected)")
        #expect(summary["transitions_accepted"] as? Int == received)
        #expect((summary["weights_version"] as? Int ?? 0) > 5)
        let lag = try #require(summary["policy_lag"] as? [String: Any])
        #expect((lag["max"] as? Int ?? -1) >= 0 && (lag["mean"] as? Double ?? -1) >= 0)
        let lagUpdates = try #require(summary["policy_lag_updates"] as? [String: Any], "lag in updates, not only versions")
        let lagSeconds = try #require(summary["policy_lag_seconds"] as? [String: Any])
        #expect((lagUpdates["mean"] as? Double ?? -1) >= 0 && (lagSeconds["mean"] as? Double ?? -1) >= 0)
        for key in ["env_steps", "updates", "wall_seconds", "eval", "solved_at", "final_eval", "config", "messages_rejected"] {
            #expect(summary[key] != nil, "summary lacks \(key)")
        }
        for id in 0..<2 {
            let data = try Data(contentsOf: directory.appendingPathComponent("worker-\(id).json"))
            let report = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            #expect((report["weights_applied"] as? Int ?? 0) > 1, "worker \(id) applied new weights as they came")
            #expect((report["latest_weights_version"] as? Int ?? 0) > 1)
            #expect(report["stop_reason"] as? String == "learner_shutdown")
        }
        #expect(!launcher.log.contains("did not finish"))
        let reports = try #require(summary["worker_reports"] as? [[String: Any]])
        #expect(reports.count == 2 && reports.allSatisfy { $0["sigma"] is Double }, "the launcher adds the workers' own reports")
        #expect(reports.contains { ($0["paced_seconds"] as? Double ?? 0) > 0 }, "workers wait for the learner's credit instead of filling queues")
        let evaluators = try #require(summary["evaluator_reports"] as? [[String: Any]])
        #expect(evaluators.count == 1 && (evaluators[0]["evaluations"] as? Int ?? 0) >= 2, "the launcher's evaluator evaluated, the final evaluation too")
        #expect((summary["eval"] as? [[String: Any]] ?? []).count >= 2)
        #expect((summary["final_eval"] as? [String: Any])?["episodes"] as? Int == 5)
    }

    @Test("kill -9 of a worker leaves the learner learning, and a restarted worker rejoins")
    func workerKilled() throws {
        let directory = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ports = Harness.freePorts()
        let learner = try Child(Harness.learnerArguments(ports: ports, runDirectory: directory), name: "learner")
        let survivor = try Child(Harness.workerArguments(ports: ports, id: 1), name: "worker 1")
        var victim = try Child(Harness.workerArguments(ports: ports, id: 0), name: "worker 0")
        learner.waitForLog("both workers to join") { $0.contains("worker 0 joined") && $0.contains("worker 1 joined") }
        Harness.waitForStatus(ports, "training") { $0.envSteps >= 2_000 }
        victim.signal(SIGKILL)
        #expect(victim.waitForExit() == SIGKILL)
        let atKill = try #require(Harness.status(ports))
        Harness.waitForStatus(ports, "learning to go on without worker 0") { $0.updates >= atKill.updates + 2_000 }
        victim = try Child(Harness.workerArguments(ports: ports, id: 0), name: "worker 0 again")
        learner.waitForLog("worker 0 to rejoin") { $0.components(separatedBy: "worker 0 joined").count >= 3 }
        let atRejoin = try #require(Harness.status(ports))
        Harness.waitForStatus(ports, "more training") { $0.updates >= atRejoin.updates + 1_000 }
        learner.signal(SIGTERM)
        #expect(learner.waitForExit() == 0)
        #expect(victim.waitForExit() == 0 && survivor.waitForExit() == 0, "workers stop when the learner does")
        let summary = try Harness.summary(in: directory)
        let workers = try #require(summary["workers"] as? [[String: Any]])
        let restarted = try #require(workers.first { $0["worker_id"] as? Int == 0 })
        #expect((restarted["latest_weights_version"] as? Int ?? 0) > 1, "the restarted worker acted with current weights")
        #expect((summary["updates"] as? Int ?? 0) > 3_000)
    }

    @Test("a learner killed and restarted gets its workers back by themselves")
    func learnerRestarted() throws {
        let first = Harness.temporaryDirectory(), second = Harness.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(at: first)
            try? FileManager.default.removeItem(at: second)
        }
        let ports = Harness.freePorts()
        var learner = try Child(Harness.learnerArguments(ports: ports, runDirectory: first), name: "learner")
        let worker = try Child(Harness.workerArguments(ports: ports, id: 0), name: "worker")
        Harness.waitForStatus(ports, "training") { $0.envSteps >= 1_500 }
        learner.signal(SIGKILL)
        learner.waitForExit()
        learner = try Child(Harness.learnerArguments(ports: ports, runDirectory: second), name: "new learner")
        Harness.waitForStatus(ports, "the worker's transitions at the new learner") { $0.envSteps >= 1_500 && $0.updates > 0 }
        worker.waitForLog("the worker to notice the restart") { $0.contains("the learner restarted") }
        learner.signal(SIGTERM)
        #expect(learner.waitForExit() == 0)
        #expect(worker.waitForExit() == 0)
        let summary = try Harness.summary(in: second)
        let workers = try #require(summary["workers"] as? [[String: Any]])
        #expect(workers.count == 1)
        #expect((workers.first?["latest_weights_version"] as? Int ?? 0) >= 1, "the worker acted with the new learner's weights")
    }

    @Test("thousands of malformed messages are all rejected and counted, and training goes on")
    func hostileInput() throws {
        let directory = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ports = Harness.freePorts()
        // A light ratio: the learner reads only as fast as it trains, and this test is about reading.
        let learner = try Child(Harness.learnerArguments(ports: ports, runDirectory: directory, extra: ["--samples-per-insert", "8"]), name: "learner")
        let worker = try Child(Harness.workerArguments(ports: ports, id: 0), name: "worker")
        Harness.waitForStatus(ports, "training") { $0.envSteps >= 1_000 && $0.updates > 0 }

        let context = try ZMQContext()
        let socket = try ZMQSocket(context, type: .push)
        try socket.setLinger(milliseconds: 5_000)
        try socket.connect("tcp://127.0.0.1:\(ports.transitions)")
        var generator = SystemRandomNumberGenerator()
        var encoder = MessageEncoder()
        let valid = validTransitions(&encoder)
        var sent = 0
        func send(_ bytes: [UInt8]) throws {
            _ = try bytes.withUnsafeBytes { try socket.send($0) }
            sent += 1
        }
        for _ in 0..<2_000 {  // random bytes, never starting with the magic
            var bytes = (0..<Int.random(in: 1..<300, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            bytes[0] = 0x00
            try send(bytes)
        }
        for cut in 0..<valid.count { try send(Array(valid.prefix(cut))) }  // every truncation
        for _ in 0..<2_000 {  // a bit flipped in the header (magic, version, kind, flags, length)
            var bytes = valid
            let bit = Int.random(in: 0..<(12 * 8), using: &generator)
            bytes[bit / 8] ^= UInt8(1 << (bit % 8))
            try send(bytes)
        }
        for size in [2, 4, 17] {  // wrong observation dimensions
            let header = TransitionsHeader(workerId: 9, session: 9, observationSize: size, actionSize: 1, sequence: 0, weightsVersion: 0, count: 2)
            let floats = [Float](repeating: 0.5, count: 2 * size), one = [Float](repeating: 0.5, count: 2), flags = [UInt8](repeating: 0, count: 2)
            let bytes = floats.withUnsafeBufferPointer { f in one.withUnsafeBufferPointer { o in flags.withUnsafeBufferPointer { b in
                encoder.encodeTransitions(header, observations: f, actions: o, rewards: o, nextObservations: f, terminated: b, truncated: b, gamma: 0.99)
            } } }
            for _ in 0..<100 { try send(bytes) }
        }
        Harness.waitForStatus(ports, "every rejection to be counted", timeout: 60) { $0.messagesRejected >= sent }
        let afterFuzz = try #require(Harness.status(ports))
        Harness.waitForStatus(ports, "training to go on") { $0.updates >= afterFuzz.updates + 1_000 && $0.envSteps > afterFuzz.envSteps }
        learner.signal(SIGTERM)
        #expect(learner.waitForExit() == 0)
        worker.waitForExit()
        let summary = try Harness.summary(in: directory)
        let reasons = try #require(summary["messages_rejected"] as? [String: Int])
        #expect(reasons.values.reduce(0, +) == sent, "rejections by reason: \(reasons)")
        #expect(reasons["dimension_mismatch"] == 300)
        #expect((summary["updates"] as? Int ?? 0) > 1_000)
        #expect(sent > 4_000, "thousands of hostile messages")
        let sentByWorker = try #require(summary["transitions_sent"] as? [String: Int])
        #expect(sentByWorker["0"] == summary["transitions_received"] as? Int, "the real worker's data all arrived")
    }

    private func validTransitions(_ encoder: inout MessageEncoder) -> [UInt8] {
        let header = TransitionsHeader(workerId: 9, session: 9, observationSize: 3, actionSize: 1, sequence: 0, weightsVersion: 0, count: 2)
        let obs = [Float](repeating: 0.5, count: 6), one = [Float](repeating: 0.5, count: 2), flags = [UInt8](repeating: 0, count: 2)
        return obs.withUnsafeBufferPointer { f in one.withUnsafeBufferPointer { o in flags.withUnsafeBufferPointer { b in
            encoder.encodeTransitions(header, observations: f, actions: o, rewards: o, nextObservations: f, terminated: b, truncated: b, gamma: 0.99)
        } } }
    }
}

/// Part of the serialized suite above, so no two tests that bind loopback ports run at once.
extension DistributedTests {
    /// PIDs whose parent is `parent`, from /proc.
    static func children(of parent: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && Int32(fields[1]) == parent
        }
    }

    @Test("kill -9 of the launcher leaves no orphans")
    func noOrphans() throws {
        let directory = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ports = Harness.freePorts()
        let launcher = try Child([
            "launch", "--workers", "2", "--run-dir", directory.path, "--max-env-steps", "100000000",
            "--bind", "127.0.0.1", "--transitions-port", "\(ports.transitions)", "--weights-port", "\(ports.weights)",
        ], name: "launch")
        launcher.waitForLog("both workers to join") { $0.contains("worker 0 joined") && $0.contains("worker 1 joined") }
        let children = Self.children(of: launcher.pid)
        #expect(children.count == 4, "a learner, two workers and an evaluator")
        launcher.signal(SIGKILL)
        launcher.waitForExit()
        let deadline = Date().addingTimeInterval(10)
        var alive = children
        while !alive.isEmpty, Date() < deadline {
            alive = alive.filter { kill($0, 0) == 0 && !Self.isZombie($0) }
            usleep(50_000)
        }
        #expect(alive.isEmpty, "children still running after the launcher died: \(alive)")
        for pid in alive { kill(pid, SIGKILL) }
    }

    static func isZombie(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(after: close)...].split(separator: " ").first == "Z"
    }
}
