import Specs
import Testing
import WireProtocol
@testable import Ingest

let pendulumSpec = EnvironmentSpec(id: "Pendulum-v1", observationLow: [-1, -1, -8], observationHigh: [1, 1, 8], actionLow: [-2], actionHigh: [2],
                                   rewardRange: -16.3...0, maxEpisodeSteps: 200)

func hello(worker: UInt32 = 7, session: UInt32 = 0xA, next: UInt64 = 0, seed: UInt64 = 1, role: WorkerRole = .actor,
           token: EvaluatorToken = .none) -> Hello {
    Hello(workerId: worker, session: session, role: role, environmentCount: 1, seed: seed, nextSequence: next, spec: pendulumSpec, token: token)
}

let evaluatorToken = EvaluatorToken(secret: "evaluators")!

func header(worker: UInt32 = 7, session: UInt32 = 0xA, sequence: UInt64, version: UInt64 = 0, count: Int = 1) -> TransitionsHeader {
    TransitionsHeader(workerId: worker, session: session, observationSize: 3, actionSize: 1, sequence: sequence, weightsVersion: version, count: count)
}

func expectReason(_ reason: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected a \(reason) rejection", sourceLocation: sourceLocation)
    } catch {
        #expect((error as? ProtocolError)?.reason == reason, "\(error)", sourceLocation: sourceLocation)
    }
}

@Suite("Ingest accounting")
struct IngestLedgerTests {
    @Test("policy lag is weighted by transitions and excludes version 0")
    func policyLag() throws {
        var ledger = IngestLedger()
        try ledger.hello(hello(worker: 0), now: 0)
        try ledger.hello(hello(worker: 1), now: 0)
        try ledger.transitions(header(worker: 0, sequence: 0, version: 0, count: 64), currentVersion: 3, now: 0)
        try ledger.transitions(header(worker: 0, sequence: 1, version: 2, count: 10), currentVersion: 3, now: 0)
        try ledger.transitions(header(worker: 1, sequence: 0, version: 3, count: 30), currentVersion: 3, now: 0)
        #expect(ledger.randomTransitions == 64)
        let lag = ledger.policyLag.summary
        #expect(lag?.min == 0 && lag?.max == 1 && lag?.transitions == 40)
        #expect(abs((lag?.mean ?? 0) - 0.25) < 1e-12)
        #expect(ledger.transitionsReceived == 104 && ledger.transitionsAccepted == 104)
    }

    @Test("after the stop, transitions are checked as before but counted apart: not accepted, not received, no policy lag")
    func afterStop() throws {
        var ledger = IngestLedger()
        try ledger.hello(hello(), now: 0)
        try ledger.transitions(header(sequence: 0, version: 1, count: 8), currentVersion: 2, now: 0)
        try ledger.transitions(header(sequence: 1, version: 1, count: 5), currentVersion: 2, afterStop: true, now: 1)
        expectReason("bad_sequence") { try ledger.transitions(header(sequence: 1, count: 5), currentVersion: 2, afterStop: true, now: 1) }
        #expect(ledger.transitionsAccepted == 8 && ledger.transitionsReceived == 8 && ledger.transitionsAfterStop == 5)
        #expect(ledger.policyLag.count == 8)
        let record = try #require(ledger.workers.values.first)
        #expect(record.transitionsReceived == 8 && record.transitionsAfterStop == 5 && record.messages == 2)
    }

