import Foundation
import Testing
@testable import Learning

@Suite("Metrics names and their documentation")
struct MetricsDocumentationTests {
    @Test("every metric follows Prometheus naming and is documented in docs/METRICS.md")
    func documented() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let document = try String(contentsOf: root.appendingPathComponent("docs/METRICS.md"), encoding: .utf8)
        let names = LearnerMetrics.definitions.map(\.name)
        #expect(Set(names).count == names.count, "names are unique")
        for definition in LearnerMetrics.definitions {
            #expect(definition.name.hasPrefix("ddpg_"))
            #expect(definition.name.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" })
            #expect((definition.kind == .counter) == definition.name.hasSuffix("_total"), "\(definition.name): only counters end in _total")
            #expect(document.contains("`\(definition.name)`"), "docs/METRICS.md documents \(definition.name)")
            for label in definition.labels { #expect(document.contains("`\(label)`"), "docs/METRICS.md explains the label \(label)") }
        }
    }

    @Test("recent policy lag merges the last intervals and forgets older ones")
    func recentLag() {
        var lag = RecentLag(keep: 2)
        #expect(lag.range == nil)
        lag.record(5, weight: 10)
        lag.advance()
        lag.record(1, weight: 30)
        #expect(lag.range == .init(min: 1, mean: 2, max: 5))
        lag.advance()
        #expect(lag.range == .init(min: 1, mean: 1, max: 1), "the first interval fell out of the window")
    }
}
