import CKernels
import Tensors
/// Normalization of a hidden layer's pre-activation z = x·W + b, before the gain, shift and activation:
/// y = f(γ · ẑ + β) with ẑ = (z − mean) / √(variance + ε).
public enum Normalization: String, Codable, Sendable, CaseIterable {
    case none
    /// Ba et al. 2016: mean and variance over each row's units; the same in training and inference.
    case layer
    /// Ioffe & Szegedy 2015, as the DDPG paper used it: mean and variance over the batch, per unit,
    /// when training; running averages of them (momentum ``MLP/batchNormMomentum``) in inference.
    case batch
}

/// Which statistics batch normalization uses in a forward pass.
public enum ForwardMode: Sendable, Equatable {
    /// The running statistics: acting, evaluating and target networks.
    case inference
    /// The batch's own statistics: updates. `updatingStatistics` folds them into the running ones
    /// (false for the critic's pass inside the actor's step, which sees actions, not data).
    case training(updatingStatistics: Bool)
}

/// How batch normalization keeps and uses its running moments. The actor's are PyTorch's defaults, fixed
/// because workers normalize with them; a critic, which never leaves the learner, may set its own (CrossQ).
public struct BatchNormalizationSettings: Sendable, Equatable {
    /// running ← (1 − momentum) · running + momentum · batch.
    public var momentum: Float
    public var epsilon: Float
    /// Batch renormalization (Ioffe 2017) once the running moments have seen `warmup` batches; nil never.
    public var renormalization: Renormalization?

    public struct Renormalization: Sendable, Equatable {
        public var warmup: Int
        /// Bounds of r = σ_B/σ and |d| = |μ_B − μ|/σ, the corrections from the batch's moments toward the running ones.
        public var rMax: Float
        public var dMax: Float

        public init(warmup: Int, rMax: Float = 3, dMax: Float = 5) {
            self.warmup = warmup
            self.rMax = rMax
            self.dMax = dMax
        }
    }

    public init(momentum: Float, epsilon: Float, renormalization: Renormalization? = nil) {
        self.momentum = momentum
        self.epsilon = epsilon
        self.renormalization = renormalization
    }

    /// `torch.nn.BatchNorm1d`'s.
    public static let pytorch = BatchNormalizationSettings(momentum: 0.1, epsilon: 1e-5)
}

extension MLP {
    static let normalizationEpsilon: Float = 1e-5

    /// Adds the biases to `z` (layer `index`'s pre-activation), normalizes it, keeps ẑ and 1/σ in the
    /// workspace for the backward pass, and leaves γ · ẑ in `z`. The loops are C kernels (Sources/CKernels),
    /// vectorized for the CPU; as plain Swift loops they cost a third of a normalized network's update.
    func normalizeForward(_ index: Int, _ z: MatrixView, workspace: MLPWorkspace, mode: ForwardMode) {
        let layer = layers[index], n = z.rows, m = layer.outputSize
        let bias = biases(index), gain = parameters.values + layer.scaleOffset
        let saved = workspace.normalized[index]!.storage, inverse = workspace.inverseDeviations[index]!.storage
        switch layer.normalization {
        case .none:
            preconditionFailure("layer \(index) is not normalized")
        case .layer:
            ddpg_layer_norm_forward(z.base, n, m, z.stride, bias, gain, saved, inverse, Self.normalizationEpsilon)
        case .batch:
            let runningMean = statistics.values + layer.statisticsOffset, runningVariance = runningMean + m
            var training = false, updating = false
            if case let .training(updatingStatistics) = mode { (training, updating) = (true, updatingStatistics) }
            let settings = batchNormalization, renormalization = settings.renormalization
            let renormalizing = training && renormalization.map { statisticsUpdates >= $0.warmup } == true
            ddpg_batch_norm_forward(z.base, n, m, z.stride, bias, gain, saved, inverse, workspace.columnScratch.storage,
                                    runningMean, runningVariance, training ? 1 : 0, updating ? 1 : 0, settings.momentum,
                                    settings.epsilon, renormalization?.rMax ?? 1, renormalization?.dMax ?? 0,
                                    renormalizing ? workspace.renormalizationCorrections[index]!.storage : nil)
            workspace.usedBatchStatistics[index] = training
            workspace.usedRenormalization[index] = renormalizing
        }
    }

    /// Turns dL/da (a = γ·ẑ + β, in `delta`) into dL/dz in place. With parameter gradients it also
    /// writes dL/dγ = Σ dL/da · ẑ and the biases' dL/db = Σ dL/dz (dL/dβ, the column sums of dL/da,
    /// came out of the activation's backward pass).
    /// dL/dẑ = γ · dL/da; then dL/dz = (1/σ)(dẑ − mean(dẑ) − ẑ · mean(dẑ · ẑ)), the means over what was normalized together.
    func normalizeBackward(_ index: Int, _ delta: MatrixView, workspace: MLPWorkspace, parameterGradients: Bool) {
        let layer = layers[index], n = delta.rows, m = layer.outputSize
        let gain = parameters.values + layer.scaleOffset
        let saved = workspace.normalized[index]!.storage, inverse = workspace.inverseDeviations[index]!.storage
        let gainGradient = parameterGradients ? gradients.values + layer.scaleOffset : nil
        let biasGradient = parameterGradients ? biasGradients(index) : nil
        switch layer.normalization {
        case .none:
            preconditionFailure("layer \(index) is not normalized")
        case .layer:
            ddpg_layer_norm_backward(delta.base, n, m, delta.stride, gain, saved, inverse, gainGradient, biasGradient)
        case .batch:
            // Running statistics (an inference-mode forward) are constants: ẑ is affine in z.
            ddpg_batch_norm_backward(delta.base, n, m, delta.stride, gain, saved, inverse, workspace.usedBatchStatistics[index] ? 1 : 0,
                                     workspace.usedRenormalization[index] ? workspace.renormalizationCorrections[index]!.storage : nil,
                                     workspace.columnScratch.storage, gainGradient, biasGradient)
        }
    }
}
