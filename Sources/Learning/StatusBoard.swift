import Agents
import Ingest
import RunRecords
import Telemetry

/// What the learner reports once a second: its phase, rate windows, and the counts already added to
/// the counters it feeds.
struct StatusBoard {
    let interval: Double
    var phase = "warming_up"
    private(set) var nextAt = 0.0
    var accepted = RateWindow()
    var updates = RateWindow()
    var workers: [SessionKey: RateWindow] = [:]
    /// Updates already added to `ddpg_updates_total` (advanced once a second, not on the hot path).
    var updatesReported = 0
    /// Checkpoint failures already added to `ddpg_checkpoint_failures_total`.
    var checkpointFailuresReported = 0
    /// The latest on-policy update's statistics (nil for an off-policy run).
    var onPolicy: OnPolicyStatistics?
    /// Samples per insert measured when training stopped (the drain inserts without training).
    private(set) var ratioAtStop = 0.0
    /// Evaluations already handed to the monitoring (the history goes again when it grows).
    var evaluationsPublished = 0

    init(interval: Double) { self.interval = interval }

    func isDue(now: Double) -> Bool { now >= nextAt }
    mutating func reported(now: Double) { nextAt = now + interval }

    mutating func stopTraining(ratio: Double) {
        ratioAtStop = ratio
        phase = "draining"
    }
}

/// The learner's status once a second: rate windows, gauges, and the snapshot handed to the
/// console, `/status`, progress.csv and TensorBoard.
extension LearnerRun {
    func reportStatusIfDue() {
        if board.isDue(now: now) { reportStatus() }
    }

    func reportStatus() {
        let now = self.now
        board.reported(now: now)
        if board.phase == "warming_up", agent.updateCount > 0 { board.phase = "training" }
        board.accepted.record(ledger.transitionsAccepted, at: now)
        board.updates.record(agent.updateCount, at: now)
        let workers = ledger.workers
        for (id, record) in workers { board.workers[id, default: RateWindow()].record(record.transitionsReceived, at: now) }
        // Sessions the ledger let go of (silent ones evicted to make room) take their rates with them.
        if board.workers.count > workers.count { board.workers = board.workers.filter { workers[$0.key] != nil } }
        let status = makeStatus(now: now)
        policyLag.advance()

        metrics.updates.increment(by: status.updates - board.updatesReported)
        board.updatesReported = status.updates
        metrics.checkpointFailures.increment(by: status.checkpointFailures - board.checkpointFailuresReported)
        if status.checkpointFailures > board.checkpointFailuresReported, let why = checkpoints.writer?.lastFailureDescription {
            logger.error("checkpoint not written (\(status.checkpointFailures) failed so far): \(why)")
        }
        board.checkpointFailuresReported = status.checkpointFailures
        if let line = rejections.summary(now: now) { logger.warning("\(line)") }
        metrics.replaySize.record(status.replaySize)
        metrics.workersConnected.record(status.workersConnected)
        metrics.evaluatorsConnected.record(status.evaluatorsConnected ?? 0)
        metrics.samplesPerInsert.record(status.samplesPerInsert)
        metrics.transitionsPerSecond.last10s.record(status.transitionsPerSecond.last10s)
        metrics.transitionsPerSecond.last60s.record(status.transitionsPerSecond.last60s)
        metrics.updatesPerSecond.last10s.record(status.updatesPerSecond.last10s)
        metrics.updatesPerSecond.last60s.record(status.updatesPerSecond.last60s)
        context.monitoring.progress?.append(status)
        if let events {
            let step = status.envSteps
            events.scalar("throughput/transitions_per_second", status.transitionsPerSecond.last10s, step: step)
            events.scalar("throughput/updates_per_second", status.updatesPerSecond.last10s, step: step)
            if let lag = status.policyLag { events.scalar("policy_lag/mean", lag.mean, step: step) }
            if let lag = status.policyLagUpdates { events.scalar("policy_lag/mean_updates", lag.mean, step: step) }
            if let lag = status.policyLagSeconds { events.scalar("policy_lag/mean_seconds", lag.mean, step: step) }
            events.flush()
        }
        context.monitoring.onStatus(status)
        if evaluation.evaluations.count != board.evaluationsPublished {
            board.evaluationsPublished = evaluation.evaluations.count
            context.monitoring.onEvaluations(evaluation.evaluations.map(\.point))
        }
    }

