import Agents
import Checkpoint
import Foundation
import Ingest
import RunRecords
import Transport
import WireProtocol

/// What leaves the learner: weights (only from a finite state), announcements, checkpoints.
extension LearnerRun {
    /// Publishes the actor with the next version, once the whole state is known to be finite; with
    /// the open evaluation request, if any.
    func broadcastWeights() {
        guard ensureFinite(before: "publishing weights") else { return }
        if let error = checkpoints.reserveVersions(through: publisher.version + 1), let store = checkpoints.writer?.store {
            logger.error("cannot record weights versions in \(store.directory.path): \(error.localizedDescription)")
        }
        let version = publisher.nextVersion(updates: agent.updateCount)
        metrics.weightsPublished.increment()
        metrics.weightsVersion.record(Int64(version))
        policyLag.published(version: version, updates: agent.updateCount, seconds: now)
        let publication = Publication(version: version, updates: UInt64(agent.updateCount), envSteps: UInt64(envSteps))
        let request = evaluation.open
        if let request {
            ingest.requested(request, nonce: evaluation.openNonce, of: publication, wallSeconds: trainingSeconds, at: now)
            evaluation.published(version: version) { agent.actor.network.state + (agent.observationStatistics?.state ?? []) }
        }
        let bytes = publisher.encodeWeights(publication, request: request, actor: agent.actor, valueNetwork: loop.publishedValueNetwork,
                                            publishedAt: context.clock.wallNanoseconds)
        publish(bytes, what: "weights")
        publisher.sent(bytes.count, to: context.transport.subscriberCount, now: now, budget: configuration.learner.broadcastBytesPerSecond)
        lastBroadcastAt = now
        subscriberJoinedSinceBroadcast = false
        // The evaluators learn the request's nonce from their own acknowledgement, which nobody else sees.
        if request != nil { acknowledgeEvaluators() }
    }

    /// Workers that act only with weights (on-policy) have them: the first publication goes out before any
    /// data, and the newest goes out again when a worker subscribed since, or none went out for a while.
    func publishForWaitingWorkers() {
        guard publisher.version == 0 || subscriberJoinedSinceBroadcast || now - lastBroadcastAt >= Self.republishSeconds else { return }
        broadcastWeights()
    }

    /// Sends one message to every subscriber without waiting; a subscriber whose queue is full misses it (PUB semantics).
    func publish(_ bytes: [UInt8], what: String) {
        do {
            try context.transport.publish(bytes)
        } catch {
            logger.error("publishing \(what) failed: \(error)")
        }
    }

    /// Tells every subscriber this learner is here (so that one that has not greeted it, after a learner
    /// restart, says hello); tells each session, on its own connection, how much of its data the learner
    /// has consumed and its credit (``FlowControl``): the sessions owed one as soon as they are due, and
    /// every recent session on the periodic schedule, in case one was lost.
    func announceIfDue(acknowledging: Bool) {
        let now = self.now
        // Counting the sending sessions scans them: only when the credit needs it.
        let sending = { [ledger] in ledger.sendingSessions(now: now, window: 10) }
        let pacing = PacingState(updates: agent.updateCount, version: publisher.version, transitionsPerUpdate: loop.transitionsPerUpdate,
                                 actingWorkers: sending)
        guard let periodic = flow.announcementDue(now: now, acknowledging: acknowledging, pacing: pacing) else { return }
        let credit = flow.announcedCredit(transitionsBeforeTraining: loop.transitionsBeforeTraining, actingWorkers: sending)
        flow.announced(credit: credit)
        if periodic {
            let announce = Announce(learnerId: context.learnerId, weightsVersion: publisher.version,
                                    maxTransitionsPerMessage: ingest.decoder.expected.maxTransitionsPerMessage, credit: credit)
            publish(publisher.encode(announce), what: "the announcement")
            for key in ledger.activeSessions(now: now, window: 10) { acknowledge(key) }
        } else {
            for key in ledger.owedAcknowledgement { acknowledge(key) }
        }
    }

    /// Sends `key` its acknowledgement, alone: the sequence the learner expects next, its credit, and, to an
    /// evaluator, the open request's ticket. One that cannot be sent now because the connection's queue is full stays owed.
    func acknowledge(_ key: SessionKey) {
        guard let connection = ledger.connection(of: key), let record = ledger.workers[key] else { return }
        let credit = flow.lastAnnouncedCredit
        let ticket = record.role == .evaluator ? evaluation.open.map { EvaluationTicket(mark: $0.mark, isFinal: $0.isFinal, nonce: evaluation.openNonce) } : nil
        let receipt = ledger.receipt(for: key, credit: credit, fresh: UInt64.random(in: 1...UInt64.max))
        let acknowledgement = Acknowledgement(learnerId: context.learnerId, workerId: key.workerId, session: key.session,
                                              nextSequence: record.nextSequence, credit: credit, ticket: ticket, receipt: receipt)
        switch context.transport.send(publisher.encode(acknowledgement), to: PeerConnection(id: connection)) {
        case .sent: _ = ingest.ledger.acknowledge(key, credit: credit, receipt: receipt)
        case .queueFull: ingest.ledger.stillOwed(key)
        // Not retried every few milliseconds for each session whose peer left without a goodbye: the periodic round
        // (every recent session, every 0.2 s) reaches one whose worker reconnects with its routing id.
        case .connectionGone: ingest.ledger.connectionGone(key)
        }
    }

