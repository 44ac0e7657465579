import Agents
import Checkpoint
import RunConfiguration
import Specs
import WireProtocol

/// How a learner turns the experience it accepts into updates: where the data is kept, and when an
/// update may run. ``LearnerCore`` decides everything else (what to accept, when to publish, when to
/// stop) and speaks to this seam only.
///
/// ``ReplayLoop`` is today's: a replay buffer sampled at a fixed samples-per-insert ratio (Acme's
/// replay table and rate limiter). An on-policy loop keeps a queue of fresh rollouts instead, and
/// updates once the current policy's data is in.
public protocol TrainingLoop: AnyObject {
    var agent: any Agent { get }

    /// Whether the learner should read more messages now. While it does not, they stay queued, and
    /// the queues' limits hold the workers back: backpressure, never dropping.
    var canInsert: Bool { get }
    func insert(_ transitions: TransitionsView)

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
