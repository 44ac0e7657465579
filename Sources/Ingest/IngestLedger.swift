import WireProtocol

/// Min, mean and max of a stream of integers, weighted by counts.
public struct RunningRange: Codable, Sendable, Equatable {
    public var min: Int64 = .max
    public var max: Int64 = .min
    public var sum: Double = 0
    public var count: Int = 0

    public init() {}

    public mutating func record(_ value: Int64, weight: Int = 1) {
        min = Swift.min(min, value)
        max = Swift.max(max, value)
        sum += Double(value) * Double(weight)
        count += weight
    }

    public var mean: Double { count > 0 ? sum / Double(count) : 0 }

    /// `{min, mean, max}`, or nil before anything was recorded.
    public var summary: PolicyLagSummary? {
        count > 0 ? PolicyLagSummary(min: min, mean: mean, max: max, transitions: count) : nil
    }
}

public struct PolicyLagSummary: Codable, Sendable, Equatable {
    public var min: Int64
    public var mean: Double
    public var max: Int64
    /// Transitions measured (those acted with this learner's weights; the others have no lag).
    public var transitions: Int
}

/// One worker process, as the learner knows it: a worker id and the random session it chose at start.
public struct SessionKey: Hashable, Sendable, Comparable {
    public var workerId: UInt32
    public var session: UInt32

    public init(workerId: UInt32, session: UInt32) {
        self.workerId = workerId
        self.session = session
    }

    public static func < (a: Self, b: Self) -> Bool { (a.workerId, a.session) < (b.workerId, b.session) }
}

/// What a worker says of itself in its status messages. Claims only: the
/// learner reports them beside its own counts and never accounts with them.
public struct WorkerClaims: Codable, Sendable, Equatable {
    public var transitionsSent: UInt64
    public var episodes: UInt64
    public var messagesSent: UInt64
}

/// What the learner knows of one worker session.
public struct WorkerRecord: Codable, Sendable, Equatable {
    public var workerId: UInt32
    public var session: UInt32
    public var seed: UInt64
    /// What the session said it does: acting (the default) or evaluating.
    public var role: WorkerRole = .actor
    public var environments = 0
    /// Transitions the learner accepted from this session (its own count).
    public var transitionsReceived = 0
    /// Transitions messages accepted.
    public var messages = 0
    /// Transitions messages this session sent that never arrived: jumps in its sequence numbers.
    public var sequenceGaps = 0
    /// Messages naming this session that were rejected, and the transitions their headers claimed: with
    /// `transitionsReceived`, what an honest worker's claimed `transitions_sent` adds up to.
    public var messagesRejected = 0
    public var transitionsRejected = 0
    /// Transitions that arrived after the run stopped: checked and counted, never trained on.
    public var transitionsAfterStop = 0
    public var episodes = 0
    public var lastEpisodeReturn: Double?
    /// The newest weights version this session acted with.
    public var latestWeightsVersion: UInt64 = 0
    /// The session's latest status, if any.
    public var claimed: WorkerClaims?
    public var finished = false
    /// The sequence number this session's next transitions message must carry (or exceed, within the gap limit).
    public internal(set) var nextSequence: UInt64 = 0
    var lastSeen: Double = 0
    /// When the session said its first hello, and (an evaluator) when it last answered a request.
    var joinedAt: Double = 0
    var lastAnswerAt: Double?
    /// The learner's weights version when this session last said hello: what it sends acted with a newer
    /// version was acted after that hello (a killed process's queued messages never are).
    var helloVersion: UInt64 = 0
    /// The connection it said hello on, and the CURVE key that connection authenticated with: nothing
    /// for this session is accepted from any other.
    var connection: UInt64 = 0
    var peerKey: String?
    /// Where it came from (``IngestLedger/origin(key:address:)``), when the transport says.
    var origin: String?
    /// When it last delivered data (transitions, an episode, an answered evaluation), else when it joined:
    /// statuses keep a session connected but do not keep it from being evicted.
    var lastDataAt: Double = 0
    var lastTransitionsAt: Double?
    /// Every transition accepted from this session, and, for each of its recent acknowledgements, its receipt,
    /// how many had been accepted when it was sent, and its credit: a message's receipt says which
    /// acknowledgement its sender had read last, so what it has in flight counts from there, against that
    /// acknowledgement's credit (plus one step of its environments).
    var rowsAccepted = 0
    var receipts: [Receipt] = []
    /// What it may send before it has read any acknowledgement (0: no limit).
    var initialCredit = 0
    /// Whether it named the receipt of an acknowledgement it was sent (it reads them), and whether it still holds one
    /// of its origin's new-session allowance (``IngestLedger/sessionRefillSeconds``).
    var readAcknowledgement = false
    var holdsSessionAllowance = false
    /// An acknowledgement to it found its connection gone (until it delivers again, on a connection back).
    var unreachable = false