    /// Gives every connected evaluator the open request's ticket.
    func acknowledgeEvaluators() {
        for key in ledger.activeSessions(now: now, window: Self.evaluatorWindow, role: .evaluator) { acknowledge(key) }
    }

    // MARK: The non-finite guard

    /// True if the agent is finite; otherwise rolls back and returns false. `action` names what needed it.
    func ensureFinite(before action: String) -> Bool {
        let rollbacks = nonFinite.rollbacks
        defer { if nonFinite.rollbacks > rollbacks { reportRollback() } }
        return nonFinite.check(agent, before: action)
    }

    func rollBack(because reason: String) {
        nonFinite.rollBack(agent, because: reason)
        reportRollback()
    }

    private func reportRollback() {
        metrics.rollbacks.increment()
        logger.error("""
            non-finite training state: \(nonFinite.lastRollback ?? "") (\(nonFinite.consecutiveRollbacks) in a row; \
            the run stops at \(NonFiniteGuard.maxConsecutiveRollbacks))
            """)
    }

    // MARK: Checkpoints

    func checkpointIfDue() {
        guard checkpoints.isDue(now: now, updates: agent.updateCount) else { return }
        writeCheckpoint(reason: "scheduled")
    }

    /// Copies the learner's state (the only part that stalls training) and hands it to the writer thread.
    func writeCheckpoint(reason: String) {
        guard checkpoints.writer != nil else { return }
        _ = ensureFinite(before: "a checkpoint")
        let started = context.clock.now
        let progress = LearnerProgress(envSteps: envSteps, weightsVersion: publisher.version, episodes: episodes, wallSeconds: trainingSeconds,
                                       evaluations: evaluation.evaluations, solvedAt: evaluation.solvedAt,
                                       takenAt: Date(timeIntervalSince1970: Double(context.clock.wallNanoseconds) / 1e9))
        let checkpoint = loop.capture(progress: progress, configuration: configuration.training, spec: spec,
                                      includeData: configuration.learner.checkpointReplay)
        checkpoints.submit(checkpoint, now: now, updates: agent.updateCount)
        let stall = context.clock.now - started
        metrics.checkpointStall.recordNanoseconds(Int64(stall * 1e9))
        metrics.checkpoints.increment()
        logger.debug("\(reason) checkpoint at \(agent.updateCount) updates: training stalled \(format(stall * 1_000)) ms")
    }

    /// Continues from the newest valid checkpoint in `store`, falling back (and saying so) past any
    /// that are corrupt, truncated or do not fit this run's shapes.
    func resume(from store: CheckpointStore) throws -> URL {
        let scan = store.scan { [loop, spec] checkpoint throws(CheckpointError) in try loop.checkCompatible(checkpoint, spec: spec) }
        guard let (checkpoint, file) = scan.found else { throw ResumeError(directory: store.directory, skipped: scan.skipped) }
        for (skippedFile, error) in scan.skipped {
            logger.warning("checkpoint \(skippedFile.path) is unusable (\(error)); falling back to an older one")
        }
        let restored = loop.restore(from: checkpoint)
        nonFinite.resumed(agent)
        let header = checkpoint.header
        // Versions published after this checkpoint, before the previous process ended, stay behind us.
        publisher.version = max(header.weightsVersion, store.reservedWeightsVersion())
        publisher.updatesAtLastBroadcast = header.updates
        checkpoints.resumed(from: file, version: publisher.version)
        resumedFrom = (header.envSteps, header.episodes, header.wallSeconds)
        evaluation.resume(evaluations: header.evaluations, solvedAt: header.solvedAt, envSteps: header.envSteps)
        // The rows after the checkpoint describe training that the crash lost; the run continues from the checkpoint.
        if let dropped = context.monitoring.progress?.discardRows(after: header.wallSeconds), dropped > 0 {
            logger.notice("dropped \(dropped) rows of progress.csv written after this checkpoint (training that was not saved)")
        }
        checkpoints.schedule(now: now, updates: agent.updateCount)
        logger.notice("resumed from \(file.path): \(header.envSteps) env steps, \(header.updates) updates, weights v\(publisher.version); \(restored)")
        return file
    }
}

/// Why `--resume` could not continue a run.
public struct ResumeError: Error, CustomStringConvertible {
    public var directory: URL
    public var skipped: [(file: URL, error: CheckpointError)]

    public init(directory: URL, skipped: [(file: URL, error: CheckpointError)]) {
        self.directory = directory
        self.skipped = skipped
    }

    public var description: String {
        guard !skipped.isEmpty else { return "no checkpoints in \(directory.path)" }
        return "no usable checkpoint in \(directory.path): "
            + skipped.map { "\($0.file.lastPathComponent): \($0.error)" }.joined(separator: "; ")
    }
}
