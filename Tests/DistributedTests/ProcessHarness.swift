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
    /// The `ddpg` binary built beside the test bundle.
    static let executable: URL = {
        let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let candidates = [
            bundleDirectory.appendingPathComponent("ddpg"),
            bundleDirectory.deletingLastPathComponent().appendingPathComponent("ddpg"),
            packageRoot.appendingPathComponent(".build/release/ddpg"),
            packageRoot.appendingPathComponent(".build/debug/ddpg"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }()

    /// Two distinct loopback ports that were free a moment ago.
    static func freePorts() -> (Int, Int) {
        func one() -> Int {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = 0
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
            _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
            return Int(UInt16(bigEndian: address.sin_port))
        }
        var first = one(), second = one()
        while second == first { second = one() }
        _ = first
        first = first == 0 ? 17_555 : first
        return (first, second)
    }

    static func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("ddpg-dist-\(UUID().uuidString)")
    }

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
