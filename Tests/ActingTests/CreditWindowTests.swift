import Testing
@testable import Acting

@Suite("Credit window")
struct CreditWindowTests {
    @Test("a worker waits once what it has in flight reaches the credit, and an acknowledgement frees it")
    func exhaustion() {
        var window = CreditWindow(initialCredit: 10)
        #expect(!window.isExhausted(buffered: 9))
        #expect(window.isExhausted(buffered: 10))
        window.sent(sequence: 0, count: 6)
        window.sent(sequence: 1, count: 6)
        #expect(window.unacknowledgedTransitions == 12 && window.isExhausted())
        // Next sequence 1: message 0 was consumed, message 1 was not.
        window.announced(credit: 10, nextSequence: 1, now: 0.5)
        #expect(window.unacknowledgedTransitions == 6 && !window.isExhausted() && window.isExhausted(buffered: 4))
        #expect(window.oldestUnacknowledged == 1)
    }

    @Test("acknowledgements are cumulative: one that skips a lost message covers it, and an older one changes nothing")
    func cumulative() {
        var window = CreditWindow(initialCredit: 4)
        for sequence in 0..<3 { window.sent(sequence: UInt64(sequence), count: 2) }
        window.announced(credit: 4, nextSequence: 3, now: 1)
        #expect(window.unacknowledgedTransitions == 0 && window.acknowledgedSequence == 3)
        window.sent(sequence: 3, count: 2)
        window.announced(credit: 4, nextSequence: 2, now: 2)
        #expect(window.unacknowledgedTransitions == 2 && window.acknowledgedSequence == 3)
    }

    @Test("a slow learner that keeps consuming keeps the worker waiting; one that consumes nothing for a second does not")
    func stall() {
        var window = CreditWindow(initialCredit: 4, now: 0)
        for sequence in 0..<4 { window.sent(sequence: UInt64(sequence), count: 2) }
        // Waiting from t = 10; the learner consumes one message every 0.3 s: far slower than the old
        // 100 ms timeout, but never a stall.
        let waitingSince = 10.0
        var now = waitingSince
        for sequence in 1...3 {
            now += 0.3
            #expect(!window.isStalled(now: now, waitingSince: waitingSince))
            window.announced(credit: 4, nextSequence: UInt64(sequence), now: now)
        }
        #expect(window.isExhausted() == false)
        // Time spent acting before the wait does not count against the learner.
        window.sent(sequence: 4, count: 2)
        window.sent(sequence: 5, count: 2)
        #expect(window.isExhausted())
        #expect(!window.isStalled(now: 20.9, waitingSince: 20))
        #expect(window.isStalled(now: 21.0, waitingSince: 20))
        window.giveUp(now: 21)
        #expect(!window.isExhausted() && window.unacknowledgedTransitions == 0)
        #expect(!window.isStalled(now: 21.5, waitingSince: 21.2))
    }

    @Test("credit 0 means no limit, and nothing is kept")
    func unpaced() {
        var window = CreditWindow(initialCredit: 0)
        window.sent(sequence: 0, count: 1_000)
        #expect(!window.isExhausted(buffered: 1_000_000) && window.unacknowledgedTransitions == 0)
    }

    @Test("a new learner takes its own credit, and the old one's unacknowledged data is dropped")
    func newLearner() {
        var window = CreditWindow(initialCredit: 8)
        window.sent(sequence: 0, count: 8)
        #expect(window.isExhausted())
        window.greeted(credit: 32, now: 5)
        #expect(window.credit == 32 && window.unacknowledgedTransitions == 0)
        #expect(!window.isStalled(now: 5.5, waitingSince: 0), "the greeting counts as news")
    }
}
