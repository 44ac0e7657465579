import Acting
import Clocks
import Environments
import Foundation
import Logging
import NeuralNetwork
import ProcessSupport
import Specs
import WireProtocol
import ZeroMQ

/// Why a worker cannot start.
public struct WorkerError: Error, CustomStringConvertible {
    public var description: String
}

/// `ddpg worker`: a ``WorkerCore`` with an acting (or, with `--evaluator`, an evaluating) loop over a
/// native environment, on ZeroMQ and the process's clock, stopping on SIGINT, SIGTERM or SIGHUP.
///
/// Sends wait while the learner's queues are full: that backpressure is how a worker learns to slow
/// down, and nothing is dropped on the way. libzmq reconnects by itself when the learner restarts.
public final class WorkerService {
    public let configuration: WorkerConfiguration
    private let environmentType: any Environment.Type
    private let transport: ZeroMQWorkerTransport
    private let core: WorkerCore
    private let logger: Logger

    public init(configuration: WorkerConfiguration, logger: Logger = Logger(label: "ddpg.worker"), security: WorkerSecurity? = nil,
                evaluatorToken: EvaluatorToken = .none) throws {
        self.configuration = configuration
        self.logger = logger
        // One core per worker process: OpenBLAS's helper threads spin while they wait for work
        // (a second core at 100% for a [256,256] actor), which starves the learner and delays weights by a time slice.
        BLAS.setThreadCount(1)
        guard let type = NativeEnvironments.type(named: configuration.environment) else {
            throw WorkerError(description: "unknown environment '\(configuration.environment)'; native environments: \(NativeEnvironments.ids.joined(separator: ", "))")
        }
        environmentType = type
        transport = try ZeroMQWorkerTransport(transitionsEndpoint: configuration.transitionsEndpoint, weightsEndpoint: configuration.weightsEndpoint,
                                              security: security)
        let hint = security == nil ? "" : " (is --learner-public-key the learner's, and is this worker's public key in its --authorized-keys?)"
        core = WorkerCore(configuration: configuration, spec: type.init().spec, transport: transport, clock: SystemClock(), logger: logger,
                          connectionHint: hint, token: evaluatorToken, stopRequested: { ShutdownSignal.isRequested })
    }

    public var spec: EnvironmentSpec { core.spec }

    /// Runs until SIGINT/SIGTERM, a shutdown notice from the learner, or `maxEnvSteps`; then sends what
    /// it holds and its final status, within a bounded wait.
    public func run() throws -> WorkerReport { try run(environmentType) }

    private func run<Env: Environment>(_: Env.Type) throws -> WorkerReport {
        if configuration.role == .evaluator { return try EvaluatingLoop<Env>(core: core, transport: transport, logger: logger).run() }
        if let steps = configuration.rolloutSteps {
            let work: OnPolicyWork = configuration.gradientConfiguration.map { .gradients($0) } ?? .segments
            return try OnPolicyActingLoop<Env>(core: core, transport: transport, rolloutSteps: steps, work: work, logger: logger).run()
        }
        return try ActingLoop<Env>(core: core, transport: transport, logger: logger).run()
    }
}


/// The worker's CURVE keys and the learner's public key; not Codable, so that no key reaches a report.
public struct WorkerSecurity: Sendable {
    public var keys: CurveKeyPair
    public var learnerPublicKey: String

    public init(keys: CurveKeyPair, learnerPublicKey: String) {
        self.keys = keys
        self.learnerPublicKey = learnerPublicKey
    }
}
