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
        let b1 = c.beta1, b2 = c.beta2, eps = c.epsilon, decay = c.weightDecay
        // Bias corrections in Double, then folded into two scalars, as PyTorch does.
        let correction1 = 1 - pow(Double(b1), Double(step))
        let correction2 = 1 - pow(Double(b2), Double(step))
        let stepSize = Float(Double(c.learningRate) / correction1)
        let invSqrtCorrection2 = Float(1 / correction2.squareRoot())
        let w = parameters.values, g = gradients.values
        let m = firstMoment.values, v = secondMoment.values
        let oneMinusB1 = 1 - b1, oneMinusB2 = 1 - b2
        for i in 0..<parameters.count {
            let grad = decay == 0 ? g[i] : g[i] + decay * w[i]
            let mi = b1 * m[i] + oneMinusB1 * grad
            let vi = b2 * v[i] + oneMinusB2 * grad * grad
            m[i] = mi
            v[i] = vi
            w[i] -= stepSize * mi / (vi.squareRoot() * invSqrtCorrection2 + eps)
        }
    }

    /// Restores the step counter, for checkpoints.
    public func restore(step: Int) { self.step = step }
}
