import Foundation
import NeuralNetwork
import Randomness
import Tensors

/// What the actor network's outputs mean, and so how a worker acts with it.
public enum PolicyHead: String, Codable, Sendable, CaseIterable {
    /// μ(s) = scale · tanh(z) + bias, one output per action dimension (DDPG, TD3): deterministic, and a
    /// worker explores by adding its own noise.
    case deterministic
    /// z = [m₁ … m_A | s₁ … s_A]: the means, then the log-std parameters; a = scale · tanh(m + σ·ε) + bias with
    /// ε ~ N(0, 1) (SAC's squashed Gaussian): a worker samples, and evaluation acts with tanh(m).
    case squashedGaussian = "squashed_gaussian"
    /// z = n logits over a Discrete(n) space's actions, π = softmax(z) (A2C, A3C): a worker samples the
    /// index, evaluation plays the most likely one. The action is the index, as one float.
    case categorical
    /// z = [m₁ … m_A | log σ₁ … log σ_A], a ~ N(m, σ²) clipped to [low, high] when stepped (SB3's A2C for a
    /// Box): evaluation plays m clipped. Trained with log σ state-independent (see ``Actor``).
    case gaussian

    /// The network's outputs for an action space with these bounds (a Discrete(n) one is [0, n − 1]).
    public func outputCount(actionLow: [Float], actionHigh: [Float]) -> Int {
        switch self {
        case .deterministic: actionLow.count
        case .squashedGaussian, .gaussian: 2 * actionLow.count
        case .categorical: Int(actionHigh.first ?? 0) + 1
        }
    }

    /// Whether acting draws from the policy (no exploration noise is added then).
    public var isStochastic: Bool { self != .deterministic }
    /// Whether the head squashes through tanh onto the bounds (off-policy heads), rather than a distribution
    /// the bounds clip or index (the on-policy heads).
    public var isSquashed: Bool { self == .deterministic || self == .squashedGaussian }
}

/// The policy π(a | s): an MLP and a ``PolicyHead`` that maps its outputs onto each action dimension's
/// [low, high] through tanh (CleanRL's `action_scale` / `action_bias`), or onto a distribution over a
/// Discrete space's indices or a Box's unsquashed values; with its own workspace for acting on batches of
/// up to `inferenceCapacity` observations.
///
/// A ``PolicyHead/gaussian`` head's log σ is state-independent, as SB3's `log_std` parameter: it is the
/// bias of the log σ outputs, whose weights stay zero (the agent that trains it never moves them). So the
/// actor is one network on the wire and in checkpoints, and a worker need not know how it was trained.
public final class Actor {
    public let network: MLP
    public let head: PolicyHead
    public let actionLow: [Float]
    public let actionHigh: [Float]
    /// (high − low) / 2 and (high + low) / 2 per dimension.
    public let actionScale: [Float]
    public let actionBias: [Float]
    /// Every dimension is [−b, b] for one b: acting is then one multiplication, as it always was.
    let symmetricBound: Float?
    public let observationSize: Int
    public let actionSize: Int
    /// The network's layer widths: observation, hidden sizes…, the head's outputs (2 per action for a squashed Gaussian).
    public var layerSizes: [Int] {
        let architecture = network.architecture
        return [architecture.inputSize] + architecture.hiddenSizes + [architecture.outputSize]
    }
    private let inference: MLPWorkspace
    /// Applied to every observation before the network sees it when acting (``act(observations:count:actions:)``
    /// and the samplers); training feeds its networks normalized batches itself. Nil: observations go in as they are.
    public var observationNormalization: ObservationNormalization?

    public init(network: MLP, head: PolicyHead = .deterministic, actionLow: [Float], actionHigh: [Float], inferenceCapacity: Int = 64) {
        let architecture = network.architecture
        precondition(architecture.outputActivation == (head == .deterministic ? .tanh : .identity),
                     "a \(head) head needs a \(head == .deterministic ? "tanh" : "linear") output layer")
        precondition(head.outputCount(actionLow: actionLow, actionHigh: actionHigh) == architecture.outputSize && actionHigh.count == actionLow.count,
                     "\(actionLow.count) low and \(actionHigh.count) high bounds for \(architecture.outputSize) outputs of a \(head) head")
        precondition(head != .categorical || (actionLow == [0] && actionHigh[0] >= 1), "a categorical head acts in [0, n − 1]")
        self.network = network
        self.head = head
        self.actionLow = actionLow
        self.actionHigh = actionHigh
        (actionScale, actionBias, symmetricBound) = Self.affine(low: actionLow, high: actionHigh)
        observationSize = architecture.inputSize
        actionSize = actionLow.count
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
                                    normalization: Normalization = .none, head: PolicyHead = .deterministic) -> MLPArchitecture {
        precondition(head != .categorical, "a categorical head's outputs are its choices: use architecture(observationSize:actionLow:actionHigh:…)")
        return architecture(observationSize: observationSize, actionLow: Array(repeating: -1, count: actionSize), actionHigh: Array(repeating: 1, count: actionSize),
                            hiddenSizes: hiddenSizes, normalization: normalization, head: head)
    }

