import Tensors
/// Preallocated activations and gradients of one ``MLP`` for batches of up to `capacity` rows.
///
/// Layer `l`'s output is written straight into the leading columns of layer
/// `l + 1`'s input buffer, whose trailing columns hold the auxiliary input when
/// it joins there, so concatenation costs nothing. Keep one workspace per
/// concurrent use (e.g. the online critic and the target critic each have their own).
public final class MLPWorkspace {
    public let capacity: Int
    let layers: [DenseLayer]
    let auxiliaryLayer: Int?
    /// `inputs[l]` is layer `l`'s full input (main columns, then auxiliary columns).
    let inputs: [Matrix]
    let finalOutput: Matrix
    /// `deltas[l]` holds dL/dy of layer `l`, turned into dL/dz in place during backward.
    let deltas: [Matrix]
    let inputDelta: Matrix
    let auxiliaryDelta: Matrix
    /// Normalized layers only: ẑ of the last forward pass, and 1/σ per row (layer norm) or per unit (batch norm).
    let normalized: [Matrix?]
    let inverseDeviations: [Matrix?]
    /// Whether each layer's last forward pass used batch statistics (its backward pass depends on it).
    var usedBatchStatistics: [Bool]
    /// Whether each layer's last forward pass renormalized, and its r and d per unit (batch normalization only).
    var usedRenormalization: [Bool]
    let renormalizationCorrections: [Matrix?]
    /// Per-unit sums for batch normalization, two of the widest layer.
    let columnScratch: Matrix

    public init(for network: MLP, capacity: Int) {
        precondition(capacity > 0, "workspace capacity must be positive")
        self.capacity = capacity
        layers = network.layers
        auxiliaryLayer = network.architecture.auxiliaryInput?.layer
        inputs = network.layers.map { Matrix(rows: capacity, columns: $0.inputSize) }
        finalOutput = Matrix(rows: capacity, columns: network.architecture.outputSize)
        deltas = network.layers.map { Matrix(rows: capacity, columns: $0.outputSize) }
        inputDelta = Matrix(rows: capacity, columns: network.architecture.inputSize)
        auxiliaryDelta = Matrix(rows: capacity, columns: network.architecture.auxiliaryInput?.size ?? 1)
        normalized = network.layers.map { $0.normalization == .none ? nil : Matrix(rows: capacity, columns: $0.outputSize) }
        inverseDeviations = network.layers.map { $0.normalization == .none ? nil : Matrix(rows: max(capacity, $0.outputSize), columns: 1) }
        usedBatchStatistics = Array(repeating: false, count: network.layers.count)
        usedRenormalization = usedBatchStatistics
        renormalizationCorrections = network.layers.map { $0.normalization == .batch ? Matrix(rows: 2 * $0.outputSize, columns: 1) : nil }
        columnScratch = Matrix(rows: 2 * (network.layers.map(\.outputSize).max() ?? 1), columns: 1)
    }

    /// Where the caller writes the network input before ``MLP/forward(batch:workspace:)``.
    public func input(batch: Int) -> MatrixView {
        inputs[0].view.topRows(batch).columns(0..<layers[0].mainInputSize)
    }

    /// Where the caller writes the auxiliary input (e.g. the critic's action).
    public func auxiliaryInput(batch: Int) -> MatrixView {
        guard let layer = auxiliaryLayer else { preconditionFailure("network has no auxiliary input") }
        let l = layers[layer]
        return inputs[layer].view.topRows(batch).columns(l.mainInputSize..<l.inputSize)
    }

    public func output(batch: Int) -> MatrixView { finalOutput.view.topRows(batch) }

    /// Where the caller writes dL/d(output) before ``MLP/backward(batch:workspace:parameterGradients:inputGradient:auxiliaryGradient:)``.
    public func outputGradient(batch: Int) -> MatrixView { deltas[layers.count - 1].view.topRows(batch) }

    public func inputGradient(batch: Int) -> MatrixView { inputDelta.view.topRows(batch) }

    public func auxiliaryGradient(batch: Int) -> MatrixView {
        auxiliaryDelta.view.topRows(batch)
    }

    func layerInput(_ index: Int, batch: Int) -> MatrixView { inputs[index].view.topRows(batch) }

    func layerOutput(_ index: Int, batch: Int) -> MatrixView {
        if index == layers.count - 1 { return finalOutput.view.topRows(batch) }
        return inputs[index + 1].view.topRows(batch).columns(0..<layers[index].outputSize)
    }

    func layerGradient(_ index: Int, batch: Int) -> MatrixView { deltas[index].view.topRows(batch) }
}
