import DDPGTestSupport
import Foundation
import Telemetry
import Testing

/// Text appended from a pipe's reader thread and read from the test.
final class LogBuffer: @unchecked Sendable {
    private let lock = NSLock()
    private var text = ""

    func append(_ data: Data) { lock.withLock { text += String(decoding: data, as: UTF8.self) } }
    var contents: String { lock.withLock { text } }
}

/// A real `ddpg` child process whose standard error is collected as it runs.
final class Child: @unchecked Sendable {
    let process = Process()
    private let output = LogBuffer()
    private let name: String

    init(_ arguments: [String], name: String) throws {
        self.name = name
        process.executableURL = Harness.executable
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        let pipe = Pipe()
        process.standardError = pipe
        pipe.fileHandleForReading.readabilityHandler = { [output] handle in
            let data = handle.availableData
            guard !data.isEmpty else { return }
            output.append(data)
        }
        try process.run()
    }

    var log: String { output.contents }
    var pid: Int32 { process.processIdentifier }

    /// Waits until the log satisfies `predicate`, failing the test after `timeout` seconds.
    @discardableResult
    func waitForLog(_ what: String, timeout: Double = 30, sourceLocation: SourceLocation = #_sourceLocation, _ predicate: (String) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if predicate(log) { return true }
            if !process.isRunning, !predicate(log) { break }
            usleep(20_000)
        }
        Issue.record("\(name): timed out waiting for \(what); log tail:\n\(log.suffix(1_500))", sourceLocation: sourceLocation)
        return false
    }

    func signal(_ number: Int32) { kill(pid, number) }

    /// Waits for exit, killing the process if it outlives `timeout`.
    @discardableResult
    func waitForExit(timeout: Double = 30, sourceLocation: SourceLocation = #_sourceLocation) -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning {
            Issue.record("\(name) did not exit within \(timeout) s", sourceLocation: sourceLocation)
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(pid, SIGKILL) }
    }
}

enum Harness {
    static var executable: URL { DDPGExecutable.url }

    /// The learner's three ports: ZeroMQ transitions and weights, HTTP metrics.
    struct Ports {
        var transitions: Int
        var weights: Int
        var metrics: Int
    }

    static func freePorts() -> Ports {
        let ports = DDPGExecutable.freePorts(3)
        return Ports(transitions: ports[0], weights: ports[1], metrics: ports[2])
    }

    /// The learner's `/status`, read from its real endpoint.
    static func status(_ ports: Ports) -> LearnerStatus? {
        try? MonitoringClient(address: "127.0.0.1:\(ports.metrics)", timeout: 2).status()
    }

    /// Waits until the learner's status satisfies `predicate`, failing the test after `timeout` seconds.
    @discardableResult
    static func waitForStatus(_ ports: Ports, _ what: String, timeout: Double = 30, sourceLocation: SourceLocation = #_sourceLocation,
                              _ predicate: (LearnerStatus) -> Bool) -> LearnerStatus? {
        let deadline = Date().addingTimeInterval(timeout)
        var last: LearnerStatus?
        while Date() < deadline {
            if let status = Self.status(ports) {
                last = status
                if predicate(status) { return status }
            }
            usleep(100_000)
        }
        Issue.record("timed out waiting for \(what); last status: \(last.map { StatusFormat.plainLine($0) } ?? "none")", sourceLocation: sourceLocation)
        return nil
    }

    static func temporaryDirectory() -> URL { DDPGExecutable.temporaryDirectory("ddpg-dist") }

    static func summary(in directory: URL) throws -> [String: Any] {
        let data = try Data(contentsOf: directory.appendingPathComponent("summary.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// What the tests' learners authorize their evaluators by (`launch` makes one of its own).
    static let evaluatorToken = "distributed-tests"

    /// Arguments of a small, fast learner on the given ports that runs until stopped;
    /// its status is served on `ports.metrics`.
    static func learnerArguments(ports: Ports, runDirectory: URL, extra: [String] = []) -> [String] {
        ["learner", "--evaluator-token", evaluatorToken, "--bind", "127.0.0.1", "--transitions-port", "\(ports.transitions)", "--weights-port", "\(ports.weights)",
         "--metrics-port", "\(ports.metrics)", "--console", "plain",
         "--run-dir", runDirectory.path, "--max-env-steps", "100000000", "--learning-starts", "500", "--eval-every", "500",
         "--eval-episodes", "2", "--final-eval-episodes", "2", "--broadcast-every", "50", "--drain-seconds", "3"] + extra
    }

    static func workerArguments(ports: Ports, id: Int, extra: [String] = []) -> [String] {
        ["worker", "--learner", "127.0.0.1", "--transitions-port", "\(ports.transitions)", "--weights-port", "\(ports.weights)",
         "--worker-id", "\(id)", "--workers", "2", "--seed", "\(id + 1)"] + extra
    }

    /// An evaluator (`ddpg worker --evaluator`) with the learner's token: the learner's evaluations come from it.
    static func evaluatorArguments(ports: Ports, id: Int = 99, extra: [String] = []) -> [String] {
        workerArguments(ports: ports, id: id, extra: ["--evaluator", "--evaluator-token", evaluatorToken] + extra)
    }
}
