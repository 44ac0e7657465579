import Agents
import Checkpoint
import Foundation
import Ingest
import Logging
import RunConfiguration
import RunRecords
import Specs
import Telemetry
import WireProtocol

/// A learner that knows its environment: everything ``LearnerCore`` decides once the spec is known.
///
/// Its state is its parts', each with one job: the ``TrainingLoop`` (data and agent), the ingest
/// (``MessageIngest``: sessions and accounting), the ``Publisher``, ``FlowControl``, the
/// ``EvaluationSchedule``, the ``NonFiniteGuard``, the ``CheckpointSchedule`` and the ``StatusBoard``.
/// The run moves through training, the final evaluation and the drain, then finishes.
final class LearnerRun {
    enum Phase {
        case training
        case finalEvaluation(deadline: Double, lastPublished: Double)
        case draining(deadline: Double, lastNotice: Double)
    }

    let context: LearnerContext
    let configuration: LearnerConfiguration
    let spec: EnvironmentSpec
    let loop: any TrainingLoop
    var ingest: MessageIngest
    var publisher: Publisher
    var flow: FlowControl
    var evaluation: EvaluationSchedule
    var nonFinite: NonFiniteGuard
    var checkpoints: CheckpointSchedule
    var board: StatusBoard
    var rejections = RejectionLog()
    var policyLag = PolicyLagTracker()
    /// Where a resumed run started: env steps, episodes and training seconds of the runs before it.
    var resumedFrom = (envSteps: 0, episodes: 0, wallSeconds: 0.0)
    private(set) var phase = Phase.training
    private(set) var stopReason: String?
    var nextSubscriptionsAt = 0.0
    /// When weights last went out, and whether a subscriber joined since (on-policy workers wait for them).
    var lastBroadcastAt = -Double.infinity
    var subscriberJoinedSinceBroadcast = false

    init(context: LearnerContext, configuration: LearnerConfiguration, spec: EnvironmentSpec, loop: any TrainingLoop,
         checkpoints writer: CheckpointWriter?) {
        self.context = context
        self.configuration = configuration
        self.spec = spec
        self.loop = loop
        let c = configuration.training, settings = configuration.learner
        // One origin may open as many sessions at once as the learner takes connections.
        let segmentSteps = loop.dataKind == .segment ? c.agent.onPolicySettings.rolloutSteps : nil
        let expected = ExpectedShapes(spec: spec, nStep: c.agent.nStep, gamma: c.agent.discount, dataKind: loop.dataKind, segmentSteps: segmentSteps,
                                      gradients: loop.gradientLimits)
        ingest = MessageIngest(expected: expected, sessionBurst: settings.maxPeers, evaluators: context.evaluators)
        publisher = Publisher(learnerId: context.learnerId, actorShape: loop.learningAgent.actor.shape)
        // On-policy workers pace themselves: each waits for the weights its segment trained.
        flow = FlowControl(paces: settings.workerPace && !settings.ingestOnly && loop.dataKind == .transitions, broadcastEvery: settings.broadcastEvery)
        evaluation = EvaluationSchedule(configuration: c, untilReturn: settings.untilReturn)
        nonFinite = NonFiniteGuard(agent: loop.learningAgent)
        checkpoints = CheckpointSchedule(writer: writer, everySeconds: settings.checkpointEverySeconds, everyUpdates: settings.checkpointEveryUpdates)
        board = StatusBoard(interval: context.monitoring.statusInterval)
        checkpoints.schedule(now: context.clock.now, updates: loop.learningAgent.updateCount)
        context.metrics.replayCapacity.record(c.replayCapacity)
        context.metrics.envStepsTarget.record(c.maxEnvSteps)
        context.logger.info("training on \(spec)")
    }

    var agent: any LearningAgent { loop.learningAgent }
    var logger: Logger { context.logger }
    var metrics: LearnerMetrics { context.metrics }
    var events: TensorBoardWriter? { context.monitoring.events }
    var now: Double { context.clock.now }
    var ledger: IngestLedger { ingest.ledger }

    /// Env steps of the whole run, across resumes (this process accepted `ledger.transitionsAccepted` of them).
    var envSteps: Int { resumedFrom.envSteps + ledger.transitionsAccepted }
    var episodes: Int { resumedFrom.episodes + ledger.episodes }
    /// Seconds of training across resumes: the wall-clock axis of evaluations and solved_at.
    var trainingSeconds: Double { resumedFrom.wallSeconds + now }

    static let evaluatorWindow = 10.0
    /// An acting session that sent no data for this long no longer holds an on-policy round.
    static let deliveringWindow = 2.0
    /// Workers that act only with weights get them again this often while no update publishes new ones:
    /// PUB drops what a subscriber that is joining or full misses.
    static let republishSeconds = 0.25

