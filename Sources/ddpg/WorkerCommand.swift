import ArgumentParser
import Agents
import Acting
import Environments
import Foundation
import KernelSelection
import Logging
import ProcessSupport
import RunConfiguration
import RunRecords
import Settings
import WireProtocol
import Worker

/// How workers explore and batch, shared by `ddpg worker` and `ddpg launch`.
struct WorkerOptions: ParsableArguments {
    private static let defaults = WorkerConfiguration()

    @Option(parsing: .unconditional, help: "Environments per worker, stepped together with one batched forward pass.")
    var envsPerWorker = defaults.environments

    @Option(parsing: .unconditional, help: "Ape-X spread α: worker i of N explores with σ^(1 + α·i/(N−1)).")
    var noiseSpreadAlpha = defaults.noiseSpreadAlpha

    @Option(parsing: .unconditional, help: "Explicit per-worker σ list, e.g. 0.3,0.1,0.03 (overrides the spread).")
    var noiseSigmas: String?

    @Option(parsing: .unconditional, help: "Transitions per message.")
    var transitionsPerMessage = defaults.transitionsPerMessage

    @Option(parsing: .unconditional, help: "Send a partial message after this many milliseconds.")
    var flushMs = defaults.flushMilliseconds

    @Option(parsing: .unconditional, help: "A3C: explicit per-worker entropy coefficients, e.g. 0,0.01,0.001: worker i uses entry i modulo the list's length (workers explore differently).")
    var entCoefs: String?

    @Option(parsing: .unconditional, help: "A3C: worker i of N adds this × i/(N−1) to the entropy coefficient, so that workers explore differently (0: all alike).")
    var entCoefSpread = defaults.entropySpread

    func parsedEntropyCoefficients() throws -> [Float] {
        guard let entCoefs else { return [] }
        let values = entCoefs.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil && $0! >= 0 && $0!.isFinite }) else {
            throw ValidationError("--ent-coefs: expected comma-separated non-negative numbers, got '\(entCoefs)'")
        }
        return values.map { $0! }
    }

    func parsedSigmas() throws -> [Double] {
        guard let noiseSigmas else { return [] }
        let values = noiseSigmas.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil && $0! >= 0 }) else {
            throw ValidationError("--noise-sigmas: expected comma-separated non-negative numbers, got '\(noiseSigmas)'")
        }
        return values.map { $0! }
    }

    func apply(to c: inout WorkerConfiguration) {
        c.environments = envsPerWorker
        c.noiseSpreadAlpha = noiseSpreadAlpha
        c.noiseSigmas = (try? parsedSigmas()) ?? []
        c.transitionsPerMessage = transitionsPerMessage
        c.flushMilliseconds = flushMs
        c.entropyCoefficients = (try? parsedEntropyCoefficients()) ?? []
        c.entropySpread = entCoefSpread
    }

}

