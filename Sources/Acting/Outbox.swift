import Agents
import WireProtocol

/// What a worker has to say and the transport has not taken yet, in order.
///
/// Messages are kept as what they say, not as bytes, and encoded when they go: a status then
/// claims exactly what was sent before it, and a worker that greets a restarted learner can send
/// its hello first and relabel what it had not sent as acted without that learner's weights.
struct Outbox {
    enum Message {
        case hello
        /// Rows acted with `weightsVersion`, the `sequence`-th transitions message of the session.
        /// `receipt`: the acknowledgement the worker had read last when it decided to send these rows (what its
        /// credit counted from then), not when they go out: the learner checks them against that one.
        case transitions(TransitionBuffer, sequence: UInt64, weightsVersion: UInt64, receipt: UInt64)
        /// An on-policy segment: every environment's steps acted with `weightsVersion`, numbered as transitions are.
        case segment(Rollout, sequence: UInt64, weightsVersion: UInt64, receipt: UInt64)
        /// An A3C gradient: both networks' values, and the header that numbers it as a data message.
        case gradient([Float], GradientHeader)
        case episode(EpisodeReport)
        case status(final: Bool)
        case evaluation(EvaluationReport)

        var transitions: Int {
            switch self {
            case let .transitions(rows, _, _, _): rows.count
            case let .segment(rollout, _, _, _): rollout.rows
            case let .gradient(_, header): header.rows
            default: 0
            }
        }

        /// The data message's sequence number, for a transitions message or a segment.
        var sequence: UInt64? {
            switch self {
            case let .transitions(_, sequence, _, _), let .segment(_, sequence, _, _): sequence
            case let .gradient(_, header): header.sequence
            default: nil
            }
        }
    }

    private var messages: [Message] = []
    private var head = 0
    /// The head's bytes, once encoded (a send the transport refused is tried again with them).
    var encodedHead: [UInt8]?
    /// Transitions in the queued messages.
    private(set) var transitionsQueued = 0

    var isEmpty: Bool { head == messages.count }
    var count: Int { messages.count - head }
    var first: Message? { isEmpty ? nil : messages[head] }

    mutating func append(_ message: Message) {
        messages.append(message)
        transitionsQueued += message.transitions
    }

    mutating func removeFirst() {
        transitionsQueued -= messages[head].transitions
        head += 1
        encodedHead = nil
        if head == messages.count {
            messages.removeAll(keepingCapacity: true)
            head = 0
        }
    }

    /// For a new learner: its hello goes first; what was queued for the previous one is relabeled
    /// as acted without this learner's weights (version 0), and what answered the previous one
    /// alone (an earlier hello, an evaluation report) is dropped.
    mutating func greet() {
        let queued = messages[head...].compactMap { message -> Message? in
            switch message {
            case .hello, .evaluation:
                return nil
            case let .transitions(rows, sequence, _, _):
                return .transitions(rows, sequence: sequence, weightsVersion: 0, receipt: 0)
            case let .segment(rollout, sequence, _, _):
                // Acted with another learner's weights: the new one counts it late, and learns nothing from it.
                return .segment(rollout, sequence: sequence, weightsVersion: 0, receipt: 0)
            case .gradient:
                // Computed at another learner's weights: nothing the new one could apply.
                return nil
            case var .episode(report):
                report.weightsVersion = 0
                return .episode(report)
            case .status:
                return message
            }
        }
        messages = [.hello] + queued
        head = 0
        encodedHead = nil
    }

    /// The sequence number of the oldest transitions message queued, if any.
    var oldestSequence: UInt64? {
        messages[head...].lazy.compactMap(\.sequence).first
    }

    /// The transitions messages queued, oldest first, as (sequence, rows).
    var queuedTransitions: [(sequence: UInt64, count: Int)] {
        messages[head...].compactMap { message in message.sequence.map { ($0, message.transitions) } }
    }
}