    private func makeStatus(now: Double) -> LearnerStatus {
        let c = configuration.training
        let active = Set(ledger.activeSessions(now: now, window: 10))
        let actors = ledger.activeSessions(now: now, window: 10, role: .actor).count
        let workers = ledger.sortedWorkers.map { record in
            let key = SessionKey(workerId: record.workerId, session: record.session)
            return WorkerStatusRow(workerId: record.workerId, session: record.session, environments: record.environments,
                                   connected: active.contains(key), finished: record.finished, transitionsReceived: record.transitionsReceived,
                                   transitionsPerSecond: board.workers[key]?.rates ?? .zero, episodes: record.episodes,
                                   lastEpisodeReturn: record.lastEpisodeReturn, weightsVersion: record.latestWeightsVersion,
                                   sequenceGaps: record.sequenceGaps, role: record.role.name)
        }
        let lag = policyLag.recent
        let rates = board.accepted.rates
        let rate = rates.last60s > 0 ? rates.last60s : rates.last10s
        let stopping = stopReason != nil
        let remaining = Double(max(c.maxEnvSteps - envSteps, 0))
        let latest = evaluation.evaluations.last?.point
        var status = LearnerStatus(
            phase: board.phase, learnerId: String(context.learnerId, radix: 16), uptimeSeconds: now, wallSeconds: trainingSeconds,
            envSteps: envSteps, maxEnvSteps: c.maxEnvSteps, updates: agent.updateCount, transitionsPerSecond: rates,
            updatesPerSecond: board.updates.rates, samplesPerInsert: stopping ? board.ratioAtStop : loop.observedRatio,
            targetSamplesPerInsert: configuration.learner.samplesPerInsert, replaySize: loop.size,
            replayCapacity: loop.capacity, weightsVersion: publisher.version, policyLag: lag.versions,
            recentEpisodeReturn: ledger.recentEpisodeReturn(), latestEvaluation: latest, solvedAtEnvSteps: evaluation.solvedAt?.envSteps,
            transitionsRejected: ledger.transitionsRejected, messagesAccepted: ledger.totalMessagesAccepted,
            messagesRejected: ledger.totalMessagesRejected,
            messagesRejectedByReason: ledger.messagesRejected, workersConnected: actors, workers: workers,
            etaSeconds: stopping ? 0 : (rate > 0 ? remaining / rate : nil), rollbacks: nonFinite.rollbacks, lastRollback: nonFinite.lastRollback,
            checkpointFailures: checkpoints.writer?.failures ?? 0, duplicateWorkerIds: ledger.duplicateWorkerIds.sorted(),
            policyLagUpdates: lag.updates, policyLagSeconds: lag.seconds, evaluatorsConnected: evaluatorsConnected)
        status.onPolicy = onPolicyStatus
        status.environment = spec.id
        status.solvedReturn = evaluation.solvedReturn
        return status
    }

    /// The latest on-policy update's statistics and the loop's segment counts (nil for replay).
    var onPolicyStatus: OnPolicyStatus? {
        guard let counts = loop.segmentCounts else { return nil }
        let latest = board.onPolicy ?? OnPolicyStatistics()
        return OnPolicyStatus(learnsFrom: loop.dataKind == .gradient ? "gradients" : "segments", policyLoss: Double(latest.policyLoss), valueLoss: Double(latest.valueLoss), entropy: Double(latest.entropy),
                              explainedVariance: Double(latest.explainedVariance), segmentsAccepted: counts.accepted, segmentsLate: counts.late,
                              roundsAtDeadline: counts.roundsAtDeadline)
    }
}

extension EvaluationResult {
    var point: EvaluationPoint { EvaluationPoint(envSteps: envSteps, wallSeconds: wallSeconds, meanReturn: meanReturn, stdReturn: stdReturn) }
}
