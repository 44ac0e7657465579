import Specs

/// What a worker process does for the learner.
public enum WorkerRole: UInt8, Sendable, Codable {
    /// Acts with exploration noise and sends transitions.
    case actor = 0
    /// Plays deterministic evaluation episodes when the learner asks, and reports their returns.
    case evaluator = 1

    public var name: String { self == .actor ? "actor" : "evaluator" }
}

/// What an evaluator shows to be let evaluate when the learner has no CURVE keys to tell it by:
/// 32 bytes the operator gave the learner and its evaluators out of band (`--evaluator-token`, or
/// `launch`'s own). All zeros: none.
public struct EvaluatorToken: Equatable, Sendable {
    public static let byteCount = 32
    public static let none = EvaluatorToken(bytes: [UInt8](repeating: 0, count: byteCount))!
    public let bytes: [UInt8]

    /// Exactly 32 bytes, or nil.
    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.byteCount else { return nil }
        self.bytes = bytes
    }

    /// A secret of 1 to 32 UTF-8 bytes, zero-padded; nil when empty or longer.
    public init?(secret: String) {
        let utf8 = Array(secret.utf8)
        guard (1...Self.byteCount).contains(utf8.count) else { return nil }
        bytes = utf8 + [UInt8](repeating: 0, count: Self.byteCount - utf8.count)
    }

    public var isNone: Bool { bytes.allSatisfy { $0 == 0 } }

    /// Compares every byte, whatever differs first, so that the time taken tells a peer nothing.
    public func matches(_ other: EvaluatorToken) -> Bool {
        zip(bytes, other.bytes).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0 && !isNone
    }
}

/// A worker introduces itself and the environment it runs. The learner accepts
/// nothing else from a worker session before its hello.
public struct Hello: Equatable, Sendable {
    public var workerId: UInt32
    /// Random and non-zero, chosen when the worker process starts: two processes with one worker id differ here.
    public var session: UInt32
    public var role: WorkerRole
    public var environmentCount: Int
    public var seed: UInt64
    /// The sequence number of the next transitions message this session sends.
    public var nextSequence: UInt64
    /// The environment's spaces and limits, which the learner builds its networks and checks from.
    public var spec: EnvironmentSpec
    /// An evaluator's token (protocol 6); ``EvaluatorToken/none`` for an actor, or under CURVE.
    public var token: EvaluatorToken

    public init(workerId: UInt32, session: UInt32, role: WorkerRole = .actor, environmentCount: Int, seed: UInt64,
                nextSequence: UInt64 = 0, spec: EnvironmentSpec, token: EvaluatorToken = .none) {
        self.workerId = workerId
        self.session = session
        self.role = role
        self.environmentCount = environmentCount
        self.seed = seed
        self.nextSequence = nextSequence
        self.spec = spec
        self.token = token
    }

    public var observationSize: Int { spec.observationSize }
    public var actionSize: Int { spec.actionSize }
    public var environmentId: String { spec.id }
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
    /// The receipt of the newest acknowledgement this session has read from this learner (0: none yet), protocol 6:
    /// proof that it saw what the learner consumed, which its credit counts from.
    public var receipt: UInt64

    public init(workerId: UInt32, session: UInt32, observationSize: Int, actionSize: Int, sequence: UInt64, weightsVersion: UInt64, count: Int,
                receipt: UInt64 = 0) {
        self.workerId = workerId
        self.session = session
        self.observationSize = observationSize
        self.actionSize = actionSize
        self.sequence = sequence
        self.weightsVersion = weightsVersion
        self.count = count
        self.receipt = receipt
    }
}

/// The fixed part of a segment (protocol 7): `environments` environments' `steps` consecutive steps, acted
/// with one weights version by an on-policy worker.
public struct SegmentHeader: Equatable, Sendable {
    public var workerId: UInt32
    public var session: UInt32
    public var observationSize: Int
    public var actionSize: Int
    public var environments: Int
    public var steps: Int
    /// The session's data-message counter, shared with transitions messages.
    public var sequence: UInt64
    /// The weights version every step was acted with: an on-policy learner learns only from its current one.
    public var weightsVersion: UInt64
    /// Steps truncated by the time limit and not terminated: each carries its episode's last observation.
    public var truncations: Int
    public var receipt: UInt64