    /// Rows accepted since the acknowledgement with `receipt`, and the credit it granted. A receipt it does not
    /// know (none read yet, never sent, or too old) counts from the oldest it keeps (or the hello), with the
    /// newest credit or the initial one, the larger: guessing gains nothing.
    /// `known`: the receipt is one of those kept (the session has read that acknowledgement).
    func inFlight(since receipt: UInt64) -> (rows: Int, credit: Int, known: Bool) {
        if receipt != 0, let index = receipts.lastIndex(where: { $0.receipt == receipt }) {
            // Rows it took while the previous acknowledgement was its newest may go out after it read this one.
            let previous = index > receipts.startIndex ? receipts[index - 1].credit : initialCredit
            let credit = receipts[index].credit == 0 || previous == 0 ? 0 : max(receipts[index].credit, previous)
            return (rowsAccepted - receipts[index].rowsAccepted, credit, true)
        }
        let newest = receipts.last?.credit ?? initialCredit
        return (rowsAccepted - (receipts.first?.rowsAccepted ?? 0), newest == 0 || initialCredit == 0 ? 0 : max(newest, initialCredit), false)
    }

    init(workerId: UInt32, session: UInt32, seed: UInt64) {
        self.workerId = workerId
        self.session = session
        self.seed = seed
    }

    var key: SessionKey { SessionKey(workerId: workerId, session: session) }

    /// Records an accepted transitions message whose sequence was checked.
    mutating func accept(_ header: TransitionsHeader, afterStop: Bool, now: Double) {
        rowsAccepted += header.count
        unreachable = false
        lastDataAt = now
        lastTransitionsAt = now
        sequenceGaps += Int(header.sequence - nextSequence)
        nextSequence = header.sequence + 1
        if afterStop { transitionsAfterStop += header.count } else { transitionsReceived += header.count }
        messages += 1
        latestWeightsVersion = max(latestWeightsVersion, header.weightsVersion)
        lastSeen = now
    }

    enum CodingKeys: String, CodingKey {
        case workerId, session, seed, role, environments, transitionsReceived, messages, sequenceGaps, messagesRejected, transitionsRejected
        case transitionsAfterStop, episodes, lastEpisodeReturn, latestWeightsVersion, claimed, finished
    }
}

/// What the sessions the ledger let go of (evicted to make room) had delivered: their records leave
/// ``IngestLedger/workers``, their counts stay in the run's accounting.
public struct EvictedSessions: Codable, Sendable, Equatable {
    public var sessions = 0
    public var transitionsReceived = 0
    public var transitionsAfterStop = 0
    public var episodes = 0
    public var messagesRejected = 0
    public var transitionsRejected = 0

    mutating func add(_ record: WorkerRecord) {
        sessions += 1
        transitionsReceived += record.transitionsReceived
        transitionsAfterStop += record.transitionsAfterStop
        episodes += record.episodes
        messagesRejected += record.messagesRejected
        transitionsRejected += record.transitionsRejected
    }
}

/// An acknowledgement's receipt, how many of its session's transitions had been accepted when it went out, and the
/// credit it granted: a sender that names it has read it, and keeps to that credit.
struct Receipt: Sendable, Equatable {
    var receipt: UInt64
    var rowsAccepted: Int
    var credit: Int
}

/// Something the learner should say about the workers, once.
public enum IngestNotice: Sendable, Equatable {
    /// Two live processes use one worker id: their sessions, and their seeds.
    case duplicateWorkerId(UInt32, sessions: [UInt32], seeds: [UInt64])
}

