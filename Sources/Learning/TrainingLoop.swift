import Agents
import Checkpoint
import Ingest
import NeuralNetwork
import Randomness
import RunConfiguration
import Specs
import WireProtocol

/// How a learner turns the experience it accepts into updates: where the data is kept, and when an
/// update may run. ``LearnerCore`` decides everything else (what to accept, when to publish, when to
/// stop) and speaks to this seam only.
///
/// ``ReplayLoop`` keeps a replay buffer sampled at a fixed samples-per-insert ratio (Acme's replay table
/// and rate limiter). ``SynchronousRolloutLoop`` (A2C) keeps the current policy's segments instead, and
/// updates once every live worker's are in.
public protocol TrainingLoop: AnyObject {
    /// The agent it trains, as the learner publishes, checkpoints and rolls it back.
    var learningAgent: any LearningAgent { get }
    /// The data message it learns from: transitions (off-policy) or segments (on-policy). The ingest rejects the other.
    var dataKind: MessageKind { get }

    /// Whether the learner should read more messages now. While it does not, they stay queued, and
    /// the queues' limits hold the workers back: backpressure, never dropping.
    var canInsert: Bool { get }
    func insert(_ transitions: TransitionsView)
    /// A segment from `session`, accepted by the ingest, at `now`. Returns whether it will be learned from
    /// (false: it was acted with weights the loop no longer trains, and is dropped).
    @discardableResult
    func insert(_ segment: SegmentView, from session: SessionKey, now: Double) -> Bool
    /// A gradient (A3C) from `session`, accepted by the ingest. Returns whether it will be applied.
    @discardableResult
    func insert(_ gradient: GradientView, from session: SessionKey, now: Double) -> Bool
    /// The value network that goes out with the actor in every publication (A3C's workers compute gradients with it).
    var publishedValueNetwork: MLP? { get }
    /// What the ingest accepts of a gradient (nil: it takes none).
    var gradientLimits: GradientLimits? { get }
    /// Where the learner stands before it asks ``canUpdate``: the newest version it published, and the
    /// acting sessions that delivered data lately (what an on-policy loop waits for).
    func prepare(now: Double, publishedVersion: UInt64, deliveringSessions: @autoclosure () -> Set<SessionKey>)
    /// Whether workers act only with weights (an on-policy policy samples from them): the learner then
    /// publishes before any data, and again whenever a worker may have missed the newest.
    var workersWaitForWeights: Bool { get }
    /// Whether weights go out after every update (A2C's synchronous round), whatever `--broadcast-every` says.
    var publishesEveryUpdate: Bool { get }
    /// An on-policy loop's segments: learned from, dropped as late, and rounds closed at the deadline (nil for replay).
    var segmentCounts: (accepted: Int, late: Int, roundsAtDeadline: Int)? { get }

    /// Whether an update may run now.
    var canUpdate: Bool { get }
    /// Runs one update on data this loop holds. `envSteps` drives schedules (prioritized replay's β).
    func update(envSteps: Int) -> UpdateStatistics

    /// Experience held, and the most it holds (for status).
    var size: Int { get }
    var capacity: Int { get }
    /// Experience used per experience inserted so far (sampled per inserted transition, for replay).
    var observedRatio: Double { get }
    /// Transitions one update consumes on average: what paces the workers. Nil when nothing limits it.
    var transitionsPerUpdate: Double? { get }
    /// Transitions still to arrive before the first update (0 once updates may run).
    var transitionsBeforeTraining: Int { get }

    /// A checkpoint of the agent and of this loop (its data only with `includeData`).
    func capture(progress: LearnerProgress, configuration: TrainingConfiguration, spec: EnvironmentSpec, includeData: Bool) -> LearnerCheckpoint
    /// Throws, naming the reason, if `checkpoint` cannot continue this loop.
    func checkCompatible(_ checkpoint: LearnerCheckpoint, spec: EnvironmentSpec) throws(CheckpointError)
    /// Takes the agent's state and this loop's from `checkpoint` (checked first). Returns what of
    /// the loop's data came back, for the log.
    func restore(from checkpoint: LearnerCheckpoint) -> String
}

extension TrainingLoop {
    public func prepare(now: Double, publishedVersion: UInt64, deliveringSessions: @autoclosure () -> Set<SessionKey>) {}
    public var workersWaitForWeights: Bool { false }
    public var publishesEveryUpdate: Bool { false }
    public var segmentCounts: (accepted: Int, late: Int, roundsAtDeadline: Int)? { nil }
    public var publishedValueNetwork: MLP? { nil }
    public var gradientLimits: GradientLimits? { nil }

    public func insert(_ gradient: GradientView, from session: SessionKey, now: Double) -> Bool {
        preconditionFailure("\(Self.self) takes \(dataKind): its ingest rejects gradients as wrong_data_kind")
    }
}

/// An on-policy loop: it keeps no data worth a checkpoint (what it holds was acted with weights a resumed run
/// republishes anyway), and nothing limits its workers but the rounds or the gradients themselves.
public protocol OnPolicyTrainingLoop: TrainingLoop {
    var agent: any OnPolicyAgent { get }
}

extension OnPolicyTrainingLoop {
    public var transitionsPerUpdate: Double? { nil }
    public var transitionsBeforeTraining: Int { 0 }

    public func capture(progress: LearnerProgress, configuration: TrainingConfiguration, spec: EnvironmentSpec,
                        includeData: Bool) -> LearnerCheckpoint {
        LearnerCheckpoint.capture(agent: agent, replay: nil, replayGenerator: Xoshiro256(seed: configuration.seed, stream: 3),
                                  progress: progress, configuration: configuration, spec: spec)
    }

    public func checkCompatible(_ checkpoint: LearnerCheckpoint, spec: EnvironmentSpec) throws(CheckpointError) {
        try checkpoint.checkCompatible(with: agent, spec: spec)
    }
}
