import Foundation
import Randomness
import Tensors

/// SAC's squashed Gaussian (Haarnoja et al. 2018, appendix C), as the ``PolicyHead/squashedGaussian``
/// head computes it from the network's outputs z = [m | s] (a row of 2·A values):
///
///     log σ = logStdMin + ½(logStdMax − logStdMin)(tanh s + 1)     (CleanRL's bounded log-std)
///     u = m + σ·ε,  ε ~ N(0, 1);   t = tanh u;   a = scale·t + bias
///     log π(a | s) = Σⱼ [ −½εⱼ² − log σⱼ − ½ log 2π − log(scaleⱼ(1 − tⱼ²) + 10⁻⁶) ]
///
/// ``sample(_:noise:actor:into:)`` draws a batch and keeps what ``backward(actionGradient:logProbabilityGradient:into:)``
/// needs to carry a loss's gradients in a and log π back to z: the reparameterization that SAC's actor
/// step and its targets use. A batch's buffers are allocated once.
public final class SquashedGaussian {
    public static let logStdMin: Float = -5
    public static let logStdMax: Float = 2
    /// Keeps log(1 − t²) finite where tanh saturates.
    static let epsilon: Float = 1e-6
    static let halfLogTwoPi = Float(0.5 * log(2 * Double.pi))

    /// log σ from the network's log-std output.
    @inlinable
    public static func logStd(fromRaw raw: Float) -> Float { logStdMin + 0.5 * (logStdMax - logStdMin) * (tanhf(raw) + 1) }

    public let capacity: Int
    public let actionSize: Int
    /// The last sample's ε, row by row: what the backward pass holds fixed.
    private let epsilons: Matrix
    /// Its t = tanh(u).
    private let squashed: Matrix
    /// Its σ.
    private let stds: Matrix
    /// Its tanh(s), for the bounded log-std's derivative.
    private let rawTanh: Matrix
    /// log π(a | s) of the last sample's rows.
    public let logProbabilities: Matrix
    private var count = 0
    private var scale: [Float] = []

    public init(capacity: Int, actionSize: Int) {
        self.capacity = capacity
        self.actionSize = actionSize
        epsilons = Matrix(rows: capacity, columns: actionSize)
        squashed = Matrix(rows: capacity, columns: actionSize)
        stds = Matrix(rows: capacity, columns: actionSize)
        rawTanh = Matrix(rows: capacity, columns: actionSize)
        logProbabilities = Matrix(rows: capacity, columns: 1)
    }

    /// Draws a = scale·tanh(m + σε) + bias for each row of `outputs` (rows × 2A) with ε from `noise`,
    /// writes the actions into `actions` and their log-probabilities into ``logProbabilities``.
    public func sample<G: RandomNumberGenerator>(_ outputs: MatrixView, noise generator: inout G, actor: Actor, into actions: MatrixView) {
        let a = actionSize
        precondition(outputs.columns == 2 * a && actions.columns == a && outputs.rows == actions.rows && outputs.rows <= capacity)
        let epsilon = epsilons.view
        for row in 0..<outputs.rows {
            for j in 0..<a { epsilon[row, j] = Float(generator.nextGaussian()) }
        }
        evaluate(outputs, noise: epsilon.topRows(outputs.rows), actor: actor, into: actions)
    }

    /// ``sample(_:noise:actor:into:)`` with given ε (`noise`, rows × A): for gradient checks.
    public func evaluate(_ outputs: MatrixView, noise given: MatrixView, actor: Actor, into actions: MatrixView) {
        let a = actionSize, n = outputs.rows
        precondition(outputs.columns == 2 * a && given.columns == a && actions.columns == a, "\(outputs.columns) outputs for \(a) actions")
        precondition(given.rows == n && actions.rows == n && n <= capacity, "\(n) rows for a capacity of \(capacity)")
        precondition(actor.actionSize == a, "an actor of \(actor.actionSize) actions for \(a)")
        count = n
        scale = actor.actionScale
        let bias = actor.actionBias
        let epsilon = epsilons.view, t = squashed.view, sigma = stds.view, tanhS = rawTanh.view, logp = logProbabilities.storage
        for row in 0..<n {
            var sum: Float = 0
            for j in 0..<a {
                let e = given[row, j], s = tanhf(outputs[row, a + j])
                let logSigma = Self.logStdMin + 0.5 * (Self.logStdMax - Self.logStdMin) * (s + 1), sd = expf(logSigma)
                let squash = tanhf(outputs[row, j] + sd * e)
                epsilon[row, j] = e
                t[row, j] = squash
                sigma[row, j] = sd
                tanhS[row, j] = s
                actions[row, j] = scale[j] * squash + bias[j]
                sum += -0.5 * e * e - logSigma - Self.halfLogTwoPi - logf(scale[j] * (1 - squash * squash) + Self.epsilon)
            }
            logp[row] = sum
        }
    }

    /// Carries dL/da (rows × A) and dL/dlog π (one per row) of the last sample back to dL/dz (rows × 2A),
    /// through the reparameterization: u = m + σε with ε held fixed.
    public func backward(actionGradient: MatrixView, logProbabilityGradient: UnsafePointer<Float>, into outputGradient: MatrixView) {
        let a = actionSize
        precondition(actionGradient.rows == count && outputGradient.rows == count && outputGradient.columns == 2 * a)
        let epsilon = epsilons.view, t = squashed.view, sigma = stds.view, tanhS = rawTanh.view
        let logStdSpan = 0.5 * (Self.logStdMax - Self.logStdMin)
        for row in 0..<count {
            let dLogp = logProbabilityGradient[row]
            for j in 0..<a {
                let squash = t[row, j], derivative = 1 - squash * squash, e = epsilon[row, j], sd = sigma[row, j]
                // ∂a/∂u and ∂log π/∂u (the Jacobian term −log(scale(1 − t²) + δ) is the only one that moves with u).
                let actionByU = scale[j] * derivative
                let logpByU = 2 * squash * scale[j] * derivative / (scale[j] * derivative + Self.epsilon)
                let byU = actionGradient[row, j] * actionByU + dLogp * logpByU
                // u = m + σε: ∂u/∂m = 1, ∂u/∂log σ = σε; log π also holds −log σ directly.
                let byLogSigma = byU * sd * e - dLogp
                outputGradient[row, j] = byU
                outputGradient[row, a + j] = byLogSigma * logStdSpan * (1 - tanhS[row, j] * tanhS[row, j])
            }
        }
    }
}
