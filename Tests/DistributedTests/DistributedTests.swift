import Foundation
import Telemetry
import Testing
import WireProtocol
import ZeroMQ

/// Real `ddpg` processes on loopback, with free ports and bounded time.
@Suite("Learner and workers as real processes", .serialized)
struct DistributedTests {
    @Test("--bind ::1: the learner binds IPv6 loopback, and its workers connect to it there")
    func ipv6() throws {
        let directory = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ports = Harness.freePorts()
        let launcher = try Child([
            "launch", "--workers", "1", "--evaluators", "0", "--run-dir", directory.path, "--max-env-steps", "3000", "--learning-starts", "500",
            "--bind", "::1", "--transitions-port", "\(ports.transitions)", "--weights-port", "\(ports.weights)",
        ], name: "launch")
        #expect(launcher.waitForExit(timeout: 60) == 0, "launch log:\n\(launcher.log.suffix(2_000))")
        let summary = try Harness.summary(in: directory)
        #expect((summary["transitions_received"] as? Int ?? 0) >= 3_000 && summary["stop_reason"] as? String == "max_env_steps")
        #expect((summary["weights_version"] as? Int ?? 0) >= 1, "weights reached the worker over IPv6 too")
    }

    @Test("ddpg launch on ports another learner holds stops before it starts anything: none of its workers reach that learner")
    func launchOnTakenPorts() throws {
        let (running, refused) = (Harness.temporaryDirectory(), Harness.temporaryDirectory())
        defer { for directory in [running, refused] { try? FileManager.default.removeItem(at: directory) } }
        let ports = Harness.freePorts()
        let learner = try Child(Harness.learnerArguments(ports: ports, runDirectory: running, extra: ["--env", "Pendulum-v1"]), name: "learner")
        learner.waitForLog("the first learner to bind its ports") { $0.contains("learner listening") }
        let launcher = try Child([
            "launch", "--workers", "2", "--run-dir", refused.path, "--max-env-steps", "3000",
            "--bind", "127.0.0.1", "--transitions-port", "\(ports.transitions)", "--weights-port", "\(ports.weights)",
        ], name: "launch")
        #expect(launcher.waitForExit(timeout: 20) != 0)
        #expect(launcher.log.contains("--transitions-port: port \(ports.transitions) on 127.0.0.1 is in use"), "launch log:\n\(launcher.log.suffix(2_000))")
        #expect(!launcher.log.contains("learner started"))
        let status = try #require(Harness.waitForStatus(ports, "the first learner's status") { _ in true })
        #expect(status.workers.isEmpty && status.messagesRejected == 0 && status.messagesAccepted == 0,
                "the running learner heard from no one: \(StatusFormat.plainLine(status))")
        learner.signal(SIGTERM)
        #expect(learner.waitForExit() == 0)
    }

    @Test("ddpg launch learns Pendulum: transitions arrive, weights arrive, an evaluation reaches −400, nothing is lost")
    func launch() throws {
        let directory = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ports = Harness.freePorts()
        let launcher = try Child([
            // −400 is learned, not solved (a random policy scores about −1,200): every seed gets there well within 40k steps.
            "launch", "--workers", "2", "--seed", "3", "--run-dir", directory.path, "--max-env-steps", "40000", "--until-return", "-400",
            "--learning-starts", "500", "--eval-every", "1000", "--eval-episodes", "5", "--final-eval-episodes", "5",
            "--bind", "127.0.0.1", "--transitions-port", "\(ports.transitions)", "--weights-port", "\(ports.weights)", "--broadcast-every", "100",
        ], name: "launch")
        #expect(launcher.waitForExit(timeout: 60) == 0, "launch log:\n\(launcher.log.suffix(2_000))")
        let summary = try Harness.summary(in: directory)
        let sent = try #require(summary["transitions_sent"] as? [String: Int])
        let received = try #require(summary["transitions_received"] as? Int)
        let rejected = try #require(summary["transitions_rejected"] as? Int)
        let afterStop = try #require(summary["transitions_after_stop"] as? Int)
        #expect(summary["stop_reason"] as? String == "until_return", "learned: \(summary["eval"] ?? "")")
        #expect(sent.count == 2, "both workers report what they sent")
        #expect(received >= 1_000)
        #expect(sent.values.reduce(0, +) == received + rejected + afterStop,
                "sent \(sent) vs received \(received) + rejected \(rejected) + after the stop \(afterStop)")
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
            #expect(report["stop_reason"] as? String == "learner_stopping", "told to stop by the final evaluation's request")
        }
        #expect(!launcher.log.contains("did not finish"))
        let reports = try #require(summary["worker_reports"] as? [[String: Any]])
        #expect(reports.count == 2 && reports.allSatisfy { $0["sigma"] is Double }, "the launcher adds the workers' own reports")
        #expect(reports.contains { ($0["paced_seconds"] as? Double ?? 0) > 0 }, "workers wait for the learner's credit instead of filling queues")
        let evaluators = try #require(summary["evaluator_reports"] as? [[String: Any]])
        #expect(evaluators.count == 1 && (evaluators[0]["evaluations"] as? Int ?? 0) >= 2, "the launcher's evaluator evaluated, the final evaluation too")
        // The final evaluation plays the approved weights on the same fixed starts as the evaluation that approved them
        // (evaluations of weights published before the stop may still arrive after it, and are recorded too).
        let evaluations = (summary["eval"] as? [[String: Any]] ?? []).compactMap { $0["mean_return"] as? Double }
        let final = (summary["final_eval"] as? [String: Any])?["mean_return"] as? Double
        #expect(final.map { final in final >= -400 && evaluations.contains(final) } == true, "final \(final ?? .nan), evaluations \(evaluations)")
        #expect((summary["eval"] as? [[String: Any]] ?? []).count >= 1)
        #expect((summary["final_eval"] as? [String: Any])?["episodes"] as? Int == 5)
    }
}