    @Test("a rejection counts against the session its header names, when the learner knows that session")
    func rejectedPerSession() throws {
        var ingest = MessageIngest(expected: ExpectedShapes(spec: pendulumSpec))
        var encoder = MessageEncoder()
        _ = encoder.encode(hello()).withUnsafeBytes { ingest.handle($0, currentVersion: 0, now: 0) }
        // Sequence 3 before 0..2 is fine (a gap); a repeat of it is not.
        let rows = 4, observations = [Float](repeating: 0.5, count: 3 * rows), actions = [Float](repeating: 0, count: rows)
        let rewards = [Float](repeating: -1, count: rows), flags = [UInt8](repeating: 0, count: rows)
        let bytes = observations.withUnsafeBufferPointer { o in actions.withUnsafeBufferPointer { a in rewards.withUnsafeBufferPointer { r in
            flags.withUnsafeBufferPointer { f in
                encoder.encodeTransitions(header(sequence: 3, count: rows), observations: o, actions: a, rewards: r, nextObservations: o,
                                          terminated: f, truncated: f, gamma: 0.99)
            } } } }
        for _ in 0..<3 { _ = bytes.withUnsafeBytes { ingest.handle($0, currentVersion: 0, now: 0) } }
        let unknown = encoder.encode(WorkerStatus(workerId: 8, session: 0xB, isFinal: false, transitionsSent: 0, episodes: 0, messagesSent: 0))
        _ = unknown.withUnsafeBytes { ingest.handle($0, currentVersion: 0, now: 0) }
        let record = try #require(ingest.ledger.workers.values.first)
        #expect(record.transitionsReceived == 4 && record.messagesRejected == 2 && record.transitionsRejected == 8)
        #expect(ingest.ledger.totalMessagesRejected == 3 && ingest.ledger.transitionsRejected == 8, "the unknown session's no_hello counts globally only")
    }

    @Test("nothing is accepted from a session before its hello")
    func helloRequired() throws {
        var ledger = IngestLedger()
        expectReason("no_hello") { try ledger.transitions(header(sequence: 0), currentVersion: 0, now: 0) }
        expectReason("no_hello") { try ledger.status(WorkerStatus(workerId: 7, session: 0xA, isFinal: true, transitionsSent: 1_000_000, episodes: 0, messagesSent: 1), now: 0) }
        expectReason("no_hello") { try ledger.episode(EpisodeReport(workerId: 7, session: 0xA, length: 200, episodeReturn: -100, weightsVersion: 0), currentVersion: 0, now: 0) }
        #expect(ledger.workers.isEmpty && ledger.claimedTransitionsSent.isEmpty, "an unknown worker's claims never reach the summary")
        try ledger.hello(hello(), now: 0)
        expectReason("no_hello") { try ledger.transitions(header(session: 0xB, sequence: 0), currentVersion: 0, now: 0) }
        try ledger.transitions(header(sequence: 0), currentVersion: 0, now: 0)
        #expect(ledger.transitionsAccepted == 1)
    }

    @Test("sequence gaps count lost messages; replays, wrap-around and absurd jumps are refused")
    func sequences() throws {
        var ledger = IngestLedger()
        try ledger.hello(hello(next: 5), now: 0)
        for sequence: UInt64 in [5, 6, 9, 10] { try ledger.transitions(header(sequence: sequence), currentVersion: 0, now: 0) }
        #expect(ledger.workers.values.first?.sequenceGaps == 2)
        expectReason("bad_sequence") { try ledger.transitions(header(sequence: 10), currentVersion: 0, now: 0) }   // replayed
        expectReason("bad_sequence") { try ledger.transitions(header(sequence: 0), currentVersion: 0, now: 0) }    // backwards
        expectReason("bad_sequence") { try ledger.transitions(header(sequence: 11 + IngestLedger.maxSequenceGap + 1), currentVersion: 0, now: 0) }
        expectReason("bad_sequence") { try ledger.transitions(header(sequence: .max), currentVersion: 0, now: 0) }
        try ledger.transitions(header(sequence: 11 + IngestLedger.maxSequenceGap), currentVersion: 0, now: 0)
        #expect(ledger.workers.values.first?.sequenceGaps == 2 + Int(IngestLedger.maxSequenceGap))
        #expect(ledger.transitionsAccepted == 5 && ledger.workers.values.first?.messages == 5)
    }

