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

extension MLP {
    /// PyTorch's default: running ← (1 − m) · running + m · batch.
    public static let batchNormMomentum: Float = 0.1
    static let normalizationEpsilon: Float = 1e-5

    /// Adds the biases to `z` (layer `index`'s pre-activation), normalizes it, keeps ẑ and 1/σ in the
    /// workspace for the backward pass, and leaves γ · ẑ in `z`.
    func normalizeForward(_ index: Int, _ z: MatrixView, workspace: MLPWorkspace, mode: ForwardMode) {
        let layer = layers[index], n = z.rows, m = layer.outputSize
        let bias = biases(index), gain = parameters.values + layer.scaleOffset
        let saved = workspace.normalized[index]!.storage, inverse = workspace.inverseDeviations[index]!.storage
        let epsilon = Self.normalizationEpsilon
        for i in 0..<n {
            let row = z.base + i * z.stride
            for j in 0..<m { row[j] += bias[j] }
        }
        switch layer.normalization {
        case .none:
            preconditionFailure("layer \(index) is not normalized")
        case .layer:
            for i in 0..<n {
                let row = z.base + i * z.stride
                var mean: Float = 0, variance: Float = 0
                for j in 0..<m { mean += row[j] }
                mean /= Float(m)
                for j in 0..<m { variance += (row[j] - mean) * (row[j] - mean) }
                let s = 1 / (variance / Float(m) + epsilon).squareRoot()
                inverse[i] = s
                for j in 0..<m {
                    let x = (row[j] - mean) * s
                    saved[i * m + j] = x
                    row[j] = gain[j] * x
                }
            }
        case .batch:
            let runningMean = statistics.values + layer.statisticsOffset, runningVariance = runningMean + m
            let means = workspace.columnScratch.storage
            if case let .training(updating) = mode {
                for j in 0..<m { means[j] = 0; inverse[j] = 0 }
                for i in 0..<n {
                    let row = z.base + i * z.stride
                    for j in 0..<m { means[j] += row[j] }
                }
                for j in 0..<m { means[j] /= Float(n) }
                for i in 0..<n {
                    let row = z.base + i * z.stride
                    for j in 0..<m { inverse[j] += (row[j] - means[j]) * (row[j] - means[j]) }
                }
                let momentum = Self.batchNormMomentum, unbiased = n > 1 ? Float(n) / Float(n - 1) : 1
                for j in 0..<m {
                    let variance = inverse[j] / Float(n)
                    if updating {
                        runningMean[j] = (1 - momentum) * runningMean[j] + momentum * means[j]
                        runningVariance[j] = (1 - momentum) * runningVariance[j] + momentum * variance * unbiased
                    }
                    inverse[j] = 1 / (variance + epsilon).squareRoot()
                }
                workspace.usedBatchStatistics[index] = true
            } else {
                for j in 0..<m {
                    means[j] = runningMean[j]
                    inverse[j] = 1 / (max(runningVariance[j], 0) + epsilon).squareRoot()
                }
                workspace.usedBatchStatistics[index] = false
            }
            for i in 0..<n {
                let row = z.base + i * z.stride
                for j in 0..<m {
                    let x = (row[j] - means[j]) * inverse[j]
                    saved[i * m + j] = x
                    row[j] = gain[j] * x
                }
            }
        }
    }

    /// Turns dL/da (a = γ·ẑ + β, in `delta`) into dL/dz in place. With parameter gradients it also
    /// writes dL/dγ = Σ dL/da · ẑ and the biases' dL/db = Σ dL/dz (dL/dβ, the column sums of dL/da,
    /// came out of the activation's backward pass).
    func normalizeBackward(_ index: Int, _ delta: MatrixView, workspace: MLPWorkspace, parameterGradients: Bool) {
        let layer = layers[index], n = delta.rows, m = layer.outputSize
        let gain = parameters.values + layer.scaleOffset
        let saved = workspace.normalized[index]!.storage, inverse = workspace.inverseDeviations[index]!.storage
        if parameterGradients {
            let gainGradient = gradients.values + layer.scaleOffset
            for j in 0..<m { gainGradient[j] = 0 }
            for i in 0..<n {
                let row = delta.base + i * delta.stride
                for j in 0..<m { gainGradient[j] += row[j] * saved[i * m + j] }
            }
        }
        // dL/dẑ = γ · dL/da; then dL/dz = (1/σ)(dẑ − mean(dẑ) − ẑ · mean(dẑ · ẑ)), the means over what was normalized together.
        switch layer.normalization {
        case .none:
            preconditionFailure("layer \(index) is not normalized")
        case .layer:
            for i in 0..<n {
                let row = delta.base + i * delta.stride
                var mean: Float = 0, correlation: Float = 0
                for j in 0..<m {
                    row[j] *= gain[j]
                    mean += row[j]
                    correlation += row[j] * saved[i * m + j]
                }
                mean /= Float(m)
                correlation /= Float(m)
                for j in 0..<m { row[j] = inverse[i] * (row[j] - mean - saved[i * m + j] * correlation) }
            }
        case .batch where !workspace.usedBatchStatistics[index]:
            // Running statistics are constants: ẑ is affine in z.
            for i in 0..<n {
                let row = delta.base + i * delta.stride
                for j in 0..<m { row[j] *= gain[j] * inverse[j] }
            }
        case .batch:
            let means = workspace.columnScratch.storage, correlations = means + m
            for j in 0..<(2 * m) { means[j] = 0 }
            for i in 0..<n {
                let row = delta.base + i * delta.stride
                for j in 0..<m {
                    row[j] *= gain[j]
                    means[j] += row[j]
                    correlations[j] += row[j] * saved[i * m + j]
                }
            }
            for i in 0..<n {
                let row = delta.base + i * delta.stride
                for j in 0..<m { row[j] = inverse[j] * (row[j] - means[j] / Float(n) - saved[i * m + j] * correlations[j] / Float(n)) }
            }
        }
        if parameterGradients {
            let biasGradient = biasGradients(index)
            for j in 0..<m { biasGradient[j] = 0 }
            for i in 0..<n {
                let row = delta.base + i * delta.stride
                for j in 0..<m { biasGradient[j] += row[j] }
            }
        }
    }
}