/// Part of the serialized suite above, so no two tests that bind loopback ports run at once.
extension DistributedTests {
    @Test("ddpg launch --algorithm a2c learns CartPole-v1: two workers send segments of the current weights, every round learns from both")
    func launchA2C() throws {
        let directory = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ports = Harness.freePorts()
        // Learned, not solved (rounds race with each other, so runs differ): in 10 runs the best evaluation was 383 to 500.
        let summary = try Self.launchCartPole(algorithm: "a2c", directory: directory, ports: ports)
        #expect(summary["final_eval"] != nil, "the evaluator played the greedy policy at the end")
        let sent = try #require(summary["transitions_sent"] as? [String: Int])
        #expect(sent.count == 2 && summary["transitions_rejected"] as? Int == 0)
        let received = try #require(summary["transitions_received"] as? Int), updates = try #require(summary["updates"] as? Int)
        // A round is one segment of 4 environments × 5 steps from each worker; a late segment (after a deadline) is its only loss.
        #expect(updates > 0 && Double(received) / Double(updates) > 35 && Double(received) / Double(updates) <= 41,
                "\(received) rows over \(updates) updates")
        let rejected = try #require(summary["messages_rejected"] as? [String: Int])
        #expect(rejected.values.reduce(0, +) == 0, "rejected: \(rejected)")
        // Its checkpoint holds both networks and their optimizer: `eval` plays it, and --resume goes on from it.
        let evaluate = try Child(["eval", directory.path, "--episodes", "3"], name: "eval")
        #expect(evaluate.waitForExit(timeout: 30) == 0, "eval log:\n\(evaluate.log.suffix(1_000))")
        try Self.resumeCartPole(algorithm: "a2c", directory: directory, ports: ports, after: updates)
    }

    @Test("ddpg launch --algorithm a3c learns CartPole-v1: two workers with their own entropy weights send gradients, applied on arrival; it resumes")
    func launchA3C() throws {
        let directory = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ports = Harness.freePorts()
        let summary = try Self.launchCartPole(algorithm: "a3c", extra: ["--ent-coefs", "0,0.01"], directory: directory, ports: ports)
        let sent = try #require(summary["transitions_sent"] as? [String: Int])
        #expect(sent.count == 2 && sent.values.allSatisfy { $0 > 4_000 }, "both workers' gradients count: \(sent)")
        // One optimizer step per gradient applied, each of 4 environments × 5 steps.
        let received = try #require(summary["transitions_received"] as? Int), updates = try #require(summary["updates"] as? Int)
        let onPolicy = try #require(summary["on_policy"] as? [String: Any])
        #expect(onPolicy["learns_from"] as? String == "gradients")
        #expect(onPolicy["segments_accepted"] as? Int == updates && received == 20 * updates, "\(received) rows, \(updates) updates")
        let rejected = try #require(summary["messages_rejected"] as? [String: Int])
        #expect(Set(rejected.keys).isSubset(of: ["stale_gradient"]), "rejected: \(rejected)")
        let workers = try #require(summary["worker_reports"] as? [[String: Any]])
        #expect(workers.count == 2)
        try Self.resumeCartPole(algorithm: "a3c", directory: directory, ports: ports, after: updates)
    }

    /// `launch --algorithm` a2c or a3c on CartPole-v1 with 2 workers × 4 environments for 40,000 env steps: it must stop
    /// there and have learned (an untrained policy scores about 20, the threshold is 475). Returns its summary.
    static func launchCartPole(algorithm: String, extra: [String] = [], directory: URL, ports: Harness.Ports) throws -> [String: Any] {
        let launcher = try Child([
            "launch", "--algorithm", algorithm, "--env", "CartPole-v1", "--workers", "2", "--envs-per-worker", "4", "--seed", "3",
            "--run-dir", directory.path, "--max-env-steps", "40000", "--eval-every", "5000", "--eval-episodes", "10",
            "--final-eval-episodes", "10", "--bind", "127.0.0.1", "--transitions-port", "\(ports.transitions)", "--weights-port", "\(ports.weights)",
        ] + extra, name: "launch")
        #expect(launcher.waitForExit(timeout: 90) == 0, "launch log:\n\(launcher.log.suffix(2_000))")
        let summary = try Harness.summary(in: directory)
        #expect(summary["stop_reason"] as? String == "max_env_steps")
        let best = (summary["eval"] as? [[String: Any]] ?? []).compactMap { $0["mean_return"] as? Double }.max() ?? 0
        #expect(best >= 200, "learned: \(summary["eval"] ?? "")")
        return summary
    }

    /// `launch --resume` of a CartPole run of `algorithm` to 44,000 env steps: it must go on from the checkpoint's `updates`.
    static func resumeCartPole(algorithm: String, directory: URL, ports: Harness.Ports, after updates: Int) throws {
        let resumed = try Child([
            "launch", "--algorithm", algorithm, "--env", "CartPole-v1", "--workers", "2", "--envs-per-worker", "4", "--seed", "3",
            "--resume", directory.path, "--max-env-steps", "44000", "--evaluators", "0", "--bind", "127.0.0.1",
            "--transitions-port", "\(ports.transitions)", "--weights-port", "\(ports.weights)",
        ], name: "resume")
        #expect(resumed.waitForExit(timeout: 60) == 0, "resume log:\n\(resumed.log.suffix(2_000))")
        #expect(resumed.log.contains("resumed from"))
        let after = try Harness.summary(in: directory)
        #expect((after["updates"] as? Int ?? 0) > updates && (after["env_steps"] as? Int ?? 0) >= 44_000, "continued: \(after["updates"] ?? "")")
    }

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

    /// The command line of process `pid`.
    static func commandLine(_ pid: Int32) -> [String] {
        ((try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? "").split(separator: "\0").map(String.init)
    }

    /// A child's role, as its command line says.
    static func role(_ pid: Int32) -> String {
        let words = commandLine(pid)
        if words.contains("--evaluator") { return "evaluator" }
        if let id = words.firstIndex(of: "--worker-id"), id + 1 < words.count { return "worker \(words[id + 1])" }
        return words.dropFirst().first ?? "pid \(pid)"
    }

    /// The children of a launcher killed with SIGKILL (its evaluator killed first when `evaluatorFirst`), as
    /// (role, seconds after the launcher died) for each; nil seconds for one still running after 10 s.
    static func killLauncher(evaluatorFirst: Bool) throws -> (children: [(role: String, exitedAfter: Double?)], log: String) {
        let directory = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ports = Harness.freePorts()
        let launcher = try Child([
            "launch", "--workers", "2", "--run-dir", directory.path, "--max-env-steps", "100000000",
            "--bind", "127.0.0.1", "--transitions-port", "\(ports.transitions)", "--weights-port", "\(ports.weights)",
        ], name: "launch")
        launcher.waitForLog("both workers and the evaluator to join") {
            $0.contains("worker 0 joined") && $0.contains("worker 1 joined") && $0.contains("evaluator 2 joined")
        }
        let children = Self.children(of: launcher.pid)
        let roles = Dictionary(uniqueKeysWithValues: children.map { ($0, role($0)) })
        if evaluatorFirst, let evaluator = roles.first(where: { $0.value == "evaluator" })?.key { kill(evaluator, SIGKILL) }
        launcher.signal(SIGKILL)
        launcher.waitForExit()
        let killed = Date()
        var exited: [Int32: Double] = [:]
        while exited.count < children.count, Date().timeIntervalSince(killed) < 10 {
            for pid in children where exited[pid] == nil && (kill(pid, 0) != 0 || Self.isZombie(pid)) { exited[pid] = Date().timeIntervalSince(killed) }
            usleep(10_000)
        }
        for pid in children where exited[pid] == nil { kill(pid, SIGKILL) }
        return (children.map { (roles[$0] ?? "?", exited[$0]) }.sorted { $0.role < $1.role }, launcher.log)
    }

    @Test("kill -9 of the launcher leaves no orphans, even when its evaluator died first without a goodbye",
          arguments: [false, true])
    func noOrphans(evaluatorFirst: Bool) throws {
        let (children, log) = try Self.killLauncher(evaluatorFirst: evaluatorFirst)
        #expect(children.count == 4, "a learner, two workers and an evaluator: \(children)")
        let survivors = children.filter { $0.exitedAfter == nil }
        #expect(survivors.isEmpty, "children still running 10 s after the launcher died: \(survivors.map(\.role)); log tail:\n\(log.suffix(3_000))")
        // Orphans have no one to report to: none waits for a sibling that will not answer.
        let slowest = children.compactMap(\.exitedAfter).max() ?? 0
        #expect(slowest < 5, "every child exits within the drain's bound: \(children)")
    }

    static func isZombie(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(after: close)...].split(separator: " ").first == "Z"
    }
}