/// The learner's accounting of everything that arrived: what was accepted,
/// what was rejected and why, per worker session, and the policy lag of accepted data.
///
/// Every number a peer supplies is checked before it is used: a session must
/// say hello first, sequence numbers must move forward by at most
/// ``maxSequenceGap`` + 1, versions may not be ahead of the learner's, and the
/// number of sessions tracked is capped. Counts a worker claims are kept apart
/// from the learner's own. Nothing here can trap, whatever arrives.
public struct IngestLedger: Sendable {
    public static let defaultMaxSessions = 1_024
    /// The most transitions messages that can be missing between two accepted ones;
    /// a larger jump is not a loss but a broken or hostile sender.
    public static let maxSequenceGap: UInt64 = 1_024
    /// A session that delivered no data for this long (statuses do not count) may make room for a new one.
    public static let evictableAfterSeconds = 10.0
    /// How long a session that never read an acknowledgement counts among the senders after its last transitions.
    public static let unreadSenderSeconds = 1.0
    /// What a session may have in flight, in credits (plus one step of its environments).
    public static let creditFactor = 4
    /// Unfinished sessions one connection may hold: a worker process has one.
    public static let maxSessionsPerConnection = 1
    /// Receipts of a session's recent acknowledgements kept. An acknowledgement that says nothing new (the same
    /// next sequence and credit as the last) reuses the last receipt, so the list grows only with accepted data:
    /// a worker names the receipt it had read when it committed to its rows, which may have waited in its queues.
    public static let receiptsKept = 4_096

    public let maxSessions: Int
    /// New sessions one origin may open at once (``sessionRefillSeconds``).
    public let sessionBurst: Int
    /// What a session may send beyond its credit is what one step of its environments makes (an n-step
    /// adder emits up to n rows per environment when an episode ends): a worker stops acting at its
    /// credit, but the step it took last may overshoot. At most `creditSlack`, one message.
    public let creditSlack: Int
    public let nStep: Int
    public private(set) var transitionsReceived = 0
    public private(set) var transitionsAccepted = 0
    /// Transitions in rejected messages, where their header could still be read.
    public private(set) var transitionsRejected = 0
    /// Transitions checked and counted after the run stopped (``transitions(_:currentVersion:afterStop:now:)``): not trained on.
    public private(set) var transitionsAfterStop = 0
    public private(set) var messagesRejected: [String: Int] = [:]
    /// Messages accepted, by kind: hello, transitions, episode, worker status, evaluation (counted without hashing a name per message).
    private var acceptedByKind = (hello: 0, transitions: 0, episode: 0, workerStatus: 0, evaluation: 0)
    /// Messages accepted, by kind (`hello`, `transitions`, `episode`, `worker_status`, `evaluation`; kinds not seen are left out).
    public var messagesAccepted: [String: Int] {
        let counts = ["hello": acceptedByKind.hello, "transitions": acceptedByKind.transitions,
                      "episode": acceptedByKind.episode, "worker_status": acceptedByKind.workerStatus,
                      "evaluation": acceptedByKind.evaluation]
        return counts.filter { $0.value > 0 }
    }
    public var totalMessagesAccepted: Int {
        acceptedByKind.hello + acceptedByKind.transitions + acceptedByKind.episode + acceptedByKind.workerStatus + acceptedByKind.evaluation
    }
    public internal(set) var workers: [SessionKey: WorkerRecord] = [:]
    /// What evicted sessions had delivered: with `workers`, every accepted transition and episode has a session.
    public private(set) var evicted = EvictedSessions()
    /// Episodes reported by every session of this run, evicted ones included.
    public var episodes: Int { evicted.episodes + workers.values.reduce(0) { $0 + $1.episodes } }
    /// Per worker id, its sessions, in the order of their hellos; the last is the current one.
    private var sessionsByWorker: [UInt32: [UInt32]] = [:]
    /// Worker ids already reported as used by two live processes.
    public private(set) var duplicateWorkerIds: Set<UInt32> = []
    public private(set) var policyLag = RunningRange()
    /// Transitions acted without this learner's weights (random actions, or a previous learner's weights).
    public private(set) var randomTransitions = 0
    public private(set) var episodeReturns: [Double] = []
    private var notices: [IngestNotice] = []
    /// Each connection's sessions, in the order of their hellos.
    private var sessionsOnConnection: [UInt64: [SessionKey]] = [:]
    /// Origins (``origin(key:address:)``) cut for ignoring their credit: until when, and for how long last time.
    var cooldowns: [String: (until: Double, seconds: Double)] = [:]
    /// New sessions each origin may still open, as of when it last opened one (absent: ``sessionBurst``).
    var sessionAllowances: [String: (sessions: Double, at: Double)] = [:]
    /// Sessions with transitions accepted since their last acknowledgement.
    public private(set) var owedAcknowledgement: Set<SessionKey> = []

