import DDPGTestSupport
import Foundation
import Learning
import Telemetry
import Testing

/// Part of the serialized suite, so no two tests that bind loopback ports run at once.
extension DistributedTests {
    @Test("a real learner serves Prometheus text and /status that agree with each other and with summary.json")
    func metricsEndpoint() throws {
        let directory = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ports = Harness.freePorts()
        let learner = try Child(Harness.learnerArguments(ports: ports, runDirectory: directory), name: "learner")
        let worker = try Child(Harness.workerArguments(ports: ports, id: 0), name: "worker 0")
        let other = try Child(Harness.workerArguments(ports: ports, id: 1), name: "worker 1")
        Harness.waitForStatus(ports, "two workers training, with no evaluator") { status in
            status.workersConnected == 2 && status.updates > 500 && status.evaluatorsConnected == 0 && status.latestEvaluation == nil
        }
        let console = learner.log
        #expect(console.contains("(no evaluator connected)"), "the console says why no evaluation comes")
        let evaluator = try Child(Harness.evaluatorArguments(ports: ports), name: "evaluator")
        Harness.waitForStatus(ports, "two workers training, evaluated") { status in
            status.workersConnected == 2 && status.updates > 2_000 && status.latestEvaluation != nil && status.evaluatorsConnected == 1
                && status.workers.allSatisfy { $0.role == "evaluator" || $0.transitionsPerSecond.last10s > 0 }
        }

        let client = try MonitoringClient(address: "127.0.0.1:\(ports.metrics)")
        let text = String(decoding: try client.get("metrics"), as: UTF8.self)
        let metrics = try PrometheusText(text)
        for definition in LearnerMetrics.definitions {
            #expect(metrics.types[definition.name] == definition.kind.rawValue, "TYPE of \(definition.name)")
            #expect(metrics.help[definition.name]?.isEmpty == false, "HELP of \(definition.name)")
        }
        for sample in metrics.samples {
            #expect(sample.name.hasPrefix("ddpg_"), "\(sample.name) follows the ddpg_ prefix")
        }
        // The label sets are fixed: no label beyond the documented ones (and le for buckets).
        for definition in LearnerMetrics.definitions {
            let allowed = Set(definition.labels + (definition.kind == .histogram ? ["le"] : []))
            let family = metrics.samples.filter { $0.name == definition.name || $0.name.hasPrefix(definition.name + "_") }
            #expect(!family.isEmpty, "\(definition.name) has samples")
            #expect(family.allSatisfy { Set($0.labels.keys).isSubset(of: allowed) }, "labels of \(definition.name)")
        }
        let received = try #require(metrics.value("ddpg_transitions_received_total"))
        let perWorker = metrics.all("ddpg_worker_transitions_received_total")
        #expect(perWorker.map { $0.labels["worker"] ?? "" }.sorted() == ["0", "1", "other"])
        // A scrape reads counters one by one while messages arrive, so exact agreement is checked once the workers stop.
        #expect(perWorker.reduce(0) { $0 + $1.value } >= received, "per-worker counters are rendered after the total")
        #expect(received >= 2_000)
        // Counters move with every message; gauges and /status once a second.
        let replaySize = try #require(metrics.value("ddpg_replay_size"))
        #expect(replaySize > 0 && replaySize <= received)
        #expect(metrics.value("ddpg_workers_connected") == 2)
        #expect((metrics.value("ddpg_update_duration_seconds_count") ?? 0) > 2_000)
        #expect(metrics.value("ddpg_update_duration_seconds_bucket", ["le": "+Inf"]) == metrics.value("ddpg_update_duration_seconds_count"))
        #expect((metrics.value("ddpg_weights_version") ?? 0) >= 1)
        #expect(metrics.value("ddpg_messages_rejected_total", ["reason": "bad_magic"]) == 0, "every reason is present from the start")
        #expect((metrics.value("ddpg_transitions_per_second", ["window": "10s"]) ?? 0) > 0)

        let status = try client.status()
        #expect(status.workers.map(\.workerId) == [0, 1, 99] && status.workers.map(\.role) == ["actor", "actor", "evaluator"])
        #expect(status.workers.filter { $0.role == "actor" }.allSatisfy { $0.connected && $0.transitionsReceived > 0 && $0.transitionsPerSecond.last10s > 0 })
        #expect(status.replayCapacity == 1_000_000 && status.maxEnvSteps == 100_000_000)
        #expect(status.envSteps >= Int(replaySize), "status is at least as recent as the gauges scraped before it")
        #expect(status.phase == "training")
        #expect(status.policyLag != nil && status.etaSeconds != nil)

        // `ddpg top` renders the same status as a table with a row per worker.
        let top = try DDPGProcess.run(["top", "127.0.0.1:\(ports.metrics)", "--once"], timeout: 20)
        #expect(top.status == 0, "ddpg top: \(top.stderr)")
        #expect(top.stdout.contains("#0") && top.stdout.contains("#1") && top.stdout.contains("#99 eval") && top.stdout.contains("total"), "\(top.stdout)")

        worker.signal(SIGTERM)
        other.signal(SIGTERM)
        #expect(worker.waitForExit() == 0 && other.waitForExit() == 0)
        // OpenBLAS's helper threads spin: a worker that kept them would take a second core.
        #expect(worker.log.contains("BLAS: ") && worker.log.contains("kernels") && worker.log.contains(", 1 thread\n"), "\(worker.log)")
        // What the workers sent last may still be queued at the learner: scrape until the total stops moving.
        var settled = try PrometheusText(String(decoding: try client.get("metrics"), as: UTF8.self))
        for _ in 0..<20 {
            Thread.sleep(forTimeInterval: 0.1)
            let next = try PrometheusText(String(decoding: try client.get("metrics"), as: UTF8.self))
            defer { settled = next }
            if next.value("ddpg_transitions_received_total") == settled.value("ddpg_transitions_received_total") { break }
        }
        let settledTotal = try #require(settled.value("ddpg_transitions_received_total"))
        #expect(settled.all("ddpg_worker_transitions_received_total").reduce(0) { $0 + $1.value } == settledTotal,
                "with the workers stopped, per-worker counters add up to the total exactly")
        learner.signal(SIGTERM)
        #expect(learner.waitForExit() == 0)
        #expect(evaluator.waitForExit() == 0)
        let summary = try Harness.summary(in: directory)
        #expect((summary["transitions_received"] as? Int ?? 0) >= Int(received))
        #expect((summary["final_eval"] as? [String: Any])?["episodes"] as? Int == 2, "the evaluator played the final evaluation")
        // The workers act: their settings are not the learner's, so its record leaves them out.
        let config = try #require(summary["config"] as? [String: Any])
        #expect(config["noise"] == nil && config["random_steps"] == nil && config["updates_per_step"] == nil, "\(config.keys.sorted())")
        #expect(config["replay_capacity"] as? Int == 1_000_000 && config["agent"] != nil)
        let progress = ProgressTable(csv: try String(contentsOf: directory.appendingPathComponent("progress.csv"), encoding: .utf8))
        #expect(progress.rowCount >= 2, "progress.csv has a row a second")
        #expect(progress.series("wall_seconds", "updates_per_second").contains { $0.1 > 0 })

        // The plain console printed status lines, but at most one per 10 s.
        let statusLines = learner.log.split(separator: "\n").filter { $0.contains("| samples/insert ") }
        #expect(!statusLines.isEmpty)
        #expect(statusLines.count <= 1 + Int(status.uptimeSeconds + 5) / 10, "\(statusLines.count) status lines")
    }

    @Test("ddpg top: a dead or silent address fails within 3 s with a message naming it")
    func topUnreachable() throws {
        let port = DDPGExecutable.freePorts(1)[0]
        var started = Date()
        let refused = try DDPGProcess.run(["top", "127.0.0.1:\(port)"], timeout: 20)
        #expect(Date().timeIntervalSince(started) <= 3)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("cannot reach the learner at http://127.0.0.1:\(port)/status"), "\(refused.stderr)")

        // A socket that listens but never answers: the connection opens, the reply never comes.
        let fd = try #require(DDPGExecutable.silentListener(port: port))
        defer { close(fd) }
        started = Date()
        let silent = try DDPGProcess.run(["top", "127.0.0.1:\(port)"], timeout: 20)
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed <= 3, "took \(elapsed) s")
        #expect(silent.status != 0)
        #expect(silent.stderr.contains("no answer within"), "\(silent.stderr)")
    }
}
