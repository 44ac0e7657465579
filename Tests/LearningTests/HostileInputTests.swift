import Acting
import CoreDoubles
import Environments
import Foundation
import Replay
import Specs
import Testing
import Transport
import WireProtocol
@testable import Learning

/// A peer that speaks the protocol with hostile numbers, on the simulation's network.
final class HostilePeer {
    let sim: Simulation
    let transport: InMemoryWorkerTransport
    var encoder = MessageEncoder()
    private(set) var sent = 0
    let workerId: UInt32 = 900
    let session: UInt32 = 0x0BAD

    init(_ sim: Simulation) {
        self.sim = sim
        transport = sim.network.connectWorker()
    }

    /// Sends `bytes` (on `connection`, else this peer's first), letting the simulation run while the learner's queue is full.
    func send(_ bytes: [UInt8], on connection: InMemoryWorkerTransport? = nil) throws {
        let transport = connection ?? self.transport
        while try !bytes.withUnsafeBytes({ try transport.send($0) }) { try sim.round() }
        sent += 1
    }

    /// `bytes` with the little-endian integer at `offset` (of `width` bytes) replaced by `value`.
    static func patch(_ bytes: [UInt8], offset: Int, width: Int, value: UInt64) -> [UInt8] {
        var result = bytes
        for i in 0..<width { result[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
        return result
    }

    func hello(session: UInt32? = nil, role: WorkerRole = .actor, token: EvaluatorToken = .none) -> [UInt8] {
        encoder.encode(Hello(workerId: workerId, session: session ?? self.session, role: role, environmentCount: 1, seed: 7, spec: Pendulum().spec,
                             token: token))
    }

    func transitions(sequence: UInt64, count: Int = 2, observation: Float = 0.5, action: Float = 1) -> [UInt8] {
        let header = TransitionsHeader(workerId: workerId, session: session, observationSize: 3, actionSize: 1, sequence: sequence,
                                       weightsVersion: 0, count: count)
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

    func status(final: Bool = false, sent: UInt64 = 10, session: UInt32? = nil) -> [UInt8] {
        encoder.encode(WorkerStatus(workerId: workerId, session: session ?? self.session, isFinal: final, transitionsSent: sent, episodes: 1,
                                    messagesSent: 5))
    }

    /// Every integer field of every kind a worker sends, by (offset, width), on a valid message of that kind.
    func integerFields() -> [(name: String, message: [UInt8], offset: Int, width: Int)] {
        let transitions = transitions(sequence: 0)
        return [
            ("version", transitions, 4, 2), ("kind", transitions, 6, 1), ("flags", transitions, 7, 1), ("body length", transitions, 8, 4),
            ("hello worker id", hello(), 12, 4), ("hello session", hello(), 16, 4), ("hello O", hello(), 20, 2),
            ("hello A", hello(), 22, 2), ("hello environments", hello(), 24, 2), ("hello role", hello(), 26, 1),
            ("hello reserved", hello(), 27, 1), ("hello seed", hello(), 28, 8), ("hello next sequence", hello(), 36, 8),
            ("hello episode limit", hello(), 44, 4), ("hello id length", hello(), 56, 2), ("hello reserved 2", hello(), 58, 2),
            ("transitions worker id", transitions, 12, 4), ("transitions session", transitions, 16, 4), ("transitions O", transitions, 20, 2),
            ("transitions A", transitions, 22, 2), ("sequence", transitions, 24, 8), ("weights version", transitions, 32, 8),
            ("count", transitions, 40, 4),
            ("episode worker id", episode(), 12, 4), ("episode session", episode(), 16, 4), ("episode length", episode(), 20, 4),
            ("episode reserved", episode(), 24, 4), ("episode return", episode(), 28, 8), ("episode version", episode(), 36, 8),
            ("status worker id", status(), 12, 4), ("status session", status(), 16, 4), ("status flags", status(), 20, 1),
            ("status reserved", status(), 21, 1), ("status reserved 2", status(), 22, 2), ("transitions sent", status(), 24, 8),
            ("episodes", status(), 32, 8), ("messages sent", status(), 40, 8),
            ("evaluation worker id", evaluation(), 12, 4), ("evaluation session", evaluation(), 16, 4),
            ("evaluation flags", evaluation(), 20, 1), ("evaluation count", evaluation(), 22, 2),
            ("evaluation reserved", evaluation(), 24, 4), ("evaluation nonce", evaluation(), 28, 8), ("evaluation version", evaluation(), 36, 8),
            ("evaluation updates", evaluation(), 44, 8), ("evaluation env steps", evaluation(), 52, 8),
        ]
    }
}

@Suite("LearnerCore against hostile input, in memory")
struct HostileInputTests {
    @Test("every hostile number is rejected and counted by reason, nothing of it enters replay, and the real worker's accounting stays exact")
    func hostileNumbers() throws {
        let sim = Simulation()
        let agents = Fixture.Agents()
        var configuration = Fixture.learner(maxEnvSteps: 100_000_000)
        configuration.learner.drainSeconds = 1
        try sim.startLearner(configuration: configuration, environment: LearnerEnvironment(spec: Pendulum().spec), makeLoop: Fixture.fakeLoop(agents))
        // Id 5: the hostile peer also greets as workers 0, 1 and 2^32−1 (the patched worker id field).
        let worker = sim.startWorker(Fixture.worker(5) { $0.environment = Pendulum.id }, session: 0x55, environment: Pendulum.self)
        try sim.run(until: { (agents.made.first?.updateCount ?? 0) > 0 })
        let peer = HostilePeer(sim)

        // Before any hello: transitions, a status claiming a million transitions, an episode.
        try peer.send(peer.transitions(sequence: 0))
        try peer.send(peer.status(final: true, sent: 1_000_000))
        try peer.send(peer.episode())
        try peer.send(peer.hello())
        // The cases that trapped once: a claim of 2^63; sequence 2^64−1 then 0; 0 then 2^63+5; a replay.
        try peer.send(peer.status(sent: 1 << 63))
        try peer.send(peer.transitions(sequence: .max))
        try peer.send(peer.transitions(sequence: 0))
        try peer.send(peer.transitions(sequence: (1 << 63) + 5))
        try peer.send(peer.transitions(sequence: 0))
        // Finite poison and values one float outside the bounds.
        try peer.send(peer.transitions(sequence: 1, count: 64, observation: 1e30))
        try peer.send(peer.transitions(sequence: 1, action: Float(2).nextUp))
        try peer.send(peer.episode(value: 1e300))
        try peer.send(peer.episode(length: 0, value: 0))
        var cartPole = Pendulum().spec
        cartPole.id = "CartPole-v1"
        try peer.send(peer.encoder.encode(Hello(workerId: 900, session: 0x0BAD, environmentCount: 1, seed: 7, spec: cartPole)))
        // Evaluations from an actor session; a hello as an evaluator without the token; then, from an evaluator that has it
        // (on a connection of its own), an evaluation of weights the learner never asked about, with no ticket's nonce.
        try peer.send(peer.evaluation())
        let evaluator = sim.network.connectWorker()
        try peer.send(peer.hello(session: 0xE7A1, role: .evaluator), on: evaluator)
        try peer.send(peer.hello(session: 0xE7A1, role: .evaluator, token: Simulation.evaluatorToken), on: evaluator)
        try peer.send(HostilePeer.patch(peer.evaluation(version: 1 << 40), offset: 16, width: 4, value: 0xE7A1), on: evaluator)
        var weights = WireFormat.magic + [UInt8(WireFormat.version), 0, 16, 0] + [100, 0, 0, 0]
        weights += [UInt8](repeating: 0, count: 100)
        try peer.send(weights)
        // Every integer field at 0, 1, max−1 and max.
        for field in peer.integerFields() {
            let max = field.width == 8 ? UInt64.max : (UInt64(1) << UInt64(8 * field.width)) - 1
            for value in [0, 1, max - 1, max] { try peer.send(HostilePeer.patch(field.message, offset: field.offset, width: field.width, value: value)) }
        }
        // A second session on the peer's connection is refused; on a connection of its own, it flushes what came before.
        try peer.send(peer.hello(session: 0x5EC0))
        let last = sim.network.connectWorker()
        try peer.send(peer.hello(session: 0x600D), on: last)
        try peer.send(peer.status(final: true, session: 0x600D), on: last)
        #expect(peer.sent > 150)
        let updates = agents.last.updateCount
        try sim.run(until: { agents.last.updateCount > updates + 1_000 }, "training to go on")
        sim.learnerStopRequest = .signal
        let summary = try sim.runToEnd()

        let accepted = summary.messagesAccepted.values.reduce(0, +), rejected = summary.messagesRejected.values.reduce(0, +)
        let realSent = try #require(summary.workers.first { $0.workerId == 5 }?.claimed?.messagesSent)
        #expect(accepted + rejected == peer.sent + Int(realSent), "every message accepted or rejected: \(summary.messagesAccepted), \(summary.messagesRejected)")
        for reason in ["no_hello", "bad_sequence", "out_of_range", "unexpected_kind", "unsupported_version", "unknown_kind",
                       "reserved_bits", "length_mismatch", "dimension_mismatch", "non_finite", "wrong_environment",
                       "not_an_evaluator", "unrequested_evaluation", "unauthorized_evaluator", "session_conflict"] {
            #expect((summary.messagesRejected[reason] ?? 0) > 0, "no \(reason) rejection among \(summary.messagesRejected)")
        }
        let real = try #require(summary.workers.first { $0.workerId == 5 })
        #expect(summary.transitionsSent["5"] == UInt64(real.transitionsReceived + real.transitionsAfterStop), "the real worker's accounting is exact")
        #expect(summary.transitionsSent.values.allSatisfy { $0 < 1_000_000 }, "the million claimed before any hello never counted")
        #expect(["learner_stopping", "learner_shutdown"].contains(worker.report?.stopReason ?? ""), "the learner told it to stop")
        // Nothing of a rejected message entered replay: every row is within Pendulum's bounds.
        let replay = try #require((sim.learner?.learning?.loop as? ReplayLoop)?.replay)
        let spec = Pendulum().spec
        var rows = 0
        replay.forEachColumn { name, raw in
            guard name == "replay_observations" || name == "replay_actions" else { return }
            let floats = raw.bindMemory(to: Float.self)
            let (low, high) = name == "replay_actions" ? (spec.actionLow, spec.actionHigh) : (spec.observationLow, spec.observationHigh)
            for (i, value) in floats.prefix(replay.count * low.count).enumerated() where !(value >= low[i % low.count] && value <= high[i % low.count]) {
                Issue.record("\(name) row \(i / low.count) holds \(value)")
            }
            rows += floats.count / low.count
        }
        #expect(rows > 0, "the replay's columns were read")
    }
}