    public init(maxSessions: Int = IngestLedger.defaultMaxSessions, sessionBurst: Int = 64, creditSlack: Int = WireFormat.maxTransitionsPerMessage,
                nStep: Int = 1) {
        self.maxSessions = Swift.max(maxSessions, 1)
        self.sessionBurst = Swift.max(sessionBurst, 1)
        self.creditSlack = Swift.max(creditSlack, 1)
        self.nStep = Swift.max(nStep, 1)
    }

    public var totalMessagesRejected: Int { messagesRejected.values.reduce(0, +) }

    /// Counts a rejection; also against the session its header names, when that session is known.
    public mutating func reject(_ error: ProtocolError, claimedTransitions: Int?, claimedSession: SessionKey? = nil) {
        let transitions = Swift.min(Swift.max(claimedTransitions ?? 0, 0), WireFormat.maxTransitionsPerMessage)
        messagesRejected[error.reason, default: 0] += 1
        transitionsRejected += transitions
        if let claimedSession, let index = workers.index(forKey: claimedSession) {
            workers.values[index].messagesRejected += 1
            workers.values[index].transitionsRejected += transitions
        }
    }

    /// Rejections counted elsewhere, in bulk: `messages` messages of one reason that claimed `transitions` in all.
    public mutating func reject(_ error: ProtocolError, messages: Int, transitions: Int) {
        messagesRejected[error.reason, default: 0] += max(messages, 0)
        transitionsRejected += max(transitions, 0)
    }

    /// Notices gathered since the last call.
    public mutating func takeNotices() -> [IngestNotice] {
        guard !notices.isEmpty else { return [] }
        defer { notices.removeAll() }
        return notices
    }

    // MARK: Messages

