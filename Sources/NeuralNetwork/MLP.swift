import Tensors
import Randomness

/// A second input that joins the network at a given layer, as the action does in
/// the DDPG critic: the paper feeds it to the second layer (`layer: 1`), many
/// implementations concatenate it with the observation (`layer: 0`).
public struct AuxiliaryInput: Codable, Sendable, Equatable {
    public var size: Int
    /// Index of the dense layer whose input it is concatenated to (0 = the network input).
    public var layer: Int

    public init(size: Int, layer: Int) {
        self.size = size
        self.layer = layer
    }
}

/// The shape of a multilayer perceptron.
public struct MLPArchitecture: Codable, Sendable, Equatable {
    public var inputSize: Int
    public var hiddenSizes: [Int]
    public var outputSize: Int
    public var hiddenActivation: Activation
    public var outputActivation: Activation
    public var auxiliaryInput: AuxiliaryInput?
    /// Applied to every hidden layer's pre-activation (see Normalization.swift).
    public var normalization: Normalization

    public init(
        inputSize: Int, hiddenSizes: [Int], outputSize: Int,
        hiddenActivation: Activation = .relu, outputActivation: Activation = .identity,
        auxiliaryInput: AuxiliaryInput? = nil, normalization: Normalization = .none
    ) {
        precondition(inputSize > 0 && outputSize > 0, "input and output sizes must be positive")
        precondition(hiddenSizes.allSatisfy { $0 > 0 }, "hidden layer sizes must be positive")
        if let aux = auxiliaryInput {
            precondition(aux.size > 0 && aux.layer >= 0 && aux.layer <= hiddenSizes.count,
                         "auxiliary input layer \(aux.layer) must be in 0...\(hiddenSizes.count)")
        }
        self.inputSize = inputSize
        self.hiddenSizes = hiddenSizes
        self.outputSize = outputSize
        self.hiddenActivation = hiddenActivation
        self.outputActivation = outputActivation
        self.auxiliaryInput = auxiliaryInput
        self.normalization = normalization
    }

    public var layerCount: Int { hiddenSizes.count + 1 }
}

/// One dense layer's place in the network's flat parameter vector.
public struct DenseLayer: Sendable {
    /// Width of the input coming from below (the observation or the previous layer).
    public let mainInputSize: Int
    /// Width of the auxiliary input concatenated after it (0 if none joins here).
    public let auxiliaryInputSize: Int
    public let outputSize: Int
    public let activation: Activation
    /// Offset of the `(mainInputSize + auxiliaryInputSize) × outputSize` row-major weights.
    public let weightOffset: Int
    /// Offset of the `outputSize` biases, right after the weights.
    public let biasOffset: Int
    /// How the pre-activation is normalized; a normalized layer's gains γ and shifts β follow its biases.
    public let normalization: Normalization
    /// Offset of the gains γ (then the shifts β) in the parameters, when normalized.
    public let scaleOffset: Int
    /// Offset of the running means (then the running variances) in the statistics, for batch normalization.
    public let statisticsOffset: Int

    public var inputSize: Int { mainInputSize + auxiliaryInputSize }
    public var parameterCount: Int { (inputSize + 1) * outputSize + (normalization == .none ? 0 : 2 * outputSize) }
    public var statisticsCount: Int { normalization == .batch ? 2 * outputSize : 0 }
}

/// A multilayer perceptron with hand-written backpropagation on OpenBLAS.
///
/// Data flows as row-major batches: `Y = f(X·W + b)` with `X` of shape
/// `batch × input` and `W` of shape `input × output`. Activations live in an
/// ``MLPWorkspace`` sized once for the largest batch, so a forward or backward
/// pass allocates nothing.
public final class MLP {
    public let architecture: MLPArchitecture
    public let layers: [DenseLayer]
    public let parameters: ParameterVector
    /// Gradients of the loss with respect to ``parameters``, written by ``backward(batch:workspace:parameterGradients:inputGradient:auxiliaryGradient:)``.
    public let gradients: ParameterVector
    /// Batch normalization's running means and variances: state, not trained (no gradient, no optimizer),
    /// updated by training-mode forward passes and used by inference-mode ones. Empty without batch normalization.
    public let statistics: ParameterVector
    /// Batch normalization's momentum, ε and renormalization (PyTorch's by default).
    public var batchNormalization = BatchNormalizationSettings.pytorch
    /// Forward passes that have folded a batch into the running statistics: batch renormalization's warmup clock.
    public var statisticsUpdates = 0

