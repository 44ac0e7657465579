import Testing
import WireProtocol
@testable import Learner

@Suite("Ingest accounting")
struct IngestLedgerTests {
    func header(worker: UInt32, sequence: UInt64, version: UInt64, count: Int) -> TransitionsHeader {
        TransitionsHeader(workerId: worker, observationSize: 3, actionSize: 1, sequence: sequence, weightsVersion: version, count: count)
    }

    @Test("policy lag is weighted by transitions and excludes random actions")
    func policyLag() {
        var ledger = IngestLedger()
        ledger.transitions(header(worker: 0, sequence: 0, version: 0, count: 64), currentVersion: 3, now: 0)
        ledger.transitions(header(worker: 0, sequence: 1, version: 2, count: 10), currentVersion: 3, now: 0)
        ledger.transitions(header(worker: 1, sequence: 0, version: 3, count: 30), currentVersion: 3, now: 0)
        #expect(ledger.randomTransitions == 64)
        let lag = ledger.policyLag.summary
        #expect(lag?.min == 0 && lag?.max == 1 && lag?.transitions == 40)
        #expect(abs((lag?.mean ?? 0) - 0.25) < 1e-12)
        #expect(ledger.transitionsReceived == 104 && ledger.transitionsAccepted == 104)
    }

    @Test("a version ahead of the learner's (a restarted learner) counts as no lag")
    func futureVersion() {
        var ledger = IngestLedger()
        ledger.transitions(header(worker: 0, sequence: 0, version: 40, count: 5), currentVersion: 2, now: 0)
        #expect(ledger.policyLag.summary?.max == 0)
    }

    @Test("sequence gaps count missing messages; a hello restarts the sequence")
    func gaps() {
        var ledger = IngestLedger()
        for sequence: UInt64 in [0, 1, 4, 5] {
            ledger.transitions(header(worker: 7, sequence: sequence, version: 1, count: 1), currentVersion: 1, now: 0)
        }
        #expect(ledger.workers[7]?.sequenceGaps == 2)
        ledger.hello(Hello(workerId: 7, observationSize: 3, actionSize: 1, environmentCount: 1, seed: 0, environmentId: "Pendulum-v1"), now: 1)
        ledger.transitions(header(worker: 7, sequence: 0, version: 1, count: 1), currentVersion: 1, now: 1)
        #expect(ledger.workers[7]?.sequenceGaps == 2, "a restarted worker starts again at 0 without a gap")
    }

    @Test("rejections are counted by reason, with the transitions they claimed")
    func rejections() {
        var ledger = IngestLedger()
        ledger.reject(.badMagic, claimedTransitions: nil)
        ledger.reject(.nonFinite(field: "rewards"), claimedTransitions: 64)
        ledger.reject(.nonFinite(field: "actions"), claimedTransitions: 32)
        #expect(ledger.messagesRejected == ["bad_magic": 1, "non_finite": 2])
        #expect(ledger.totalMessagesRejected == 3 && ledger.transitionsRejected == 96)
        #expect(ledger.transitionsReceived == 0)
    }

    @Test("only recently heard, unfinished workers count as active")
    func activeWorkers() {
        var ledger = IngestLedger()
        ledger.transitions(header(worker: 1, sequence: 0, version: 1, count: 1), currentVersion: 1, now: 0)
        ledger.transitions(header(worker: 2, sequence: 0, version: 1, count: 1), currentVersion: 1, now: 9)
        ledger.status(WorkerStatus(workerId: 3, isFinal: true, transitionsSent: 5, episodes: 0, messagesSent: 1), now: 9)
        #expect(ledger.activeWorkers(now: 10, window: 3) == [2])
        #expect(ledger.workers[3]?.transitionsSent == 5 && ledger.workers[3]?.finished == true)
    }
}