    /// Registers a session on `connection` (authenticated as `key`, under CURVE), or refreshes one that
    /// greets this learner again from the same connection. A session belongs to the connection it first
    /// said hello on: a hello for it from any other, one that rewinds its sequence or changes its role,
    /// and a second live session on one connection are refused (`session_conflict`), as is an evaluator
    /// the learner did not authorize (`authorizedEvaluator` false). A new session beyond ``maxSessions``
    /// evicts one that delivered no data for ``evictableAfterSeconds``, or is refused.
    /// `initialCredit` bounds what it may send before its first acknowledgement (0: no limit).
    /// Returns whether the session is new.
    @discardableResult
    public mutating func hello(_ hello: Hello, connection: UInt64, key: String?, address: String? = nil, authorizedEvaluator: Bool,
                               initialCredit: Int = 0, currentVersion: UInt64 = 0, now: Double) throws(ProtocolError) -> Bool {
        guard hello.nextSequence < .max else {
            throw .badSequence(workerId: hello.workerId, expected: 0, got: hello.nextSequence)
        }
        guard hello.role == .actor || authorizedEvaluator else { throw .unauthorizedEvaluator(workerId: hello.workerId, session: hello.session) }
        let sessionKey = SessionKey(workerId: hello.workerId, session: hello.session)
        let name = "worker \(hello.workerId) session \(String(hello.session, radix: 16))"
        let isNew = workers[sessionKey] == nil
        if let record = workers[sessionKey] {
            guard record.connection == connection, record.peerKey == key else {
                throw .sessionConflict("\(name) said hello from another connection than the one it said hello on")
            }
            guard record.role == hello.role else { throw .sessionConflict("\(name) said hello as \(hello.role.name), but it is an \(record.role.name)") }
            guard hello.nextSequence >= record.nextSequence else {
                throw .sessionConflict("\(name) said hello with next sequence \(hello.nextSequence), which would rewind it from \(record.nextSequence)")
            }
            // Greeting again makes this the worker id's current session.
            sessionsByWorker[hello.workerId]?.removeAll { $0 == hello.session }
            sessionsByWorker[hello.workerId, default: []].append(hello.session)
        } else {
            let origin = Self.origin(key: key, address: address)
            if let origin, let cooldown = cooldowns[origin], now < cooldown.until {
                throw .coolingDown(workerId: hello.workerId, session: hello.session, origin: origin, secondsLeft: cooldown.until - now)
            }
            if let origin, sessionAllowance(of: origin, now: now) < 1 {
                throw .sessionRate(workerId: hello.workerId, session: hello.session, origin: origin, burst: sessionBurst,
                                   refillSeconds: Self.sessionRefillSeconds)
            }
            let live = sessionsOnConnection[connection, default: []].filter { workers[$0].map { !$0.finished } ?? false }
            guard live.count < Self.maxSessionsPerConnection else {
                throw .sessionConflict("\(name) said hello on a connection that already has a live session (at most \(Self.maxSessionsPerConnection))")
            }
            if workers.count >= maxSessions, !evictOneIdleSession(now: now) { throw .tooManyWorkers(limit: maxSessions) }
            var record = WorkerRecord(workerId: hello.workerId, session: hello.session, seed: hello.seed)
            (record.joinedAt, record.lastDataAt, record.connection, record.peerKey, record.role) = (now, now, connection, key, hello.role)
            record.initialCredit = initialCredit
            record.origin = origin
            if let origin {
                spendSessionAllowance(of: origin, now: now)
                record.holdsSessionAllowance = true
            }
            workers[sessionKey] = record
            sessionsByWorker[hello.workerId, default: []].append(hello.session)
            sessionsOnConnection[connection] = live + [sessionKey]
        }
        workers[sessionKey]!.environments = hello.environmentCount
        workers[sessionKey]!.nextSequence = hello.nextSequence
        workers[sessionKey]!.finished = false
        workers[sessionKey]!.lastSeen = now
        workers[sessionKey]!.helloVersion = currentVersion
        acceptedByKind.hello += 1
        return isNew
    }

    /// The session `key` from `connection`, or why a message for it is refused.
    private func record(_ key: SessionKey, from connection: UInt64) throws(ProtocolError) -> Dictionary<SessionKey, WorkerRecord>.Index {
        guard let index = workers.index(forKey: key) else { throw .noHello(workerId: key.workerId, session: key.session) }
        try checkBound(key, bound: workers.values[index].connection, to: connection)
        return index
    }

    /// Refuses a message for `key` (a known session) from another connection than its own; nothing for an unknown one.
    public func checkConnection(of key: SessionKey, is connection: UInt64) throws(ProtocolError) {
        guard let bound = workers[key]?.connection else { return }
        try checkBound(key, bound: bound, to: connection)
    }

    private func checkBound(_ key: SessionKey, bound: UInt64, to connection: UInt64) throws(ProtocolError) {
        guard bound == connection else {
            throw .sessionConflict("a message for worker \(key.workerId) session \(String(key.session, radix: 16)) from another connection than its own")
        }
    }

