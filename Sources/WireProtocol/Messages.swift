/// A worker introduces itself and the environment it runs. The learner accepts
/// nothing else from a worker session before its hello.
public struct Hello: Equatable, Sendable {
    public var workerId: UInt32
    /// Random and non-zero, chosen when the worker process starts: two processes with one worker id differ here.
    public var session: UInt32
    public var observationSize: Int
    public var actionSize: Int
    public var environmentCount: Int
    public var seed: UInt64
    /// The sequence number of the next transitions message this session sends.
    public var nextSequence: UInt64
    public var environmentId: String

    public init(workerId: UInt32, session: UInt32, observationSize: Int, actionSize: Int, environmentCount: Int, seed: UInt64,
                nextSequence: UInt64 = 0, environmentId: String) {
        self.workerId = workerId
        self.session = session
        self.observationSize = observationSize
        self.actionSize = actionSize
        self.environmentCount = environmentCount
        self.seed = seed
        self.nextSequence = nextSequence
        self.environmentId = environmentId
    }
}

/// The fixed part of a transition batch; the arrays stay in the received buffer.
public struct TransitionsHeader: Equatable, Sendable {
    public var workerId: UInt32
    public var session: UInt32
    public var observationSize: Int
    public var actionSize: Int
    /// The session's transitions-message counter, from 0, +1 per message; a gap means messages were lost.
    public var sequence: UInt64
    /// Version of this learner's actor weights the worker acted with (0: none of this learner's weights yet).
    public var weightsVersion: UInt64
    public var count: Int

    public init(workerId: UInt32, session: UInt32, observationSize: Int, actionSize: Int, sequence: UInt64, weightsVersion: UInt64, count: Int) {
        self.workerId = workerId
        self.session = session
        self.observationSize = observationSize
        self.actionSize = actionSize
        self.sequence = sequence
        self.weightsVersion = weightsVersion
        self.count = count
    }
}

/// A validated transition batch, viewing the arrays inside the message it was decoded from.
/// Valid only while that message's bytes are.
public struct TransitionsView {
    public let header: TransitionsHeader
    /// Row-major `count × observationSize` little-endian Float32, possibly unaligned.
    public let observations: UnsafeRawPointer
    public let actions: UnsafeRawPointer
    public let rewards: UnsafeRawPointer
    public let nextObservations: UnsafeRawPointer
    /// One byte per transition, 0 or 1.
    public let terminated: UnsafePointer<UInt8>
    public let truncated: UnsafePointer<UInt8>
}

/// The end of one episode on a worker.
public struct EpisodeReport: Equatable, Sendable {
    public var workerId: UInt32
    public var session: UInt32
    public var length: UInt32
    public var episodeReturn: Double
    /// The weights version of the episode's last step.
    public var weightsVersion: UInt64

    public init(workerId: UInt32, session: UInt32, length: UInt32, episodeReturn: Double, weightsVersion: UInt64) {
        self.workerId = workerId
        self.session = session
        self.length = length
        self.episodeReturn = episodeReturn
        self.weightsVersion = weightsVersion
    }
}

/// A worker's running totals; the final one (`isFinal`) is sent after its last transitions.
/// Its counts are the worker's claims: the learner reports them beside its own and never trusts them for its accounting.
public struct WorkerStatus: Equatable, Sendable {
    public var workerId: UInt32
    public var session: UInt32
    public var isFinal: Bool
    public var transitionsSent: UInt64
    public var episodes: UInt64
    public var messagesSent: UInt64

    public init(workerId: UInt32, session: UInt32, isFinal: Bool, transitionsSent: UInt64, episodes: UInt64, messagesSent: UInt64) {
        self.workerId = workerId
        self.session = session
        self.isFinal = isFinal
        self.transitionsSent = transitionsSent
        self.episodes = episodes
        self.messagesSent = messagesSent
    }
}

/// The actor's shape in a weights message: ReLU hidden layers, tanh output scaled by the bound.
public struct ActorShape: Equatable, Sendable {
    /// Layer widths from input to output: observation size, hidden sizes…, action size.
    public var layerSizes: [Int]
    public var actionBound: Float

    public init(layerSizes: [Int], actionBound: Float) {
        self.layerSizes = layerSizes
        self.actionBound = actionBound
    }

    /// Σ (inputs + 1) · outputs over the dense layers.
    public var parameterCount: Int {
        zip(layerSizes, layerSizes.dropFirst()).reduce(0) { $0 + ($1.0 + 1) * $1.1 }
    }
}

/// A validated weights message, viewing the parameters inside the message it was decoded from.
public struct WeightsView {
    /// Increases with every publication of one learner.
    public let version: UInt64
    /// Random, chosen when the learner starts: a new id means a new learner, whose versions start again.
    public let learnerId: UInt64
    /// When the learner published it, in nanoseconds since the Unix epoch.
    public let publishedAtNanoseconds: UInt64
    public let shape: ActorShape
    /// `shape.parameterCount` little-endian Float32, layer by layer: weights (inputs × outputs, row-major), then biases.
    public let parameters: UnsafeRawPointer
}

/// The learner says it is there, and how much of each worker's data it has consumed.
/// A worker that has not said hello to this learner id does so before its next message.
public struct Announce: Equatable, Sendable {
    /// What the learner has consumed of one worker session: the sequence number of the
    /// transitions message it expects next.
    public struct Acknowledgement: Equatable, Sendable {
        public var workerId: UInt32
        public var session: UInt32
        public var nextSequence: UInt64

        public init(workerId: UInt32, session: UInt32, nextSequence: UInt64) {
            self.workerId = workerId
            self.session = session
            self.nextSequence = nextSequence
        }
    }

    public var learnerId: UInt64
    /// The newest weights version this learner has published (0: none yet).
    public var weightsVersion: UInt64
    /// The most transitions this learner accepts in one message.
    public var maxTransitionsPerMessage: Int
    /// The most transitions a worker should have sent and not yet seen acknowledged (0: no limit).
    /// Data beyond it would only wait in queues while the policy that produced it ages.
    public var credit: Int
    /// The sessions the learner heard from recently.
    public var acknowledgements: [Acknowledgement]

    public init(learnerId: UInt64, weightsVersion: UInt64, maxTransitionsPerMessage: Int = WireFormat.maxTransitionsPerMessage,
                credit: Int = 0, acknowledgements: [Acknowledgement] = []) {
        self.learnerId = learnerId
        self.weightsVersion = weightsVersion
        self.maxTransitionsPerMessage = maxTransitionsPerMessage
        self.credit = credit
        self.acknowledgements = acknowledgements
    }
}

/// Everything a decoder can return.
public enum DecodedMessage {
    case hello(Hello)
    case transitions(TransitionsView)
    case episode(EpisodeReport)
    case workerStatus(WorkerStatus)
    case weights(WeightsView)
    case shutdown
    case announce(Announce)

    public var kind: MessageKind {
        switch self {
        case .hello: .hello
        case .transitions: .transitions
        case .episode: .episode
        case .workerStatus: .workerStatus
        case .weights: .weights
        case .shutdown: .shutdown
        case .announce: .announce
        }
    }
}