    @Test("the overflow cases that trapped: status claims of 2^63, sequence max then 0, 0 then 2^63+5")
    func overflowValues() throws {
        var ledger = IngestLedger()
        try ledger.hello(hello(), now: 0)
        try ledger.status(WorkerStatus(workerId: 7, session: 0xA, isFinal: false, transitionsSent: 1 << 63, episodes: .max, messagesSent: .max), now: 0)
        try ledger.hello(hello(worker: 8), now: 0)
        try ledger.status(WorkerStatus(workerId: 8, session: 0xA, isFinal: false, transitionsSent: .max, episodes: 0, messagesSent: 0), now: 0)
        #expect(ledger.claimedTransitionsSent[7] == 1 << 63 && ledger.claimedTransitionsSent[8] == .max)
        try ledger.hello(hello(worker: 8, session: 0xB), now: 0)
        try ledger.status(WorkerStatus(workerId: 8, session: 0xB, isFinal: false, transitionsSent: .max, episodes: 0, messagesSent: 0), now: 0)
        #expect(ledger.claimedTransitionsSent[8] == .max, "claims of two sessions saturate")
        expectReason("bad_sequence") { try ledger.transitions(header(sequence: .max), currentVersion: 0, now: 0) }
        try ledger.transitions(header(sequence: 0), currentVersion: 0, now: 0)
        expectReason("bad_sequence") { try ledger.transitions(header(sequence: (1 << 63) + 5), currentVersion: 0, now: 0) }
        expectReason("bad_sequence") { try ledger.hello(hello(next: .max), now: 0) }
        expectReason("out_of_range") { try ledger.transitions(header(sequence: 1, version: .max), currentVersion: 3, now: 0) }
        expectReason("out_of_range") {
            try ledger.episode(EpisodeReport(workerId: 7, session: 0xA, length: 1, episodeReturn: 0, weightsVersion: 1 << 63), currentVersion: 3, now: 0)
        }
        #expect(ledger.transitionsAccepted == 1 && ledger.policyLag.summary == nil)
    }

