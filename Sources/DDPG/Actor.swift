import NeuralNetwork

/// The deterministic policy μ(s) = bound · tanh(MLP(s)), with its own
/// workspace for acting on batches of up to `inferenceCapacity` observations.
public final class Actor {
    public let network: MLP
    public let actionBound: Float
    public let observationSize: Int
    public let actionSize: Int
    private let inference: MLPWorkspace

    public init(network: MLP, actionBound: Float, inferenceCapacity: Int = 64) {
        precondition(network.architecture.outputActivation == .tanh, "the actor's output layer must be tanh")
        self.network = network
        self.actionBound = actionBound
        observationSize = network.architecture.inputSize
        actionSize = network.architecture.outputSize
        inference = MLPWorkspace(for: network, capacity: inferenceCapacity)
    }

    public static func architecture(observationSize: Int, actionSize: Int, hiddenSizes: [Int]) -> MLPArchitecture {
        MLPArchitecture(inputSize: observationSize, hiddenSizes: hiddenSizes, outputSize: actionSize,
                        hiddenActivation: .relu, outputActivation: .tanh)
    }

    public var inferenceCapacity: Int { inference.capacity }

    /// Writes μ(s) for `count` row-major observations into `actions`.
    public func act(observations: UnsafePointer<Float>, count: Int, actions: UnsafeMutablePointer<Float>) {
        var done = 0
        while done < count {
            let n = min(count - done, inference.capacity)
            inference.input(batch: n).base.update(from: observations + done * observationSize, count: n * observationSize)
            network.forward(batch: n, workspace: inference)
            let out = inference.output(batch: n).base
            let dst = actions + done * actionSize
            for i in 0..<(n * actionSize) { dst[i] = actionBound * out[i] }
            done += n
        }
    }
}

/// The action-value function Q(s, a), an MLP whose action input joins at a configurable layer.
public enum Critic {
    public static func architecture(observationSize: Int, actionSize: Int, hiddenSizes: [Int], actionLayer: Int) -> MLPArchitecture {
        MLPArchitecture(inputSize: observationSize, hiddenSizes: hiddenSizes, outputSize: 1,
                        hiddenActivation: .relu, outputActivation: .identity,
                        auxiliaryInput: AuxiliaryInput(size: actionSize, layer: actionLayer))
    }
}
