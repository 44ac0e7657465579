import Acting
import Clocks
import Environments
import Foundation
import WireProtocol
import Ingest
import Learning
import Logging
import Specs
import Transport

/// A learner and its workers in one thread, on an ``InMemoryNetwork`` and a ``ManualClock``: each
/// round gives every party that is not waiting one turn, and time moves only between rounds (by
/// ``tick`` when anyone progressed, else to the earliest wake-up). Deterministic: the same test
/// makes the same run, in milliseconds of real time for seconds or minutes of simulated time.
public final class Simulation {
    public let clock = ManualClock()
    public let network = InMemoryNetwork()
    /// Simulated seconds a round takes when something happened in it: a worker steps once a round, so 1 ms
    /// makes about a thousand env steps a second per worker, a Pendulum worker's pace when it is paced.
    public var tick = 0.001
    public private(set) var learner: LearnerCore?
    public private(set) var learnerTransport: InMemoryLearnerTransport?
    public private(set) var summary: LearnerSummary?
    public private(set) var workers: [SimulatedWorker] = []
    private var learnerWake = 0.0
    /// Set to ask the learner to stop, as SIGTERM (or its launcher's death) does.
    public var learnerStopRequest: StopRequest?
    /// What the learner and the workers logged at `.notice` and above, in order (for assertions on warnings).
    public let log = CapturedLog()

    /// The token the simulated learner authorizes its evaluators by, as `launch` gives one to its own.
    public static let evaluatorToken = EvaluatorToken(secret: "simulated evaluators")!

    public init() {}

    /// Starts a learner on the network (a new one replaces the old, as after a crash).
    @discardableResult
    public func startLearner(configuration: LearnerConfiguration, environment: LearnerEnvironment, learnerId: UInt64 = 0xA11CE,
                             evaluators: EvaluatorAuthorization = EvaluatorAuthorization(token: Simulation.evaluatorToken),
                             makeLoop: @escaping TrainingLoopFactory) throws -> LearnerCore {
        let transport = network.bindLearner()
        let core = try LearnerCore(configuration: configuration, environment: environment, transport: transport, clock: clock,
                                   learnerId: learnerId, logger: log.logger("learner"), evaluators: evaluators,
                                   stopRequested: { [unowned self] in learnerStopRequest }, makeLoop: makeLoop)
        learner = core
        learnerTransport = transport
        summary = nil
        learnerWake = 0
        return core
    }

    /// Starts a worker (an actor or, by its configuration's role, an evaluator) of `Env` on the network.
    @discardableResult
    public func startWorker<Env: Environment>(_ configuration: WorkerConfiguration, session: UInt32, environment: Env.Type = CountingEnvironment.self,
                                              token: EvaluatorToken = Simulation.evaluatorToken) -> SimulatedWorker {
        let transport = network.connectWorker()
        let worker = SimulatedWorker(transport: transport)
        let core = WorkerCore(configuration: configuration, spec: Env().spec, transport: transport, clock: clock, session: session,
                              logger: log.logger("worker \(configuration.workerId)"), token: token,
                              stopRequested: { [unowned worker] in worker.stopRequested })
        worker.core = core
        if configuration.role == .evaluator {
            worker.loop = EvaluatingLoop<Env>(core: core, transport: transport, logger: log.logger("evaluator"))
        } else if let steps = configuration.rolloutSteps {
            let work: OnPolicyWork = configuration.gradientConfiguration.map { .gradients($0) } ?? .segments
            worker.loop = OnPolicyActingLoop<Env>(core: core, transport: transport, rolloutSteps: steps, work: work, logger: log.logger("worker"))
        } else {
            worker.loop = ActingLoop<Env>(core: core, transport: transport, logger: log.logger("worker"))
        }
        workers.append(worker)
        return worker
    }

    /// Kills `worker` (SIGKILL: no goodbye, its connection closes).
    public func kill(_ worker: SimulatedWorker) {
        worker.killed = true
        network.disconnect(worker.transport)
    }

    /// Runs rounds until `condition` holds, failing after `timeout` simulated seconds.
    public func run(until condition: () -> Bool, timeout: Double = 120, _ what: String = "the condition") throws {
        let deadline = clock.now + timeout
        while !condition() {
            guard clock.now < deadline else { throw SimulationTimeout(what: what, at: clock.now) }
            try round()
        }
    }

    /// Runs until the learner has finished and written its summary.
    @discardableResult
    public func runToEnd(timeout: Double = 600) throws -> LearnerSummary {
        try run(until: { summary != nil }, timeout: timeout, "the learner to finish")
        return summary!
    }

    /// Runs `seconds` of simulated time.
    public func run(seconds: Double) throws {
        let end = clock.now + seconds
        try run(until: { clock.now >= end }, timeout: seconds + 1)
    }

    /// One turn for every party that is not waiting, then time moves on.
    public func round() throws {
        let now = clock.now
        var progressed = false
        var wake = Double.infinity
        if let learner, let transport = learnerTransport, summary == nil {
            let ready = transport.readiness
            if now >= learnerWake || ready.canReceive || ready.other {
                switch try learner.turn(after: ready) {
                case .progressed:
                    progressed = true
                    learnerWake = now
                case let .idle(seconds):
                    learnerWake = now + seconds
                case let .finished(summary):
                    self.summary = summary
                }
            }
            if self.summary == nil { wake = min(wake, learnerWake) }
        }
        for worker in workers where worker.isRunning {
            let ready = worker.transport.readiness(sending: worker.waitingToSend)
            guard now >= worker.wake || ready.canReceive || ready.other else {
                wake = min(wake, worker.wake)
                continue
            }
            switch try worker.loop.turn() {
            case .progressed:
                progressed = true
                worker.wake = now
                worker.waitingToSend = false
            case let .wait(seconds, sending):
                worker.wake = now + seconds
                worker.waitingToSend = sending
                wake = min(wake, worker.wake)
            case let .stopped(report):
                worker.report = report
                network.close(worker.transport)
            }
        }
        if progressed || wake <= now || wake == .infinity {
            clock.advance(by: tick)
        } else {
            clock.advance(to: wake)
        }
    }
}

/// A worker process in a ``Simulation``.
public final class SimulatedWorker {
    public let transport: InMemoryWorkerTransport
    public internal(set) var core: WorkerCore!
    var loop: (any WorkerLoop)!
    var wake = 0.0
    var waitingToSend = false
    /// Set to ask the worker to stop, as SIGTERM does.
    public var stopRequested = false
    public internal(set) var killed = false
    /// Its report, once it stopped by itself.
    public internal(set) var report: WorkerReport?

    init(transport: InMemoryWorkerTransport) { self.transport = transport }

    public var isRunning: Bool { report == nil && !killed }
}

public struct SimulationTimeout: Error, CustomStringConvertible {
    public var what: String
    public var at: Double
    public var description: String { "timed out waiting for \(what) (simulated time \(at) s)" }
}

/// Log lines kept in memory: what the cores said, for tests that check a warning was given.
public final class CapturedLog: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    public init() {}

    public var text: String { lock.withLock { lines.joined(separator: "\n") } }

    public func contains(_ fragment: String) -> Bool { lock.withLock { lines.contains { $0.contains(fragment) } } }

    func append(_ line: String) { lock.withLock { lines.append(line) } }

    public func logger(_ label: String) -> Logger {
        var logger = Logger(label: label) { _ in CapturingHandler(log: self) }
        logger.logLevel = .info
        return logger
    }
}

private struct CapturingHandler: LogHandler {
    let log: CapturedLog
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        log.append("\(event.level): \(event.message)")
    }
}
