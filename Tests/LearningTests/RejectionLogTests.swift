import Testing
@testable import Learning

@Suite("Rejection logging")
struct RejectionLogTests {
    @Test("the first ten in full, then one in full per 10 s, and a count by reason of the rest, never silence")
    func suppression() {
        var log = RejectionLog()
        var full = 0
        for i in 0..<1_000 where log.shouldLog(now: Double(i) * 0.001, reason: i.isMultiple(of: 2) ? "bad_magic" : "too_short") { full += 1 }
        #expect(full == 10)
        let early = log.summary(now: 5)
        #expect(early == nil, "at most one count line per interval")
        let counted = log.summary(now: 10.5)
        #expect(counted == "990 more rejected messages were not logged one by one (bad_magic 495, too_short 495)")
        let quiet = log.summary(now: 30)
        #expect(quiet == nil, "nothing suppressed since")
        let newInterval = log.shouldLog(now: 11, reason: "bad_magic"), sameInterval = log.shouldLog(now: 11.5, reason: "bad_magic")
        #expect(newInterval && !sameInterval, "a new interval logs one in full again")
        let rest = log.summary(now: .infinity)
        #expect(rest == "1 more rejected messages were not logged one by one (bad_magic 1)")
    }
}
