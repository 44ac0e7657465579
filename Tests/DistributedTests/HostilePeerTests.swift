import Environments
import Foundation
import Specs
import Telemetry
import Testing
import WireProtocol
import ZeroMQ

/// A peer that speaks the protocol with hostile numbers: a PUSH socket to a real learner.
final class HostilePeer {
    let context: ZMQContext
    let socket: ZMQSocket
    var encoder = MessageEncoder()
    private(set) var sent = 0
    let workerId: UInt32 = 900
    let session: UInt32 = 0x0BAD

    init(port: Int) throws {
        context = try ZMQContext()
        socket = try ZMQSocket(context, type: .push)
        try socket.setLinger(milliseconds: 5_000)
        try socket.connect("tcp://127.0.0.1:\(port)")
    }

    func send(_ bytes: [UInt8]) throws {
        _ = try bytes.withUnsafeBytes { try socket.send($0) }
        sent += 1
    }

    /// `bytes` with the little-endian integer at `offset` (of `width` bytes) replaced by `value`.
    static func patch(_ bytes: [UInt8], offset: Int, width: Int, value: UInt64) -> [UInt8] {
        var result = bytes
        for i in 0..<width { result[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
        return result
    }

    func hello(worker: UInt32? = nil, session: UInt32? = nil, next: UInt64 = 0, role: WorkerRole = .actor) -> [UInt8] {
        encoder.encode(Hello(workerId: worker ?? workerId, session: session ?? self.session, role: role, environmentCount: 1, seed: 7,
                             nextSequence: next, spec: Pendulum().spec))
    }

    func transitions(sequence: UInt64, count: Int = 2, observation: Float = 0.5, action: Float = 1, worker: UInt32? = nil,
                     session: UInt32? = nil) -> [UInt8] {
        let header = TransitionsHeader(workerId: worker ?? workerId, session: session ?? self.session, observationSize: 3, actionSize: 1,
                                       sequence: sequence, weightsVersion: 0, count: count)
        let observations = [Float](repeating: observation, count: 3 * count), next = [Float](repeating: 0.5, count: 3 * count)
        let actions = [Float](repeating: action, count: count), rewards = [Float](repeating: -1, count: count)
        let flags = [UInt8](repeating: 0, count: count)
        return observations.withUnsafeBufferPointer { o in next.withUnsafeBufferPointer { n in actions.withUnsafeBufferPointer { a in
            rewards.withUnsafeBufferPointer { r in flags.withUnsafeBufferPointer { f in
                encoder.encodeTransitions(header, observations: o, actions: a, rewards: r, nextObservations: n, terminated: f, truncated: f, gamma: 0.99)
            } }
        } } }
    }

    func episode(length: UInt32 = 200, value: Double = -300) -> [UInt8] {
        encoder.encode(EpisodeReport(workerId: workerId, session: session, length: length, episodeReturn: value, weightsVersion: 0))
    }

    func evaluation(version: UInt64 = 1, episodes: Int = 2) -> [UInt8] {
        encoder.encode(EvaluationReport(workerId: workerId, session: session, isFinal: false,
                                        publication: Publication(version: version, updates: 25, envSteps: 1_000),
                                        returns: Array(repeating: -300, count: episodes), lengths: Array(repeating: 200, count: episodes)))
    }

    func status(final: Bool = false, sent: UInt64 = 10, worker: UInt32? = nil, session: UInt32? = nil) -> [UInt8] {
        encoder.encode(WorkerStatus(workerId: worker ?? workerId, session: session ?? self.session, isFinal: final,
                                    transitionsSent: sent, episodes: 1, messagesSent: 5))
    }
}

extension DistributedTests {
    /// Every integer field of every kind a worker sends, by (offset, width), on a valid message of that kind.
    static func integerFields(_ peer: HostilePeer) -> [(name: String, message: [UInt8], offset: Int, width: Int)] {
        let transitions = peer.transitions(sequence: 0)
        return [
            ("version", transitions, 4, 2), ("kind", transitions, 6, 1), ("flags", transitions, 7, 1), ("body length", transitions, 8, 4),
            ("hello worker id", peer.hello(), 12, 4), ("hello session", peer.hello(), 16, 4), ("hello O", peer.hello(), 20, 2),
            ("hello A", peer.hello(), 22, 2), ("hello environments", peer.hello(), 24, 2), ("hello role", peer.hello(), 26, 1),
            ("hello reserved", peer.hello(), 27, 1), ("hello seed", peer.hello(), 28, 8), ("hello next sequence", peer.hello(), 36, 8),
            ("hello episode limit", peer.hello(), 44, 4), ("hello id length", peer.hello(), 56, 2), ("hello reserved 2", peer.hello(), 58, 2),
            ("transitions worker id", transitions, 12, 4), ("transitions session", transitions, 16, 4), ("transitions O", transitions, 20, 2),
            ("transitions A", transitions, 22, 2), ("sequence", transitions, 24, 8), ("weights version", transitions, 32, 8),
            ("count", transitions, 40, 4),
            ("episode worker id", peer.episode(), 12, 4), ("episode session", peer.episode(), 16, 4), ("episode length", peer.episode(), 20, 4),
            ("episode reserved", peer.episode(), 24, 4), ("episode return", peer.episode(), 28, 8), ("episode version", peer.episode(), 36, 8),
            ("status worker id", peer.status(), 12, 4), ("status session", peer.status(), 16, 4), ("status flags", peer.status(), 20, 1),
            ("status reserved", peer.status(), 21, 1), ("status reserved 2", peer.status(), 22, 2), ("transitions sent", peer.status(), 24, 8),
            ("episodes", peer.status(), 32, 8), ("messages sent", peer.status(), 40, 8),
            ("evaluation worker id", peer.evaluation(), 12, 4), ("evaluation session", peer.evaluation(), 16, 4),
            ("evaluation flags", peer.evaluation(), 20, 1), ("evaluation count", peer.evaluation(), 22, 2),
            ("evaluation reserved", peer.evaluation(), 24, 4), ("evaluation version", peer.evaluation(), 28, 8),
            ("evaluation updates", peer.evaluation(), 36, 8), ("evaluation env steps", peer.evaluation(), 44, 8),
        ]
    }

    @Test("a real learner stays up and counts every hostile number: each field at 0, 1, max−1, max, overflow sequences, finite poison")
    func hostileNumbers() throws {
        let directory = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ports = Harness.freePorts()
        let learner = try Child(Harness.learnerArguments(ports: ports, runDirectory: directory, extra: ["--samples-per-insert", "8"]), name: "learner")
        // Id 5: the hostile peer also greets as workers 0, 1 and 2^32−1 (the patched worker id field).
        let worker = try Child(Harness.workerArguments(ports: ports, id: 5), name: "worker")
        Harness.waitForStatus(ports, "training") { $0.envSteps >= 1_000 && $0.updates > 0 }
        let peer = try HostilePeer(port: ports.transitions)

        // Before any hello: transitions, a status claiming a million transitions, an episode.
        try peer.send(peer.transitions(sequence: 0))
        try peer.send(peer.status(final: true, sent: 1_000_000))
        try peer.send(peer.episode())
        try peer.send(peer.hello())
        // The cases that trapped: a claim of 2^63; sequence 2^64−1 then 0; 0 then 2^63+5.
        try peer.send(peer.status(sent: 1 << 63))
        try peer.send(peer.transitions(sequence: .max))
        try peer.send(peer.transitions(sequence: 0))
        try peer.send(peer.transitions(sequence: (1 << 63) + 5))
        try peer.send(peer.transitions(sequence: 0))  // a replay
        // Finite poison and values one float outside the bounds.
        try peer.send(peer.transitions(sequence: 1, count: 64, observation: 1e30))
        try peer.send(peer.transitions(sequence: 1, action: Float(2).nextUp))
        try peer.send(peer.episode(value: 1e300))
        try peer.send(peer.episode(length: 0, value: 0))
        var cartPole = Pendulum().spec
        cartPole.id = "CartPole-v1"
        try peer.send(peer.encoder.encode(Hello(workerId: 900, session: 0x0BAD, environmentCount: 1, seed: 7, spec: cartPole)))
        // Evaluations from an actor session, then from an evaluator session, of weights the learner never asked about.
        try peer.send(peer.evaluation())
        try peer.send(peer.hello(session: 0xE7A1, role: .evaluator))
        try peer.send(HostilePeer.patch(peer.evaluation(version: 1 << 40), offset: 16, width: 4, value: 0xE7A1))
        var weights = WireFormat.magic + [UInt8(WireFormat.version), 0, 16, 0] + [100, 0, 0, 0]
        weights += [UInt8](repeating: 0, count: 100)
        try peer.send(weights)
        // Every integer field at 0, 1, max−1 and max.
        for field in Self.integerFields(peer) {
            let max = field.width == 8 ? UInt64.max : (UInt64(1) << UInt64(8 * field.width)) - 1
            for value in [0, 1, max - 1, max] {
                try peer.send(HostilePeer.patch(field.message, offset: field.offset, width: field.width, value: value))
            }
        }
        // A goodbye from a session of its own: once the learner has it, it has everything sent
        // before it (one connection keeps order).
        try peer.send(peer.hello(session: 0x600D))
        try peer.send(peer.status(final: true, session: 0x600D))
        let hostileSent = peer.sent
        #expect(hostileSent > 150)
        Harness.waitForStatus(ports, "the hostile peer's goodbye") { status in
            status.workers.contains { $0.workerId == 900 && $0.session == 0x600D && $0.finished }
        }
        // A message far beyond the largest legal one, on a connection of its own: libzmq drops that connection.
        let oversized = try HostilePeer(port: ports.transitions)
        try oversized.send(oversized.transitions(sequence: 0, count: 65_536))
        let afterwards = try #require(Harness.status(ports))
        Harness.waitForStatus(ports, "training to go on") { $0.updates >= afterwards.updates + 1_000 }
        let status = try #require(Harness.status(ports))
        #expect(status.rollbacks == 0, "no non-finite update: \(status.lastRollback ?? "")")
        #expect(status.latestEvaluation.map { $0.meanReturn.isFinite } ?? true)

        learner.signal(SIGTERM)
        #expect(learner.waitForExit() == 0, "learner log:\n\(learner.log.suffix(2_000))")
        worker.waitForExit()
        let summary = try Harness.summary(in: directory)
        let rejected = try #require(summary["messages_rejected"] as? [String: Int])
        let accepted = try #require(summary["messages_accepted"] as? [String: Int])
        let workers = try #require(summary["workers"] as? [[String: Any]])
        let real = try #require(workers.first { $0["worker_id"] as? Int == 5 })
        let realSent = try #require((real["claimed"] as? [String: Any])?["messages_sent"] as? Int)
        // Every message that reached the learner was either accepted or rejected, never lost or crashed on.
        #expect(accepted.values.reduce(0, +) + rejected.values.reduce(0, +) == hostileSent + realSent,
                "accepted \(accepted) + rejected \(rejected) vs \(hostileSent) hostile + \(realSent) real")
        for reason in ["no_hello", "bad_sequence", "out_of_range", "unexpected_kind", "unsupported_version", "unknown_kind",
                       "reserved_bits", "length_mismatch", "dimension_mismatch", "non_finite", "wrong_environment",
                       "not_an_evaluator", "unrequested_evaluation"] {
            #expect((rejected[reason] ?? 0) > 0, "no \(reason) rejection among \(rejected)")
        }
        let sentByWorker = try #require(summary["transitions_sent"] as? [String: Int])
        #expect(sentByWorker["5"] == real["transitions_received"] as? Int, "the real worker's accounting is exact")
        // Claims are the latest status of each greeted session: the million claimed before any hello never counted.
        #expect(sentByWorker.values.allSatisfy { $0 < 1_000_000 }, "claims: \(sentByWorker)")
        #expect((summary["rollbacks"] as? Int) == 0)
    }

    @Test("two live workers with one id are reported, and each one's accounting stays exact")
    func duplicateWorkerIds() throws {
        let directory = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ports = Harness.freePorts()
        let learner = try Child(Harness.learnerArguments(ports: ports, runDirectory: directory), name: "learner")
        let first = try Child(Harness.workerArguments(ports: ports, id: 0), name: "worker 0")
        let second = try Child(Harness.workerArguments(ports: ports, id: 0, extra: ["--seed", "9"]), name: "worker 0 again")
        Harness.waitForStatus(ports, "the duplicate to be noticed") { $0.duplicateWorkerIds == [0] && $0.updates > 500 }
        learner.waitForLog("a warning naming both processes") { $0.contains("worker id 0 is used by 2 processes at once") }
        learner.signal(SIGTERM)
        #expect(learner.waitForExit() == 0)
        #expect(first.waitForExit() == 0 && second.waitForExit() == 0)
        let summary = try Harness.summary(in: directory)
        let sent = try #require(summary["transitions_sent"] as? [String: Int])
        let received = try #require(summary["transitions_received"] as? Int)
        let rejected = try #require(summary["transitions_rejected"] as? Int)
        #expect(sent["0"] == received + rejected, "sent \(sent) = received \(received) + rejected \(rejected)")
        let workers = try #require(summary["workers"] as? [[String: Any]])
        #expect(workers.count == 2 && workers.allSatisfy { $0["worker_id"] as? Int == 0 && $0["sequence_gaps"] as? Int == 0 })
        #expect(summary["duplicate_worker_ids"] as? [Int] == [0])
    }
}
