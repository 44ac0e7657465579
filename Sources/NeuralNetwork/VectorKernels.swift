import Tensors
import CKernels

/// The networks' element-wise passes and narrow products. They live in C
/// (Sources/CKernels), compiled once for AVX-512, once for AVX2 with FMA and once
/// for baseline x86-64; the loader binds the best version the CPU supports.
/// Swift's own `SIMD16<Float>` compiles to the baseline only (SSE, with square
/// roots one lane at a time), which made Adam alone 16% of a [256, 256] update.
public enum VectorKernels {
    /// One Adam step over `n` parameters (see ``Adam``); `decay` is coupled L2.
    public static func adamStep(
        weights w: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>,
        firstMoment m: UnsafeMutablePointer<Float>, secondMoment v: UnsafeMutablePointer<Float>, count n: Int,
        beta1: Float, beta2: Float, epsilon: Float, decay: Float, stepSize: Float, invSqrtCorrection2: Float
    ) {
        ddpg_adam_step(w, g, m, v, n, beta1, beta2, epsilon, decay, stepSize, invSqrtCorrection2)
    }

    /// One RMSprop step over `n` parameters (see ``RMSprop``).
    public static func rmspropStep(weights w: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>,
                                   squareAverage v: UnsafeMutablePointer<Float>, count n: Int, alpha: Float, epsilon: Float, learningRate: Float) {
        ddpg_rmsprop_step(w, g, v, n, alpha, epsilon, learningRate)
    }

    /// `target[i] = (1 − rate) · target[i] + rate · source[i]`.
    public static func blend(_ target: UnsafeMutablePointer<Float>, towards source: UnsafePointer<Float>, rate: Float, count n: Int) {
        ddpg_blend(target, source, rate, n)
    }

    /// `y[r][j] = f(y[r][j] + bias[j])` for every row.
    static func applyWithBias(_ y: MatrixView, bias: UnsafePointer<Float>, activation: Activation) {
        ddpg_bias_activation(y.base, y.rows, y.columns, y.stride, bias, activation.kernelCode)
    }

    /// Turns dL/dy into dL/dz in place from the stored outputs y = f(z), and writes the
    /// column sums of dL/dz into `columnSums` if given (a layer's bias gradient), in one pass.
    static func backpropagate(_ gradient: MatrixView, outputs y: MatrixView, activation: Activation, columnSums: UnsafeMutablePointer<Float>?) {
        ddpg_activation_backward(gradient.base, gradient.stride, y.base, y.stride, gradient.rows, gradient.columns, activation.kernelCode,
                                 columnSums)
    }

    /// `destination = factor · source`, row by row.
    public static func scaledCopy(_ source: MatrixView, into destination: MatrixView, factor: Float) {
        precondition(source.rows == destination.rows && source.columns == destination.columns, "scaledCopy shapes differ")
        ddpg_scaled_copy(source.base, source.stride, destination.base, destination.stride, source.rows, source.columns, factor)
    }

    /// `c = alpha · a · b + beta · c` for an inner dimension of at most 4 (`a` is m × k, `b` is k × n).
    public static func narrowInnerProduct(_ a: MatrixView, _ b: MatrixView, into c: MatrixView, alpha: Float, beta: Float) {
        precondition(a.columns >= 1 && a.columns <= 4 && b.rows == a.columns)
        ddpg_narrow_inner_product(a.base, a.stride, b.base, b.stride, c.base, c.stride, c.rows, c.columns, a.columns, alpha, beta)
    }

    /// `c = alpha · aᵀ · b + beta · c` for at most 4 output rows (`a` is k × m, `b` is k × n):
    /// the weight gradient of a narrow-input layer.
    public static func narrowTransposedProduct(_ a: MatrixView, _ b: MatrixView, into c: MatrixView, alpha: Float, beta: Float) {
        precondition(c.rows <= 4 && a.columns == c.rows && a.rows == b.rows)
        ddpg_narrow_transposed_product(a.base, a.stride, b.base, b.stride, c.base, c.stride, c.rows, c.columns, a.rows, alpha, beta)
    }

    /// Whether all `n` values are finite.
    public static func allFinite(_ x: UnsafePointer<Float>, count n: Int) -> Bool { ddpg_all_finite(x, n) != 0 }
}

extension Activation {
    /// The activation as the C kernels number it.
    var kernelCode: Int32 {
        switch self {
        case .identity: 0
        case .relu: 1
        case .tanh: 2
        }
    }
}