    public init(_ architecture: MLPArchitecture) {
        self.architecture = architecture
        var layers: [DenseLayer] = []
        var offset = 0, statisticsOffset = 0
        var below = architecture.inputSize
        let widths = architecture.hiddenSizes + [architecture.outputSize]
        for (index, width) in widths.enumerated() {
            let aux = architecture.auxiliaryInput?.layer == index ? architecture.auxiliaryInput!.size : 0
            let isOutput = index == widths.count - 1
            let activation = isOutput ? architecture.outputActivation : architecture.hiddenActivation
            let weights = (below + aux) * width
            let layer = DenseLayer(
                mainInputSize: below, auxiliaryInputSize: aux, outputSize: width, activation: activation,
                weightOffset: offset, biasOffset: offset + weights, normalization: isOutput ? .none : architecture.normalization,
                scaleOffset: offset + weights + width, statisticsOffset: statisticsOffset)
            layers.append(layer)
            offset += layer.parameterCount
            statisticsOffset += layer.statisticsCount
            below = width
        }
        self.layers = layers
        parameters = ParameterVector(count: offset)
        gradients = ParameterVector(count: offset)
        statistics = ParameterVector(count: statisticsOffset)
        resetNormalization()
    }

    /// Gains 1, shifts 0, running means 0 and variances 1: normalization starts as the identity.
    func resetNormalization() {
        for layer in layers where layer.normalization != .none {
            (parameters.values + layer.scaleOffset).update(repeating: 1, count: layer.outputSize)
            (parameters.values + layer.scaleOffset + layer.outputSize).update(repeating: 0, count: layer.outputSize)
            if layer.normalization == .batch {
                (statistics.values + layer.statisticsOffset).update(repeating: 0, count: layer.outputSize)
                (statistics.values + layer.statisticsOffset + layer.outputSize).update(repeating: 1, count: layer.outputSize)
            }
        }
    }

    /// Builds the network and draws its parameters as DDPG's paper does: every
    /// weight and bias from U[−1/√fan_in, 1/√fan_in], except the final layer's,
    /// which come from U[−finalLayerScale, finalLayerScale] so that initial
    /// outputs (actions, Q-values) start near zero.
    public convenience init<G: RandomNumberGenerator>(
        _ architecture: MLPArchitecture, finalLayerScale: Float = 3e-3, using generator: inout G
    ) {
        self.init(architecture)
        initializeParameters(finalLayerScale: finalLayerScale, using: &generator)
    }

    public func initializeParameters<G: RandomNumberGenerator>(finalLayerScale: Float, using generator: inout G) {
        let p = parameters.values
        for (index, layer) in layers.enumerated() {
            let bound = index == layers.count - 1 ? finalLayerScale : 1 / Float(layer.inputSize).squareRoot()
            for i in layer.weightOffset..<(layer.biasOffset + layer.outputSize) {
                p[i] = generator.nextUniform(-bound, bound)
            }
        }
        resetNormalization()
    }

    public var parameterCount: Int { parameters.count }

    /// The parameters, then the normalization statistics: what the weights message carries and a kept actor holds.
    public var state: [Float] { parameters.toArray() + statistics.toArray() }

    /// Sets parameters and statistics from `values` laid out as ``state`` (little-endian Float32, possibly unaligned).
    public func assignState(from values: UnsafeRawPointer) {
        UnsafeMutableRawPointer(parameters.values).copyMemory(from: values, byteCount: 4 * parameters.count)
        UnsafeMutableRawPointer(statistics.values).copyMemory(from: values + 4 * parameters.count, byteCount: 4 * statistics.count)
    }

    /// Layer `index`'s weights as an `input × output` matrix over the parameter vector.
    public func weights(_ index: Int) -> MatrixView {
        let layer = layers[index]
        return MatrixView(base: parameters.values + layer.weightOffset, rows: layer.inputSize, columns: layer.outputSize)
    }

    public func biases(_ index: Int) -> UnsafeMutablePointer<Float> { parameters.values + layers[index].biasOffset }

