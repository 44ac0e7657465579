import WireProtocol

/// Read-only views of the sessions: who shares the credit, whom an on-policy round waits for, who is active, and what
/// they delivered and claim.
extension IngestLedger {
    /// What the credit is divided over: acting sessions that delivered transitions within `window` seconds, none since a
    /// newer session from where they came from said hello (a restarted worker's old session stops counting at once),
    /// whose connection is there, and that read their acknowledgements or sent within ``unreadSenderSeconds``.
    /// A peer that opens session after session, each sending a burst without reading and going, counts only while
    /// each sends (counted for `window` seconds they cut a real worker's credit to a fraction), and one that sends
    /// without reading counts until it is cut (its share, and what it gets in before the cut, stay small).
    public func sendingSessions(now: Double, window: Double) -> Int {
        var newestHello: [String: Double] = [:]
        for record in workers.values where record.role == .actor {
            if let origin = record.origin { newestHello[origin] = max(newestHello[origin] ?? record.joinedAt, record.joinedAt) }
        }
        return workers.values.reduce(0) { count, record in
            guard record.role == .actor, !record.finished, !record.unreachable, let last = record.lastTransitionsAt, now - last <= window,
                  record.readAcknowledgement || now - last <= Self.unreadSenderSeconds else { return count }
            let replaced = record.origin.flatMap { newestHello[$0] }.map { $0 > last } ?? false
            return count + (replaced ? 0 : 1)
        }
    }

    /// Acting sessions that delivered data within `window` seconds and have not said goodbye: whose segments a
    /// synchronous on-policy learner waits for.
    public func deliveringSessions(now: Double, window: Double) -> Set<SessionKey> {
        Set(workers.values.filter { record in
            guard record.role == .actor, !record.finished, let last = record.lastTransitionsAt else { return false }
            return now - last <= window
        }.map(\.key))
    }

    /// Sessions heard from within `window` seconds that have not said goodbye (of one role, if given).
    public func activeSessions(now: Double, window: Double, role: WorkerRole? = nil) -> [SessionKey] {
        workers.values.filter { !$0.finished && now - $0.lastSeen <= window && (role == nil || $0.role == role) }.map(\.key).sorted()
    }

    /// Since when `key` (an evaluator) owes an answer: its last accepted evaluation, else its first hello.
    public func waitingForAnswerSince(_ key: SessionKey) -> Double? {
        workers[key].map { $0.lastAnswerAt ?? $0.joinedAt }
    }

    /// Worker ids with an active session.
    public func activeWorkers(now: Double, window: Double) -> [UInt32] {
        Array(Set(activeSessions(now: now, window: window).map(\.workerId))).sorted()
    }

    /// Every session, ordered by worker id, then session.
    public var sortedWorkers: [WorkerRecord] { workers.values.sorted { $0.key < $1.key } }

    /// Per worker id, the transitions its acting sessions claim to have sent (their latest status each, summed, saturating).
    public var claimedTransitionsSent: [UInt32: UInt64] {
        var result: [UInt32: UInt64] = [:]
        for record in workers.values where record.role == .actor {
            guard let claim = record.claimed?.transitionsSent else { continue }
            let (sum, overflow) = result[record.workerId, default: 0].addingReportingOverflow(claim)
            result[record.workerId] = overflow ? .max : sum
        }
        return result
    }

    /// Mean of the last `count` episode returns reported by workers.
    public func recentEpisodeReturn(count: Int = 10) -> Double? {
        let recent = episodeReturns.suffix(count)
        return recent.isEmpty ? nil : recent.reduce(0, +) / Double(recent.count)
    }
}