    public init(workerId: UInt32, session: UInt32, observationSize: Int, actionSize: Int, environments: Int, steps: Int, sequence: UInt64,
                weightsVersion: UInt64, truncations: Int, receipt: UInt64 = 0) {
        self.workerId = workerId
        self.session = session
        self.observationSize = observationSize
        self.actionSize = actionSize
        self.environments = environments
        self.steps = steps
        self.sequence = sequence
        self.weightsVersion = weightsVersion
        self.truncations = truncations
        self.receipt = receipt
    }

    /// Rows: one per environment step.
    public var count: Int { environments * steps }

    /// The session accounting a segment shares with transitions: its rows, sequence, version and receipt.
    public var transitionsHeader: TransitionsHeader {
        TransitionsHeader(workerId: workerId, session: session, observationSize: observationSize, actionSize: actionSize, sequence: sequence,
                          weightsVersion: weightsVersion, count: count, receipt: receipt)
    }
}

/// A validated segment, viewing the arrays inside the message it was decoded from. Rows are
/// environment-major: row e·steps + t is environment e's step t.
public struct SegmentView {
    public let header: SegmentHeader
    /// `count × observationSize` little-endian Float32: what the policy saw.
    public let observations: UnsafeRawPointer
    /// `count × actionSize`: what the policy drew (a Discrete space's index; a Gaussian's draw before clipping).
    public let actions: UnsafeRawPointer
    public let rewards: UnsafeRawPointer
    /// The behaviour policy's log-probability of each action.
    public let logProbabilities: UnsafeRawPointer
    /// `environments × observationSize`: each environment's observation after its last step.
    public let bootstrapObservations: UnsafeRawPointer
    /// `truncations × observationSize`, in row order: the last observation of each step truncated and not terminated.
    public let truncationObservations: UnsafeRawPointer
    public let terminated: UnsafePointer<UInt8>
    public let truncated: UnsafePointer<UInt8>
}

/// What an A3C worker computed on its own segment with its copy of the networks (protocol 7): the gradient of
/// the actor–critic loss with respect to the policy's then the value network's parameters, before clipping.
public struct GradientHeader: Equatable, Sendable {
    public var workerId: UInt32
    public var session: UInt32
    /// The session's data-message counter, shared with transitions and segments.
    public var sequence: UInt64
    /// The weights version the gradient was computed at: the learner rejects one more than `--max-staleness` versions old.
    public var weightsVersion: UInt64
    /// Env steps the segment behind it took (accounted as transitions are).
    public var rows: Int
    public var policyParameters: Int
    public var valueParameters: Int
    public var receipt: UInt64
    /// The worker's own account of its loss on that segment: for monitoring, never for the update.
    public var policyLoss: Float
    public var valueLoss: Float
    public var entropy: Float
    public var explainedVariance: Float

    public init(workerId: UInt32, session: UInt32, sequence: UInt64, weightsVersion: UInt64, rows: Int, policyParameters: Int,
                valueParameters: Int, receipt: UInt64 = 0, policyLoss: Float = 0, valueLoss: Float = 0, entropy: Float = 0,
                explainedVariance: Float = 0) {
        self.workerId = workerId
        self.session = session
        self.sequence = sequence
        self.weightsVersion = weightsVersion
        self.rows = rows
        self.policyParameters = policyParameters
        self.valueParameters = valueParameters
        self.receipt = receipt
        self.policyLoss = policyLoss
        self.valueLoss = valueLoss
        self.entropy = entropy
        self.explainedVariance = explainedVariance
    }

    /// The session accounting a gradient shares with transitions: the rows behind it, its sequence, version and receipt.
    public func transitionsHeader(observationSize: Int, actionSize: Int) -> TransitionsHeader {
        TransitionsHeader(workerId: workerId, session: session, observationSize: observationSize, actionSize: actionSize, sequence: sequence,
                          weightsVersion: weightsVersion, count: rows, receipt: receipt)
    }
}

