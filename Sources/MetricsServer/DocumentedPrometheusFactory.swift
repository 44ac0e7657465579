import CoreMetrics
import Prometheus

/// How one metric is exported: its HELP text and, for histograms, its buckets.
public struct MetricDocumentation: Sendable {
    public var help: String
    public var buckets: [Double]?

    public init(help: String, buckets: [Double]? = nil) {
        self.help = help
        self.buckets = buckets
    }
}

/// A swift-metrics factory over a swift-prometheus registry that also writes each
/// metric's `# HELP` line and its own histogram buckets, which
/// `PrometheusMetricsFactory` leaves empty and shared.
public struct DocumentedPrometheusFactory: MetricsFactory {
    public let registry: PrometheusCollectorRegistry
    private let documentation: [String: MetricDocumentation]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), documentation: [String: MetricDocumentation]) {
        self.registry = registry
        self.documentation = documentation
    }

    /// The full label is the metric name; the help text comes from the documentation.
    private func descriptor(_ label: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: label, unitName: "", helpText: documentation[label]?.help ?? "")
    }

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return registry.makeGauge(descriptor: descriptor(label), labels: dimensions) }
        let buckets = documentation[label]?.buckets ?? [0.001, 0.01, 0.1, 1, 10, 100, 1_000]
        return registry.makeValueHistogram(descriptor: descriptor(label), labels: dimensions, buckets: buckets)
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        let seconds = documentation[label]?.buckets ?? [0.001, 0.01, 0.1, 1, 10]
        let buckets = seconds.map { Duration.nanoseconds(Int64(($0 * 1e9).rounded())) }
        return registry.makeDurationHistogram(descriptor: descriptor(label), labels: dimensions, buckets: buckets)
    }

    // The learner's metrics live as long as the process; nothing is ever destroyed.
    public func destroyCounter(_ handler: any CounterHandler) {}
    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    public func destroyRecorder(_ handler: any RecorderHandler) {}
    public func destroyMeter(_ handler: any MeterHandler) {}
    public func destroyTimer(_ handler: any TimerHandler) {}
}
