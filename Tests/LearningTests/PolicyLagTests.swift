import Ingest
import Testing
@testable import Learning

@Suite("Policy lag in updates and seconds")
struct PolicyLagTests {
    @Test("lag counts the updates and seconds since the weights that acted were published")
    func lag() throws {
        var tracker = PolicyLagTracker()
        tracker.published(version: 1, updates: 0, seconds: 0)
        tracker.published(version: 2, updates: 25, seconds: 0.01)
        tracker.published(version: 3, updates: 50, seconds: 0.02)
        let first = tracker.accepted(version: 2, versionLag: 1, count: 64, updates: 60, now: 0.025)
        #expect(first?.updates == 35 && abs((first?.seconds ?? 0) - 0.015) < 1e-12)
        let second = tracker.accepted(version: 3, versionLag: 0, count: 64, updates: 75, now: 0.03)
        #expect(second?.updates == 25)
        let summary = tracker.updates.summary
        #expect(summary?.min == 25 && summary?.mean == 30 && summary?.max == 35 && summary?.transitions == 128)
        #expect(tracker.secondsSummary.map { abs($0.mean - 0.0125) < 1e-9 } == true)
        let recent = tracker.recent
        #expect(recent.updates?.mean == 30 && recent.versions?.max == 1)
        let unpublished = tracker.accepted(version: 9, versionLag: 0, count: 1, updates: 80, now: 0.04)
        #expect(unpublished == nil, "not published yet")
    }

    @Test("weights older than the last 4,096 publications have no lag in updates")
    func forgotten() {
        var tracker = PolicyLagTracker()
        for version in 1...5_000 { tracker.published(version: UInt64(version), updates: version * 10, seconds: Double(version)) }
        let forgotten = tracker.accepted(version: 100, versionLag: 4_900, count: 1, updates: 50_000, now: 5_000)
        let remembered = tracker.accepted(version: 4_999, versionLag: 1, count: 1, updates: 50_000, now: 5_000)
        #expect(forgotten == nil && remembered?.updates == 10)
    }
}
