import Foundation
import Ingest
import RunConfiguration
import RunRecords
import Telemetry

/// `summary.json` of a distributed run: every key of `ddpg train`'s summary, plus the data-flow accounting.
public struct LearnerSummary: Encodable, Sendable {
    public var run: RunSummary
    public var learnerConfig: LearnerSettings
    /// Per worker id: transitions its processes say they handed to ZeroMQ, from each one's final (or latest) status.
    /// Claims, not the learner's own counts; after a clean stop with honest workers they equal received plus rejected.
    public var transitionsSent: [String: UInt64]
    public var transitionsReceived: Int
    public var transitionsAccepted: Int
    public var transitionsRejected: Int
    /// Valid transitions that arrived after the run stopped: counted apart, not in `env_steps`, never trained on.
    public var transitionsAfterStop: Int
    public var messagesRejected: [String: Int]
    /// Messages accepted, by kind; with `messages_rejected`, every message that reached the learner.
    public var messagesAccepted: [String: Int]
    public var weightsVersion: UInt64
    /// In weights versions, in updates, and in seconds from publication to arrival.
    public var policyLag: PolicyLagSummary?
    public var policyLagUpdates: PolicyLagSummary?
    public var policyLagSeconds: DurationSummary?
    /// Transitions acted without this learner's weights: random actions before a worker's first weights,
    /// or a previous learner's weights just after a restart (no policy lag).
    public var randomTransitions: Int
    public var replaySize: Int
    public var samplesPerInsert: Double
    public var stopReason: String
    /// One record per worker session (a process; a restarted worker has a new one).
    public var workers: [WorkerRecord]
    /// What sessions evicted to make room for new ones had delivered (their records are no longer in `workers`).
    public var evictedSessions: EvictedSessions
    /// Worker ids used by two live processes at once.
    public var duplicateWorkerIds: [UInt32]
    /// Times the networks went non-finite and were put back to their last finite state.
    public var rollbacks: Int
    /// The checkpoint this run resumed from, if any.
    public var resumedFrom: String?
    /// Checkpoints taken during this run, including the last one at stop.
    public var checkpoints: Int
    /// Checkpoints that could not be written.
    public var checkpointFailures: Int
    /// An on-policy run's last losses and its segments (a2c).
    public var onPolicy: OnPolicyStatus?

    enum CodingKeys: String, CodingKey {
        case learnerConfig, transitionsSent, transitionsReceived, transitionsAccepted, transitionsRejected, transitionsAfterStop, messagesRejected, messagesAccepted
        case weightsVersion, policyLag, policyLagUpdates, policyLagSeconds, randomTransitions, replaySize, samplesPerInsert, stopReason, workers, evictedSessions, resumedFrom, checkpoints
        case duplicateWorkerIds, rollbacks, checkpointFailures, onPolicy
    }

    public func encode(to encoder: Encoder) throws {
        try run.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(learnerConfig, forKey: .learnerConfig)
        try container.encode(transitionsSent, forKey: .transitionsSent)
        try container.encode(transitionsReceived, forKey: .transitionsReceived)
        try container.encode(transitionsAccepted, forKey: .transitionsAccepted)
        try container.encode(transitionsRejected, forKey: .transitionsRejected)
        try container.encode(transitionsAfterStop, forKey: .transitionsAfterStop)
        try container.encode(messagesRejected, forKey: .messagesRejected)
        try container.encode(messagesAccepted, forKey: .messagesAccepted)
        try container.encode(weightsVersion, forKey: .weightsVersion)
        try container.encode(policyLag, forKey: .policyLag)
        try container.encode(policyLagUpdates, forKey: .policyLagUpdates)
        try container.encode(policyLagSeconds, forKey: .policyLagSeconds)
        try container.encode(randomTransitions, forKey: .randomTransitions)
        try container.encode(replaySize, forKey: .replaySize)
        try container.encode(samplesPerInsert, forKey: .samplesPerInsert)
        try container.encode(stopReason, forKey: .stopReason)
        try container.encode(workers, forKey: .workers)
        try container.encode(evictedSessions, forKey: .evictedSessions)
        try container.encode(resumedFrom, forKey: .resumedFrom)
        try container.encode(checkpoints, forKey: .checkpoints)
        try container.encode(duplicateWorkerIds, forKey: .duplicateWorkerIds)
        try container.encode(rollbacks, forKey: .rollbacks)
        try container.encode(checkpointFailures, forKey: .checkpointFailures)
        try container.encodeIfPresent(onPolicy, forKey: .onPolicy)
    }

    public func write(toDirectory directory: URL) throws {
        try RecordFormat.writeSummary(self, toDirectory: directory)
    }
}
