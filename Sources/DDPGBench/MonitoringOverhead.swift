import Foundation
import Telemetry

extension DistributedBenchmarks {
    /// Learner updates/s of a real `ddpg learner` training without rate limiting for
    /// `seconds`, with monitoring off (`--console none`) or fully on: `/metrics` and
    /// `/status` served and scraped `scrapesPerSecond` times a second, the plain
    /// console, and TensorBoard event files. A synthetic sender fills replay first,
    /// then trickles, so the learner's own loop is what is measured.
    static func learnerUpdateRate(monitoring: Bool, seconds: Double, scrapesPerSecond: Double, port: Int) throws -> Double {
        let directory = NSTemporaryDirectory() + "ddpg-bench-monitoring-\(port)"
        try? FileManager.default.removeItem(atPath: directory)
        var arguments = [
            "learner", "--bind", "127.0.0.1", "--transitions-port", "\(port)", "--weights-port", "\(port + 1)",
            "--run-dir", directory, "--max-env-steps", "1000000000", "--learning-starts", "1000", "--samples-per-insert", "0",
            "--eval-every", "1000000000", "--final-eval-episodes", "1", "--drain-seconds", "0",
        ]
        arguments += monitoring
            ? ["--metrics-port", "\(port + 2)", "--console", "plain", "--logdir", directory + "/tensorboard"]
            : ["--console", "none"]
        let learner = try start(arguments)
        waitForPort(port)
        let counter = TransitionCounter()
        let sender = Thread {
            do {
                try send(workerId: 0, port: port, perMessage: 64, counter: counter, pauseAfter: 2_048, pauseMicroseconds: 10_000)
            } catch {
                FileHandle.standardError.write(Data("sender: \(error)\n".utf8))
            }
        }
        sender.start()
        let scraper = Thread {
            guard monitoring, let client = try? MonitoringClient(address: "127.0.0.1:\(port + 2)", timeout: 2) else { return }
            while !counter.isStopped {
                _ = try? client.get("metrics")
                _ = try? client.get("status")
                usleep(useconds_t(1e6 / scrapesPerSecond))
            }
        }
        scraper.start()
        usleep(UInt32(seconds * 1_000_000))
        counter.stop()
        kill(learner.processIdentifier, SIGTERM)
        learner.waitUntilExit()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/summary.json"))) as? [String: Any]
        let updates = summary?["updates"] as? Double ?? Double(summary?["updates"] as? Int ?? 0)
        let wall = summary?["wall_seconds"] as? Double ?? .nan
        return updates / wall
    }
}
