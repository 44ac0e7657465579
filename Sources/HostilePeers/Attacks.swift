import Environments
import Foundation
import Specs
import Telemetry
import WireProtocol
import ZeroMQ

/// The environment the attacked learner trains on: every peer here claims to run it.
let pendulum = Pendulum().spec

/// One check of one attack, as the report shows it.
struct Outcome {
    var attack: String
    var check: String
    var observed: String
    var passed: Bool
}

/// A protocol peer on its own DEALER socket (one connection), with its own worker session; used by one thread at a time.
final class Peer: @unchecked Sendable {
    let context: ZMQContext
    let socket: ZMQSocket
    var encoder = MessageEncoder()
    let workerId: UInt32
    let session = UInt32.random(in: 1...UInt32.max)
    /// The environment its hello claims to run: the attacked learner's.
    let spec: EnvironmentSpec
    private(set) var sent = 0

    /// `source`: the loopback address to connect from (all of 127/8 is this machine); by default one of its own, so that
    /// what the learner does per address (a cool-down after a cut) touches only the peers an attack puts on one address.
    /// `context`: shared by peers that come and go (each context has an I/O thread, which this machine's two cores share
    /// with the learner).
    init(port: Int, workerId: UInt32, source: String? = nil, context: ZMQContext? = nil, spec: EnvironmentSpec = pendulum) throws {
        self.workerId = workerId
        self.spec = spec
        if let context { self.context = context } else { self.context = try ZMQContext() }
        socket = try ZMQSocket(self.context, type: .dealer)
        try socket.setLinger(milliseconds: 2_000)
        try socket.setSendTimeout(milliseconds: 5_000)
        try socket.connect("tcp://\(source ?? Self.newSource()):0;127.0.0.1:\(port)")
    }

    private static let sources = SharedCount()
    /// 127.1.x.y: addresses no attack names itself.
    static func newSource() -> String {
        let n = sources.increment()
        return "127.1.\(n / 250 % 250).\(n % 250 + 1)"
    }

    func send(_ bytes: [UInt8]) {
        // Reads its acknowledgements, as a worker does: unread, they would stop coming, and its credit with them.
        while (try? socket.receive(blocking: false)) != nil {}
        if (try? bytes.withUnsafeBytes({ try socket.send($0) })) == true { sent += 1 }
    }

    /// Sends without reading what the learner addressed to it, and without waiting: a peer that ignores its credit.
    func sendWithoutReading(_ bytes: [UInt8]) {
        if (try? bytes.withUnsafeBytes({ try socket.send($0, blocking: false) })) == true { sent += 1 }
    }

    func hello(session: UInt32? = nil, next: UInt64 = 0, role: WorkerRole = .actor, token: EvaluatorToken = .none) -> [UInt8] {
        encoder.encode(Hello(workerId: workerId, session: session ?? self.session, role: role, environmentCount: 1, seed: 1, nextSequence: next,
                             spec: spec, token: token))
    }

    func evaluation(request: EvaluationRequest, publication: Publication, nonce: UInt64) -> [UInt8] {
        encoder.encode(EvaluationReport(workerId: workerId, session: session, isFinal: request.isFinal, nonce: nonce, publication: publication,
                                        returns: Array(repeating: 0, count: request.episodes),
                                        lengths: Array(repeating: UInt32(pendulum.maxEpisodeSteps), count: request.episodes)))
    }

    func status(final: Bool = false, sent claim: UInt64 = 0, session: UInt32? = nil) -> [UInt8] {
        encoder.encode(WorkerStatus(workerId: workerId, session: session ?? self.session, isFinal: final, transitionsSent: claim,
                                    episodes: 0, messagesSent: 0))
    }

    func transitions(sequence: UInt64, count: Int = 4, observation: Float = 0.5, reward: Float = -1, session: UInt32? = nil) -> [UInt8] {
        let header = TransitionsHeader(workerId: workerId, session: session ?? self.session, observationSize: 3, actionSize: 1, sequence: sequence,
                                       weightsVersion: 0, count: count)
        let observations = [Float](repeating: observation, count: 3 * count), actions = [Float](repeating: 0.5, count: count)
        let rewards = [Float](repeating: reward, count: count), flags = [UInt8](repeating: 0, count: count)
        return observations.withUnsafeBufferPointer { o in actions.withUnsafeBufferPointer { a in rewards.withUnsafeBufferPointer { r in
            flags.withUnsafeBufferPointer { f in
                encoder.encodeTransitions(header, observations: o, actions: a, rewards: r, nextObservations: o, terminated: f, truncated: f, gamma: 0.99)
            } } } }
    }

