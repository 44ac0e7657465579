/// Where sessions come from: an origin cut for ignoring its credit cools down, and each origin has an allowance of
/// new sessions. Both because a new session gets a first credit of its own.
extension IngestLedger {
    /// How long no new session is accepted from where a connection was cut for ignoring its credit: at first,
    /// and at most (doubling with each cut after the last wait ended). A new session gets a first credit, so a
    /// peer that reconnected at once after each cut would get around the credit.
    public static let cooldownSeconds = (first: 10.0, most: 300.0)
    static let maxCooldowns = 1_024
    /// After an origin (``origin(key:address:)``) opened its burst of new sessions, one more comes back this often. A new
    /// session gets a first credit of its own, so a peer opening one after another, each within its first credit and
    /// reading no acknowledgement, would get around the credit; a fleet on one host (or one CURVE key) opens its
    /// sessions together, and a restarted worker now and then.
    public static let sessionRefillSeconds = 10.0
    static let maxSessionAllowances = 1_024

    /// Where a connection comes from, for cooling down: its CURVE key where there is one (addresses may be shared), else its address.
    public static func origin(key: String?, address: String?) -> String? { key.map { "key \($0)" } ?? address }

    /// A connection from `origin` was cut for ignoring its credit: no new session from there for a while (doubling when it
    /// happens again after the last wait ended; cuts during a wait, of its other connections, do not add to it).
    public mutating func coolDown(_ origin: String, now: Double) {
        let last = cooldowns[origin]
        if let last, now < last.until { return }
        let seconds = last.flatMap { now - $0.until < Self.cooldownSeconds.most ? min(2 * $0.seconds, Self.cooldownSeconds.most) : nil }
            ?? Self.cooldownSeconds.first
        if last == nil, cooldowns.count >= Self.maxCooldowns {
            cooldowns = cooldowns.filter { now < $0.value.until + Self.cooldownSeconds.most }
            if cooldowns.count >= Self.maxCooldowns, let soonest = cooldowns.min(by: { $0.value.until < $1.value.until }) { cooldowns[soonest.key] = nil }
        }
        cooldowns[origin] = (now + seconds, seconds)
    }

    /// New sessions `origin` may open now: its burst, less those it opened, one back every ``sessionRefillSeconds``, and one
    /// back for each of its sessions that proved itself: it named an acknowledgement's receipt (it reads them) and lived
    /// ``sessionRefillSeconds``. A fleet restarted together gets its burst back; a peer opening sessions to send each one's
    /// first credit and drop it does not.
    mutating func sessionAllowance(of origin: String, now: Double) -> Double {
        guard var allowance = sessionAllowances[origin] else { return Double(sessionBurst) }
        for index in workers.indices where workers.values[index].holdsSessionAllowance && workers.values[index].origin == origin {
            let record = workers.values[index]
            guard record.readAcknowledgement, now - record.joinedAt >= Self.sessionRefillSeconds else { continue }
            workers.values[index].holdsSessionAllowance = false
            allowance.sessions += 1
        }
        allowance = (refilled(allowance, now: now), now)
        sessionAllowances[origin] = allowance
        return allowance.sessions
    }

    private func refilled(_ allowance: (sessions: Double, at: Double), now: Double) -> Double {
        min(allowance.sessions + max(now - allowance.at, 0) / Self.sessionRefillSeconds, Double(sessionBurst))
    }

    mutating func spendSessionAllowance(of origin: String, now: Double) {
        let left = sessionAllowance(of: origin, now: now) - 1
        if sessionAllowances[origin] == nil, sessionAllowances.count >= Self.maxSessionAllowances {
            // An origin whose allowance came back in full is as if never seen; past that, the one that spent longest ago.
            sessionAllowances = sessionAllowances.filter { refilled($0.value, now: now) < Double(sessionBurst) }
            if sessionAllowances.count >= Self.maxSessionAllowances, let oldest = sessionAllowances.min(by: { $0.value.at < $1.value.at }) {
                sessionAllowances[oldest.key] = nil
            }
        }
        sessionAllowances[origin] = (left, now)
    }
}
