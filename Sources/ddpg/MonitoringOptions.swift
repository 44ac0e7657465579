import ArgumentParser
import Foundation
import Learner
import Learning
import Logging
import MetricsServer
import Telemetry

/// Flags of the learner's monitoring: the Prometheus/status endpoint and the console.
struct MonitoringOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Serve Prometheus /metrics and JSON /status over HTTP on this port (off when absent).")
    var metricsPort: Int?

    @Option(parsing: .unconditional, help: "Address of the metrics endpoint: 127.0.0.1 keeps it on this machine; 0.0.0.0 lets a Prometheus elsewhere scrape it.")
    var metricsBind = "127.0.0.1"

    @Option(parsing: .unconditional, help: "Status display on standard error: auto (interactive on a terminal, plain otherwise), interactive, plain (a log line every 10 s) or none.")
    var console = "auto"

    var consoleMode: ConsoleMode { ConsoleMode(rawValue: console)?.resolved ?? .plain }

    func validate() throws {
        if let metricsPort, !(0...65_535).contains(metricsPort) {
            throw ValidationError("--metrics-port: must be a port in 0...65535, got \(metricsPort)")
        }
        guard ConsoleMode(rawValue: console) != nil else {
            throw ValidationError("--console: unknown mode '\(console)'; use auto, interactive, plain or none")
        }
    }


    /// Starts the endpoint (if asked) and returns the learner's monitoring, wired to
    /// the console, `/status`, `progress.csv` in `runDirectory`, and TensorBoard.
    func start(runDirectory: URL, resuming: Bool, events: TensorBoardWriter?, logger: Logger) throws -> (LearnerMonitoring, StatusConsole, MonitoringServer?) {
        let console = StatusConsole(mode: consoleMode)
        let board = StatusBoard()
        var metrics = LearnerMetrics()
        var server: MonitoringServer?
        if let metricsPort {
            let documentation = Dictionary(uniqueKeysWithValues: LearnerMetrics.definitions.map {
                ($0.name, MetricDocumentation(help: $0.help, buckets: $0.buckets))
            })
            let factory = DocumentedPrometheusFactory(documentation: documentation)
            metrics = LearnerMetrics(factory: factory)
            do {
                server = try MonitoringServer(host: metricsBind, port: metricsPort, registry: factory.registry, status: { board.json },
                                             evaluations: { board.evaluationsJSON })
            } catch {
                throw ValidationError("--metrics-port: \(error)")
            }
            logger.info("live page at http://\(metricsBind):\(server!.port)/, metrics at /metrics, status at /status")
        }
        let progress: ProgressLog
        do {
            progress = try ProgressLog(directory: runDirectory, appending: resuming)
        } catch {
            throw ValidationError("--run-dir: cannot write \(ProgressLog.fileName) into '\(runDirectory.path)': \(error.localizedDescription)")
        }
        let serving = server != nil
        let monitoring = LearnerMonitoring(metrics: metrics, events: events, progress: progress, onStatus: { status in
            if serving { board.publish(status) }
            console.show(status)
        }, onEvaluations: { points in
            if serving { board.publish(evaluations: points) }
        })
        return (monitoring, console, server)
    }
}
