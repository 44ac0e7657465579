import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import Prometheus

/// The learner's HTTP monitoring endpoint, on its own event-loop thread so that a
/// scrape never waits for the training loop (nor the loop for a scrape):
///
/// - `GET /`: the live page (``DashboardPage``), one self-contained HTML document drawn from the two below;
/// - `GET /metrics`: the Prometheus text exposition format (version 0.0.4);
/// - `GET /status`: the latest status snapshot as JSON;
/// - `GET /evaluations`: every evaluation so far, as a JSON array of `{env_steps, wall_seconds, mean_return, std_return}`;
/// - `GET /healthz`: `ok` while the process serves.
///
/// Slow or idle clients cannot hold it: a connection that has not sent a whole
/// request head within ``idleTimeoutSeconds`` (or stays idle that long between
/// requests) is closed, and at most ``maxConnections`` are open at once; further
/// ones wait in the listen backlog until a slot frees.
public final class MonitoringServer: @unchecked Sendable {
    public static let idleTimeoutSeconds: Int64 = 10
    public static let maxConnections = 64

    public enum StartError: Error, CustomStringConvertible {
        case bindFailed(address: String, underlying: String)
        case timedOut(address: String)

        public var description: String {
            switch self {
            case let .bindFailed(address, underlying): "cannot serve metrics on \(address): \(underlying)"
            case let .timedOut(address): "the metrics server on \(address) did not start within 10 s"
            }
        }
    }

    /// The port actually bound (differs from the requested one when that was 0).
    public let port: Int
    private let task: Task<Void, Never>
    private let eventLoopGroup: MultiThreadedEventLoopGroup

    /// Binds `host:port` and starts serving; throws if the address cannot be bound.
    /// `status` returns the JSON body of `/status`, or nil before the first snapshot.
    public init(host: String, port: Int, registry: PrometheusCollectorRegistry,
                status: @escaping @Sendable () -> [UInt8]?, evaluations: @escaping @Sendable () -> [UInt8] = { Array("[]".utf8) },
                logger: Logger = MonitoringServer.quietLogger) throws {
        let router = Router()
        router.get("/") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: DashboardPage.html)))
        }
        router.get("evaluations") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: evaluations())))
        }
        router.get("metrics") { _, _ -> Response in
            var body: [UInt8] = []
            body.reserveCapacity(16 << 10)
            registry.emit(into: &body)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
        }
        router.get("status") { _, _ -> Response in
            guard let json = status() else {
                return Response(status: .serviceUnavailable, body: ResponseBody(byteBuffer: ByteBuffer(string: "no status yet\n")))
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: json)))
        }
        router.get("healthz") { _, _ in "ok\n" }

        let started = StartSignal()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let http1 = HTTP1Channel.Configuration(
            idleTimeout: .seconds(Self.idleTimeoutSeconds),
            httpDecoderConfiguration: .init(maxHeaderFieldSize: 8 << 10, maxHeaderListSize: 16 << 10, maxHeaderFieldCount: 100))
        let app = Application(
            router: router,
            server: .http1(configuration: http1),
            configuration: .init(address: .hostname(host, port: port), serverName: "ddpg",
                                 availableConnectionsDelegate: .maximum(Self.maxConnections, logger: logger)),
            onServerRunning: { channel in started.succeed(port: channel.localAddress?.port ?? port) },
            eventLoopGroupProvider: .shared(group),
            logger: logger)
        let address = "\(host):\(port)"
        task = Task.detached {
            do {
                // No signal handling here: the learner's own handlers decide when to stop.
                try await app.runService(gracefulShutdownSignals: [])
            } catch {
                started.fail(String(describing: error))
            }
        }
        eventLoopGroup = group
        switch started.wait(timeout: 10) {
        case let .some(.success(bound)):
            self.port = bound
        case let .some(.failure(message)):
            task.cancel()
            try? group.syncShutdownGracefully()
            throw StartError.bindFailed(address: address, underlying: message)
        case .none:
            task.cancel()
            throw StartError.timedOut(address: address)
        }
    }

    /// Hummingbird's own messages (listening, each request) below warnings stay out of the learner's log.
    public static var quietLogger: Logger {
        var logger = Logger(label: "ddpg.metrics")
        logger.logLevel = .warning
        return logger
    }
}

/// A one-shot result handed from the server task to the thread that started it.
private final class StartSignal: @unchecked Sendable {
    enum Outcome { case success(Int), failure(String) }
    private let condition = NSCondition()
    private var outcome: Outcome?

    func succeed(port: Int) { set(.success(port)) }
    func fail(_ message: String) { set(.failure(message)) }

    private func set(_ value: Outcome) {
        condition.lock()
        if outcome == nil { outcome = value }
        condition.broadcast()
        condition.unlock()
    }

    func wait(timeout: Double) -> Outcome? {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while outcome == nil, condition.wait(until: deadline) {}
        return outcome
    }
}
