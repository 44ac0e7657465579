import Checkpoint
import Clocks
import Foundation
import Ingest
import Learning
import Logging
import NeuralNetwork
import ProcessSupport
import Transport

/// `ddpg learner`: a ``LearnerCore`` over ZeroMQ, on the process's clock, stopping on SIGINT, SIGTERM or SIGHUP.
///
/// Everything the learner decides is the core's; this binds the sockets (with CURVE and the
/// connection cap) and runs the core's turns between waits on them.
public final class LearnerService {
    public let core: LearnerCore
    private let transport: ZeroMQLearnerTransport

    /// Binds both endpoints and makes the core: ready to learn if `environment` names a spec, else
    /// it learns the spec from the first worker's hello as it runs. Throws if an address is unusable
    /// or taken, or if the replay cannot fit the spec. `checkpoints`, when given, receives a checkpoint
    /// on the configured schedule and a last one when the run stops.
    public static func start(configuration: LearnerConfiguration, environment: LearnerEnvironment,
                             logger: Logger = Logger(label: "ddpg.learner"), monitoring: LearnerMonitoring = LearnerMonitoring(),
                             checkpoints: CheckpointWriter? = nil, security: LearnerSecurity? = nil,
                             evaluators: EvaluatorAuthorization = .none) throws -> LearnerService {
        BLAS.setThreadCount(configuration.training.blasThreads)
        let transport = try ZeroMQLearnerTransport(settings: configuration.learner, security: security, logger: logger, metrics: monitoring.metrics)
        logger.info("learner listening: transitions \(transport.boundEndpoints.transitions), weights \(transport.boundEndpoints.weights)")
        do {
            let core = try LearnerCore(configuration: configuration, environment: environment, transport: transport, clock: SystemClock(),
                                       logger: logger, monitoring: monitoring, checkpoints: checkpoints, evaluators: evaluators,
                                       stopRequested: Self.stopRequest)
            return LearnerService(core: core, transport: transport)
        } catch {
            transport.close()
            throw error
        }
    }

    /// SIGINT/SIGTERM, told apart from the death of the `ddpg launch` this learner was started by.
    private static func stopRequest() -> StopRequest? {
        guard ShutdownSignal.isRequested else { return nil }
        return ParentWatch.parentExited ? .launcherExited : .signal
    }

    private init(core: LearnerCore, transport: ZeroMQLearnerTransport) {
        self.core = core
        self.transport = transport
    }

    /// The endpoints actually bound (useful after binding port 0).
    public var boundEndpoints: (transitions: String, weights: String) { transport.boundEndpoints }

    /// Continues the run in `store` (now, or once the first hello gives the environment).
    @discardableResult
    public func resume(from store: CheckpointStore) throws -> URL? { try core.resume(from: store) }

    /// Runs until `maxEnvSteps` transitions were accepted, an evaluation reaches `untilReturn`, the
    /// networks keep going non-finite, or SIGINT/SIGTERM; then drains the workers and returns the
    /// summary. Throws ``LearnerStopped`` if asked to stop before any worker said hello.
    public func run() throws -> LearnerSummary {
        defer { transport.close() }
        return try core.run()
    }
}
