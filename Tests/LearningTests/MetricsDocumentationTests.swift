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

    @Test("every query of deploy/grafana's dashboard names a metric the learner exports and docs/METRICS.md lists, with its own labels")
    func grafanaDashboard() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let document = try String(contentsOf: root.appendingPathComponent("docs/METRICS.md"), encoding: .utf8)
        let data = try Data(contentsOf: root.appendingPathComponent("deploy/grafana/ddpg-dashboard.json"))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        let definitions = Dictionary(uniqueKeysWithValues: LearnerMetrics.definitions.map { ($0.name, $0) })
        var named = Set<String>()
        #expect(panels.count >= 10)
        for panel in panels {
            let title = panel["title"] as? String ?? "?"
            let targets = panel["targets"] as? [[String: Any]] ?? []
            #expect(!targets.isEmpty, "panel '\(title)' has a query")
            for target in targets {
                let expression = try #require(target["expr"] as? String, "panel '\(title)': a query without expr")
                let metrics = expression.matches(of: /ddpg_[a-z0-9_]+/).map { String($0.output) }
                #expect(!metrics.isEmpty, "panel '\(title)': '\(expression)' names no ddpg metric")
                for metric in metrics {
                    // A histogram's series are its name with _bucket, _sum and _count.
                    let base = [metric] + ["_bucket", "_sum", "_count"].filter { metric.hasSuffix($0) }.map { String(metric.dropLast($0.count)) }
                    let definition = base.lazy.compactMap { definitions[$0] }.first
                    #expect(definition != nil, "panel '\(title)': \(metric) is not a metric the learner exports")
                    guard let definition else { continue }
                    #expect(metric == definition.name || definition.kind == .histogram, "\(metric): only a histogram has _bucket, _sum and _count series")
                    #expect(document.contains("`\(definition.name)`"), "\(definition.name) is listed in docs/METRICS.md")
                    named.insert(definition.name)
                }
                let allowed = Set(metrics.compactMap { m in definitions[m] ?? definitions[String(m.split(separator: "_").dropLast().joined(separator: "_"))] }
                    .flatMap(\.labels) + ["instance", "le", "job"])
                let matched = expression.matches(of: /([a-z_]+)\s*(=~|!~|!=|=)\s*"/).map { String($0.output.1) }
                let grouped = expression.matches(of: /\b(?:by|without)\s*\(([a-z_,\s]*)\)/)
                    .flatMap { $0.output.1.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
                for label in matched + grouped {
                    #expect(allowed.contains(label), "panel '\(title)': label \(label) is not one of \(allowed.sorted())")
                }
            }
        }
        for essential in ["ddpg_eval_return", "ddpg_transitions_per_second", "ddpg_updates_per_second", "ddpg_messages_rejected_total", "ddpg_policy_lag_updates"] {
            #expect(named.contains(essential), "the dashboard shows \(essential)")
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
