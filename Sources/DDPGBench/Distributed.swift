import Environments
import Foundation
import ProcessSupport
import WireProtocol
import ZeroMQ

/// Distributed benchmarks: the real `ddpg` binary beside this one, on loopback.
enum DistributedBenchmarks {
    static let ddpg = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("ddpg")

    static func start(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = ddpg
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    static func waitForPort(_ port: Int) {
        var attempts = 0
        while attempts < 500, !TCPProbe.canConnect(host: "127.0.0.1", port: port) {
            usleep(10_000)
            attempts += 1
        }
    }

    /// Transitions/s a learner absorbs into replay from `senders` synthetic workers
    /// (training off), over `seconds`. Counted at the senders: with the shallow
    /// queues of the protocol, a send completes only as fast as the learner reads.
    /// Returns the rate and the learner's CPU time (all its threads) per transition accepted in the window.
    static func ingest(senders: Int, seconds: Double, perMessage: Int, port: Int, curve: Bool = false) throws -> (rate: Double, cpuNanoseconds: Double) {
        let directory = NSTemporaryDirectory() + "ddpg-bench-ingest-\(port)"
        // With CURVE: a learner keypair and one worker keypair, the worker's public key authorized.
        var security: (learnerArguments: [String], client: (CurveKeyPair, String))?
        if curve {
            let learnerKeys = try Curve.generateKeyPair(), workerKeys = try Curve.generateKeyPair()
            let keys = directory + "-keys", authorized = keys + "/authorized"
            try FileManager.default.createDirectory(atPath: authorized, withIntermediateDirectories: true)
            try Data("\(learnerKeys.secretKey)\n".utf8).write(to: URL(fileURLWithPath: keys + "/learner.key"))
            try Data("\(workerKeys.publicKey)\n".utf8).write(to: URL(fileURLWithPath: authorized + "/worker.pub"))
            security = (["--curve-secret-key", keys + "/learner.key", "--authorized-keys", authorized], (workerKeys, learnerKeys.publicKey))
        }
        let learner = try start([
            "learner", "--bind", "127.0.0.1", "--transitions-port", "\(port)", "--weights-port", "\(port + 1)",
            "--run-dir", directory, "--max-env-steps", "1000000000", "--replay-capacity", "1000000", "--ingest-only",
            "--eval-every", "1000000000",
            "--final-eval-episodes", "1", "--drain-seconds", "0", "--log-level", "error",
        ] + (security?.learnerArguments ?? []))
        waitForPort(port)
        let counter = TransitionCounter()
        let client = security?.client
        let threads = (0..<senders).map { id in
            Thread {
                do {
                    try send(workerId: UInt32(id), port: port, perMessage: perMessage, counter: counter, curve: client)
                } catch {
                    FileHandle.standardError.write("sender \(id): \(error)\n".data(using: .utf8)!)
                }
            }
        }
        threads.forEach { $0.start() }
        usleep(300_000)  // connect and warm up
        let before = counter.value, cpuBefore = cpuSeconds(learner.processIdentifier)
        usleep(UInt32(seconds * 1_000_000))
        let sent = counter.value - before, cpu = cpuSeconds(learner.processIdentifier) - cpuBefore
        let rate = Double(sent) / seconds
        counter.stop()
        kill(learner.processIdentifier, SIGTERM)
        learner.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
        return (rate, sent > 0 ? cpu * 1e9 / Double(sent) : .nan)
    }

    /// User and system CPU time of a process, all threads, from /proc (in clock ticks of 10 ms).
    static func cpuSeconds(_ pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    final class TransitionCounter: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        private var stopped = false
        var value: Int { lock.withLock { count } }
        var isStopped: Bool { lock.withLock { stopped } }
        func add(_ n: Int) { lock.withLock { count += n } }
        func stop() { lock.withLock { stopped = true } }
    }

    /// Sends synthetic transitions until `counter` stops; after `pauseAfter` transitions, waits `pauseMicroseconds` between messages.
    static func send(workerId: UInt32, port: Int, perMessage: Int, counter: TransitionCounter,
                     pauseAfter: Int = .max, pauseMicroseconds: UInt32 = 0, curve: (keys: CurveKeyPair, serverKey: String)? = nil) throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context, type: .dealer)
        try socket.setSendHighWaterMark(2)
        try socket.setImmediate(true)
        try socket.setLinger(milliseconds: 0)
        if let curve { try socket.makeCurveClient(keys: curve.keys, serverKey: curve.serverKey) }
        try socket.connect("tcp://127.0.0.1:\(port)")
        var encoder = MessageEncoder(capacity: perMessage * 40 + 64)
        var generator = SystemRandomNumberGenerator()
        let observations = (0..<(perMessage * 3)).map { _ in Float.random(in: -1...1, using: &generator) }  // within every bound
        let actions = (0..<perMessage).map { _ in Float.random(in: -2...2, using: &generator) }
        let rewards = (0..<perMessage).map { _ in Float.random(in: -16...0, using: &generator) }
        let flags = [UInt8](repeating: 0, count: perMessage)
        let discounts = [Float](repeating: 0.99, count: perMessage)
        var sequence: UInt64 = 0
        let session = UInt32.random(in: 1...UInt32.max)
        // The learner accepts nothing from a session before its hello.
        let hello = encoder.encode(Hello(workerId: workerId, session: session, environmentCount: 1, seed: 0, spec: Pendulum().spec))
        try hello.withUnsafeBytes { _ = try socket.send($0) }
        while !counter.isStopped {
            let header = TransitionsHeader(workerId: workerId, session: session, observationSize: 3, actionSize: 1, sequence: sequence,
                                           weightsVersion: 0, count: perMessage)
            let bytes = observations.withUnsafeBufferPointer { o in actions.withUnsafeBufferPointer { a in rewards.withUnsafeBufferPointer { r in
                flags.withUnsafeBufferPointer { f in discounts.withUnsafeBufferPointer { d in
                    encoder.encodeTransitions(header, observations: o, actions: a, rewards: r, nextObservations: o, terminated: f, truncated: f,
                                              discounts: d)
                } } } } }
            // Blocking in short steps, so the run can end while the learner no longer reads.
            var sent = false
            while !sent, !counter.isStopped {
                sent = try bytes.withUnsafeBytes { try socket.send($0, blocking: false) }
                if !sent { _ = try ZMQPoller.poll([(socket, .writable)], timeoutMilliseconds: 10) }
            }
            if sent {
                counter.add(perMessage)
                sequence += 1
                if Int(sequence) * perMessage >= pauseAfter { usleep(pauseMicroseconds) }
            }
        }
    }
}

extension DistributedBenchmarks {
    /// Runs a learner and one worker for `seconds`, then returns the worker's own report.
    static func workerReport(learnerArguments: [String], workerArguments: [String], seconds: Double, port: Int) throws -> [String: Any] {
        let directory = NSTemporaryDirectory() + "ddpg-bench-worker-\(port)"
        let statsFile = directory + "/worker.json"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let learner = try start([
            "learner", "--bind", "127.0.0.1", "--transitions-port", "\(port)", "--weights-port", "\(port + 1)", "--run-dir", directory,
            "--max-env-steps", "1000000000", "--eval-every", "1000000000", "--final-eval-episodes", "1", "--drain-seconds", "2",
            "--log-level", "error",
        ] + learnerArguments)
        waitForPort(port)
        let worker = try start([
            "worker", "--learner", "127.0.0.1", "--transitions-port", "\(port)", "--weights-port", "\(port + 1)",
            "--stats-file", statsFile, "--log-level", "error",
        ] + workerArguments)
        usleep(UInt32(seconds * 1_000_000))
        kill(learner.processIdentifier, SIGTERM)
        learner.waitUntilExit()
        worker.waitUntilExit()
        let data = try Data(contentsOf: URL(fileURLWithPath: statsFile))
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }
}
