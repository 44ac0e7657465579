/// Constants of the ddpg wire protocol, specified in `docs/PROTOCOL.md`.
public enum WireFormat {
    /// "DDPG" in ASCII: the first four bytes of every message.
    public static let magic: [UInt8] = [0x44, 0x44, 0x50, 0x47]
    /// 2 added worker sessions, the hello's next sequence, the learner's announce, and bounds on every value.
    public static let version: UInt16 = 2
    public static let headerSize = 12

    /// Limits that keep a hostile message from asking for huge allocations, or
    /// one message from carrying a run far past its length.
    public static let maxTransitionsPerMessage = 4_096
    public static let maxEnvironmentIdLength = 64
    public static let maxLayers = 16
    public static let maxLayerWidth = 4_096
    public static let maxDimension = 1_024
    /// The largest magnitude accepted for an observation or reward where the
    /// environment declares no bound of its own.
    public static let magnitudeCap: Float = 1e6

    /// Fixed body bytes of each worker → learner kind (before any variable part).
    static let helloFixedBody = 34
    static let transitionsFixedBody = 32
    static let episodeBody = 32
    static let statusBody = 36
    /// Fixed part of an announce; each acknowledgement adds 16 bytes.
    static let announceFixedBody = 28
    public static let maxAcknowledgements = 1_024

    /// The kind a message's header names, without decoding or validating the rest; nil unless it
    /// starts with the magic, this version and a known kind. For routing and tools, never for trust.
    public static func kind(of bytes: UnsafeRawBufferPointer) -> MessageKind? {
        guard bytes.count >= headerSize, bytes.prefix(4).elementsEqual(magic),
              UInt16(bytes[4]) | UInt16(bytes[5]) << 8 == version else { return nil }
        return MessageKind(rawValue: bytes[kindOffset])
    }

    /// Where the header keeps the kind: after the magic and the version.
    static let kindOffset = 6

    /// Bytes of a transitions message of `count` rows.
    public static func transitionsMessageSize(count: Int, observationSize: Int, actionSize: Int) -> Int {
        headerSize + transitionsFixedBody + count * (4 * (2 * observationSize + actionSize + 1) + 2)
    }

    /// The largest message a worker may send for these shapes: a full transitions batch,
    /// or a hello, whichever is larger. The learner refuses larger frames at the socket.
    public static func maxWorkerMessageSize(observationSize: Int, actionSize: Int) -> Int {
        max(transitionsMessageSize(count: maxTransitionsPerMessage, observationSize: observationSize, actionSize: actionSize),
            headerSize + helloFixedBody + maxEnvironmentIdLength)
    }
}

/// The message kinds. Workers send the first four to the learner; the learner publishes the last three.
public enum MessageKind: UInt8, CaseIterable, Sendable {
    case hello = 1
    case transitions = 2
    case episode = 3
    case workerStatus = 4
    case weights = 16
    case shutdown = 17
    case announce = 18

    /// Which socket carries this kind.
    public var direction: MessageDirection {
        rawValue < 16 ? .workerToLearner : .learnerToWorker
    }
}

/// The two directions of the protocol, one per socket.
public enum MessageDirection: Sendable {
    /// Transitions socket: hello, transitions, episode, worker status.
    case workerToLearner
    /// Weights socket: weights, shutdown, announce.
    case learnerToWorker
}