    /// Evaluators heard from recently that have not said goodbye.
    var evaluatorsConnected: Int { ledger.activeSessions(now: now, window: Self.evaluatorWindow, role: .evaluator).count }

    /// Connected evaluators that answer: none has left a request unanswered for longer than the patience for
    /// `episodes` episodes. Saying hello and sending statuses does not make an evaluator: one that never
    /// answers stops counting, so it cannot hold the final evaluation's wait (or SIGTERM) open.
    func evaluatorsAnswering(episodes: Int) -> Int {
        let patience = evaluation.patience(episodes: episodes)
        return ledger.activeSessions(now: now, window: Self.evaluatorWindow, role: .evaluator).filter { key in
            guard let since = ledger.waitingForAnswerSince(key), let opened = evaluation.firstRequestOpened(atOrAfter: since) else { return true }
            return now - opened < patience
        }.count
    }

    func turn(subscriptionWaiting: Bool) throws -> LearnerCore.Turn {
        switch phase {
        case .training: return try trainingTurn(subscriptionWaiting: subscriptionWaiting)
        case let .finalEvaluation(deadline, lastPublished): return try finalEvaluationTurn(deadline: deadline, lastPublished: lastPublished)
        case let .draining(deadline, lastNotice): return try drainTurn(deadline: deadline, lastNotice: lastNotice)
        }
    }

    // MARK: Training

    /// Short slices: read messages while the loop admits inserts, then a few updates while it admits
    /// them. The transport keeps receiving meanwhile, so ingest never waits on a long training phase,
    /// and the loop alone decides when the learner stops reading (the queues then push back).
    private func trainingTurn(subscriptionWaiting: Bool) throws -> LearnerCore.Turn {
        if let request = context.stopRequested() { stopReason = request.rawValue }
        if stopReason == nil {
            // Every few milliseconds, not per message: subscriptions are rare (the transport says when
            // one waits, ``LearnerTransport/wait(seconds:)``'s `other`).
            if subscriptionWaiting || now >= nextSubscriptionsAt { serviceSubscriptions() }
            var progressed = try ingestSlice()
            if loop.workersWaitForWeights { publishForWaitingWorkers() }
            loop.prepare(now: now, publishedVersion: publisher.version,
                         deliveringSessions: self.ledger.deliveringSessions(now: self.now, window: Self.deliveringWindow))
            if !configuration.learner.ingestOnly { progressed = trainSlice() || progressed }
            if nonFinite.gaveUp { stopReason = "non_finite" }
            if evaluation.isDue(envSteps: envSteps) { requestEvaluation() }
            if evaluation.reachedTarget { stopReason = stopReason ?? "until_return" }
            if envSteps >= configuration.training.maxEnvSteps { stopReason = stopReason ?? "max_env_steps" }
            announceIfDue(acknowledging: flow.acceptedSinceAnnounce)
            reportStatusIfDue()
            checkpointIfDue()
            if stopReason == nil { return progressed ? .progressed : .idle(seconds: flow.idleWait(now: now)) }
        }
        beginStopping()
        return .progressed
    }

    /// Reads queued messages while the loop admits inserts. Returns whether anything arrived.
    private func ingestSlice(maxMessages: Int = 64) throws -> Bool {
        var handled = 0
        // Checked per message: a slice never reads past the run's length (one message may cross it).
        while handled < maxMessages, loop.canInsert, envSteps < configuration.training.maxEnvSteps,
              let message = try context.transport.receive() {
            handle(message)
            handled += 1
        }
        return handled > 0
    }

    /// A few updates while the loop allows them. Returns whether any ran.
    private func trainSlice(maxUpdates: Int = 8) -> Bool {
        var updates = 0
        while updates < maxUpdates, loop.canUpdate, !nonFinite.gaveUp {
            let started = now
            let statistics = loop.update(envSteps: envSteps)
            metrics.updateDuration.recordNanoseconds(Int64((now - started) * 1e9))
            updates += 1
            guard statistics.isFinite else {
                rollBack(because: "update \(agent.updateCount) had a critic loss of \(statistics.criticLoss) and an actor loss of \(statistics.actorLoss)")
                continue
            }
            if let events, statistics.onPolicy == nil, agent.updateCount % 10 == 0 {
                events.scalar("Qmax", Double(statistics.maxQ), step: envSteps)
                events.scalar("loss/critic", Double(statistics.criticLoss), step: envSteps)
                events.scalar("loss/actor", Double(statistics.actorLoss), step: envSteps)
            }
            recordOnPolicy(statistics)
            if loop.publishesEveryUpdate || publisher.isDue(updates: agent.updateCount, now: now, every: configuration.learner.broadcastEvery) {
                broadcastWeights()
            }
        }
        return updates > 0
    }