/// A validated gradient, viewing its values inside the message: `policyParameters + valueParameters` little-endian
/// Float32, the policy's first, each network laid out as its parameters are in a weights message.
public struct GradientView {
    public let header: GradientHeader
    public let values: UnsafeRawPointer
    /// Its L2 norm over both networks, as the decoder computed it.
    public let norm: Double
}

/// A value network, as A3C's weights carry it beside the actor (protocol 7): dense layers with the actor's hidden
/// activation and one linear output, V(s).
public struct ValueNetworkView {
    public let layerSizes: [Int]
    /// Σ (inputs + 1) · outputs little-endian Float32, laid out as the actor's.
    public let parameters: UnsafeRawPointer
    public var parameterCount: Int { zip(layerSizes, layerSizes.dropFirst()).reduce(0) { $0 + ($1.0 + 1) * $1.1 } }
}

/// A validated transition batch, viewing the arrays inside the message it was decoded from.
/// Valid only while that message's bytes are.
public struct TransitionsView {
    public let header: TransitionsHeader
    /// Row-major `count × observationSize` little-endian Float32, possibly unaligned.
    public let observations: UnsafeRawPointer
    public let actions: UnsafeRawPointer
    public let rewards: UnsafeRawPointer
    /// What multiplies the next state's value in the target: γ^k for a k-step transition, 0 after a termination.
    public let discounts: UnsafeRawPointer
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

/// The actor's shape in a weights message: hidden layers with one activation, and an output layer that
/// its ``Head`` maps onto actions: through tanh onto [low, high] per dimension (CleanRL's `action_scale`
/// and `action_bias`), or as a distribution (protocol 7).
public struct ActorShape: Equatable, Sendable {
    /// How the hidden layers normalize their pre-activations (protocol 4).
    public enum Normalization: UInt8, Sendable {
        case none = 0, layer = 1, batch = 2
    }

    /// The hidden layers' activation: the weights message's hidden-activation code (tanh since protocol 7).
    public enum HiddenActivation: UInt8, Sendable {
        case relu = 1, tanh = 2
    }

    /// What the output layer means: the weights message's output-activation code (protocol 5; 4 and 5 since 7).
    public enum Head: UInt8, Sendable {
        /// One output per action dimension, a = scale · tanh(z) + bias.
        case deterministic = 2
        /// Two outputs per action dimension, the mean and the log-std parameter of a Gaussian squashed by
        /// tanh onto the bounds: workers sample from it, evaluators act with its mean.
        case squashedGaussian = 3
        /// n logits over a Discrete(n) space's indices: workers sample, evaluators play the largest.
        case categorical = 4
        /// Two outputs per action dimension, the mean and log σ of a Gaussian whose draws are clipped to the
        /// bounds: workers sample, evaluators play the mean clipped.
        case gaussian = 5

        /// The output layer's width for an action space of `actionSize` dimensions, the highest of whose
        /// first is `firstHigh` (a Discrete(n) space's n − 1).
        public func outputCount(actionSize: Int, firstHigh: Float) -> Int {
            switch self {
            case .deterministic: actionSize
            case .squashedGaussian, .gaussian: 2 * actionSize
            case .categorical: Int(firstHigh) + 1
            }
        }
    }

    /// Layer widths from input to output: observation size, hidden sizes…, the head's outputs.
    public var layerSizes: [Int]
    public var actionLow: [Float]
    public var actionHigh: [Float]
    public var normalization: Normalization
    public var hiddenActivation: HiddenActivation
    public var head: Head

    public init(layerSizes: [Int], actionLow: [Float], actionHigh: [Float], normalization: Normalization = .none,
                hiddenActivation: HiddenActivation = .relu, head: Head = .deterministic) {
        self.layerSizes = layerSizes
        self.actionLow = actionLow
        self.actionHigh = actionHigh
        self.normalization = normalization
        self.hiddenActivation = hiddenActivation
        self.head = head
    }

