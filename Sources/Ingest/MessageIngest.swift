import WireProtocol

/// The learner's side of the transitions socket without the socket: each
/// message is decoded against the environment's shapes and bounds, checked
/// against its worker session, and recorded in the ledger; or rejected, counted
/// and recorded as rejected. Pure: no replay, no clock, no I/O, so it can be
/// fuzzed and tested in memory.
public struct MessageIngest: Sendable {
    public let decoder: MessageDecoder
    public var ledger: IngestLedger

    public init(expected: ExpectedShapes, maxSessions: Int = IngestLedger.defaultMaxSessions) {
        decoder = MessageDecoder(expected: expected, accepting: .workerToLearner)
        ledger = IngestLedger(maxSessions: maxSessions)
    }

    /// What one message did.
    public enum Outcome {
        /// Accepted transitions: insert `view` into replay (it points into the message's bytes). `lag` is nil for version 0.
        case transitions(TransitionsView, lag: Int64?)
        /// `isNew`: a session the learner had not heard from.
        case hello(Hello, isNew: Bool)
        case episode(EpisodeReport)
        case workerStatus(WorkerStatus)
        /// Rejected and counted; nothing else changed. `claimedTransitions` is what its header claimed, if readable.
        case rejected(ProtocolError, claimedTransitions: Int?)
    }

    /// Handles one message from a worker while the learner publishes `currentVersion`.
    public mutating func handle(_ bytes: UnsafeRawBufferPointer, currentVersion: UInt64, now: Double) -> Outcome {
        do throws(ProtocolError) {
            let message = try decoder.decode(bytes)
            switch message {
            case let .transitions(view):
                let lag = try ledger.transitions(view.header, currentVersion: currentVersion, now: now)
                return .transitions(view, lag: lag)
            case let .hello(hello):
                let isNew = try ledger.hello(hello, now: now)
                return .hello(hello, isNew: isNew)
            case let .episode(report):
                try ledger.episode(report, currentVersion: currentVersion, now: now)
                return .episode(report)
            case let .workerStatus(status):
                try ledger.status(status, now: now)
                return .workerStatus(status)
            case .weights, .shutdown, .announce:
                // The decoder accepts worker → learner kinds only; kept for exhaustiveness.
                throw .unexpectedKind(message.kind.rawValue)
            }
        } catch {
            let claimed = MessageDecoder.claimedTransitionCount(bytes)
            ledger.reject(error, claimedTransitions: claimed)
            return .rejected(error, claimedTransitions: claimed)
        }
    }
}