    /// An on-policy update's losses, entropy and explained variance, to Prometheus and TensorBoard.
    private func recordOnPolicy(_ statistics: UpdateStatistics) {
        guard let onPolicy = statistics.onPolicy else { return }
        metrics.policyLoss.record(Double(onPolicy.policyLoss))
        metrics.valueLoss.record(Double(onPolicy.valueLoss))
        metrics.policyEntropy.record(Double(onPolicy.entropy))
        metrics.explainedVariance.record(Double(onPolicy.explainedVariance))
        board.onPolicy = onPolicy
        guard let events, agent.updateCount % 10 == 0 else { return }
        events.scalar("loss/policy", Double(onPolicy.policyLoss), step: envSteps)
        events.scalar("loss/value", Double(onPolicy.valueLoss), step: envSteps)
        events.scalar("policy/entropy", Double(onPolicy.entropy), step: envSteps)
        events.scalar("value/explained_variance", Double(onPolicy.explainedVariance), step: envSteps)
    }

    // MARK: Stopping

    /// Ends training: a run stopped by `--until-return` ends with the weights that reached it; then
    /// the final evaluation, if an evaluator is connected, else the drain.
    private func beginStopping() {
        let reason = stopReason ?? "signal"
        stopReason = reason
        // From here on, transitions are checked and counted apart, never trained on: env_steps ends here.
        ingest.afterStop = true
        board.stopTraining(ratio: loop.observedRatio)
        logger.info("stopping (\(reason)) at \(envSteps) env steps (\(ledger.transitionsAccepted) transitions in this run) and \(agent.updateCount) updates")
        if reason == "until_return" { restoreApprovedActor() }
        if reason == StopRequest.launcherExited.rawValue {
            // Its evaluator was started by the same launcher and is stopping too: waiting for an evaluation it
            // will not play, for as long as it counts as connected (10 s of silence), held a killed launcher's learner 10 s.
            logger.notice("the launcher exited: stopping without a final evaluation")
            return beginDraining()
        }
        guard evaluatorsConnected > 0 else {
            logger.warning("no evaluator connected: this run has no final evaluation (start one with `ddpg worker --evaluator`)")
            return beginDraining()
        }
        guard evaluatorsAnswering(episodes: evaluation.episodes) > 0 else {
            logger.warning("no connected evaluator answered its last request in time: this run has no final evaluation")
            return beginDraining()
        }
        evaluation.openFinal(envSteps: envSteps, now: now)
        broadcastWeights()
        guard let requested = ingest.requestedEvaluations[publisher.version], requested.request.isFinal else {
            logger.warning("the last weights could not be published (see above): this run has no final evaluation")
            evaluation.closeFinal()
            return beginDraining()
        }
        board.phase = "evaluating"
        phase = .finalEvaluation(deadline: now + configuration.learner.finalEvaluationSeconds, lastPublished: now)
    }

    /// Waits for the final evaluation of the last weights, counting (apart) whatever else arrives
    /// meanwhile: at most `finalEvaluationSeconds`, and no longer than an evaluator answers (one that
    /// plays sends its status between chunks of episodes, but only an answer within the patience counts).
    private func finalEvaluationTurn(deadline: Double, lastPublished: Double) throws -> LearnerCore.Turn {
        let answering = evaluatorsAnswering(episodes: evaluation.finalEpisodes)
        guard evaluation.final == nil, now < deadline, answering > 0 else {
            evaluation.closeFinal()
            if evaluation.final == nil {
                let why = evaluatorsConnected == 0 ? "the evaluators left"
                    : answering == 0 ? "no evaluator answered within \(format(evaluation.patience(episodes: evaluation.finalEpisodes))) s"
                    : "none arrived within \(format(configuration.learner.finalEvaluationSeconds)) s"
                logger.warning("no final evaluation: \(why) (--final-eval-seconds)")
            }
            beginDraining()
            return .progressed
        }
        var published = lastPublished
        if now - lastPublished >= 0.25, let requested = ingest.requestedEvaluations[publisher.version] {
            // The same version again: a subscriber whose queue was full, or that was reconnecting, missed it.
            publish(publisher.encodeWeights(requested.publication, request: requested.request, actor: agent.actor,
                                            valueNetwork: loop.publishedValueNetwork, publishedAt: context.clock.wallNanoseconds),
                    what: "the final weights")
            published = now
        }
        phase = .finalEvaluation(deadline: deadline, lastPublished: published)
        serviceSubscriptions()
        announceIfDue(acknowledging: false)
        var read = 0
        while read < 256, evaluation.final == nil, let message = try context.transport.receive() {
            handle(message)
            read += 1
        }
        reportStatusIfDue()
        return read == 0 ? .idle(seconds: 0.02) : .progressed
    }

    private func beginDraining() {
        board.phase = "draining"
        phase = .draining(deadline: now + configuration.learner.drainSeconds, lastNotice: -.infinity)
    }

