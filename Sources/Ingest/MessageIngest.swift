import WireProtocol

/// The learner's side of the transitions socket without the socket: each
/// message is decoded against the environment's shapes and bounds, checked
/// against its worker session, and recorded in the ledger; or rejected, counted
/// and recorded as rejected. Pure: no replay, no clock, no I/O, so it can be
/// fuzzed and tested in memory.
public struct MessageIngest: Sendable {
    public let decoder: MessageDecoder
    public var ledger: IngestLedger
    /// The publications the learner asked evaluators to evaluate: an evaluation report is accepted only for one of these.
    public private(set) var requestedEvaluations = RequestedEvaluations()
    /// Set once the run stops: transitions are still checked and counted, apart, and never trained on.
    public var afterStop = false

    /// Who may evaluate.
    public var evaluators: EvaluatorAuthorization

    public init(expected: ExpectedShapes, maxSessions: Int = IngestLedger.defaultMaxSessions, sessionBurst: Int = 64,
                evaluators: EvaluatorAuthorization = .none) {
        decoder = MessageDecoder(expected: expected, accepting: .workerToLearner)
        ledger = IngestLedger(maxSessions: maxSessions, sessionBurst: sessionBurst, creditSlack: expected.maxTransitionsPerMessage, nStep: expected.nStep)
        self.evaluators = evaluators
    }

    /// Remembers that `publication` went out carrying `request`, whose ticket has `nonce`.
    public mutating func requested(_ request: EvaluationRequest, nonce: UInt64, of publication: Publication, wallSeconds: Double, at now: Double) {
        requestedEvaluations.insert(RequestedEvaluation(publication: publication, request: request, nonce: nonce, wallSeconds: wallSeconds,
                                                        publishedAt: now))
    }

    /// What one message did.
    public enum Outcome {
        /// Accepted transitions: insert `view` into replay (it points into the message's bytes). `lag` is nil for version 0.
        case transitions(TransitionsView, lag: Int64?)
        /// An accepted segment: hand `view` to the on-policy loop (it points into the message's bytes).
        case segment(SegmentView, lag: Int64?)
        /// An accepted gradient (A3C), within `--max-staleness` of the newest weights: apply `view` (it points into the message).
        case gradient(GradientView, lag: Int64?)
        /// Valid transitions (or a segment's rows) that arrived after the run stopped: counted in
        /// ``IngestLedger/transitionsAfterStop``, not to be trained on.
        case transitionsAfterStop(TransitionsHeader)
        /// `isNew`: a session the learner had not heard from.
        case hello(Hello, isNew: Bool)
        case episode(EpisodeReport)
        case workerStatus(WorkerStatus)
        /// From a session that said hello as an evaluator; the learner still matches it to a request it made.
        case evaluation(EvaluationReport)
        /// Rejected and counted; nothing else changed. `claimedTransitions` is what its header claimed, if readable.
        case rejected(ProtocolError, claimedTransitions: Int?)
    }

    /// Handles one message from a worker on `connection` (authenticated as `key`, under CURVE; from `address`) while
    /// the learner publishes `currentVersion`. A new session may send `initialCredit` before its first acknowledgement.
    public mutating func handle(_ bytes: UnsafeRawBufferPointer, connection: UInt64, key: @autoclosure () -> String?,
                                address: @autoclosure () -> String? = nil, currentVersion: UInt64, initialCredit: Int = 0, now: Double) -> Outcome {
        do throws(ProtocolError) {
            // A session's data from another connection is refused before its arrays are read: a flood of it costs a lookup.
            if let claimed = MessageDecoder.claimedSession(bytes), WireFormat.kind(of: bytes) == decoder.expected.dataKind {
                try ledger.checkConnection(of: SessionKey(workerId: claimed.workerId, session: claimed.session), is: connection)
            }
            let message = try decoder.decode(bytes)
            switch message {
            case let .transitions(view):
                let lag = try ledger.transitions(view.header, from: connection, currentVersion: currentVersion, afterStop: afterStop, now: now)
                return afterStop ? .transitionsAfterStop(view.header) : .transitions(view, lag: lag)
            case let .segment(view):
                // A segment's rows are accounted as transitions are: one sequence, one credit, one lag per session.
                let header = view.header.transitionsHeader
                let lag = try ledger.transitions(header, from: connection, currentVersion: currentVersion, afterStop: afterStop, now: now)
                return afterStop ? .transitionsAfterStop(header) : .segment(view, lag: lag)
            case let .gradient(view):
                let limit = decoder.expected.gradients?.maxStaleness ?? 0
                // Before the ledger: a stale gradient is a rejection, never rows learned from.
                if view.header.weightsVersion <= currentVersion, currentVersion - view.header.weightsVersion > UInt64(limit) {
                    throw .staleGradient(version: view.header.weightsVersion, newest: currentVersion, limit: limit)
                }
                let header = view.header.transitionsHeader(observationSize: decoder.expected.observationSize, actionSize: decoder.expected.actionSize)
                let lag = try ledger.transitions(header, from: connection, currentVersion: currentVersion, afterStop: afterStop, now: now)
                return afterStop ? .transitionsAfterStop(header) : .gradient(view, lag: lag)
            case let .hello(hello):
                let peerKey = key()
                let isNew = try ledger.hello(hello, connection: connection, key: peerKey, address: address(),
                                             authorizedEvaluator: evaluators.allows(hello, key: peerKey),
                                             initialCredit: initialCredit, currentVersion: currentVersion, now: now)
                return .hello(hello, isNew: isNew)
            case let .episode(report):
                try ledger.episode(report, from: connection, currentVersion: currentVersion, now: now)
                return .episode(report)
            case let .workerStatus(status):
                try ledger.status(status, from: connection, now: now)
                return .workerStatus(status)
            case let .evaluation(report):
                try ledger.evaluation(report, from: connection, requested: requestedEvaluations.matches(report), now: now)
                return .evaluation(report)
            case .weights, .shutdown, .announce, .acknowledgement:
                // The decoder accepts worker → learner kinds only; kept for exhaustiveness.
                throw .unexpectedKind(message.kind.rawValue)
            }
        } catch {
            let claimed = MessageDecoder.claimedTransitionCount(bytes)
            ledger.reject(error, claimedTransitions: claimed,
                          claimedSession: MessageDecoder.claimedSession(bytes).map { SessionKey(workerId: $0.workerId, session: $0.session) })
            return .rejected(error, claimedTransitions: claimed)
        }
    }
}