    /// Checks a transitions batch acted with `header.weightsVersion` against its session, and
    /// records it, while the learner is at `currentVersion`. Throws (recording nothing) if it does not fit.
    /// Returns its policy lag, or nil when it was acted without this learner's weights (version 0).
    /// `afterStop`: the run has stopped; the batch is checked and counted apart (``transitionsAfterStop``).
    @discardableResult
    public mutating func transitions(_ header: TransitionsHeader, from connection: UInt64, currentVersion: UInt64, afterStop: Bool = false,
                                     now: Double) throws(ProtocolError) -> Int64? {
        let key = SessionKey(workerId: header.workerId, session: header.session)
        let index = try record(key, from: connection)
        guard workers.values[index].role == .actor else { throw .unexpectedKind(MessageKind.transitions.rawValue) }
        // Enforced, not advisory: what a session sends beyond its credit and one message would only age in
        // queues, and a sender that ignores it would crowd out those that keep to theirs.
        // Four times the credit: a worker that heard nothing for a second sends a credit's worth more (what it sent
        // before may have been lost with a connection), naming the receipt it had, and credits move between
        // acknowledgements; a sender that ignores its credit passes any such bound within one acknowledgement.
        let (inFlight, credit, namedKnownReceipt) = workers.values[index].inFlight(since: header.receipt)
        let limit = Self.creditFactor * credit + Swift.min(workers.values[index].environments * nStep, creditSlack)
        guard credit == 0 || inFlight < limit else {
            throw .overCredit(workerId: header.workerId, session: header.session, inFlight: inFlight, limit: limit)
        }
        try checkVersion(header.weightsVersion, currentVersion: currentVersion)
        let expected = workers.values[index].nextSequence
        guard header.sequence >= expected, header.sequence - expected <= Self.maxSequenceGap, header.sequence < .max else {
            throw .badSequence(workerId: header.workerId, expected: expected, got: header.sequence)
        }
        // Through the index: the record changes in place, with one hash lookup per message.
        workers.values[index].accept(header, afterStop: afterStop, now: now)
        if namedKnownReceipt { workers.values[index].readAcknowledgement = true }
        owedAcknowledgement.insert(key)
        acceptedByKind.transitions += 1
        noteIfDuplicate(key, actedWith: header.weightsVersion)
        if afterStop {
            transitionsAfterStop += header.count
            return nil
        }

        transitionsReceived += header.count
        transitionsAccepted += header.count
        guard header.weightsVersion > 0 else {
            randomTransitions += header.count
            return nil
        }
        let lag = Int64(currentVersion - header.weightsVersion)
        policyLag.record(lag, weight: header.count)
        return lag
    }

    public mutating func episode(_ report: EpisodeReport, from connection: UInt64, currentVersion: UInt64, now: Double) throws(ProtocolError) {
        let key = SessionKey(workerId: report.workerId, session: report.session)
        _ = try record(key, from: connection)
        try checkVersion(report.weightsVersion, currentVersion: currentVersion)
        workers[key]!.lastDataAt = now
        workers[key]!.episodes += 1
        workers[key]!.lastEpisodeReturn = report.episodeReturn
        workers[key]!.lastSeen = now
        episodeReturns.append(report.episodeReturn)
        if episodeReturns.count > 100 { episodeReturns.removeFirst(episodeReturns.count - 100) }
        acceptedByKind.episode += 1
        noteIfDuplicate(key, actedWith: report.weightsVersion)
    }

    /// Keeps the session's claims and whether it said goodbye; the learner's own counts do not change.
    public mutating func status(_ status: WorkerStatus, from connection: UInt64, now: Double) throws(ProtocolError) {
        let key = SessionKey(workerId: status.workerId, session: status.session)
        _ = try record(key, from: connection)
        workers[key]!.claimed = WorkerClaims(transitionsSent: status.transitionsSent, episodes: status.episodes, messagesSent: status.messagesSent)
        workers[key]!.finished = status.isFinal
        workers[key]!.lastSeen = now
        acceptedByKind.workerStatus += 1
    }

    /// Checks that an evaluation comes from an evaluator session and answers a request (`requested`).
    public mutating func evaluation(_ report: EvaluationReport, from connection: UInt64, requested: Bool, now: Double) throws(ProtocolError) {
        let key = SessionKey(workerId: report.workerId, session: report.session)
        let index = try record(key, from: connection)
        guard workers.values[index].role == .evaluator else { throw .notAnEvaluator(workerId: report.workerId, session: report.session) }
        guard requested else { throw .unrequestedEvaluation(version: report.publication.version) }
        workers[key]!.lastSeen = now
        workers[key]!.lastAnswerAt = now
        workers[key]!.lastDataAt = now
        acceptedByKind.evaluation += 1
    }

    private func checkVersion(_ version: UInt64, currentVersion: UInt64) throws(ProtocolError) {
        guard version <= currentVersion else {
            throw .outOfRange(field: "weights version", value: "\(version), ahead of the learner's \(currentVersion)")
        }
    }

    // MARK: Sessions

