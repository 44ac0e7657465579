import Foundation

/// Adam (Kingma & Ba 2015) over a flat ``ParameterVector``, with the same
/// arithmetic as `torch.optim.Adam`, including its coupled L2 weight decay
/// (the decay is added to the gradient, as DDPG's paper used it on the critic).
public final class Adam {
    public struct Configuration: Codable, Sendable, Equatable {
        public var learningRate: Float
        public var beta1: Float = 0.9
        public var beta2: Float = 0.999
        public var epsilon: Float = 1e-8
        public var weightDecay: Float = 0

        public init(learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0) {
            self.learningRate = learningRate
            self.beta1 = beta1
            self.beta2 = beta2
            self.epsilon = epsilon
            self.weightDecay = weightDecay
        }
    }

    public var configuration: Configuration
    /// First and second moment estimates, one per parameter.
    public let firstMoment: ParameterVector
    public let secondMoment: ParameterVector
    /// Number of steps taken, for bias correction.
    public private(set) var step: Int = 0

    public init(parameterCount: Int, configuration: Configuration) {
        self.configuration = configuration
        firstMoment = ParameterVector(count: parameterCount)
        secondMoment = ParameterVector(count: parameterCount)
    }

    /// Applies one update to `parameters` from `gradients`.
    public func update(_ parameters: ParameterVector, gradients: ParameterVector) {
        precondition(parameters.count == firstMoment.count && gradients.count == firstMoment.count, "Adam sized for \(firstMoment.count) parameters")
        step += 1
        let c = configuration
        // Bias corrections in Double, then folded into two scalars, as PyTorch does.
        let correction1 = 1 - pow(Double(c.beta1), Double(step))
        let correction2 = 1 - pow(Double(c.beta2), Double(step))
        let stepSize = Float(Double(c.learningRate) / correction1)
        let invSqrtCorrection2 = Float(1 / correction2.squareRoot())
        VectorKernels.adamStep(
            weights: parameters.values, gradients: gradients.values,
            firstMoment: firstMoment.values, secondMoment: secondMoment.values, count: parameters.count,
            beta1: c.beta1, beta2: c.beta2, epsilon: c.epsilon, decay: c.weightDecay,
            stepSize: stepSize, invSqrtCorrection2: invSqrtCorrection2)
    }

    /// Restores the step counter, for checkpoints.
    public func restore(step: Int) { self.step = step }
}
