import NeuralNetwork
import Tensors

/// The deterministic policy μ(s) = scale · tanh(MLP(s)) + bias, mapping tanh's (−1, 1) onto
/// each action dimension's [low, high] (CleanRL's `action_scale` / `action_bias`), with its own
/// workspace for acting on batches of up to `inferenceCapacity` observations.
public final class Actor {
    public let network: MLP
    public let actionLow: [Float]
    public let actionHigh: [Float]
    /// (high − low) / 2 and (high + low) / 2 per dimension.
    public let actionScale: [Float]
    public let actionBias: [Float]
    /// Every dimension is [−b, b] for one b: acting is then one multiplication, as it always was.
    let symmetricBound: Float?
    public let observationSize: Int
    public let actionSize: Int
    private let inference: MLPWorkspace

    public init(network: MLP, actionLow: [Float], actionHigh: [Float], inferenceCapacity: Int = 64) {
        precondition(network.architecture.outputActivation == .tanh, "the actor's output layer must be tanh")
        precondition(actionLow.count == network.architecture.outputSize && actionHigh.count == actionLow.count,
                     "\(actionLow.count) low and \(actionHigh.count) high bounds for \(network.architecture.outputSize) actions")
        self.network = network
        self.actionLow = actionLow
        self.actionHigh = actionHigh
        (actionScale, actionBias, symmetricBound) = Self.affine(low: actionLow, high: actionHigh)
        observationSize = network.architecture.inputSize
        actionSize = network.architecture.outputSize
        inference = MLPWorkspace(for: network, capacity: inferenceCapacity)
    }

    /// Every dimension in [−bound, bound].
    public convenience init(network: MLP, actionBound: Float, inferenceCapacity: Int = 64) {
        let n = network.architecture.outputSize
        self.init(network: network, actionLow: Array(repeating: -actionBound, count: n),
                  actionHigh: Array(repeating: actionBound, count: n), inferenceCapacity: inferenceCapacity)
    }

    /// The largest |bound| of any dimension: what formats that store one symmetric bound record
    /// (checkpoint headers, and the exported actor's `action_bound` beside its per-dimension bounds).
    public var actionBound: Float { zip(actionLow, actionHigh).map { max(-$0, $1) }.max() ?? 0 }

    static func affine(low: [Float], high: [Float]) -> (scale: [Float], bias: [Float], symmetricBound: Float?) {
        let scale = zip(low, high).map { ($1 - $0) / 2 }, bias = zip(low, high).map { ($1 + $0) / 2 }
        let symmetric = bias.allSatisfy { $0 == 0 } && Set(scale).count == 1
        return (scale, bias, symmetric ? scale.first : nil)
    }

    public static func architecture(observationSize: Int, actionSize: Int, hiddenSizes: [Int],
                                    normalization: Normalization = .none) -> MLPArchitecture {
        MLPArchitecture(inputSize: observationSize, hiddenSizes: hiddenSizes, outputSize: actionSize,
                        hiddenActivation: .relu, outputActivation: .tanh, normalization: normalization)
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
            if let bound = symmetricBound {
                for i in 0..<(n * actionSize) { dst[i] = bound * out[i] }
            } else {
                for row in 0..<n {
                    for j in 0..<actionSize { dst[row * actionSize + j] = actionScale[j] * out[row * actionSize + j] + actionBias[j] }
                }
            }
            done += n
        }
    }
}

extension Actor {
    /// a = scale · t + bias per column: tanh outputs to actions.
    public func writeActions(fromTanh tanh: MatrixView, into actions: MatrixView) {
        if let bound = symmetricBound { return VectorKernels.scaledCopy(tanh, into: actions, factor: bound) }
        affineColumns(tanh, into: actions, withBias: true)
    }

    /// dL/dt = scale · dL/da per column: the chain rule back through the action map.
    public func writeTanhGradient(fromActionGradient actionGradient: MatrixView, into tanhGradient: MatrixView) {
        if let bound = symmetricBound { return VectorKernels.scaledCopy(actionGradient, into: tanhGradient, factor: bound) }
        affineColumns(actionGradient, into: tanhGradient, withBias: false)
    }

    private func affineColumns(_ source: MatrixView, into destination: MatrixView, withBias: Bool) {
        precondition(source.rows == destination.rows && source.columns == actionSize && destination.columns == actionSize)
        for row in 0..<source.rows {
            let from = source.base + row * source.stride, to = destination.base + row * destination.stride
            for j in 0..<actionSize { to[j] = actionScale[j] * from[j] + (withBias ? actionBias[j] : 0) }
        }
    }
}
