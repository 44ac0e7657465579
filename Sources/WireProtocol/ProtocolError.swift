/// Why a message was rejected. Every decode failure is one of these, never a
/// crash; the last five come from the learner's accounting of a worker session
/// (a well-formed message that does not fit what that session said before).
public enum ProtocolError: Error, Equatable, CustomStringConvertible, Sendable {
    case tooShort(needed: Int, got: Int)
    case badMagic
    case unsupportedVersion(UInt16)
    case unknownKind(UInt8)
    case reservedBitsSet(field: String)
    case lengthMismatch(field: String, expected: Int, actual: Int)
    case dimensionMismatch(field: String, expected: Int, actual: Int)
    case outOfRange(field: String, value: String)
    case nonFinite(field: String)
    /// A hello announcing another environment than the learner's; both specs, described, and the first field that differs.
    case specMismatch(expected: String, announced: String, difference: String? = nil)
    /// A hello whose spec a learner that is still learning its environment will not adopt (over the operator's limits, or too large for memory).
    case specNotAllowed(String)
    case unexpectedKind(UInt8)
    /// Transitions for an on-policy learner, or segments for an off-policy one (protocol 7).
    case wrongDataKind(sent: MessageKind, accepted: MessageKind)
    /// A3C: a gradient computed at weights more than `--max-staleness` versions behind the newest.
    case staleGradient(version: UInt64, newest: UInt64, limit: Int)
    case noHello(workerId: UInt32, session: UInt32)
    case badSequence(workerId: UInt32, expected: UInt64, got: UInt64)
    case tooManyWorkers(limit: Int)
    /// An evaluation report from a session that did not say hello as an evaluator.
    case notAnEvaluator(workerId: UInt32, session: UInt32)
    /// An evaluation of weights the learner did not publish with an evaluation request (or without its ticket's nonce).
    case unrequestedEvaluation(version: UInt64)
    /// A message for a session from a connection other than the one it said hello on, or a hello that would
    /// rewind its sequence, change its role, or open more sessions on one connection than allowed.
    case sessionConflict(String)
    /// A hello as an evaluator without the evaluator key or token this learner requires.
    case unauthorizedEvaluator(workerId: UInt32, session: UInt32)
    /// Transitions beyond the session's credit (and one message more): the sender ignores its credit.
    case overCredit(workerId: UInt32, session: UInt32, inFlight: Int, limit: Int)
    /// A new session from where (a CURVE key, or an address without CURVE) a connection was cut for ignoring its credit, too soon after.
    case coolingDown(workerId: UInt32, session: UInt32, origin: String, secondsLeft: Double)
    /// A new session from an origin that opened its allowance of new sessions (as many as the learner takes connections,
    /// then one per `refillSeconds`): each new session gets a first credit, so opening them without end gets around it.
    case sessionRate(workerId: UInt32, session: UInt32, origin: String, burst: Int, refillSeconds: Double)

    /// A short, stable label for metrics (`messages_rejected{reason=...}`).
    public var reason: String {
        switch self {
        case .tooShort: "too_short"
        case .badMagic: "bad_magic"
        case .unsupportedVersion: "unsupported_version"
        case .unknownKind: "unknown_kind"
        case .reservedBitsSet: "reserved_bits"
        case .lengthMismatch: "length_mismatch"
        case .dimensionMismatch: "dimension_mismatch"
        case .outOfRange: "out_of_range"
        case .nonFinite: "non_finite"
        case .specMismatch: "wrong_environment"
        case .specNotAllowed: "spec_not_allowed"
        case .unexpectedKind: "unexpected_kind"
        case .wrongDataKind: "wrong_data_kind"
        case .staleGradient: "stale_gradient"
        case .noHello: "no_hello"
        case .badSequence: "bad_sequence"
        case .tooManyWorkers: "too_many_workers"
        case .notAnEvaluator: "not_an_evaluator"
        case .unrequestedEvaluation: "unrequested_evaluation"
        case .sessionConflict: "session_conflict"
        case .unauthorizedEvaluator: "unauthorized_evaluator"
        case .overCredit: "over_credit"
        case .coolingDown: "cooling_down"
        case .sessionRate: "session_rate"
        }
    }

