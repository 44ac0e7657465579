/// Credit-based flow control as the learner keeps it: when to announce itself and acknowledge each
/// session, and how many transitions each session may have sent and not yet seen consumed.
///
/// Everything queued between a worker and the learner was acted with weights that keep getting
/// older. An acknowledgement, addressed to one session, says what the learner consumed of it and
/// grants a credit; a worker with that much unacknowledged waits instead of stepping, and the ledger
/// rejects what a session sends beyond it and one message more. Without it the kernel's socket
/// buffers alone held ~200 transitions per worker however small ZeroMQ's queues were.
struct FlowControl {
    /// Announcements at least this often: a worker that has not greeted this learner (a restart) hears it.
    static let announceSeconds = 0.2
    /// While workers are paced: at most this soon after accepting transitions (what paces them)…
    static let acknowledgementSeconds = 0.001
    /// …and at least this often, since PUB drops a message whose subscriber's queue is full.
    static let pacedRepeatSeconds = 0.005
    /// What workers may keep in flight while replay fills (everything is accepted at once then).
    static let fillCredit = 128

    /// Whether workers are paced at all (`--no-worker-pace` and `--ingest-only` turn it off).
    let paces: Bool
    let broadcastEvery: Int
    /// Transitions a worker may have in flight (0: no limit).
    private(set) var credit = 0
    /// The credit last announced and acknowledged with (what workers hold now).
    private(set) var lastAnnouncedCredit = FlowControl.fillCredit
    /// Where the current estimate of updates per version started.
    private var sample = (updates: 0, version: UInt64(0))
    private var lastAnnouncedAt = -Double.infinity
    private var nextAnnounceAt = 0.0
    /// Transitions were accepted since the last announcement: paced workers are owed an acknowledgement.
    var acceptedSinceAnnounce = false

    init(paces: Bool, broadcastEvery: Int) {
        self.paces = paces
        self.broadcastEvery = broadcastEvery
    }

    /// A new subscriber learns the learner id and its credit now, not at the next periodic
    /// announcement: until then a paced worker holds back (and cannot say hello).
    mutating func subscriberJoined(now: Double) { nextAnnounceAt = min(nextAnnounceAt, now) }

    /// When paced workers are next owed an announcement (never, when they are not paced).
    private func pacedAnnounceDue(acknowledging: Bool) -> Double {
        guard credit > 0 else { return .infinity }
        return lastAnnouncedAt + (acknowledging ? Self.acknowledgementSeconds : Self.pacedRepeatSeconds)
    }

    /// Whether to announce or acknowledge now: nil when neither is due; true on the periodic schedule (an
    /// announcement to all, an acknowledgement to every recent session, and the credit re-estimated);
    /// false when only the sessions owed an acknowledgement are due. `acknowledging`: whether accepted
    /// transitions make acknowledgements due sooner.
    mutating func announcementDue(now: Double, acknowledging: Bool, pacing: @autoclosure () -> PacingState) -> Bool? {
        let periodic = now >= nextAnnounceAt
        guard periodic || now >= pacedAnnounceDue(acknowledging: acknowledging) else { return nil }
        if periodic {
            nextAnnounceAt = now + Self.announceSeconds
            estimateCredit(pacing())
        }
        lastAnnouncedAt = now
        acceptedSinceAnnounce = false
        return periodic
    }

    mutating func announced(credit: Int) { lastAnnouncedCredit = credit }

    /// What a session may send before its first acknowledgement: whichever credit it may have heard
    /// announced (0, no limit, when workers are not paced).
    var creditForNewSessions: Int { paces ? max(lastAnnouncedCredit, Self.fillCredit) : 0 }

    /// Twice each sending session's share of the transitions the learner consumes between two
    /// broadcasts (sessions that send no data take no share: idle ones cannot starve the others). In force from the first announcement: a backlog built while replay fills would
    /// otherwise be trained on, acted with no policy at all, long after learning started.
    private mutating func estimateCredit(_ state: PacingState) {
        defer { sample = (state.updates, state.version) }
        guard paces, let perUpdate = state.transitionsPerUpdate else {
            credit = 0
            return
        }
        let versions = state.version &- sample.version, updates = state.updates - sample.updates
        let updatesPerVersion = versions > 0 && updates > 0 ? Double(updates) / Double(versions) : Double(broadcastEvery)
        let transitionsPerVersion = updatesPerVersion * perUpdate
        credit = max(Int((2 * transitionsPerVersion / Double(max(state.actingWorkers(), 1))).rounded(.up)), 1)
    }

    /// The credit to announce: while replay fills, everything is accepted at once, so workers may keep
    /// a little more in flight: enough not to wait on each acknowledgement, little enough that what is
    /// still in flight when training starts (acted at random, then trained on) stays small.
    func announcedCredit(transitionsBeforeTraining missing: Int, actingWorkers: () -> Int) -> Int {
        guard credit > 0, missing > 0 else { return credit }
        let workers = max(actingWorkers(), 1)
        return max(credit, min((missing + workers - 1) / workers, Self.fillCredit))
    }

    /// How long the learner may sleep waiting for transitions: not past an announcement paced
    /// workers are owed, since without it no transitions would come.
    func idleWait(now: Double) -> Double {
        let due = min(pacedAnnounceDue(acknowledging: acceptedSinceAnnounce), now + 0.02)
        return max(due - now, 0)
    }
}

/// What the credit is estimated from.
struct PacingState {
    var updates: Int
    var version: UInt64
    var transitionsPerUpdate: Double?
    /// Acting sessions that delivered transitions recently (counted only when needed: it scans the sessions).
    var actingWorkers: () -> Int
}
