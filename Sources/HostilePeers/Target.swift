import Foundation
import Telemetry

/// The learner under attack: a real `ddpg learner` and one real worker, on free loopback ports.
final class Target {
    let ddpg: URL
    let directory: URL
    let ports: (transitions: Int, weights: Int, metrics: Int)
    private(set) var learner: Process
    private(set) var worker: Process
    let learnerLog: URL

    /// The learner's training flags for the attacks on a DDPG learner of Pendulum.
    static let offPolicy = ["--learning-starts", "500", "--eval-every", "5000", "--eval-episodes", "2", "--final-eval-episodes", "2",
                            "--broadcast-every", "50",
                            // A light ratio: the learner reads only as fast as it trains, and these attacks are about reading.
                            "--samples-per-insert", "8"]
    /// An A3C learner of CartPole and a worker that sends it gradients: the attacks on gradients.
    /// Its versions move slowly (a broadcast every 10,000 gradients, and the idle republications: about 6 a second) and 30 of them may pass,
    /// so that a forger's gradient of the newest weights is not stale on arrival.
    static let a3c = (learner: ["--algorithm", "a3c", "--env", "CartPole-v1", "--eval-every", "20000", "--eval-episodes", "2",
                                "--final-eval-episodes", "2", "--broadcast-every", "10000", "--max-staleness", "30"],
                      worker: ["--env", "CartPole-v1", "--rollout-steps", "5", "--gradients", "--envs-per-worker", "4"])

    init(ddpg: URL, training: [String] = Target.offPolicy, worker workerArguments: [String] = []) throws {
        self.ddpg = ddpg
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ddpg-hostile-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let free = Self.freePorts(3)
        ports = (free[0], free[1], free[2])
        learnerLog = directory.appendingPathComponent("learner.log")
        learner = try Self.start(ddpg, [
            "learner", "--transitions-port", "\(ports.transitions)", "--weights-port", "\(ports.weights)", "--metrics-port", "\(ports.metrics)",
            "--run-dir", directory.appendingPathComponent("run").path, "--console", "plain", "--max-env-steps", "100000000",
            "--checkpoint-every", "off",
        ] + training, log: learnerLog)
        worker = try Self.start(ddpg, ["worker", "--transitions-port", "\(ports.transitions)", "--weights-port", "\(ports.weights)",
                                       "--worker-id", "0", "--log-level", "warning"] + workerArguments,
                                log: directory.appendingPathComponent("worker.log"))
    }

    deinit {
        for process in [learner, worker] where process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: directory)
    }

    static func start(_ executable: URL, _ arguments: [String], log: URL) throws -> Process {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    /// Ports the kernel hands out for binding port 0, released at once.
    static func freePorts(_ count: Int) -> [Int] {
        var sockets: [Int32] = [], ports: [Int] = []
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length); return getsockname(fd, $0, &length) }
            }
            ports.append(Int(UInt16(bigEndian: address.sin_port)))
            sockets.append(fd)
        }
        sockets.forEach { close($0) }
        return ports
    }

    var isAlive: Bool { learner.isRunning }

    var status: LearnerStatus? { try? MonitoringClient(address: "127.0.0.1:\(ports.metrics)", timeout: 2).status() }

    /// Waits up to `timeout` seconds for the status to satisfy `predicate`.
    @discardableResult
    func waitForStatus(timeout: Double, _ predicate: (LearnerStatus) -> Bool) -> LearnerStatus? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let status, predicate(status) { return status }
            usleep(100_000)
        }
        return nil
    }

    /// A counter of the Prometheus endpoint, with its labels as written, e.g. `{reason="too_many_peers"}`.
    func metric(_ name: String) -> Double? {
        guard let data = try? MonitoringClient(address: "127.0.0.1:\(ports.metrics)", timeout: 2).get("metrics") else { return nil }
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.split(separator: " ").last ?? "")
        }
        return nil
    }

    /// The learner's resident and peak resident memory, in MiB.
    var memory: (rss: Double, peak: Double) {
        let text = (try? String(contentsOfFile: "/proc/\(learner.processIdentifier)/status", encoding: .utf8)) ?? ""
        func field(_ name: String) -> Double {
            let line = text.split(separator: "\n").first { $0.hasPrefix(name + ":") } ?? ""
            return (Double(line.split(separator: " ").dropFirst().first ?? "") ?? 0) / 1_024
        }
        return (field("VmRSS"), field("VmHWM"))
    }

    /// Open file descriptors of the learner (its sockets among them).
    var openDescriptors: Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(learner.processIdentifier)/fd").count) ?? -1
    }

    func stop() -> (status: Int32, seconds: Double) {
        let started = Date()
        kill(learner.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(60)
        while learner.isRunning, Date() < deadline { usleep(20_000) }
        if learner.isRunning { kill(learner.processIdentifier, SIGKILL) }
        learner.waitUntilExit()
        let seconds = Date().timeIntervalSince(started)
        worker.waitUntilExit()
        return (learner.terminationStatus, seconds)
    }

    var summaryExists: Bool { FileManager.default.fileExists(atPath: directory.appendingPathComponent("run/summary.json").path) }
    var log: String { (try? String(contentsOf: learnerLog, encoding: .utf8)) ?? "" }
}