    @Test("an acknowledgement tells a session the sequence the learner expects next; sessions with data are owed one")
    func acknowledgements() throws {
        var ledger = IngestLedger()
        try ledger.hello(hello(worker: 1, next: 7), now: 0)
        try ledger.hello(hello(worker: 2), now: 0)
        try ledger.transitions(header(worker: 1, sequence: 7), currentVersion: 0, now: 1)
        try ledger.transitions(header(worker: 1, sequence: 9), currentVersion: 0, now: 1)
        #expect(ledger.owedAcknowledgement == [SessionKey(workerId: 1, session: 0xA)])
        #expect(ledger.acknowledge(SessionKey(workerId: 1, session: 0xA), credit: 8) == 10)
        #expect(ledger.acknowledge(SessionKey(workerId: 2, session: 0xA), credit: 8) == 0)
        #expect(ledger.owedAcknowledgement.isEmpty && ledger.acknowledge(SessionKey(workerId: 3, session: 0xA), credit: 8) == nil)
        #expect(ledger.sendingSessions(now: 1.5, window: 10) == 1 && ledger.sendingSessions(now: 20, window: 10) == 0,
                "the credit is divided over sessions that send data")
    }

    @Test("the credit is divided over senders that are there: a session that never read an acknowledgement counts a second after its last data, one whose connection is gone not at all")
    func creditDivisionCountsPresentSenders() throws {
        var ledger = IngestLedger()
        func rows(_ worker: UInt32, _ sequence: UInt64, receipt: UInt64 = 0) -> TransitionsHeader {
            TransitionsHeader(workerId: worker, session: 0xA, observationSize: 3, actionSize: 1, sequence: sequence, weightsVersion: 0, count: 64,
                              receipt: receipt)
        }
        func greet(_ worker: UInt32, from address: String, at now: Double) throws {
            try ledger.hello(hello(worker: worker), connection: ownConnection(worker, 0xA), key: nil, address: address, authorizedEvaluator: false, now: now)
        }
        // A worker that reads its acknowledgements and sends every second; one that sends every second and reads none.
        try greet(1, from: "10.0.0.1", at: 0)
        try greet(2, from: "10.0.0.2", at: 0)
        // A churn from one address at 1 s: four sessions, 512 rows each, and gone without reading.
        for worker: UInt32 in 10..<14 {
            try greet(worker, from: "10.0.0.9", at: 1)
            for sequence: UInt64 in 0..<8 { try ledger.transitions(rows(worker, sequence), currentVersion: 0, now: 1) }
        }
        // One that read an acknowledgement, whose connection went away after its data at 1 s.
        try greet(20, from: "10.0.0.3", at: 0)
        _ = ledger.acknowledge(SessionKey(workerId: 20, session: 0xA), credit: 0, receipt: 0xB0)
        try ledger.transitions(rows(20, 0, receipt: 0xB0), currentVersion: 0, now: 1)
        #expect(ledger.sendingSessions(now: 1, window: 10) == 5, "the churn counts while it sends, with the one on its way out")
        ledger.connectionGone(SessionKey(workerId: 20, session: 0xA))
        _ = ledger.acknowledge(SessionKey(workerId: 1, session: 0xA), credit: 0, receipt: 0xA1)
        for second in 0...5 {
            try ledger.transitions(rows(1, UInt64(second), receipt: 0xA1), currentVersion: 0, now: Double(second))
            try ledger.transitions(rows(2, UInt64(second)), currentVersion: 0, now: Double(second))
        }
        // Before, the churn's four (the newest sessions from their address) and the gone one counted for 10 s: 7.
        #expect(ledger.sendingSessions(now: 5.5, window: 10) == 2, "the reader and the sender that reads nothing")
        #expect(ledger.sendingSessions(now: 7, window: 10) == 1, "one that reads nothing, quiet for 2 s, no longer counts")
        try ledger.transitions(rows(20, 1, receipt: 0xB0), currentVersion: 0, now: 7)
        #expect(ledger.sendingSessions(now: 7, window: 10) == 2, "delivering again, on a connection back, it counts again")
    }

    @Test("credit is enforced from the acknowledgement a sender names: four times its credit and one step of its environments since; beyond that it is over_credit")
    func creditEnforced() throws {
        var ledger = IngestLedger(creditSlack: 16)
        let key = SessionKey(workerId: 1, session: 0xA)
        func rows(_ sequence: UInt64, _ count: Int, receipt: UInt64) -> TransitionsHeader {
            TransitionsHeader(workerId: 1, session: 0xA, observationSize: 3, actionSize: 1, sequence: sequence, weightsVersion: 0, count: count,
                              receipt: receipt)
        }
        // Four environments: the step a worker takes last before it waits may add four rows beyond its credit.
        var fourEnvironments = hello(worker: 1)
        fourEnvironments.environmentCount = 4
        try ledger.hello(fourEnvironments, connection: 1, key: nil, authorizedEvaluator: false, initialCredit: 2, now: 0)
        _ = ledger.acknowledge(key, credit: 2, receipt: 0xA1)
        for sequence: UInt64 in 0..<3 { try ledger.transitions(rows(sequence, 4, receipt: 0xA1), from: 1, currentVersion: 0, now: 0) }
        // 12 in flight since 0xA1: four times its credit (8) plus one step of four environments; the next is refused, whatever its size.
        expectReason("over_credit") { try ledger.transitions(rows(3, 1, receipt: 0xA1), from: 1, currentVersion: 0, now: 0) }
        #expect(ledger.transitionsAccepted == 12)
        // Acknowledged: a sender that has read the new receipt may send again; one that names the old one may not.
        _ = ledger.acknowledge(key, credit: 2, receipt: 0xA2)
        expectReason("over_credit") { try ledger.transitions(rows(3, 4, receipt: 0xA1), from: 1, currentVersion: 0, now: 0) }
        try ledger.transitions(rows(3, 4, receipt: 0xA2), from: 1, currentVersion: 0, now: 0)
        // A receipt the learner never sent counts from the oldest it keeps: guessing gains nothing.
        expectReason("over_credit") { try ledger.transitions(rows(4, 16, receipt: 0xBAD), from: 1, currentVersion: 0, now: 0) }
        // A smaller credit applies once the sender has read two acknowledgements of it.
        _ = ledger.acknowledge(key, credit: 1, receipt: 0xA3)
        try ledger.transitions(rows(4, 8, receipt: 0xA3), from: 1, currentVersion: 0, now: 0)
        _ = ledger.acknowledge(key, credit: 1, receipt: 0xA4)
        for sequence: UInt64 in 5..<9 { try ledger.transitions(rows(sequence, 2, receipt: 0xA4), from: 1, currentVersion: 0, now: 0) }
        expectReason("over_credit") { try ledger.transitions(rows(9, 1, receipt: 0xA4), from: 1, currentVersion: 0, now: 0) }
        // Credit 0: the learner does not pace, and nothing is over credit.
        _ = ledger.acknowledge(key, credit: 0, receipt: 0xA5)
        for sequence: UInt64 in 9..<20 { try ledger.transitions(rows(sequence, 4, receipt: 0xA5), from: 1, currentVersion: 0, now: 0) }
    }

    @Test("after a cut for ignoring credit, no new session from that origin for 10 s, doubling when it happens again, back to 10 s after 5 min of good behaviour")
    func coolingDown() throws {
        var ledger = IngestLedger()
        var session: UInt32 = 0
        func newSession(from address: String, key: String? = nil, at now: Double) throws {
            session += 1
            try ledger.hello(hello(worker: 100 + session, session: session), connection: UInt64(session), key: key, address: address,
                             authorizedEvaluator: false, now: now)
        }
        ledger.coolDown("10.0.0.9", now: 0)
        expectReason("cooling_down") { try newSession(from: "10.0.0.9", at: 9.9) }
        try newSession(from: "10.0.0.8", at: 9.9)  // another address
        try newSession(from: "10.0.0.9", at: 10)
        ledger.coolDown("10.0.0.9", now: 10)  // again after its wait: twice as long
        ledger.coolDown("10.0.0.9", now: 12)  // its other connections, cut during the wait: no longer
        expectReason("cooling_down") { try newSession(from: "10.0.0.9", at: 29.9) }
        try newSession(from: "10.0.0.9", at: 30)
        ledger.coolDown("10.0.0.9", now: 30)
        expectReason("cooling_down") { try newSession(from: "10.0.0.9", at: 69.9) }
        ledger.coolDown("10.0.0.9", now: 70 + 301)  // five minutes after its last wait: a first offence again
        expectReason("cooling_down") { try newSession(from: "10.0.0.9", at: 380.9) }
        try newSession(from: "10.0.0.9", at: 381)
        // Under CURVE the key is the origin (a machine's workers may share an address, or one key).
        ledger.coolDown(IngestLedger.origin(key: "K", address: "10.0.0.7")!, now: 400)
        expectReason("cooling_down") { try newSession(from: "10.0.0.6", key: "K", at: 401) }
        try newSession(from: "10.0.0.7", key: "L", at: 401)
    }

    @Test("an origin opens at most its burst of new sessions, then one per 10 s, and gets one back for each session that reads its acknowledgements and lives 10 s")
    func sessionRate() throws {
        var ledger = IngestLedger(sessionBurst: 2)
        var session: UInt32 = 0
        @discardableResult
        func newSession(from address: String, at now: Double) throws -> SessionKey {
            session += 1
            try ledger.hello(hello(worker: 100 + session, session: session), connection: UInt64(session), key: nil, address: address,
                             authorizedEvaluator: false, now: now)
            return SessionKey(workerId: 100 + session, session: session)
        }
        let first = try newSession(from: "10.0.0.9", at: 0)
        let second = try newSession(from: "10.0.0.9", at: 0)
        expectReason("session_rate") { try newSession(from: "10.0.0.9", at: 1) }
        try newSession(from: "10.0.0.8", at: 1)  // another address has its own
        try newSession(from: "10.0.0.9", at: 10)  // one back after 10 s
        expectReason("session_rate") { try newSession(from: "10.0.0.9", at: 10) }
        // The first session reads its acknowledgements (names a receipt it was sent); the second never does.
        for key in [first, second] {
            _ = ledger.acknowledge(key, credit: 64, receipt: 0xF0 + UInt64(key.session))
            let receipt: UInt64 = key == first ? 0xF0 + UInt64(key.session) : 0
            try ledger.transitions(TransitionsHeader(workerId: key.workerId, session: key.session, observationSize: 3, actionSize: 1, sequence: 0,
                                                     weightsVersion: 0, count: 1, receipt: receipt), from: UInt64(key.session), currentVersion: 0, now: 1)
        }
        // At 15 s: half a refill, plus the first session's allowance back (it read an acknowledgement and lived 10 s).
        try newSession(from: "10.0.0.9", at: 15)
        expectReason("session_rate") { try newSession(from: "10.0.0.9", at: 15) }
        try newSession(from: "10.0.0.9", at: 20)
    }

    @Test("a hello again (to a new learner) resynchronizes the sequence without a gap")
    func helloAgain() throws {
        var ledger = IngestLedger()
        try ledger.hello(hello(), now: 0)
        try ledger.transitions(header(sequence: 0), currentVersion: 0, now: 0)
        try ledger.hello(hello(next: 40), now: 1)
        try ledger.transitions(header(sequence: 40), currentVersion: 0, now: 1)
        #expect(ledger.workers.values.first?.sequenceGaps == 0 && ledger.workers.count == 1)
    }

    @Test("two live processes with one worker id are noticed once (when the older acts with weights newer than the other's hello) and accounted apart")
    func duplicateWorkerIds() throws {
        var ledger = IngestLedger()
        try ledger.hello(hello(session: 1, seed: 3), now: 0)
        try ledger.transitions(header(session: 1, sequence: 0, count: 10), currentVersion: 0, now: 0)
        try ledger.hello(hello(session: 2, seed: 4), currentVersion: 2, now: 1)
        #expect(ledger.takeNotices().isEmpty, "a new session alone may be a restart")
        try ledger.transitions(header(session: 2, sequence: 0, version: 2, count: 5), currentVersion: 2, now: 1)
        try ledger.transitions(header(session: 1, sequence: 1, version: 2, count: 10), currentVersion: 2, now: 1)
        #expect(ledger.takeNotices().isEmpty, "acted with weights the restarted one may also have had before it died")
        try ledger.transitions(header(session: 1, sequence: 2, version: 3, count: 10), currentVersion: 3, now: 1)
        #expect(ledger.takeNotices() == [.duplicateWorkerId(7, sessions: [1, 2], seeds: [3, 4])])
        try ledger.transitions(header(session: 1, sequence: 3, version: 3, count: 10), currentVersion: 3, now: 2)
        #expect(ledger.takeNotices().isEmpty, "noticed once")
        let records = ledger.sortedWorkers
        #expect(records.map(\.transitionsReceived) == [40, 5] && records.allSatisfy { $0.sequenceGaps == 0 })
        try ledger.status(WorkerStatus(workerId: 7, session: 1, isFinal: true, transitionsSent: 40, episodes: 0, messagesSent: 4), now: 3)
        try ledger.status(WorkerStatus(workerId: 7, session: 2, isFinal: false, transitionsSent: 5, episodes: 0, messagesSent: 3), now: 3)
        #expect(ledger.claimedTransitionsSent[7] == 45, "sent = received, summed over both processes")
        #expect(ledger.activeWorkers(now: 3, window: 3) == [7], "one of the two is still running")
    }

    @Test("a killed worker's messages read after its restart's hello (queued, acted before it died) are no duplicate")
    func restartIsNotDuplicate() throws {
        var ledger = IngestLedger()
        try ledger.hello(hello(session: 1), now: 0)
        try ledger.transitions(header(session: 1, sequence: 0, version: 3), currentVersion: 4, now: 0)
        try ledger.hello(hello(session: 2), currentVersion: 9, now: 5)
        try ledger.transitions(header(session: 2, sequence: 0, version: 9), currentVersion: 9, now: 5)
        // What the killed process had queued, read 6 s later: acted with weights up to version 9 at most.
        for sequence: UInt64 in 1...4 { try ledger.transitions(header(session: 1, sequence: sequence, version: 8 + sequence / 4), currentVersion: 12, now: 11) }
        try ledger.status(WorkerStatus(workerId: 7, session: 1, isFinal: false, transitionsSent: 5, episodes: 0, messagesSent: 6), now: 11)
        #expect(ledger.takeNotices().isEmpty && ledger.duplicateWorkerIds.isEmpty)
    }

    @Test("sessions are capped; silent ones without data make room, others do not")
    func sessionCap() throws {
        var ledger = IngestLedger(maxSessions: 2)
        try ledger.hello(hello(worker: 1), now: 0)
        try ledger.hello(hello(worker: 2), now: 0)
        try ledger.transitions(header(worker: 1, sequence: 0), currentVersion: 0, now: 0)
        expectReason("too_many_workers") { try ledger.hello(hello(worker: 3), now: 1) }
        // Worker 2 keeps sending statuses, which cost nothing: they do not keep its slot. Worker 1 keeps sending data.
        for second in stride(from: 3.0, through: 18, by: 3) {
            try ledger.status(WorkerStatus(workerId: 2, session: 0xA, isFinal: false, transitionsSent: 0, episodes: 0, messagesSent: 0), now: second)
        }
        try ledger.transitions(header(worker: 1, sequence: 1), currentVersion: 0, now: 15)
        try ledger.hello(hello(worker: 3), now: 20)
        #expect(Set(ledger.workers.keys.map(\.workerId)) == [1, 3], "worker 2 sent no data for 20 s, whatever statuses it sent")
        expectReason("too_many_workers") { try ledger.hello(hello(worker: 4), now: 20) }
    }

    @Test("an evicted session's deliveries stay in the run's totals")
    func evictionKeepsTheAccounts() throws {
        var ledger = IngestLedger(maxSessions: 1)
        try ledger.hello(hello(worker: 1), now: 0)
        try ledger.transitions(header(worker: 1, sequence: 0), currentVersion: 0, now: 0)
        try ledger.episode(EpisodeReport(workerId: 1, session: 0xA, length: 200, episodeReturn: -100, weightsVersion: 0), currentVersion: 0, now: 0)
        ledger.reject(.nonFinite(field: "rewards"), claimedTransitions: 8, claimedSession: SessionKey(workerId: 1, session: 0xA))
        let delivered = try #require(ledger.workers[SessionKey(workerId: 1, session: 0xA)])
        try ledger.hello(hello(worker: 2), now: 11)
        #expect(ledger.workers.keys.map(\.workerId) == [2], "worker 1 was idle for 11 s")
        #expect(ledger.evicted == EvictedSessions(sessions: 1, transitionsReceived: delivered.transitionsReceived, episodes: 1,
                                                  messagesRejected: 1, transitionsRejected: 8))
        #expect(ledger.episodes == 1 && ledger.transitionsAccepted == delivered.transitionsReceived && delivered.transitionsReceived > 0)
    }

    @Test("rejections are counted by reason, with the transitions they claimed (bounded)")
    func rejections() {
        var ledger = IngestLedger()
        ledger.reject(.badMagic, claimedTransitions: nil)
        ledger.reject(.nonFinite(field: "rewards"), claimedTransitions: 64)
        ledger.reject(.nonFinite(field: "actions"), claimedTransitions: 32)
        ledger.reject(.outOfRange(field: "count", value: ""), claimedTransitions: .max)
        #expect(ledger.messagesRejected == ["bad_magic": 1, "non_finite": 2, "out_of_range": 1])
        #expect(ledger.totalMessagesRejected == 4 && ledger.transitionsRejected == 96 + WireFormat.maxTransitionsPerMessage)
        #expect(ledger.transitionsReceived == 0)
    }

    @Test("only recently heard, unfinished sessions count as active")
    func activeWorkers() throws {
        var ledger = IngestLedger()
        for worker: UInt32 in [1, 2, 3] { try ledger.hello(hello(worker: worker), now: 0) }
        try ledger.transitions(header(worker: 1, sequence: 0), currentVersion: 1, now: 0)
        try ledger.transitions(header(worker: 2, sequence: 0), currentVersion: 1, now: 9)
        try ledger.status(WorkerStatus(workerId: 3, session: 0xA, isFinal: true, transitionsSent: 5, episodes: 0, messagesSent: 1), now: 9)
        #expect(ledger.activeWorkers(now: 10, window: 3) == [2])
        let three = ledger.workers[SessionKey(workerId: 3, session: 0xA)]
        #expect(three?.claimed?.transitionsSent == 5 && three?.finished == true && three?.transitionsReceived == 0)
    }
}

