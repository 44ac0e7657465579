import Agents
import Environments
import Logging
import Policy
import Randomness
import Transport

/// What an on-policy worker sends of each segment it acts.
public enum OnPolicyWork {
    /// A2C: the segment itself; the worker then waits for the weights the learner's round trained on it.
    case segments
    /// A3C: the actor–critic gradient of its copy of the networks on the segment, computed with these loss
    /// settings (γ, λ, the coefficients); the worker acts on with the newest weights it has, not waiting.
    case gradients(AgentConfiguration)
}

/// An on-policy worker's loop: with the newest weights, every environment acts `rolloutSteps` steps,
/// drawing from the policy (a categorical's index, a Gaussian's draw, clipped only for the environment).
/// A2C's worker sends the steps as one segment, then waits for weights applied after it: the learner's
/// next round trains on what the current policy did, so acting on with old weights would only make
/// segments it drops as late. A3C's computes the gradient itself (Mnih et al. 2016) and sends that.
///
/// Nothing is acted before the first weights: an on-policy learner learns only from its own policy.
public final class OnPolicyActingLoop<Env: Environment>: WorkerLoop {
    public let core: WorkerCore
    public let transport: any WorkerTransport
    private let work: OnPolicyWork
    /// A3C: the agent over this worker's copies of the networks (rebuilt when the weights' shapes change).
    private var gradientAgent: ActorCriticAgent?
    private var gradient: [Float] = []
    private let steps: Int
    private var environments: [Env]
    private var observations: [Float]
    private var drawn: [Float]
    private var stepped: [Float]
    private var logProbabilities: [Float]
    private var recorders: [SegmentRecorder]
    private var rollout: Rollout
    private var returns: [Double]
    private var lengths: [Int]
    /// The policy's draws: the worker's own stream, independent of every other worker's and of the learner's.
    private var generator: Xoshiro256
    private var environmentGenerators: [Xoshiro256]
    /// ``WorkerCore/weightsApplied`` when the last segment was queued: the next waits for more.
    private var appliedAtLastSegment = -1

    public init(core: WorkerCore, transport: any WorkerTransport, rolloutSteps: Int, work: OnPolicyWork = .segments,
                logger: Logger = Logger(label: "ddpg.worker"), makeEnvironment: () -> Env = { Env() }) {
        self.core = core
        self.transport = transport
        self.work = work
        steps = rolloutSteps
        let c = core.configuration, spec = core.spec
        let o = spec.observationSize, a = spec.actionSize, k = c.environments
        let sends: String
        switch work {
        case .segments: sends = "on-policy segments"
        case let .gradients(configuration): sends = "A3C gradients (entropy coefficient \(configuration.onPolicySettings.entCoef))"
        }
        logger.info("worker \(c.workerId) of \(c.workerCount): \(k) × \(spec), \(sends) of \(rolloutSteps) steps, learner \(c.transitionsEndpoint)")
        environments = (0..<k).map { _ in makeEnvironment() }
        observations = Array(repeating: 0, count: k * o)
        drawn = Array(repeating: 0, count: k * a)
        stepped = Array(repeating: 0, count: k * a)
        logProbabilities = Array(repeating: 0, count: k)
        recorders = Array(repeating: SegmentRecorder(observationSize: o, actionSize: a, steps: rolloutSteps), count: k)
        rollout = Rollout(observationSize: o, actionSize: a, steps: rolloutSteps)
        returns = Array(repeating: 0, count: k)
        lengths = Array(repeating: 0, count: k)
        // The same streams as an off-policy worker's: worker i's draws and starts differ from every other's.
        generator = Xoshiro256(seed: c.seed, stream: 1_000 + UInt64(c.workerId))
        environmentGenerators = (0..<k).map { Xoshiro256(seed: c.seed, stream: 10_000 + UInt64(c.workerId) * 4_096 + UInt64($0)) }
        for i in 0..<k { reset(i) }
    }

    public func turn() throws -> WorkerTurn {
        switch try core.poll() {
        case let .stopped(reason): return .stopped(core.report(stopReason: reason))
        case let .wait(seconds, sending): return .wait(seconds: seconds, sending: sending)
        case .act:
            let waitsForItsRound = if case .segments = work { true } else { false }
            guard let actor = core.actor, !waitsForItsRound || core.weightsApplied > appliedAtLastSegment else {
                // Woken by the next publication; the learner publishes again while a round waits.
                return .wait(seconds: 0.05, sending: false)
            }
            actSegment(with: actor)
            return .progressed
        }
    }

    /// Every environment's `steps` steps with `actor`, queued as one segment of the version it acted with.
    private func actSegment(with actor: Actor) {
        let o = core.spec.observationSize, a = core.spec.actionSize, k = environments.count
        let version = core.weightsVersion
        for t in 0..<steps {
            actor.sample(observations: observations, count: k, actions: &drawn, logProbabilities: &logProbabilities, using: &generator)
            // In place: assigning would share drawn's storage and copy it at the clip.
            stepped.replaceSubrange(0..<(k * a), with: drawn)
            actor.clipToBounds(&stepped, count: k)
            for i in 0..<k {
                recorders[i].record(step: t, observation: observations[(i * o)..<((i + 1) * o)], action: drawn[(i * a)..<((i + 1) * a)],
                                    logProbability: logProbabilities[i])
                let result = stepped.withUnsafeBufferPointer { environments[i].step($0.baseAddress! + i * a, observation: &observations[i * o]) }
                recorders[i].record(step: t, reward: result.reward, terminated: result.terminated, truncated: result.truncated,
                                    finalObservation: observations[(i * o)..<((i + 1) * o)])
                returns[i] += result.reward
                lengths[i] += 1
                if result.isDone {
                    core.episodeEnded(length: lengths[i], return: returns[i])
                    returns[i] = 0
                    lengths[i] = 0
                    reset(i)
                }
            }
        }
        for i in 0..<k { recorders[i].append(to: &rollout, bootstrapObservation: observations[(i * o)..<((i + 1) * o)]) }
        switch work {
        case .segments: core.queueSegment(rollout, weightsVersion: version)
        case let .gradients(configuration): queueGradient(of: actor, configuration: configuration, version: version)
        }
        rollout.removeAll()
        appliedAtLastSegment = core.weightsApplied
        core.stepped(k * steps)
    }

    /// The gradient of the actor–critic loss on the rollout, with the weights it was acted with, both networks' values in one array.
    private func queueGradient(of actor: Actor, configuration: AgentConfiguration, version: UInt64) {
        guard let critic = core.valueNetwork else { return }  // weights without a value network come from no A3C learner
        if gradientAgent.map({ $0.actor !== actor || $0.critic !== critic }) ?? true {
            gradientAgent = ActorCriticAgent(actor: actor, critic: critic, configuration: configuration)
        }
        let statistics = gradientAgent!.computeGradients(rollout)
        let policy = actor.network.gradients, value = critic.gradients
        gradient.removeAll(keepingCapacity: true)
        gradient.append(contentsOf: UnsafeBufferPointer(start: policy.values, count: policy.count))
        gradient.append(contentsOf: UnsafeBufferPointer(start: value.values, count: value.count))
        core.queueGradient(gradient, policyParameters: policy.count, rows: rollout.rows, weightsVersion: version, statistics: statistics)
    }

    private func reset(_ i: Int) {
        let o = core.spec.observationSize
        observations.withUnsafeMutableBufferPointer { environments[i].reset(using: &environmentGenerators[i], observation: $0.baseAddress! + i * o) }
    }
}