    /// A message from a session that is not its worker id's newest, acted with weights published after
    /// that newest session said hello, means two processes share the id. Only acting proves it: a process
    /// killed and restarted leaves messages queued (in ZeroMQ and the kernel, read seconds later when the
    /// learner is busy) that arrive after the new session's hello, but all were acted before it.
    private mutating func noteIfDuplicate(_ key: SessionKey, actedWith version: UInt64) {
        guard let sessions = sessionsByWorker[key.workerId], sessions.count > 1, let newest = sessions.last, newest != key.session,
              let current = workers[SessionKey(workerId: key.workerId, session: newest)], !current.finished, version > current.helloVersion,
              !duplicateWorkerIds.contains(key.workerId), duplicateWorkerIds.count < maxSessions else { return }
        duplicateWorkerIds.insert(key.workerId)
        let pair = sessions.filter { $0 == key.session || $0 == newest }
        notices.append(.duplicateWorkerId(key.workerId, sessions: pair,
                                          seeds: pair.map { workers[SessionKey(workerId: key.workerId, session: $0)]?.seed ?? 0 }))
    }

    /// Makes room by evicting the session idle longest: one that said goodbye, an actor that delivered no data
    /// for ``evictableAfterSeconds`` (statuses do not count: they cost nothing to send), or an evaluator
    /// silent that long. Returns false when every session is busier than that.
    private mutating func evictOneIdleSession(now: Double) -> Bool {
        func idleSince(_ record: WorkerRecord) -> Double {
            record.finished ? -.infinity : record.role == .actor ? record.lastDataAt : record.lastSeen
        }
        guard let victim = workers.values.filter({ now - idleSince($0) >= Self.evictableAfterSeconds })
            .min(by: { idleSince($0) < idleSince($1) }) else { return false }
        let key = victim.key
        evicted.add(victim)
        workers[key] = nil
        owedAcknowledgement.remove(key)
        sessionsByWorker[victim.workerId]?.removeAll { $0 == victim.session }
        if sessionsByWorker[victim.workerId]?.isEmpty == true { sessionsByWorker[victim.workerId] = nil }
        sessionsOnConnection[victim.connection]?.removeAll { $0 == key }
        if sessionsOnConnection[victim.connection]?.isEmpty == true { sessionsOnConnection[victim.connection] = nil }
        return true
    }

    // MARK: Acknowledgements

    /// The receipt an acknowledgement of `key` with `credit` carries: the last one when nothing changed since it
    /// (no transitions accepted, the same credit), else `fresh`.
    public func receipt(for key: SessionKey, credit: Int, fresh: UInt64) -> UInt64 {
        guard let record = workers[key], let last = record.receipts.last, last.rowsAccepted == record.rowsAccepted, last.credit == credit else {
            return fresh
        }
        return last.receipt
    }

    /// The learner acknowledges `key` (everything accepted so far) with `receipt`, and grants it `credit`:
    /// returns the sequence it expects next, or nil for an unknown session.
    public mutating func acknowledge(_ key: SessionKey, credit: Int, receipt: UInt64 = 0) -> UInt64? {
        guard let index = workers.index(forKey: key) else { return nil }
        owedAcknowledgement.remove(key)
        if receipt != 0, workers.values[index].receipts.last?.receipt != receipt {
            workers.values[index].receipts.append(Receipt(receipt: receipt, rowsAccepted: workers.values[index].rowsAccepted, credit: credit))
            if workers.values[index].receipts.count > Self.receiptsKept { workers.values[index].receipts.removeFirst() }
        }
        return workers.values[index].nextSequence
    }

    /// Ends every session on `connection` (the learner cut it off): they count for nothing any more.
    public mutating func closeSessions(on connection: UInt64) {
        for key in sessionsOnConnection[connection] ?? [] where workers[key] != nil {
            workers[key]!.finished = true
            owedAcknowledgement.remove(key)
        }
    }

    /// Keeps `key` owed an acknowledgement (one that could not be sent now).
    public mutating func stillOwed(_ key: SessionKey) { if workers[key] != nil { owedAcknowledgement.insert(key) } }

    /// An acknowledgement to `key` found no connection to send it on: it takes no share of the credit until it delivers again.
    public mutating func connectionGone(_ key: SessionKey) {
        guard let index = workers.index(forKey: key) else { return }
        workers.values[index].unreachable = true
        owedAcknowledgement.remove(key)
    }

    /// The connection `key` said hello on.
    public func connection(of key: SessionKey) -> UInt64? { workers[key]?.connection }
}