    /// Every reason label, for pre-registering counters.
    public static let allReasons = [
        "too_short", "bad_magic", "unsupported_version", "unknown_kind", "reserved_bits", "length_mismatch",
        "dimension_mismatch", "out_of_range", "non_finite", "wrong_environment", "spec_not_allowed", "unexpected_kind", "wrong_data_kind", "stale_gradient",
        "no_hello", "bad_sequence", "too_many_workers", "not_an_evaluator", "unrequested_evaluation",
        "session_conflict", "unauthorized_evaluator", "over_credit", "cooling_down",
        "session_rate",
    ]

    public var description: String {
        switch self {
        case let .tooShort(needed, got): "message too short: \(got) bytes, need at least \(needed)"
        case .badMagic: "bad magic: not a ddpg message"
        case let .unsupportedVersion(v):
            "unsupported protocol version \(v): this build speaks version \(WireFormat.version) only; run the same ddpg release (docs/PROTOCOL.md) on both sides"
        case let .unknownKind(k): "unknown message kind \(k)"
        case let .reservedBitsSet(field): "reserved field \(field) is not zero"
        case let .lengthMismatch(field, expected, actual): "\(field): expected \(expected) bytes, got \(actual)"
        case let .dimensionMismatch(field, expected, actual): "\(field): expected \(expected), got \(actual)"
        case let .outOfRange(field, value): "\(field) out of range: \(value)"
        case let .nonFinite(field): "\(field) contains NaN or infinity"
        case let .specMismatch(expected, announced, difference):
            "the worker runs \(announced), but the learner trains on \(expected)\(difference.map { "; first difference: \($0)" } ?? "")"
        case let .specNotAllowed(why): "the learner will not learn this environment from a hello: \(why)"
        case let .unexpectedKind(k): "message kind \(k) is not accepted on this socket"
        case let .wrongDataKind(sent, accepted):
            "\(Self.dataName(sent)) for a learner that takes \(Self.dataName(accepted)): every worker of a run acts for its --algorithm"
        case let .staleGradient(version, newest, limit):
            "a gradient computed at weights v\(version), \(newest &- version) versions behind the newest (v\(newest)); --max-staleness is \(limit)"
        case let .noHello(workerId, session):
            "worker \(workerId) session \(String(session, radix: 16)) sent this before its hello (or after the learner stopped tracking it)"
        case let .badSequence(workerId, expected, got):
            "worker \(workerId): sequence \(got) where \(expected) was expected (a replay, a wrap-around or an implausible jump)"
        case let .tooManyWorkers(limit): "already tracking \(limit) worker sessions"
        case let .notAnEvaluator(workerId, session):
            "worker \(workerId) session \(String(session, radix: 16)) sent an evaluation but did not say hello as an evaluator"
        case let .unrequestedEvaluation(version):
            "an evaluation of weights version \(version), which the learner did not ask this evaluator to evaluate (no request, or not its ticket's nonce)"
        case let .sessionConflict(why): why
        case let .unauthorizedEvaluator(workerId, session):
            "worker \(workerId) session \(String(session, radix: 16)) said hello as an evaluator without an evaluator key (--evaluator-keys) or token (--evaluator-token)"
        case let .overCredit(workerId, session, inFlight, limit):
            "worker \(workerId) session \(String(session, radix: 16)) had \(inFlight) transitions unacknowledged, at four times its credit and one step of its environments more (\(limit)): it ignores its credit"
        case let .coolingDown(workerId, session, origin, secondsLeft):
            "worker \(workerId) session \(String(session, radix: 16)) said hello from \(origin), whose connection was cut for ignoring its credit: no new session from there for \(Int(secondsLeft.rounded(.up))) s more"
        case let .sessionRate(workerId, session, origin, burst, refillSeconds):
            "worker \(workerId) session \(String(session, radix: 16)) said hello from \(origin), which opened its new sessions too fast (\(burst) at once, then one per \(Int(refillSeconds)) s)"
        }
    }

    /// A data kind as the learners that take it know it.
    static func dataName(_ kind: MessageKind) -> String {
        switch kind {
        case .segment: "segments (a2c's workers)"
        case .gradient: "gradients (a3c's workers)"
        default: "transitions (ddpg, td3 and sac's workers)"
        }
    }
}
