import NeuralNetwork
import Policy
import WireProtocol

/// What the learner publishes, each in one frame (so that subscribers can conflate): actor weights
/// under increasing versions, announcements and shutdown notices; and how often weights may go out:
/// every `broadcastEvery` updates, within a bandwidth budget over all subscribers.
struct Publisher {
    /// Identifies this learner's run of versions to the workers.
    let learnerId: UInt64
    /// The actor as weights messages describe it.
    let actorShape: ActorShape
    private(set) var encoder = MessageEncoder(capacity: 1 << 20)
    /// The version of the latest weights published (0: none yet).
    var version: UInt64 = 0
    var updatesAtLastBroadcast = 0
    /// When the bandwidth budget allows the next broadcast.
    private var nextAllowedAt = 0.0

    init(learnerId: UInt64, actorShape: ActorShape) {
        self.learnerId = learnerId
        self.actorShape = actorShape
    }

    /// Whether to broadcast after this update: the first weights at once, then every `every` updates within the budget.
    func isDue(updates: Int, now: Double, every: Int) -> Bool {
        version == 0 || (updates - updatesAtLastBroadcast >= every && now >= nextAllowedAt)
    }

    /// Takes the next version for weights published after `updates` updates.
    mutating func nextVersion(updates: Int) -> UInt64 {
        version += 1
        updatesAtLastBroadcast = updates
        return version
    }

    /// `bytes` went to `subscribers` just now: the budget allows the next broadcast this much later.
    mutating func sent(_ bytes: Int, to subscribers: Int, now: Double, budget bytesPerSecond: Double) {
        nextAllowedAt = now + Double(bytes * max(subscribers, 1)) / bytesPerSecond
    }

    /// The actor's parameters (and batch normalization's statistics after them) as a weights message, stamped `publishedAt`,
    /// with the actor's observation normalization when it has one. With `valueNetwork` (A3C's), its layer sizes and parameters follow.
    mutating func encodeWeights(_ publication: Publication, request: EvaluationRequest?, actor: Actor, valueNetwork: MLP? = nil,
                                publishedAt: UInt64) -> [UInt8] {
        let network = actor.network
        let (learnerId, shape) = (learnerId, actorShape)
        func encode(_ state: UnsafeBufferPointer<Float>, _ encoder: inout MessageEncoder) -> [UInt8] {
            let value = valueNetwork.map { value in
                ([value.architecture.inputSize] + value.architecture.hiddenSizes + [value.architecture.outputSize],
                 UnsafeBufferPointer(start: value.parameters.values, count: value.parameters.count))
            }
            return encoder.encodeWeights(publication, learnerId: learnerId, publishedAtNanoseconds: publishedAt, shape: shape,
                                         evaluationRequest: request, parameters: state, valueNetwork: value,
                                         observationScaling: actor.observationNormalization?.scaling)
        }
        // Batch normalization's statistics travel after the parameters; without it the parameters go as they lie.
        guard network.statistics.count == 0 else { return network.state.withUnsafeBufferPointer { encode($0, &encoder) } }
        return encode(UnsafeBufferPointer(start: network.parameters.values, count: network.parameters.count), &encoder)
    }

    mutating func encode(_ announce: Announce) -> [UInt8] { encoder.encode(announce) }
    mutating func encode(_ acknowledgement: Acknowledgement) -> [UInt8] { encoder.encode(acknowledgement) }
    mutating func encodeShutdown() -> [UInt8] { encoder.encodeShutdown() }
}
