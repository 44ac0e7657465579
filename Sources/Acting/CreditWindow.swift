/// The learner's flow control as a worker keeps it: the credit the greeted learner announced, the
/// transitions messages sent and not yet acknowledged, and when the learner last consumed any of them.
///
/// A worker whose unacknowledged transitions reach the credit waits. It waits as long as the learner
/// keeps consuming its data, however slowly: a learner that trains slowly acknowledges slowly, and a
/// worker that sent more on a fixed timeout would fill the queues with data acted by an aging policy
/// (on a learner at ~360 updates/s, a 100 ms timeout let HalfCheetah's workers run 4,000 updates
/// ahead). Only when the learner has consumed nothing of this worker's for ``stallSeconds`` does the
/// worker send anyway: a message lost with a dropped connection, or one the learner rejected, is
/// never acknowledged itself, and only a newer message's acknowledgement covers it.
struct CreditWindow: Sendable {
    static let stallSeconds = 1.0

    /// Transitions this worker may have sent and not yet seen acknowledged (0: no limit).
    private(set) var credit: Int
    /// The sequence number of the transitions message the learner expects next from this session.
    private(set) var acknowledgedSequence: UInt64 = 0
    /// Times the worker stopped waiting because the learner had consumed nothing of its for ``stallSeconds``.
    private(set) var stalls = 0
    private var unacknowledged: [(sequence: UInt64, count: Int)] = []
    private var lastProgressAt: Double

    /// Until a learner announces its credit, `initialCredit` (one message's worth).
    init(initialCredit: Int, now: Double = 0) {
        credit = initialCredit
        lastProgressAt = now
    }

    var unacknowledgedTransitions: Int { unacknowledged.reduce(0) { $0 + $1.count } }
    /// The oldest unacknowledged message's sequence number, if any.
    var oldestUnacknowledged: UInt64? { unacknowledged.first?.sequence }

    /// Whether `buffered` more transitions would reach the credit.
    func isExhausted(buffered: Int = 0) -> Bool {
        credit > 0 && unacknowledgedTransitions + buffered >= credit
    }

    /// Records a transitions message sent (kept only while the learner paces).
    mutating func sent(sequence: UInt64, count: Int) {
        if credit > 0 { unacknowledged.append((sequence, count)) }
    }

    /// Takes an announcement of the greeted learner: its credit, and this session's next sequence if listed.
    mutating func announced(credit: Int, nextSequence: UInt64?, now: Double) {
        self.credit = credit
        guard let nextSequence, nextSequence > acknowledgedSequence else { return }
        acknowledgedSequence = nextSequence
        lastProgressAt = now
        unacknowledged.removeAll { $0.sequence < nextSequence }
    }

    /// A new learner: nothing the previous one had not consumed holds this worker back (`keepInFlight`:
    /// the first learner, which has what was sent before its announcement, and will acknowledge it).
    mutating func greeted(credit: Int, now: Double, keepInFlight: Bool = false) {
        self.credit = credit
        if !keepInFlight { unacknowledged.removeAll() }
        lastProgressAt = now
    }

    /// Whether the learner has consumed nothing of this worker's for ``stallSeconds``, counting from
    /// `waitingSince` at the earliest (time spent acting, not waiting, does not count).
    func isStalled(now: Double, waitingSince: Double) -> Bool {
        now - max(waitingSince, lastProgressAt) >= Self.stallSeconds
    }

    /// Stops waiting for what is unacknowledged; the next message's acknowledgement will cover it.
    mutating func giveUp(now: Double) {
        unacknowledged.removeAll()
        lastProgressAt = now
        stalls += 1
    }
}
