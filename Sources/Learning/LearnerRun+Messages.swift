import Ingest
import RunRecords
import Transport
import WireProtocol

/// What arrives from workers: each message through the ingest (decoded against the spec, checked
/// against its session, accounted), then into the loop, the evaluation history or the log.
extension LearnerRun {
    func handle(_ message: ReceivedMessage) {
        let now = self.now
        let connection = message.connection ?? PeerConnection(id: 0)
        let outcome = message.withUnsafeBytes { bytes in
            ingest.handle(bytes, connection: connection.id, key: context.transport.peerKey(of: message),
                          address: context.transport.peerAddress(of: message), currentVersion: publisher.version,
                          initialCredit: flow.creditForNewSessions, now: now)
        }
        switch outcome {
        case let .transitions(view, lag):
            loop.insert(view)
            flow.acceptedSinceAnnounce = true
            recordTransitionMetrics(view.header, kind: "transitions", versionLag: lag, now: now)
        case let .segment(view, lag):
            let learned = loop.insert(view, from: SessionKey(workerId: view.header.workerId, session: view.header.session), now: now)
            metrics.segmentsReceived.increment()
            if !learned { metrics.segmentsLate.increment() }
            recordTransitionMetrics(view.header.transitionsHeader, kind: "segment", versionLag: lag, now: now)
        case let .gradient(view, lag):
            loop.insert(view, from: SessionKey(workerId: view.header.workerId, session: view.header.session), now: now)
            metrics.gradientsReceived.increment()
            recordTransitionMetrics(view.header.transitionsHeader(observationSize: spec.observationSize, actionSize: spec.actionSize),
                                    kind: "gradient", versionLag: lag, now: now)
        case let .transitionsAfterStop(header):
            metrics.messageReceived(kind: "transitions")
            metrics.transitionsAfterStop.increment(by: header.count)
        case let .hello(hello, isNew):
            metrics.messageReceived(kind: "hello")
            // Its credit and where the learner stands, at once and to it alone.
            acknowledge(SessionKey(workerId: hello.workerId, session: hello.session))
            logger.log(level: isNew ? .info : .debug, """
                \(hello.role == .evaluator ? "evaluator" : "worker") \(hello.workerId) \(isNew ? "joined" : "said hello again") \
                (session \(hex(hello.session)), \(format(now * 1_000)) ms after the learner started): \
                \(hello.environmentCount) environments, seed \(hello.seed)
                """)
        case let .episode(report):
            metrics.messageReceived(kind: "episode")
            metrics.episodes.increment()
            metrics.episodeReturn.record(report.episodeReturn)
            events?.scalar("Reward", report.episodeReturn, step: envSteps)
        case let .evaluation(report):
            metrics.messageReceived(kind: "evaluation")
            record(report, now: now)
        case let .workerStatus(status):
            metrics.messageReceived(kind: "worker_status")
            if status.isFinal {
                logger.info("worker \(status.workerId) (session \(hex(status.session))) finished; it reports \(status.transitionsSent) transitions sent")
            }
        case let .rejected(error, claimed):
            noteRejection(error, claimedTransitions: claimed, now: now)
            guard case .overCredit = error else { break }
            let origin = IngestLedger.origin(key: context.transport.peerKey(of: message), address: context.transport.peerAddress(of: message))
            if context.transport.cut(connection) {
                ingest.ledger.closeSessions(on: connection.id)
                // A sender that ignores its credit is read no further: its queued data would crowd out everyone else's.
                metrics.connectionRejected(reason: "over_credit")
                // Nor does it come back at once as a new session, with a new session's credit.
                if let origin { ingest.ledger.coolDown(origin, now: now) }
                logger.warning("cut off connection \(connection)\(origin.map { " from \($0)" } ?? ""): \(error)")
            }
        }
        for notice in ingest.ledger.takeNotices() {
            switch notice {
            case let .duplicateWorkerId(id, sessions, seeds):
                metrics.duplicateWorkerIds.increment()
                logger.warning("""
                    worker id \(id) is used by \(sessions.count) processes at once (sessions \(sessions.map(hex).joined(separator: ", ")), \
                    seeds \(seeds.map(String.init).joined(separator: ", "))): give each worker its own --worker-id; their data is accounted per session
                    """)
            }
        }
    }

    /// Counts and (rate-limited) logs a rejection.
    func noteRejection(_ error: ProtocolError, claimedTransitions: Int?, now: Double) {
        metrics.messageRejected(reason: error.reason)
        metrics.transitionsRejected.increment(by: claimedTransitions ?? 0)
        if rejections.shouldLog(now: now, reason: error.reason) {
            logger.warning("rejected message (\(error.reason)): \(error); \(ledger.totalMessagesRejected) rejected so far")
        }
    }

    private func recordTransitionMetrics(_ header: TransitionsHeader, kind: String, versionLag: Int64?, now: Double) {
        metrics.messageReceived(kind: kind)
        metrics.transitionsReceived.increment(by: header.count)
        metrics.workerTransitionsReceived(header.workerId, count: header.count)
        guard let versionLag else { return }
        metrics.policyLag.record(versionLag)
        if let lag = policyLag.accepted(version: header.weightsVersion, versionLag: versionLag, count: header.count,
                                        updates: agent.updateCount, now: now) {
            metrics.policyLagUpdates.record(lag.updates)
            metrics.policyLagSeconds.record(lag.seconds)
        }
    }

    /// Answers subscriptions; a worker that just subscribed is announced to at once.
    func serviceSubscriptions() {
        let now = self.now
        nextSubscriptionsAt = now + 0.005
        if context.serviceSubscriptions(now: now, rejections: &rejections) {
            flow.subscriberJoined(now: now)
            subscriberJoinedSinceBroadcast = true
        }
    }

    // MARK: Evaluations

    /// The env steps passed an evaluation mark: asks for an evaluation of the weights of this moment,
    /// published now, unless none were published yet (then the first publication carries the request).
    func requestEvaluation() {
        evaluation.openRequest(envSteps: envSteps, now: now)
        if publisher.version > 0 { broadcastWeights() }
    }

    /// Records an evaluator's report, which the ingest matched to a request already.
    func record(_ report: EvaluationReport, now: Double) {
        guard let requested = ingest.requestedEvaluations[report.publication.version] else { return }
        metrics.evaluationDelay.recordNanoseconds(Int64(max(now - requested.publishedAt, 0) * 1e9))
        evaluation.answered(after: now - requested.publishedAt, episodes: report.returns.count)
        guard case let .recorded(result, solved) = evaluation.record(report, requested: requested) else { return }
        metrics.evaluations.increment()
        metrics.evalReturn.record(result.meanReturn)
        events?.scalar("eval/mean_return", result.meanReturn, step: result.envSteps)
        logger.debug("""
            eval of weights v\(report.publication.version) (\(report.publication.updates) updates, \(result.envSteps) env steps) by worker \
            \(report.workerId): \(format(result.meanReturn)) ± \(format(result.stdReturn)), \(format((now - requested.publishedAt) * 1_000)) ms after publication
            """)
        if solved, let target = evaluation.solvedReturn {
            logger.notice("solved: eval \(format(result.meanReturn)) ± \(format(result.stdReturn)) ≥ \(format(target)) at \(result.envSteps) env steps, \(format(result.wallSeconds)) s")
        }
    }
}
