import Agents
import Environments
import Logging
import Policy
import Randomness
import Transport

/// An on-policy worker's loop (A2C): with the newest weights, every environment acts `rolloutSteps` steps,
/// drawing from the policy (a categorical's index, a Gaussian's draw, clipped only for the environment),
/// and the steps go to the learner as one segment. Then it waits for weights applied after that segment:
/// the learner's next round trains on what the current policy did, so acting on with old weights would
/// only make segments it drops as late.
///
/// Nothing is acted before the first weights: an on-policy learner learns only from its own policy.
public final class OnPolicyActingLoop<Env: Environment>: WorkerLoop {
    public let core: WorkerCore
    public let transport: any WorkerTransport
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

    public init(core: WorkerCore, transport: any WorkerTransport, rolloutSteps: Int, logger: Logger = Logger(label: "ddpg.worker"),
                makeEnvironment: () -> Env = { Env() }) {
        self.core = core
        self.transport = transport
        steps = rolloutSteps
        let c = core.configuration, spec = core.spec
        let o = spec.observationSize, a = spec.actionSize, k = c.environments
        logger.info("worker \(c.workerId) of \(c.workerCount): \(k) × \(spec), on-policy segments of \(rolloutSteps) steps, learner \(c.transitionsEndpoint)")
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
            guard let actor = core.actor, core.weightsApplied > appliedAtLastSegment else {
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
        core.queueSegment(rollout, weightsVersion: version)
        rollout.removeAll()
        appliedAtLastSegment = core.weightsApplied
        core.stepped(k * steps)
    }

    private func reset(_ i: Int) {
        let o = core.spec.observationSize
        observations.withUnsafeMutableBufferPointer { environments[i].reset(using: &environmentGenerators[i], observation: $0.baseAddress! + i * o) }
    }
}