    public func weightGradients(_ index: Int) -> MatrixView {
        let layer = layers[index]
        return MatrixView(base: gradients.values + layer.weightOffset, rows: layer.inputSize, columns: layer.outputSize)
    }

    public func biasGradients(_ index: Int) -> UnsafeMutablePointer<Float> { gradients.values + layers[index].biasOffset }

    /// Runs the first `batch` rows of `workspace`'s input (and auxiliary input)
    /// through the network; the result is in `workspace.output(batch:)`. `mode` matters only
    /// to batch normalization: the batch's statistics when training, the running ones otherwise.
    public func forward(batch: Int, workspace: MLPWorkspace, mode: ForwardMode = .inference) {
        precondition(batch <= workspace.capacity, "batch \(batch) exceeds workspace capacity \(workspace.capacity)")
        for index in layers.indices {
            let output = workspace.layerOutput(index, batch: batch)
            BLAS.gemm(workspace.layerInput(index, batch: batch), weights(index), into: output)
            let layer = layers[index]
            if layer.normalization == .none {
                layer.activation.applyWithBias(output, bias: biases(index))
            } else {
                // output ← γ·ẑ, then + β and the activation in one pass.
                normalizeForward(index, output, workspace: workspace, mode: mode)
                layer.activation.applyWithBias(output, bias: parameters.values + layer.scaleOffset + layer.outputSize)
            }
        }
        if statistics.count > 0, mode == .training(updatingStatistics: true) { statisticsUpdates += 1 }
    }

    /// Backpropagates the gradient the caller wrote into `workspace.outputGradient(batch:)`
    /// (which is consumed) through the activations of the last ``forward(batch:workspace:)``.
    ///
    /// Only what is asked for is computed: DDPG's actor step needs dQ/da alone,
    /// which stops at the layer where the action joins and skips every weight
    /// gradient, about a third of the work of a full backward pass.
    /// - Parameters:
    ///   - parameterGradients: overwrite ``gradients`` with dL/dθ.
    ///   - inputGradient: write dL/dx into `workspace.inputGradient(batch:)`.
    ///   - auxiliaryGradient: write dL/d(aux) into `workspace.auxiliaryGradient(batch:)`.
    public func backward(
        batch: Int, workspace: MLPWorkspace,
        parameterGradients: Bool = true, inputGradient: Bool = false, auxiliaryGradient: Bool = false
    ) {
        precondition(!auxiliaryGradient || architecture.auxiliaryInput != nil, "network has no auxiliary input")
        let lowest = parameterGradients || inputGradient ? 0 : (architecture.auxiliaryInput?.layer ?? 0)
        for index in stride(from: layers.count - 1, through: lowest, by: -1) {
            let layer = layers[index]
            let delta = workspace.layerGradient(index, batch: batch)
            // With parameter gradients, the bias gradient (the column sums of dL/dz) comes out of the same pass;
            // for a normalized layer those sums are the shifts' gradient, and the normalization's backward pass follows.
            let sums = layer.normalization == .none ? biasGradients(index) : gradients.values + layer.scaleOffset + layer.outputSize
            layer.activation.backpropagate(delta, outputs: workspace.layerOutput(index, batch: batch),
                                           columnSums: parameterGradients ? sums : nil)
            if layer.normalization != .none {
                normalizeBackward(index, delta, workspace: workspace, parameterGradients: parameterGradients)
            }
            let w = weights(index)
            if parameterGradients {
                BLAS.gemm(workspace.layerInput(index, batch: batch), transposeA: true, delta, into: weightGradients(index))
            }
            if auxiliaryGradient, layer.auxiliaryInputSize > 0 {
                let auxWeights = MatrixView(
                    base: w.base + layer.mainInputSize * layer.outputSize,
                    rows: layer.auxiliaryInputSize, columns: layer.outputSize)
                BLAS.gemm(delta, auxWeights, transposeB: true, into: workspace.auxiliaryGradient(batch: batch))
            }
            let mainWeights = MatrixView(base: w.base, rows: layer.mainInputSize, columns: layer.outputSize)
            if index > lowest {
                BLAS.gemm(delta, mainWeights, transposeB: true, into: workspace.layerGradient(index - 1, batch: batch))
            } else if index == 0, inputGradient {
                BLAS.gemm(delta, mainWeights, transposeB: true, into: workspace.inputGradient(batch: batch))
            }
        }
    }

}
