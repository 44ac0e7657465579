import Specs

/// Constants of the ddpg wire protocol, specified in `docs/PROTOCOL.md`.
public enum WireFormat {
    /// "DDPG" in ASCII: the first four bytes of every message.
    public static let magic: [UInt8] = [0x44, 0x44, 0x50, 0x47]
    /// 2 added worker sessions, the hello's next sequence, the learner's announce, and bounds on every value;
    /// 3 the environment spec in the hello, per-dimension action bounds and evaluation requests in the
    /// weights, and evaluation reports; 4 each transition's discount (n-step returns); 5 the policy head
    /// (deterministic or squashed Gaussian) in the weights' output-activation byte; 6 sessions bound to
    /// their connection (DEALER → ROUTER), acknowledgements and credit addressed to each session instead
    /// of broadcast, the evaluator token in the hello, and evaluation tickets whose nonce reports carry; 7 on-policy
    /// learning: Discrete(n) action spaces in the hello, tanh hidden layers and the categorical and Gaussian heads
    /// in the weights, and segments; 8 the observation normalization weights may carry (flag bit 2).
    public static let version: UInt16 = 8
    public static let headerSize = 12

    /// Limits that keep a hostile message from asking for huge allocations, or
    /// one message from carrying a run far past its length.
    public static let maxTransitionsPerMessage = 4_096
    public static let maxEnvironmentIdLength = EnvironmentSpec.maxIdLength
    public static let maxLayers = 16
    public static let maxLayerWidth = 4_096
    public static let maxDimension = EnvironmentSpec.maxDimension
    /// The largest message a worker may send, whatever its environment: a learner can bound what
    /// peers make it hold before it knows the environment. Wide environments send fewer rows per message
    /// (``maxTransitionsPerMessage(observationSize:actionSize:)``); the widest spec still fits 21.
    public static let maxWorkerMessageBytes = 256 << 10
    /// The largest frame a learner reads before it can decode it: twice the largest message, so that one
    /// somewhat over the limit (a worker that computed it wrongly) is rejected and counted instead of
    /// vanishing in a cut connection; anything larger is cut at its frame header.
    public static let maxReadFrameBytes = 2 * maxWorkerMessageBytes
    /// The largest magnitude accepted for an observation or reward where the
    /// environment declares no bound of its own.
    public static let magnitudeCap: Float = 1e6

    /// Fixed body bytes of each worker → learner kind (before any variable part).
    static let helloFixedBody = 80
    static let transitionsFixedBody = 40
    static let segmentFixedBody = 48
    static let gradientFixedBody = 64
    static let episodeBody = 32
    static let statusBody = 36
    /// Fixed part of an evaluation report; each episode adds 12 bytes.
    static let evaluationFixedBody = 48
    /// Fixed part of a weights message, before the layer sizes.
    static let weightsFixedBody = 64
    static let announceBody = 24
    static let acknowledgementBody = 56

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
        headerSize + transitionsFixedBody + count * (4 * (2 * observationSize + actionSize + 2) + 2)
    }

    /// The most transitions one message may carry for these shapes: ``maxTransitionsPerMessage``,
    /// or fewer where that many rows would not fit in ``maxWorkerMessageBytes``.
    public static func maxTransitionsPerMessage(observationSize: Int, actionSize: Int) -> Int {
        let row = transitionsMessageSize(count: 1, observationSize: observationSize, actionSize: actionSize) - headerSize - transitionsFixedBody
        return max(1, min(maxTransitionsPerMessage, (maxWorkerMessageBytes - headerSize - transitionsFixedBody) / row))
    }

    /// Bytes of a segment of `environments × steps` rows, `truncations` of them truncated and not terminated.
    public static func segmentMessageSize(environments: Int, steps: Int, truncations: Int, observationSize: Int, actionSize: Int) -> Int {
        let rows = environments * steps
        return headerSize + segmentFixedBody + 4 * (rows * (observationSize + actionSize + 2) + (environments + truncations) * observationSize) + 2 * rows
    }

    /// Bytes of a gradient of `parameters` values (both networks').
    public static func gradientMessageSize(parameters: Int) -> Int { headerSize + gradientFixedBody + 4 * parameters }

    /// The most parameters A3C's two networks may have together: their gradient travels in one message.
    public static let maxGradientParameters = (maxWorkerMessageBytes - headerSize - gradientFixedBody) / 4

    /// Bytes of a hello for these shapes and an id of `idLength` bytes.
    static func helloBody(observationSize: Int, actionSize: Int, idLength: Int) -> Int {
        helloFixedBody + 8 * (observationSize + actionSize) + idLength
    }
}

/// The message kinds. Workers send the first seven to the learner; the learner publishes the next three,
/// and addresses acknowledgements to one session's connection.
public enum MessageKind: UInt8, CaseIterable, Sendable {
    case hello = 1
    case transitions = 2
    case episode = 3
    case workerStatus = 4
    case evaluation = 5
    /// An on-policy worker's steps (protocol 7).
    case segment = 6
    /// An A3C worker's gradient (protocol 7).
    case gradient = 7
    case weights = 16
    case shutdown = 17
    case announce = 18
    /// Addressed to one session's connection, not published.
    case acknowledgement = 19

    /// Which socket carries this kind.
    public var direction: MessageDirection {
        rawValue < 16 ? .workerToLearner : .learnerToWorker
    }
}

/// The two directions of the protocol, one per socket.
public enum MessageDirection: Sendable {
    /// Transitions socket: hello, transitions, episode, worker status, evaluation, segment, gradient.
    case workerToLearner
    /// Weights socket: weights, shutdown, announce; and acknowledgements, on the session's own connection.
    case learnerToWorker
}