struct WorkerCommand: ParsableCommand {
    /// libzmq resolves the learner's name on every reconnect and says nothing when it cannot;
    /// resolving it here first turns a typo into an error that names it.
    func resolveLearner(logger: Logger) throws {
        let host = learner.hasPrefix("[") && learner.hasSuffix("]") ? String(learner.dropFirst().dropLast()) : learner
        let deadline = Date().addingTimeInterval(resolveTimeout)
        var nextWarning = Date()
        while true {
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var result: UnsafeMutablePointer<addrinfo>?
            let status = getaddrinfo(host, nil, &hints, &result)
            if status == 0 {
                freeaddrinfo(result)
                return
            }
            let reason = String(cString: gai_strerror(status))
            // Only a temporary failure (no DNS answer yet) is worth waiting for.
            guard status == EAI_AGAIN || status == EAI_NONAME, Date() < deadline, !ShutdownSignal.isRequested else {
                throw ValidationError("--learner: cannot resolve '\(learner)' (\(reason))")
            }
            if Date() >= nextWarning {
                logger.warning("cannot resolve learner host '\(learner)' (\(reason)); retrying for up to \(Int(deadline.timeIntervalSinceNow.rounded(.up))) s")
                nextWarning = Date().addingTimeInterval(5)
            }
            usleep(500_000)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run a worker: its own environment copies, seed and noise, streaming transitions to a learner.",
        discussion: "Acts randomly until the first weights arrive, then with the newest. With --evaluator it sends no transitions: it plays the deterministic evaluation episodes the learner asks for and reports their returns. Reconnects by itself when the learner restarts. SIGINT/SIGTERM flush what it holds and exit."
    )

    @Option(parsing: .unconditional, help: "Environment id: \(NativeEnvironments.ids.joined(separator: " or ")). Its spec goes to the learner in the hello.")
    var env = "Pendulum-v1"

    @Flag(help: "Evaluate instead of acting: play the deterministic episodes the learner asks for with its newest weights, and report the returns.")
    var evaluator = false

    @Option(parsing: .unconditional, help: "Host name or address of the learner.")
    var learner = "127.0.0.1"

    @Option(parsing: .unconditional, help: "The learner's transitions port.")
    var transitionsPort = 5555

    @Option(parsing: .unconditional, help: "The learner's weights port.")
    var weightsPort = 5556

    @Option(parsing: .unconditional, help: "This worker's id, unique within the run, or auto: derived from the host name (for replicas in Docker Compose or Kubernetes, whose host names differ).")
    var workerId = "0"

    /// `--worker-id` as a number; `auto` hashes the host name (FNV-1a), which differs per container or pod.
    func resolvedWorkerId() throws -> UInt32 {
        if workerId == "auto" {
            var name = [CChar](repeating: 0, count: 256)
            gethostname(&name, name.count)
            let host = name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
            return host.reduce(UInt32(2_166_136_261)) { ($0 ^ UInt32($1)) &* 16_777_619 } & 0x7FFF_FFFF
        }
        guard let id = UInt32(workerId) else { throw ValidationError("--worker-id: '\(workerId)' is neither a non-negative integer nor auto") }
        return id
    }

    @Option(parsing: .unconditional, help: "Workers in the run (for the noise spread).")
    var workers = 1

    @Option(parsing: .unconditional, help: "Seed; each worker also derives its own streams from its id.")
    var seed: UInt64 = 1

    @Option(parsing: .unconditional, help: "Stop after this many environment steps (0: until the learner stops).")
    var maxEnvSteps = 0

    @Option(parsing: .unconditional, help: "Seconds to keep trying to resolve --learner before giving up (containers may start before DNS knows the learner).")
    var resolveTimeout = 30.0

    @Option(parsing: .unconditional, help: "Write a JSON report of this worker here when it stops.")
    var statsFile: String?

    @Option(parsing: .unconditional, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    @Option(parsing: .unconditional, help: "Steps summed into each transition's return; the learner's --n-step must match.")
    var nStep = WorkerConfiguration().nStep

    @Option(parsing: .unconditional, help: "Discount γ of those returns; the learner's --gamma must match.")
    var gamma = WorkerConfiguration().gamma

    @Option(parsing: .unconditional, help: "Act on-policy for an a2c learner: each environment acts this many steps with the newest weights, sent as one segment, then waits for the next weights. The learner's --rollout-steps must match.")
    var rolloutSteps: Int?

    @Flag(help: "A3C (with --rollout-steps): compute the actor–critic gradient of each segment with this worker's copy of both networks, and send it instead of the segment.")
    var gradients = false

    @Option(parsing: .unconditional, help: "A3C: λ of the advantages the gradient uses; the learner's --gae-lambda.")
    var gaeLambda = OnPolicySettings().gaeLambda

    @Option(parsing: .unconditional, help: "A3C: the value loss's weight; the learner's --vf-coef.")
    var vfCoef = OnPolicySettings().vfCoef

    @Option(parsing: .unconditional, help: "A3C: the entropy bonus's weight (--ent-coefs gives each worker its own).")
    var entCoef = OnPolicySettings().entCoef

    @Flag(help: "A3C: standardize each segment's advantages; the learner's --normalize-advantage.")
    var normalizeAdvantage = false

    @OptionGroup(title: "Worker") var options: WorkerOptions
    @OptionGroup(title: "Exploration") var noise: NoiseOptions
    @OptionGroup(title: "Security") var security: WorkerSecurityOptions

    @Option(help: .hidden) var parentPid: Int32?

    var workerConfiguration: WorkerConfiguration {
        var c = WorkerConfiguration()
        // Brackets make an IPv6 literal a valid ZeroMQ endpoint.
        let host = endpointHost(learner)
        c.transitionsEndpoint = "tcp://\(host):\(transitionsPort)"
        c.weightsEndpoint = "tcp://\(host):\(weightsPort)"
        c.environment = env
        c.role = evaluator ? .evaluator : .actor
        c.workerId = (try? resolvedWorkerId()) ?? 0
        c.workerCount = workers
        c.seed = seed
        c.maxEnvSteps = maxEnvSteps
        c.noise = noise.workerConfiguration
        c.nStep = nStep
        c.gamma = gamma
        c.rolloutSteps = rolloutSteps
        if gradients {
            var loss = OnPolicySettings()
            loss.gaeLambda = gaeLambda
            loss.vfCoef = vfCoef
            loss.entCoef = entCoef
            loss.normalizeAdvantage = normalizeAdvantage
            if let rolloutSteps { loss.rolloutSteps = rolloutSteps }
            c.gradientLoss = loss
        }
        options.apply(to: &c)
        return c
    }

    func validate() throws {
        guard let type = NativeEnvironments.type(named: env) else {
            throw ValidationError("--env: unknown environment '\(env)'; native environments: \(NativeEnvironments.ids.joined(separator: ", ")). For a gymnasium environment run `ddpg-gym-worker --env \(env)` (python/) instead")
        }
        if let n = type.init().discreteActions, rolloutSteps == nil, !evaluator {
            // Off-policy learners' actors act in Box spaces only.
            throw ValidationError("--env: \(env)'s action space is Discrete(\(n)): only an on-policy (a2c) learner trains it, and its workers need --rollout-steps")
        }
        _ = try options.parsedSigmas()
        _ = try options.parsedEntropyCoefficients()
        if gradients, rolloutSteps == nil { throw ValidationError("--gradients: A3C's gradients are computed on segments; give --rollout-steps too") }
        _ = try resolvedWorkerId()
        do {
            try workerConfiguration.validate()
        } catch {
            throw error.validationError(in: self, \.workerConfiguration)
        }
        guard !learner.isEmpty else { throw ValidationError("--learner: host must not be empty") }
        guard resolveTimeout >= 0, resolveTimeout.isFinite else { throw ValidationError("--resolve-timeout: must be non-negative, got \(resolveTimeout)") }
        try checkPorts(transitions: transitionsPort, weights: weightsPort)
        try security.validate()
    }

    func run() throws {
        if let parentPid { ParentWatch.terminateWithParent(parentPid) }
        ShutdownSignal.install()
        bootstrapLogging(level: logLevel)
        try resolveLearner(logger: Logger(label: "ddpg.worker"))
        let service: WorkerService
        do {
            service = try WorkerService(configuration: workerConfiguration, security: try security.security(),
                                        evaluatorToken: try EvaluatorTokenOption.token(security.evaluatorToken) ?? .none)
        } catch {
            throw ValidationError("cannot start the worker: \(error)")
        }
        // After the service pinned OpenBLAS to one thread, so the line says what acting runs with.
        Logger(label: "ddpg.worker").info("BLAS: \(KernelSelection.report.line)")
        var report = try service.run()
        report.blas = KernelSelection.report
        if let statsFile {
            let encoder = RecordFormat.encoder()
            try encoder.encode(report).write(to: URL(fileURLWithPath: statsFile), options: .atomic)
        }
    }
}
