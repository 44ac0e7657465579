import NeuralNetwork
import WireProtocol

// The weights message describes the actor it carries (ActorShape); these two directions of that
// description are the only place the wire's names meet the network's.

extension Actor {
    /// An actor of the shape a weights message describes, with zeroed parameters: `assignState`
    /// puts the message's in. Acts on batches of up to `inferenceCapacity` observations at once.
    public convenience init(shape: ActorShape, inferenceCapacity: Int) {
        let sizes = shape.layerSizes, head = PolicyHead(shape.head)
        let network = MLP(Actor.architecture(observationSize: sizes[0], actionLow: shape.actionLow, actionHigh: shape.actionHigh,
                                             hiddenSizes: Array(sizes.dropFirst().dropLast()),
                                             hiddenActivation: shape.hiddenActivation == .tanh ? .tanh : .relu,
                                             normalization: Normalization(shape.normalization), head: head))
        self.init(network: network, head: head, actionLow: shape.actionLow, actionHigh: shape.actionHigh, inferenceCapacity: inferenceCapacity)
    }

    /// How a weights message describes this actor.
    public var shape: ActorShape {
        precondition(network.architecture.hiddenActivation != .identity, "the wire carries ReLU or tanh hidden layers")
        return ActorShape(layerSizes: layerSizes, actionLow: actionLow, actionHigh: actionHigh,
                          normalization: ActorShape.Normalization(network.architecture.normalization),
                          hiddenActivation: network.architecture.hiddenActivation == .tanh ? .tanh : .relu, head: ActorShape.Head(head))
    }
}

extension ActorShape.Head {
    /// How the weights message names a policy head.
    public init(_ head: PolicyHead) {
        switch head {
        case .deterministic: self = .deterministic
        case .squashedGaussian: self = .squashedGaussian
        case .categorical: self = .categorical
        case .gaussian: self = .gaussian
        }
    }
}

extension PolicyHead {
    /// The policy head a weights message names.
    public init(_ wire: ActorShape.Head) {
        switch wire {
        case .deterministic: self = .deterministic
        case .squashedGaussian: self = .squashedGaussian
        case .categorical: self = .categorical
        case .gaussian: self = .gaussian
        }
    }
}

extension ActorShape.Normalization {
    /// How the weights message names a network's normalization.
    public init(_ normalization: Normalization) {
        switch normalization {
        case .none: self = .none
        case .layer: self = .layer
        case .batch: self = .batch
        }
    }
}

extension Normalization {
    /// The hidden layers' normalization a weights message names.
    public init(_ wire: ActorShape.Normalization) {
        switch wire {
        case .none: self = .none
        case .layer: self = .layer
        case .batch: self = .batch
        }
    }
}

extension ObservationNormalization {
    /// The normalization a weights message carries.
    public init(_ wire: ObservationScaling) {
        self.init(mean: wire.mean, standardDeviation: wire.standardDeviation, clip: wire.clip)
    }

    /// How a weights message carries this normalization.
    public var scaling: ObservationScaling { ObservationScaling(mean: mean, standardDeviation: standardDeviation, clip: clip) }
}