    /// Tells the workers to stop, then keeps reading (without rate limiting or training) until every
    /// active worker has sent its final status, or `drainSeconds` pass: a hard deadline, however long
    /// peers keep talking.
    private func drainTurn(deadline: Double, lastNotice: Double) throws -> LearnerCore.Turn {
        var notice = lastNotice
        if now < deadline {
            if now - lastNotice >= 0.25 {
                // Repeated: a subscriber that is reconnecting would miss a single notice.
                publish(publisher.encodeShutdown(), what: "the shutdown notice")
                notice = now
            }
            phase = .draining(deadline: deadline, lastNotice: notice)
            serviceSubscriptions()
            var drained = 0
            while drained < 256, now < deadline, let message = try context.transport.receive() {
                handle(message)
                drained += 1
            }
            if !ledger.activeSessions(now: now, window: 3).isEmpty {
                reportStatusIfDue()
                return .idle(seconds: min(0.02, max(deadline - now, 0)))
            }
        }
        return .finished(finish())
    }

    /// Says who did not finish, writes the last checkpoint and returns the summary.
    private func finish() -> LearnerSummary {
        let unfinished = ledger.activeWorkers(now: now, window: 3)
        if !unfinished.isEmpty {
            logger.warning("workers \(unfinished) did not finish within the drain period (--drain-seconds \(format(configuration.learner.drainSeconds)))")
        }
        if let summary = rejections.summary(now: .infinity) { logger.warning("\(summary)") }
        writeCheckpoint(reason: "final")
        checkpoints.writer?.wait()
        let summary = makeSummary(finalEval: evaluation.final)
        reportStatus()
        return summary
    }

    /// A run stopped by `--until-return` ends with the actor whose evaluation reached it, not the one
    /// trained further while the evaluator played: that is the policy `final_eval` then measures.
    private func restoreApprovedActor() {
        guard let version = evaluation.approvedVersion else { return }
        let actor = agent.actor.network, networkCount = actor.parameters.count + actor.statistics.count
        guard let parameters = evaluation.actor(version: version), let requested = ingest.requestedEvaluations[version],
              parameters.count == networkCount + (agent.observationStatistics.map { 2 * $0.size + 1 } ?? 0) else {
            logger.warning("the weights that reached --until-return (v\(version)) are no longer kept; ending with the last weights")
            return
        }
        parameters.withUnsafeBytes { actor.assignState(from: $0.baseAddress!) }
        // The observation statistics it acted with, too: they are part of the policy.
        agent.observationStatistics?.assignState(parameters[networkCount...])
        logger.notice("""
            ending with the weights that reached --until-return: v\(version), published at \(requested.publication.updates) updates \
            (\(agent.updateCount - Int(clamping: requested.publication.updates)) updates before the last)
            """)
    }

    private func makeSummary(finalEval: EvaluationResult?) -> LearnerSummary {
        let c = configuration.training
        if let finalEval {
            logger.info("\(finalEvaluationLine(finalEval, solvedAt: evaluation.solvedAt, threshold: c.solvedReturn))")
        }
        let run = RunSummary(envSteps: envSteps, updates: agent.updateCount, episodes: episodes, wallSeconds: trainingSeconds,
                             eval: evaluation.evaluations, solvedAt: evaluation.solvedAt, finalEval: finalEval, config: c)
        var summary = LearnerSummary(
            run: run, learnerConfig: configuration.learner,
            transitionsSent: Dictionary(uniqueKeysWithValues: ledger.claimedTransitionsSent.map { ("\($0.key)", $0.value) }),
            transitionsReceived: ledger.transitionsReceived, transitionsAccepted: ledger.transitionsAccepted,
            transitionsRejected: ledger.transitionsRejected, transitionsAfterStop: ledger.transitionsAfterStop,
            messagesRejected: ledger.messagesRejected,
            messagesAccepted: ledger.messagesAccepted, weightsVersion: publisher.version, policyLag: ledger.policyLag.summary,
            policyLagUpdates: policyLag.updates.summary, policyLagSeconds: policyLag.secondsSummary, randomTransitions: ledger.randomTransitions,
            replaySize: loop.size, samplesPerInsert: board.ratioAtStop, stopReason: stopReason ?? "signal", workers: ledger.sortedWorkers, evictedSessions: ledger.evicted,
            duplicateWorkerIds: ledger.duplicateWorkerIds.sorted(), rollbacks: nonFinite.rollbacks,
            resumedFrom: checkpoints.resumedFile?.path, checkpoints: checkpoints.written, checkpointFailures: checkpoints.writer?.failures ?? 0)
        summary.onPolicy = onPolicyStatus
        return summary
    }
}

/// A session id as the log and /status show it.
func hex(_ session: UInt32) -> String { String(session, radix: 16) }
