import DDPGTestSupport
import Foundation
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

    static func freePorts() -> (Int, Int) { DDPGExecutable.freePorts() }

    static func temporaryDirectory() -> URL { DDPGExecutable.temporaryDirectory("ddpg-dist") }

    static func summary(in directory: URL) throws -> [String: Any] {
        let data = try Data(contentsOf: directory.appendingPathComponent("summary.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// The largest `step N` the learner has logged.
    static func lastStep(_ log: String) -> Int {
        log.split(separator: "\n").compactMap { line -> Int? in
            guard let range = line.range(of: "] step ") else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }.max() ?? 0
    }

    /// Arguments of a small, fast learner on the given ports that runs until stopped.
    static func learnerArguments(ports: (Int, Int), runDirectory: URL, extra: [String] = []) -> [String] {
        ["learner", "--bind", "127.0.0.1", "--transitions-port", "\(ports.0)", "--weights-port", "\(ports.1)",
         "--run-dir", runDirectory.path, "--max-env-steps", "100000000", "--learning-starts", "500", "--eval-every", "500",
         "--eval-episodes", "2", "--final-eval-episodes", "2", "--broadcast-every", "50", "--drain-seconds", "3"] + extra
    }

    static func workerArguments(ports: (Int, Int), id: Int, extra: [String] = []) -> [String] {
        ["worker", "--learner", "127.0.0.1", "--transitions-port", "\(ports.0)", "--weights-port", "\(ports.1)",
         "--worker-id", "\(id)", "--workers", "2", "--seed", "\(id + 1)"] + extra
    }
}
