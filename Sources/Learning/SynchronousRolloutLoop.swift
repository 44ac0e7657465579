import Agents
import Checkpoint
import Ingest
import Randomness
import RunConfiguration
import Specs
import WireProtocol

/// A2C's learner loop: every live worker acts `--rollout-steps` steps of its environments with the newest
/// weights and sends them as one segment; once each has delivered (or the wait's deadline passes with
/// some in), the agent makes one update on all of them and the learner broadcasts.
///
/// On-policy means acted with the weights being trained: a segment acted with weights published before
/// the last update is late, dropped and counted, never learned from. Weights republished since the last
/// update (for an evaluation request, or for a worker that joined) are the same weights, so their segments count.
public final class SynchronousRolloutLoop: OnPolicyTrainingLoop {
    public let agent: any OnPolicyAgent
    /// How long the round waits, from its first segment, for the live workers that have not delivered.
    public let waitSeconds: Double
    /// The run's length, which the learning-rate schedule counts down from (0: none, a constant rate).
    private let maxEnvSteps: Int
    private var rollout: Rollout
    /// Segments acted with an older version than this are late.
    private var oldestCurrentVersion: UInt64 = 1
    private var newestPublished: UInt64 = 0
    private var delivered: Set<SessionKey> = []
    private var deadline: Double?
    private var allDelivered = false
    private var closesAtDeadline = false
    private let maxRows: Int

    /// Segments learned from, and late ones dropped.
    public private(set) var segmentsAccepted = 0
    public private(set) var segmentsLate = 0
    public private(set) var rowsLate = 0
    /// Rounds that updated at the deadline without every live worker's segment.
    public private(set) var roundsAtDeadline = 0
    private var rowsLearned = 0
    private var rowsInserted = 0

    public init(agent: any OnPolicyAgent, spec: EnvironmentSpec, waitSeconds: Double, maxEnvSteps: Int = 0, maxRows: Int = 1 << 16) {
        self.agent = agent
        self.maxEnvSteps = maxEnvSteps
        self.waitSeconds = waitSeconds
        self.maxRows = maxRows
        rollout = Rollout(observationSize: spec.observationSize, actionSize: spec.actionSize, steps: agent.settings.rolloutSteps)
    }

    public var learningAgent: any LearningAgent { agent }
    public var dataKind: MessageKind { .segment }
    public var workersWaitForWeights: Bool { true }
    public var publishesEveryUpdate: Bool { true }
    public var segmentCounts: (accepted: Int, late: Int, roundsAtDeadline: Int)? { (segmentsAccepted, segmentsLate, roundsAtDeadline) }

    /// A round holds at most `maxRows` rows: past that the learner stops reading until the update.
    public var canInsert: Bool { rollout.rows < maxRows }

    public func insert(_ transitions: TransitionsView) {
        preconditionFailure("an on-policy loop takes segments: its ingest rejects transitions as wrong_data_kind")
    }

    public func insert(_ segment: SegmentView, from session: SessionKey, now: Double) -> Bool {
        let header = segment.header
        rowsInserted += header.count
        guard header.weightsVersion >= oldestCurrentVersion else {
            segmentsLate += 1
            rowsLate += header.count
            return false
        }
        rollout.append(segment)
        segmentsAccepted += 1
        delivered.insert(session)
        if deadline == nil { deadline = now + waitSeconds }
        return true
    }

    public func prepare(now: Double, publishedVersion: UInt64, deliveringSessions: @autoclosure () -> Set<SessionKey>) {
        newestPublished = publishedVersion
        guard rollout.rows > 0 else { return }
        let everyone = deliveringSessions().isSubset(of: delivered)
        allDelivered = everyone || now >= deadline ?? .infinity
        closesAtDeadline = !everyone
    }

    public var canUpdate: Bool { rollout.rows > 0 && allDelivered }

    public func update(envSteps: Int) -> UpdateStatistics {
        agent.schedule(envSteps: envSteps, of: maxEnvSteps)
        let statistics = agent.update(rollout)
        if closesAtDeadline { roundsAtDeadline += 1 }
        rowsLearned += rollout.rows
        rollout.removeAll()
        delivered.removeAll()
        deadline = nil
        allDelivered = false
        // Only weights published after this update are the ones it trained.
        oldestCurrentVersion = newestPublished + 1
        return UpdateStatistics(statistics)
    }

    public var size: Int { rollout.rows }
    public var capacity: Int { maxRows }
    /// Rows learned from per row accepted: below 1 by the late ones.
    public var observedRatio: Double { rowsInserted > 0 ? Double(rowsLearned) / Double(rowsInserted) : 0 }

    public func restore(from checkpoint: LearnerCheckpoint) -> String {
        checkpoint.restore(into: agent)
        return "the networks and their optimizer; workers act with the resumed weights from the first round"
    }
}

extension Rollout {
    /// Appends a segment's environments, copied out of the message.
    mutating func append(_ segment: SegmentView) {
        let header = segment.header, o = header.observationSize, a = header.actionSize, steps = header.steps
        var truncationRow = 0
        for environment in 0..<header.environments {
            let first = environment * steps
            func floats(_ column: UnsafeRawPointer, from start: Int, count: Int) -> [Float] {
                [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                    TransitionsView.copyFloats(column + 4 * start, count: count, to: buffer.baseAddress!)
                    initialized = count
                }
            }
            let terminated = (first..<(first + steps)).map { segment.terminated[$0] != 0 }
            let truncated = (first..<(first + steps)).map { segment.truncated[$0] != 0 }
            let cut = zip(truncated, terminated).filter { $0 && !$1 }.count
            append(observations: floats(segment.observations, from: first * o, count: steps * o),
                   actions: floats(segment.actions, from: first * a, count: steps * a),
                   rewards: floats(segment.rewards, from: first, count: steps), terminated: terminated, truncated: truncated,
                   logProbabilities: floats(segment.logProbabilities, from: first, count: steps),
                   bootstrapObservation: floats(segment.bootstrapObservations, from: environment * o, count: o),
                   truncationObservations: floats(segment.truncationObservations, from: truncationRow * o, count: cut * o))
            truncationRow += cut
        }
    }
}
