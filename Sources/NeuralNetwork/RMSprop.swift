/// RMSprop (Tieleman & Hinton 2012) over a flat ``ParameterVector``, with `torch.optim.RMSprop`'s
/// arithmetic (no momentum, not centered), which SB3's A2C uses with α 0.99 and ε 1e-5:
///
///     v ← α·v + (1 − α)·g²;   θ ← θ − lr · g / (√v + ε)
///
/// ε is added after the square root, as in PyTorch (TensorFlow adds it inside).
public final class RMSprop {
    public struct Configuration: Codable, Sendable, Equatable {
        public var learningRate: Float
        /// The decay of the running mean of squared gradients.
        public var alpha: Float = 0.99
        public var epsilon: Float = 1e-5

        public init(learningRate: Float, alpha: Float = 0.99, epsilon: Float = 1e-5) {
            self.learningRate = learningRate
            self.alpha = alpha
            self.epsilon = epsilon
        }
    }

    public var configuration: Configuration
    /// The running mean of squared gradients, one per parameter (A3C's shared statistics).
    public let squareAverage: ParameterVector
    public private(set) var step = 0

    public init(parameterCount: Int, configuration: Configuration) {
        self.configuration = configuration
        squareAverage = ParameterVector(count: parameterCount)
    }

    public func update(_ parameters: ParameterVector, gradients: ParameterVector) {
        precondition(parameters.count == squareAverage.count && gradients.count == squareAverage.count,
                     "RMSprop sized for \(squareAverage.count) parameters")
        step += 1
        // In C, vectorized for the CPU (with square roots in every lane): a Swift loop here was a fifth of an A2C run.
        VectorKernels.rmspropStep(weights: parameters.values, gradients: gradients.values, squareAverage: squareAverage.values,
                                  count: parameters.count, alpha: configuration.alpha, epsilon: configuration.epsilon,
                                  learningRate: configuration.learningRate)
    }

    /// Restores the step counter, for checkpoints.
    public func restore(step: Int) { self.step = step }
}
