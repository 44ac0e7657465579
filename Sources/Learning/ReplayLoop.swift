import Agents
import Checkpoint
import Ingest
import Randomness
import Replay
import RunConfiguration
import Specs
import WireProtocol

/// The off-policy learner loop: accepted transitions go into a replay buffer, and each update samples
/// a batch from it while the rate limiter allows. With `samplesPerInsert` = batch size × updates per
/// transition, every transition inserted pays for exactly that much training, whatever the number
/// of workers (Reverb's `SampleToInsertRatio`).
public final class ReplayLoop: TrainingLoop {
    public let agent: any Agent
    public let replay: ReplayBuffer
    private let batch: TransitionBatch
    private(set) var limiter: RateLimiter
    /// Draws the batches: stream 3 of the run seed, saved in checkpoints.
    private var generator: Xoshiro256
    private let configuration: TrainingConfiguration
    private let rateTolerance: Int

    public init(agent: any Agent, spec: EnvironmentSpec, configuration c: TrainingConfiguration, settings: LearnerSettings) {
        self.agent = agent
        configuration = c
        replay = ReplayBuffer(capacity: c.replayCapacity, observationSize: spec.observationSize, actionSize: spec.actionSize,
                              gamma: c.agent.discount, prioritization: c.prioritizedReplay)
        batch = TransitionBatch(capacity: c.agent.batchSize, observationSize: spec.observationSize, actionSize: spec.actionSize)
        // Ingest only: nothing samples, so nothing may hold inserts back.
        let ratio = settings.ingestOnly ? 0 : settings.samplesPerInsert
        rateTolerance = settings.rateTolerance
        limiter = RateLimiter(samplesPerInsert: ratio, minSizeToSample: c.learningStarts, errorBuffer: ratio * Double(settings.rateTolerance))
        generator = Xoshiro256(seed: c.seed, stream: 3)
    }

    public var canInsert: Bool { limiter.canInsert }
    public var dataKind: MessageKind { .transitions }
    public var learningAgent: any LearningAgent { agent }

    public func insert(_ view: TransitionsView) {
        let n = view.header.count
        replay.append(count: n, observations: view.observations, actions: view.actions, rewards: view.rewards,
                      nextObservations: view.nextObservations, terminated: view.terminated, truncated: view.truncated, discounts: view.discounts)
        replay.forEachRecentObservations(n) { agent.observe(freshObservations: $0, count: $1, stride: replay.observationSize) }
        limiter.inserted(n)
    }

    public func insert(_ segment: SegmentView, from session: SessionKey, now: Double) -> Bool {
        preconditionFailure("a replay loop takes transitions: its ingest rejects segments as wrong_data_kind")
    }

    public var canUpdate: Bool { limiter.canSample(configuration.agent.batchSize) }

    public func update(envSteps: Int) -> UpdateStatistics {
        let batchSize = configuration.agent.batchSize
        let beta = configuration.prioritizedReplay?.beta(envSteps: envSteps, maxEnvSteps: configuration.maxEnvSteps) ?? 1
        replay.sample(batchSize, into: batch, beta: beta, using: &generator)
        let statistics = agent.update(batch)
        limiter.sampled(batchSize)
        // A diverged update's TD errors would poison the priorities; the learner rolls it back.
        if statistics.isFinite { replay.updatePriorities(from: batch) }
        return statistics
    }

    public var size: Int { replay.count }
    public var capacity: Int { replay.capacity }
    public var observedRatio: Double { limiter.observedRatio }

    public var transitionsPerUpdate: Double? {
        limiter.samplesPerInsert > 0 ? Double(configuration.agent.batchSize) / limiter.samplesPerInsert : nil
    }

    public var transitionsBeforeTraining: Int { max(configuration.learningStarts - replay.count, 0) }

    public func capture(progress: LearnerProgress, configuration: TrainingConfiguration, spec: EnvironmentSpec,
                        includeData: Bool) -> LearnerCheckpoint {
        LearnerCheckpoint.capture(agent: agent, replay: includeData ? replay : nil, replayGenerator: generator, progress: progress,
                                  configuration: configuration, spec: spec)
    }

    public func checkCompatible(_ checkpoint: LearnerCheckpoint, spec: EnvironmentSpec) throws(CheckpointError) {
        try checkpoint.checkCompatible(with: agent, spec: spec)
        if let saved = checkpoint.header.replay, saved.count > replay.capacity {
            throw .incompatible("its replay of \(saved.count) transitions exceeds --replay-capacity \(replay.capacity)")
        }
    }

    public func restore(from checkpoint: LearnerCheckpoint) -> String {
        checkpoint.restore(into: agent)
        if let saved = checkpoint.replayGenerator { generator = saved }
        guard (try? checkpoint.restoreReplay(into: replay)) == true else {
            return "replay starts empty and refills to \(configuration.learningStarts) before training"
        }
        // The restored contents count as inserted and already paid for by samples, so training resumes at once.
        let spi = limiter.samplesPerInsert, starts = configuration.learningStarts
        limiter = RateLimiter(samplesPerInsert: spi, minSizeToSample: starts, errorBuffer: spi * Double(rateTolerance),
                              inserts: replay.count, samples: Int(spi * Double(max(replay.count - starts, 0))))
        return "replay of \(replay.count) transitions"
    }
}
