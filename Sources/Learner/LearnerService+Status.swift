import Foundation
import Ingest
import Telemetry

/// The learner's status once a second: rate windows, gauges, and the snapshot
/// handed to the console, `/status`, progress.csv and TensorBoard.
extension LearnerService {
    func reportStatusIfDue() {
        if elapsed >= nextStatusAt { reportStatus() }
    }

    /// Samples the rates, updates the gauges, and hands a snapshot to the console, `/status` and progress.csv.
    func reportStatus() {
        let now = elapsed
        nextStatusAt = now + monitoring.statusInterval
        if phase == "warming_up", agent.updateCount > 0 { phase = "training" }
        acceptedRate.record(ledger.transitionsAccepted, at: now)
        updateRate.record(agent.updateCount, at: now)
        let workers = ledger.workers
        for (id, record) in workers { workerRates[id, default: RateWindow()].record(record.transitionsReceived, at: now) }
        // Sessions the ledger let go of (silent ones evicted to make room) take their rates with them.
        if workerRates.count > workers.count { workerRates = workerRates.filter { workers[$0.key] != nil } }
        let status = makeStatus(now: now)
        policyLag.advance()

        metrics.updates.increment(by: status.updates - updatesReported)
        updatesReported = status.updates
        metrics.checkpointFailures.increment(by: status.checkpointFailures - checkpointFailuresReported)
        if status.checkpointFailures > checkpointFailuresReported, let why = checkpointWriter?.lastFailureDescription {
            logger.error("checkpoint not written (\(status.checkpointFailures) failed so far): \(why)")
        }
        checkpointFailuresReported = status.checkpointFailures
        if let line = rejections.summary(now: now) { logger.warning("\(line)") }
        metrics.replaySize.record(status.replaySize)
        metrics.workersConnected.record(status.workersConnected)
        metrics.evaluatorsConnected.record(status.evaluatorsConnected ?? 0)
        metrics.samplesPerInsert.record(status.samplesPerInsert)
        metrics.transitionsPerSecond.last10s.record(status.transitionsPerSecond.last10s)
        metrics.transitionsPerSecond.last60s.record(status.transitionsPerSecond.last60s)
        metrics.updatesPerSecond.last10s.record(status.updatesPerSecond.last10s)
        metrics.updatesPerSecond.last60s.record(status.updatesPerSecond.last60s)
        monitoring.progress?.append(status)
        if let events {
            let step = status.envSteps
            events.scalar("throughput/transitions_per_second", status.transitionsPerSecond.last10s, step: step)
            events.scalar("throughput/updates_per_second", status.updatesPerSecond.last10s, step: step)
            if let lag = status.policyLag { events.scalar("policy_lag/mean", lag.mean, step: step) }
            if let lag = status.policyLagUpdates { events.scalar("policy_lag/mean_updates", lag.mean, step: step) }
            if let lag = status.policyLagSeconds { events.scalar("policy_lag/mean_seconds", lag.mean, step: step) }
            events.flush()
        }
        monitoring.onStatus(status)
    }

    private func makeStatus(now: Double) -> LearnerStatus {
        let c = configuration.training
        let active = Set(ledger.activeSessions(now: now, window: 10))
        let actors = ledger.activeSessions(now: now, window: 10, role: .actor).count
        let workers = ledger.sortedWorkers.map { record in
            let key = SessionKey(workerId: record.workerId, session: record.session)
            return WorkerStatusRow(workerId: record.workerId, session: record.session, environments: record.environments,
                            connected: active.contains(key), finished: record.finished, transitionsReceived: record.transitionsReceived,
                            transitionsPerSecond: workerRates[key]?.rates ?? .zero, episodes: record.episodes,
                            lastEpisodeReturn: record.lastEpisodeReturn, weightsVersion: record.latestWeightsVersion,
                            sequenceGaps: record.sequenceGaps, role: record.role.name)
        }
        let lag = policyLag.recent
        let rates = acceptedRate.rates
        let rate = rates.last60s > 0 ? rates.last60s : rates.last10s
        let remaining = Double(max(c.maxEnvSteps - envSteps, 0))
        let latest = evaluations.last.map {
            EvaluationPoint(envSteps: $0.envSteps, wallSeconds: $0.wallSeconds, meanReturn: $0.meanReturn, stdReturn: $0.stdReturn)
        }
        return LearnerStatus(
            phase: phase, learnerId: String(learnerId, radix: 16), uptimeSeconds: now, wallSeconds: trainingSeconds, envSteps: envSteps,
            maxEnvSteps: c.maxEnvSteps, updates: agent.updateCount, transitionsPerSecond: rates, updatesPerSecond: updateRate.rates,
            samplesPerInsert: phase == "draining" ? ratioAtStop : limiter.observedRatio,
            targetSamplesPerInsert: configuration.learner.samplesPerInsert, replaySize: replay.count,
            replayCapacity: replay.capacity, weightsVersion: weightsVersion, policyLag: lag.versions,
            recentEpisodeReturn: ledger.recentEpisodeReturn(), latestEvaluation: latest, solvedAtEnvSteps: solvedAt?.envSteps,
            transitionsRejected: ledger.transitionsRejected, messagesAccepted: ledger.totalMessagesAccepted,
            messagesRejected: ledger.totalMessagesRejected,
            messagesRejectedByReason: ledger.messagesRejected, workersConnected: actors, workers: workers,
            etaSeconds: phase == "draining" ? 0 : (rate > 0 ? remaining / rate : nil), rollbacks: rollbacks, lastRollback: lastRollback,
            checkpointFailures: checkpointWriter?.failures ?? 0, duplicateWorkerIds: ledger.duplicateWorkerIds.sorted(),
            policyLagUpdates: lag.updates, policyLagSeconds: lag.seconds, evaluatorsConnected: evaluatorsConnected)
    }
}