    public static func architecture(observationSize: Int, actionLow: [Float], actionHigh: [Float], hiddenSizes: [Int],
                                    hiddenActivation: Activation = .relu, normalization: Normalization = .none,
                                    head: PolicyHead = .deterministic) -> MLPArchitecture {
        MLPArchitecture(inputSize: observationSize, hiddenSizes: hiddenSizes, outputSize: head.outputCount(actionLow: actionLow, actionHigh: actionHigh),
                        hiddenActivation: hiddenActivation, outputActivation: head == .deterministic ? .tanh : .identity, normalization: normalization)
    }

    public var inferenceCapacity: Int { inference.capacity }

    /// Writes the policy's action for `count` row-major observations into `actions`: μ(s), a squashed
    /// Gaussian's scale · tanh(m) + bias, a categorical head's most likely index, or a Gaussian's mean
    /// clipped to the bounds (what evaluations play).
    public func act(observations: UnsafePointer<Float>, count: Int, actions: UnsafeMutablePointer<Float>) {
        forEachBatch(observations, count: count) { out, n, done in
            let dst = actions + done * actionSize
            switch head {
            case .deterministic:
                if let bound = symmetricBound {
                    for i in 0..<(n * actionSize) { dst[i] = bound * out[i] }
                } else {
                    for row in 0..<n {
                        for j in 0..<actionSize { dst[row * actionSize + j] = actionScale[j] * out[row * actionSize + j] + actionBias[j] }
                    }
                }
            case .squashedGaussian:
                let width = 2 * actionSize
                for row in 0..<n {
                    for j in 0..<actionSize { dst[row * actionSize + j] = actionScale[j] * tanhf(out[row * width + j]) + actionBias[j] }
                }
            case .categorical:
                let choices = network.architecture.outputSize
                for row in 0..<n { dst[row] = Float(Categorical.mostLikely(out + row * choices, count: choices)) }
            case .gaussian:
                let width = 2 * actionSize
                for row in 0..<n {
                    for j in 0..<actionSize { dst[row * actionSize + j] = min(max(out[row * width + j], actionLow[j]), actionHigh[j]) }
                }
            }
        }
    }

    /// Writes an action drawn from π(· | s) for each of `count` observations: the deterministic
    /// head's μ(s), or a squashed Gaussian's scale · tanh(m + σ·ε) + bias with ε ~ N(0, 1) from `generator`.
    /// (The on-policy heads sample with their log-probabilities: ``sample(observations:count:actions:logProbabilities:using:)``.)
    public func sample<G: RandomNumberGenerator>(observations: UnsafePointer<Float>, count: Int, actions: UnsafeMutablePointer<Float>,
                                                 using generator: inout G) {
        if !head.isSquashed {
            withUnsafeTemporaryAllocation(of: Float.self, capacity: max(count, 1)) { logProbabilities in
                sample(observations: observations, count: count, actions: actions, logProbabilities: logProbabilities.baseAddress!, using: &generator)
            }
            return clipToBounds(actions, count: count)
        }
        guard head == .squashedGaussian else { return act(observations: observations, count: count, actions: actions) }
        forEachBatch(observations, count: count) { out, n, done in
            let dst = actions + done * actionSize, width = 2 * actionSize
            for row in 0..<n {
                for j in 0..<actionSize {
                    let mean = out[row * width + j], logStd = SquashedGaussian.logStd(fromRaw: out[row * width + actionSize + j])
                    let u = mean + expf(logStd) * Float(generator.nextGaussian())
                    dst[row * actionSize + j] = actionScale[j] * tanhf(u) + actionBias[j]
                }
            }
        }
    }

    /// The network's outputs for `count` observations, in batches of the inference capacity:
    /// `body(outputs, rows, rows done before)`.
    func forEachBatch(_ observations: UnsafePointer<Float>, count: Int, _ body: (UnsafeMutablePointer<Float>, Int, Int) -> Void) {
        var done = 0
        while done < count {
            let n = min(count - done, inference.capacity)
            let input = inference.input(batch: n)
            input.base.update(from: observations + done * observationSize, count: n * observationSize)
            observationNormalization?.apply(input.base, count: n, stride: input.stride)
            network.forward(batch: n, workspace: inference)
            body(inference.output(batch: n).base, n, done)
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