@Suite("Ingest of evaluations")
struct EvaluationIngestTests {
    func report(worker: UInt32 = 9, session: UInt32 = 0xE, version: UInt64 = 4, updates: UInt64 = 100, envSteps: UInt64 = 2_000,
                episodes: Int = 3, isFinal: Bool = false, nonce: UInt64 = 77) -> [UInt8] {
        var encoder = MessageEncoder()
        return encoder.encode(EvaluationReport(workerId: worker, session: session, isFinal: isFinal, nonce: nonce,
                                               publication: Publication(version: version, updates: updates, envSteps: envSteps),
                                               returns: Array(repeating: -150, count: episodes), lengths: Array(repeating: 200, count: episodes)))
    }

    func handle(_ ingest: inout MessageIngest, _ bytes: [UInt8]) -> MessageIngest.Outcome {
        bytes.withUnsafeBytes { ingest.handle($0, currentVersion: 10, now: 1) }
    }

    func reason(_ outcome: MessageIngest.Outcome) -> String? {
        if case let .rejected(error, _) = outcome { return error.reason }
        return nil
    }

    @Test("an evaluation is accepted only from an authorized evaluator, for a publication that carried a request, with the episodes asked for and its ticket's nonce")
    func requested() {
        var ingest = MessageIngest(expected: ExpectedShapes(spec: pendulumSpec), evaluators: EvaluatorAuthorization(token: evaluatorToken))
        var encoder = MessageEncoder()
        // Without the token, or with another, a hello as an evaluator is refused.
        #expect(reason(handle(&ingest, encoder.encode(hello(worker: 8, session: 0xD, role: .evaluator)))) == "unauthorized_evaluator")
        #expect(reason(handle(&ingest, encoder.encode(hello(worker: 8, session: 0xD, role: .evaluator, token: EvaluatorToken(secret: "guess")!))))
                == "unauthorized_evaluator")
        _ = handle(&ingest, encoder.encode(hello(worker: 9, session: 0xE, role: .evaluator, token: evaluatorToken)))
        _ = handle(&ingest, encoder.encode(hello(worker: 1, session: 0x1)))
        // Nothing was requested yet.
        #expect(reason(handle(&ingest, report())) == "unrequested_evaluation")
        ingest.requested(EvaluationRequest(mark: 2_000, episodes: 3, seed: 5), nonce: 77, of: Publication(version: 4, updates: 100, envSteps: 2_000),
                         wallSeconds: 1.5, at: 1)
        #expect(reason(handle(&ingest, report(worker: 1, session: 0x1))) == "not_an_evaluator")
        #expect(reason(handle(&ingest, report(worker: 8, session: 0xD))) == "no_hello")
        #expect(reason(handle(&ingest, report(updates: 99))) == "unrequested_evaluation")
        #expect(reason(handle(&ingest, report(episodes: 2))) == "unrequested_evaluation")
        #expect(reason(handle(&ingest, report(isFinal: true))) == "unrequested_evaluation")
        #expect(reason(handle(&ingest, report(nonce: 78))) == "unrequested_evaluation", "every field a subscriber sees, but not the nonce")
        guard case let .evaluation(accepted) = handle(&ingest, report()) else { Issue.record("not accepted"); return }
        #expect(accepted.returns.count == 3)
        #expect(ingest.ledger.messagesAccepted["evaluation"] == 1)
        #expect(ingest.ledger.messagesRejected["unrequested_evaluation"] == 5)
        // An evaluator sends no transitions.
        let header = TransitionsHeader(workerId: 9, session: 0xE, observationSize: 3, actionSize: 1, sequence: 0, weightsVersion: 0, count: 1)
        expectReason("unexpected_kind") { try ingest.ledger.transitions(header, currentVersion: 10, now: 1) }
    }

    @Test("requests are remembered for a bounded number of publications")
    func bounded() {
        var ingest = MessageIngest(expected: ExpectedShapes(spec: pendulumSpec))
        // Three times over, so that the evicted front of the order is dropped too.
        let capacity = UInt64(RequestedEvaluations.capacity), last = 3 * capacity + 10
        for version in 1...last {
            ingest.requested(EvaluationRequest(mark: version, episodes: 1, seed: 1), of: Publication(version: version, updates: version, envSteps: version),
                             wallSeconds: 0, at: 0)
        }
        // Exactly the newest `capacity`: the older ones went, in the order they were published.
        #expect(ingest.requestedEvaluations[1] == nil)
        #expect(ingest.requestedEvaluations[last - capacity] == nil)
        #expect(ingest.requestedEvaluations[last - capacity + 1] != nil)
        #expect(ingest.requestedEvaluations[last] != nil)
        #expect(ingest.requestedEvaluations.newest?.publication.version == last)
    }
}