/// Who may say hello as an evaluator: under CURVE, a key in `--evaluator-keys`; with a token
/// (`--evaluator-token`, or the one `launch` gives its evaluators), a hello carrying it. Nobody else.
public struct EvaluatorAuthorization: Sendable {
    public var keys: Set<String>?
    public var token: EvaluatorToken?

    public init(keys: Set<String>? = nil, token: EvaluatorToken? = nil) {
        self.keys = keys
        self.token = token
    }

    public static let none = EvaluatorAuthorization()

    /// Neither keys nor a token: no evaluator may join.
    public var admitsNobody: Bool { (keys?.isEmpty ?? true) && token == nil }

    /// Whether `hello`, from a connection authenticated as `key` (nil without CURVE), may be an evaluator's.
    public func allows(_ hello: Hello, key: String?) -> Bool {
        if let keys, let key, keys.contains(key) { return true }
        if let token, token.matches(hello.token) { return true }
        return false
    }
}

/// A publication that carried an evaluation request, and when it went out.
public struct RequestedEvaluation: Sendable, Equatable {
    public var publication: Publication
    public var request: EvaluationRequest
    /// The request's ticket's nonce, which only the evaluators it was addressed to learned.
    public var nonce: UInt64
    /// The run's training seconds at publication: the time axis of evaluations.
    public var wallSeconds: Double
    /// The learner's clock at publication, for the evaluation's delay.
    public var publishedAt: Double
}

/// The newest publications that carried evaluation requests, by version; bounded, so an
/// evaluator far behind finds its request forgotten (and its report rejected) rather than memory growing.
/// Every publication while a request is open carries it (one every 25 updates by default), so the
/// bound is wide: 4,096 entries of 80 bytes, an evaluation of up to a minute at 1,600 updates/s.
public struct RequestedEvaluations: Sendable {
    public static let capacity = 4_096
    private var byVersion: [UInt64: RequestedEvaluation] = [:]
    /// The versions held in the order they were published, oldest first from `oldest` (versions only grow).
    /// Evicting from the front costs O(1), where finding the smallest key scanned all 4,096 at every publication
    /// once full (a request stays open for as long as no evaluator answers it).
    private var order: [UInt64] = []
    private var oldest = 0

    public init() {}

    public subscript(version: UInt64) -> RequestedEvaluation? { byVersion[version] }

    public var isEmpty: Bool { byVersion.isEmpty }

    /// The newest publication that carried a request.
    public var newest: RequestedEvaluation? { order.last.flatMap { byVersion[$0] } }

    mutating func insert(_ requested: RequestedEvaluation) {
        let version = requested.publication.version
        if byVersion.updateValue(requested, forKey: version) == nil { order.append(version) }
        while byVersion.count > Self.capacity {
            byVersion[order[oldest]] = nil
            oldest += 1
        }
        // Dropping the evicted prefix once it is as long as what is held keeps the array within twice the capacity.
        if oldest >= Self.capacity {
            order.removeFirst(oldest)
            oldest = 0
        }
    }

    /// Whether `report` answers a request exactly: the publication it names, that request's episode count and
    /// finality, and its ticket's nonce.
    func matches(_ report: EvaluationReport) -> Bool {
        guard let requested = byVersion[report.publication.version] else { return false }
        return requested.publication == report.publication && requested.request.episodes == report.returns.count
            && requested.request.isFinal == report.isFinal && requested.nonce == report.nonce
    }
}