    /// Action dimensions, as the bounds give them.
    public var actionSize: Int { actionLow.count }

    /// Σ (inputs + 1) · outputs over the dense layers, plus γ and β of each normalized hidden layer.
    public var trainedCount: Int {
        let dense = zip(layerSizes, layerSizes.dropFirst()).reduce(0) { $0 + ($1.0 + 1) * $1.1 }
        return dense + (normalization == .none ? 0 : 2 * hiddenUnits)
    }

    /// Batch normalization's running means and variances, after the trained parameters.
    public var statisticsCount: Int { normalization == .batch ? 2 * hiddenUnits : 0 }

    /// Every float the weights message carries.
    public var parameterCount: Int { trainedCount + statisticsCount }

    private var hiddenUnits: Int { layerSizes.dropFirst().dropLast().reduce(0, +) }
}

/// The learner asks evaluators to play deterministic episodes with the weights that carry this.
public struct EvaluationRequest: Equatable, Sendable {
    /// Names the request: the env-step mark it evaluates. Weights published while one is open all carry
    /// it, so an evaluator that missed some still sees it, and evaluates it once.
    public var mark: UInt64
    public var episodes: Int
    /// Episode i starts from the state that seed and stream i give, the same in every evaluation.
    public var seed: UInt64
    /// The run's last evaluation: the learner waits for it before it stops.
    public var isFinal: Bool

    public init(mark: UInt64, episodes: Int, seed: UInt64, isFinal: Bool = false) {
        self.mark = mark
        self.episodes = episodes
        self.seed = seed
        self.isFinal = isFinal
    }
}

/// Where weights came from: the learner's counts when it published them.
public struct Publication: Equatable, Sendable {
    public var version: UInt64
    public var updates: UInt64
    public var envSteps: UInt64

    public init(version: UInt64, updates: UInt64, envSteps: UInt64) {
        self.version = version
        self.updates = updates
        self.envSteps = envSteps
    }
}

/// How an actor normalizes each observation before its first layer (protocol 8): ô = clip((o − mean)/σ, ±clip),
/// per dimension, with the learner's running estimates when it published the weights.
public struct ObservationScaling: Equatable, Sendable {
    public var mean: [Float]
    public var standardDeviation: [Float]
    public var clip: Float

    public init(mean: [Float], standardDeviation: [Float], clip: Float) {
        precondition(mean.count == standardDeviation.count, "one mean and one σ per observation dimension")
        self.mean = mean
        self.standardDeviation = standardDeviation
        self.clip = clip
    }
}

/// A validated weights message, viewing the parameters inside the message it was decoded from.
public struct WeightsView {
    /// The version (increasing with every publication of one learner), and the updates and env steps behind it.
    public let publication: Publication
    public var version: UInt64 { publication.version }
    /// Random, chosen when the learner starts: a new id means a new learner, whose versions start again.
    public let learnerId: UInt64
    /// When the learner published it, in nanoseconds since the Unix epoch.
    public let publishedAtNanoseconds: UInt64
    public let shape: ActorShape
    /// Set when the learner wants these weights evaluated.
    public let evaluationRequest: EvaluationRequest?
    /// `shape.parameterCount` little-endian Float32, layer by layer: weights (inputs × outputs, row-major), biases, and for a
    /// normalized hidden layer its gains and shifts; then, with batch normalization, each hidden layer's running means and variances.
    public let parameters: UnsafeRawPointer
    /// A3C's value network, which its workers compute gradients with (nil for every other learner).
    public let valueNetwork: ValueNetworkView?
    /// What the actor normalizes observations with (nil: it takes them as they are).
    public let observationScaling: ObservationScaling?
}

/// The learner says it is there, to every subscriber: a worker that has not said hello to this
/// learner id does so before its next message.
public struct Announce: Equatable, Sendable {
    public var learnerId: UInt64
    /// The newest weights version this learner has published (0: none yet).
    public var weightsVersion: UInt64
    /// The most transitions this learner accepts in one message.
    public var maxTransitionsPerMessage: Int
    /// The credit of a session that has had no acknowledgement yet (0: no limit).
    public var credit: Int