    /// Says goodbye from its own session, on its own connection, and waits until the learner has it (and has counted as
    /// many messages as this peer sent since `before`): then it has read everything this peer sent.
    func flushThrough(_ target: Target, since before: LearnerStatus) -> Bool {
        send(status(final: true))
        return target.waitForStatus(timeout: 120) { status in
            status.workers.contains { $0.session == session && $0.finished }
                && status.messagesAccepted + status.messagesRejected - before.messagesAccepted - before.messagesRejected >= sent
        } != nil
    }
}

enum Attacks {
    static func megabytes(_ value: Double) -> String { String(format: "%.1f MiB", value) }

    /// The weights messages `subscriber` receives in `seconds`, and how many of them a worker of `spec` would reject
    /// (a non-finite parameter among the reasons).
    static func broadcasts(on subscriber: ZMQSocket, spec: EnvironmentSpec, seconds: Double) -> (weights: Int, rejected: Int) {
        let decoder = MessageDecoder(expected: ExpectedShapes(spec: spec), accepting: .learnerToWorker)
        var weights = 0, nonFinite = 0
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            guard (try? subscriber.waitForInput(timeoutMilliseconds: 100)) == true, let message = try? subscriber.receive(blocking: false) else { continue }
            message.withUnsafeBytes { bytes in
                guard WireFormat.kind(of: bytes) == .weights else { return }
                weights += 1
                do throws(ProtocolError) { _ = try decoder.decode(bytes) } catch { nonFinite += 1 }
            }
        }
        return (weights, nonFinite)
    }

    /// The numbers that used to trap, then unrestricted random bit flips of valid messages.
    static func overflowAndBitFlips(_ target: Target, flips: Int) -> [Outcome] {
        let name = "overflow values, \(flips) bit flips"
        guard let peer = try? Peer(port: target.ports.transitions, workerId: 700), let before = target.status else {
            return [Outcome(attack: name, check: "set up", observed: "no peer or no status", passed: false)]
        }
        peer.send(peer.status(final: true, sent: 1_000_000))  // a claim before any hello
        peer.send(peer.hello())
        peer.send(peer.status(sent: 1 << 63))
        peer.send(peer.transitions(sequence: .max))
        peer.send(peer.transitions(sequence: 0))
        peer.send(peer.transitions(sequence: (1 << 63) + 5))
        let templates = [peer.hello(), peer.transitions(sequence: 1), peer.status(),
                         peer.encoder.encode(EpisodeReport(workerId: 700, session: peer.session, length: 200, episodeReturn: -500, weightsVersion: 0))]
        var generator = SystemRandomNumberGenerator()
        for i in 0..<flips {
            var bytes = templates[i % templates.count]
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                let bit = Int.random(in: 0..<(bytes.count * 8), using: &generator)
                bytes[bit / 8] ^= UInt8(1 << (bit % 8))
            }
            peer.send(bytes)
        }
        let flushed = peer.flushThrough(target, since: before)
        guard let after = target.status else { return [Outcome(attack: name, check: "learner up", observed: "no status", passed: false)] }
        let handled = (after.messagesAccepted + after.messagesRejected) - (before.messagesAccepted + before.messagesRejected)
        let claims = after.workers.filter { $0.workerId == 700 }
        return [
            Outcome(attack: name, check: "learner stays up", observed: target.isAlive ? "up" : "exited", passed: target.isAlive && flushed),
            Outcome(attack: name, check: "every message accepted or rejected", observed: "\(handled) handled of \(peer.sent) sent (and the worker's)",
                    passed: handled >= peer.sent),
            Outcome(attack: name, check: "rejections counted by reason", observed: "\(after.messagesRejected - before.messagesRejected) rejected: "
                        + after.messagesRejectedByReason.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "),
                    passed: after.messagesRejected > before.messagesRejected),
            Outcome(attack: name, check: "sessions stay capped (1,024)", observed: "\(after.workers.count) sessions listed, \(claims.count) of worker 700",
                    passed: after.workers.count <= 1_024),
            Outcome(attack: name, check: "no non-finite state", observed: "\(after.rollbacks) rollbacks", passed: after.rollbacks == 0),
        ]
    }

    /// One message of finite but absurd values; then every weights message for a few seconds must be finite.
    static func finitePoison(_ target: Target, seconds: Double) -> [Outcome] {
        let name = "finite poison (1e30)"
        guard let peer = try? Peer(port: target.ports.transitions, workerId: 701), let before = target.status,
              let context = try? ZMQContext(), let subscriber = try? ZMQSocket(context, type: .sub) else {
            return [Outcome(attack: name, check: "set up", observed: "failed", passed: false)]
        }
        try? subscriber.subscribe()
        try? subscriber.connect("tcp://127.0.0.1:\(target.ports.weights)")
        peer.send(peer.hello())
        peer.send(peer.transitions(sequence: 0, count: 64, observation: 1e30))
        peer.send(peer.transitions(sequence: 1, count: 64, reward: -1e30))
        peer.send(peer.transitions(sequence: 2, count: 64, observation: -3.4e38))
        let flushed = peer.flushThrough(target, since: before)
        let (weights, nonFinite) = broadcasts(on: subscriber, spec: pendulum, seconds: seconds)
        let after = target.status
        let outOfRange = (after?.messagesRejectedByReason["out_of_range"] ?? 0) - (before.messagesRejectedByReason["out_of_range"] ?? 0)
        return [
            Outcome(attack: name, check: "poisoned batches rejected", observed: "\(outOfRange) more out_of_range", passed: flushed && outOfRange >= 3),
            Outcome(attack: name, check: "every broadcast finite", observed: "\(weights) weights messages, \(nonFinite) not finite",
                    passed: weights > 0 && nonFinite == 0),
            Outcome(attack: name, check: "no rollback needed", observed: "\(after?.rollbacks ?? -1) rollbacks", passed: after?.rollbacks == 0),
        ]
    }

    /// Raw ZMTP subscribers: one subscription frame of 21 MiB, then as many distinct subscriptions as fit in `seconds`.
    static func subscriptionFlood(_ target: Target, seconds: Double) -> [Outcome] {
        let name = "subscription flood"
        let before = target.memory, versionBefore = target.status?.weightsVersion ?? 0
        let cutBefore = target.metric("ddpg_connections_rejected_total{reason=\"bad_subscription\"}") ?? 0
        // One frame announcing 21 MiB: libzmq drops the connection at the frame header (ZMQ_MAXMSGSIZE).
        var hugeDelivered = 0
        if let fd = RawSubscriber.handshake(port: target.ports.weights) {
            if RawTCP.write(fd, RawSubscriber.longSubscriptionHeader(size: 21 << 20)) {
                let chunk = [UInt8](repeating: 0x41, count: 64 << 10)
                while hugeDelivered < 21 << 20, RawTCP.write(fd, chunk) { hugeDelivered += chunk.count }
            }
            close(fd)
        }
        // Many small distinct prefixes, reconnecting whenever the learner cuts the connection off.
        var bytes = 0, connections = 0
        var generator = SystemRandomNumberGenerator()
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            guard let fd = RawSubscriber.handshake(port: target.ports.weights) else { usleep(10_000); continue }
            connections += 1
            while Date() < deadline {
                let prefix = (0..<60).map { _ in UInt8.random(in: 0...255, using: &generator) }
                guard RawTCP.write(fd, RawSubscriber.subscription(prefix)) else { break }
                bytes += 62
            }
            close(fd)
        }
        usleep(500_000)
        let after = target.memory
        let cut = (target.metric("ddpg_connections_rejected_total{reason=\"bad_subscription\"}") ?? 0) - cutBefore
        let versionAfter = target.waitForStatus(timeout: 10) { $0.weightsVersion > versionBefore }?.weightsVersion ?? versionBefore
        let growth = after.peak - before.peak
        return [
            Outcome(attack: name, check: "a 21 MiB subscription frame is refused at its header",
                    observed: "\(hugeDelivered / 1_024) KiB accepted by the socket before it closed", passed: hugeDelivered < 4 << 20),
            Outcome(attack: name, check: "distinct subscriptions cut off, memory flat",
                    observed: "\(bytes / 1_024) KiB over \(connections) connections, \(Int(cut)) cut off; RSS \(megabytes(before.rss)) → \(megabytes(after.rss)), peak +\(megabytes(growth))",
                    passed: cut >= 1 && growth < 64),
            Outcome(attack: name, check: "weights still published", observed: "v\(versionBefore) → v\(versionAfter)",
                    passed: target.isAlive && versionAfter > versionBefore),
        ]
    }

    /// `connections` DEALER sockets each sending frames just under the transitions socket's limit.
    static func nearMaximumFrames(_ target: Target, connections: Int, seconds: Double) -> [Outcome] {
        let name = "near-maximum frames, \(connections) connections"
        let before = target.memory
        let refusedBefore = target.metric("ddpg_connections_rejected_total{reason=\"too_many_peers\"}") ?? 0
        let droppedMetric = "ddpg_connections_rejected_total{reason=\"oversize_or_malformed\"}"
        let limit = WireFormat.maxReadFrameBytes
        // A transitions header claiming 4,096 rows, then junk: as large as a legal message, and rejected.
        var frame = WireFormat.magic + withUnsafeBytes(of: WireFormat.version.littleEndian, Array.init) + [MessageKind.transitions.rawValue, 0]
        let body = UInt32(limit - WireFormat.headerSize - 16)
        frame += withUnsafeBytes(of: body.littleEndian, Array.init)
        frame += [UInt8](repeating: 0x5A, count: Int(body))
        guard let context = try? ZMQContext() else { return [Outcome(attack: name, check: "set up", observed: "no context", passed: false)] }
        let sockets: [ZMQSocket] = (0..<connections).compactMap { _ in
            guard let socket = try? ZMQSocket(context, type: .dealer) else { return nil }
            try? socket.setLinger(milliseconds: 0)
            try? socket.setSendHighWaterMark(4)
            try? socket.connect("tcp://127.0.0.1:\(target.ports.transitions)")
            return socket
        }
        var sent = 0, peak = before.peak
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            for socket in sockets where (try? frame.withUnsafeBytes { try socket.send($0, blocking: false) }) == true { sent += 1 }
            peak = max(peak, target.memory.peak)
            usleep(1_000)
        }
        sockets.forEach { $0.close() }
        // Frames just under the old 16 MiB limit, on connections of their own: refused at the frame header now.
        var oversized = 0, oversizeSent = 0
        let droppedBefore = target.metric(droppedMetric) ?? 0
        for _ in 0..<8 {
            guard let fd = RawTCP.connect(port: target.ports.transitions) else { continue }
            if let accepted = RawDealer.sendFrame(fd, size: (16 << 20) - 64) {
                oversized = max(oversized, accepted)
                oversizeSent += 1
            }
            close(fd)
        }
        // libzmq reports only a disconnection; the learner's count of it comes from its gate's thread.
        var dropped = 0.0
        for _ in 0..<50 {
            dropped = (target.metric(droppedMetric) ?? 0) - droppedBefore
            if Int(dropped) >= oversizeSent { break }
            usleep(100_000)
        }
        peak = max(peak, target.memory.peak)
        let refused = (target.metric("ddpg_connections_rejected_total{reason=\"too_many_peers\"}") ?? 0) - refusedBefore
        let bound = Double(64 * 3 * (limit + 1_024)) / 1_048_576
        let growth = peak - before.peak
        return [
            Outcome(attack: name, check: "connections beyond --max-peers refused", observed: "\(Int(refused)) refusals (too_many_peers)",
                    passed: refused >= 1),
            Outcome(attack: name, check: "16 MiB frames refused at their header", observed: "at most \(oversized / 1_024) KiB of one accepted",
                    passed: oversized < 4 << 20),
            Outcome(attack: name, check: "each connection libzmq dropped for its frame counted (oversize_or_malformed)",
                    observed: "\(Int(dropped)) counted for \(oversizeSent) frames", passed: oversizeSent > 0 && Int(dropped) == oversizeSent),
            Outcome(attack: name, check: "memory within the documented bound (\(megabytes(bound)) + allocator slack)",
                    observed: "\(sent) frames of \(limit / 1_024) KiB; peak RSS \(megabytes(before.peak)) → \(megabytes(peak)) (+\(megabytes(growth)))",
                    passed: target.isAlive && growth < bound * 2 + 16),
        ]
    }

    /// Slow HTTP clients on the metrics port: one header byte every 2 s.
    static func slowloris(_ target: Target, connections: Int, seconds: Double) -> [Outcome] {
        let name = "slowloris, up to \(connections) connections"
        let baseline = target.openDescriptors
        var sockets: [Int32] = [], connectedAt: [Int32: Date] = [:], failedInARow = 0
        // Until the listen backlog is full (connections then time out one after another).
        for _ in 0..<connections where failedInARow < 10 {
            guard let fd = RawTCP.connect(port: target.ports.metrics, timeoutMilliseconds: 200) else {
                failedInARow += 1
                continue
            }
            failedInARow = 0
            _ = RawTCP.write(fd, Array("GET /metrics HTTP/1.1\r\nHost: x\r\n".utf8))
            sockets.append(fd)
            connectedAt[fd] = Date()
        }
        var most = target.openDescriptors
        let started = Date()
        var closed = Set<Int32>(), closedEarly = 0, closedByTimeout = 0
        while Date().timeIntervalSince(started) < seconds {
            for fd in sockets where !closed.contains(fd) {
                if RawTCP.isClosedByPeer(fd) || !RawTCP.write(fd, Array("X".utf8)) {
                    closed.insert(fd)
                    let open = Date().timeIntervalSince(connectedAt[fd] ?? started)
                    if open < 3 { closedEarly += 1 } else if open >= 9 { closedByTimeout += 1 }
                }
            }
            most = max(most, target.openDescriptors)
            usleep(2_000_000)
        }
        sockets.forEach { close($0) }
        let answered = (0..<30).contains { _ in
            if (try? MonitoringClient(address: "127.0.0.1:\(target.ports.metrics)", timeout: 2).get("healthz")) != nil { return true }
            usleep(500_000)
            return false
        }
        return [
            Outcome(attack: name, check: "open sockets stay bounded (64 HTTP connections)",
                    observed: "\(sockets.count) connected; learner descriptors \(baseline) → at most \(most)", passed: most - baseline <= 64 + 8),
            Outcome(attack: name, check: "connections without a whole request head closed after 10 s",
                    observed: "\(closed.count) closed by the server within \(Int(seconds)) s: \(closedByTimeout) after 9 s or more open, \(closedEarly) within 3 s of being opened (refused: the listen backlog was full)",
                    passed: closedByTimeout >= 32),
            Outcome(attack: name, check: "/healthz answers after the attack", observed: answered ? "yes" : "no", passed: answered),
        ]
    }

    /// A peer that keeps saying it is not done while the learner stops: the drain ends at its deadline anyway.
    static func drainHolder(_ target: Target, drainSeconds: Double) -> [Outcome] {
        let name = "drain holder"
        guard let peer = try? Peer(port: target.ports.transitions, workerId: 702) else {
            return [Outcome(attack: name, check: "set up", observed: "no peer", passed: false)]
        }
        peer.send(peer.hello())
        let stopTalking = Atomic()
        let talker = Thread {
            while !stopTalking.isSet {
                peer.send(peer.status(final: false, sent: 0))
                usleep(10_000)
            }
        }
        talker.start()
        usleep(500_000)
        let (status, seconds) = target.stop()
        stopTalking.set()
        let finished = target.log.contains("did not finish within the drain period")
        return [
            Outcome(attack: name, check: "learner exits within the drain deadline (\(Int(drainSeconds)) s) plus its final evaluation",
                    observed: String(format: "exit %d after %.1f s", status, seconds), passed: status == 0 && seconds <= drainSeconds + 5),
            Outcome(attack: name, check: "says which workers did not finish, and writes summary.json",
                    observed: "\(finished ? "named" : "not named"), summary \(target.summaryExists ? "written" : "missing")",
                    passed: finished && target.summaryExists),
        ]
    }
}

/// A flag set by one thread and read by another.
final class Atomic: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}

/// A count kept by one thread and read by another.
final class SharedCount: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    /// Returns the new count.
    @discardableResult
    func increment() -> Int { lock.withLock { count += 1; return count } }
}
