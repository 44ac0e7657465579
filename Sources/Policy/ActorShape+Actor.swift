import NeuralNetwork
import WireProtocol

// The weights message describes the actor it carries (ActorShape); these two directions of that
// description are the only place the wire's names meet the network's.

extension Actor {
    /// An actor of the shape a weights message describes, with zeroed parameters: `assignState`
    /// puts the message's in. Acts on batches of up to `inferenceCapacity` observations at once.
    public convenience init(shape: ActorShape, inferenceCapacity: Int) {
        let sizes = shape.layerSizes
        let network = MLP(Actor.architecture(observationSize: sizes[0], actionSize: sizes[sizes.count - 1],
                                             hiddenSizes: Array(sizes.dropFirst().dropLast()),
                                             normalization: Normalization(shape.normalization)))
        self.init(network: network, actionLow: shape.actionLow, actionHigh: shape.actionHigh, inferenceCapacity: inferenceCapacity)
    }

    /// How a weights message describes this actor.
    public var shape: ActorShape {
        let architecture = network.architecture
        return ActorShape(layerSizes: [architecture.inputSize] + architecture.hiddenSizes + [architecture.outputSize],
                          actionLow: actionLow, actionHigh: actionHigh, normalization: ActorShape.Normalization(architecture.normalization))
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