    public init(learnerId: UInt64, weightsVersion: UInt64, maxTransitionsPerMessage: Int = WireFormat.maxTransitionsPerMessage, credit: Int = 0) {
        self.learnerId = learnerId
        self.weightsVersion = weightsVersion
        self.maxTransitionsPerMessage = maxTransitionsPerMessage
        self.credit = credit
    }
}

/// An evaluation request's ticket: only the evaluators the learner addressed it to learn its nonce, and
/// an evaluation report counts only with it.
public struct EvaluationTicket: Equatable, Sendable {
    /// The request it answers: its mark and finality, as the weights carry them.
    public var mark: UInt64
    public var isFinal: Bool
    public var nonce: UInt64

    public init(mark: UInt64, isFinal: Bool, nonce: UInt64) {
        self.mark = mark
        self.isFinal = isFinal
        self.nonce = nonce
    }
}

/// What the learner tells one worker session, addressed to its connection alone (protocol 6): how
/// much of its data it has consumed, its credit, and, to an authorized evaluator, a request's ticket.
/// Nothing here is broadcast: no peer learns another session's id, sequence or ticket.
public struct Acknowledgement: Equatable, Sendable {
    public var learnerId: UInt64
    public var workerId: UInt32
    public var session: UInt32
    /// The sequence number of the transitions message the learner expects next from this session.
    public var nextSequence: UInt64
    /// The most transitions this session should have sent and not yet seen acknowledged (0: no limit).
    /// Data beyond it (and one message more) is rejected as `over_credit`.
    public var credit: Int
    public var ticket: EvaluationTicket?
    /// Random, for this acknowledgement: the session's transitions carry the newest one it has read, and the
    /// learner counts the session's credit from the acknowledgement it names (a sender that reads none is over it soon).
    public var receipt: UInt64

    public init(learnerId: UInt64, workerId: UInt32, session: UInt32, nextSequence: UInt64, credit: Int, ticket: EvaluationTicket? = nil,
                receipt: UInt64 = 0) {
        self.learnerId = learnerId
        self.workerId = workerId
        self.session = session
        self.nextSequence = nextSequence
        self.credit = credit
        self.ticket = ticket
        self.receipt = receipt
    }
}

/// An evaluator's returns for the weights of one publication.
public struct EvaluationReport: Equatable, Sendable {
    /// The most episodes one report may carry.
    public static let maxEpisodes = 1_000

    public var workerId: UInt32
    public var session: UInt32
    /// Answers the learner's final request.
    public var isFinal: Bool
    /// The nonce of the request's ticket (protocol 6), which only evaluators it was addressed to know.
    public var nonce: UInt64
    /// The weights evaluated, as their message described them.
    public var publication: Publication
    /// One return and one length per episode, in episode order.
    public var returns: [Double]
    public var lengths: [UInt32]

    public init(workerId: UInt32, session: UInt32, isFinal: Bool, nonce: UInt64 = 0, publication: Publication, returns: [Double],
                lengths: [UInt32]) {
        self.workerId = workerId
        self.session = session
        self.isFinal = isFinal
        self.nonce = nonce
        self.publication = publication
        self.returns = returns
        self.lengths = lengths
    }
}

/// Everything a decoder can return.
public enum DecodedMessage {
    case hello(Hello)
    case transitions(TransitionsView)
    case segment(SegmentView)
    case gradient(GradientView)
    case episode(EpisodeReport)
    case workerStatus(WorkerStatus)
    case evaluation(EvaluationReport)
    case weights(WeightsView)
    case shutdown
    case announce(Announce)
    case acknowledgement(Acknowledgement)

    public var kind: MessageKind {
        switch self {
        case .hello: .hello
        case .transitions: .transitions
        case .segment: .segment
        case .gradient: .gradient
        case .episode: .episode
        case .workerStatus: .workerStatus
        case .evaluation: .evaluation
        case .weights: .weights
        case .shutdown: .shutdown
        case .announce: .announce
        case .acknowledgement: .acknowledgement
        }
    }
}
