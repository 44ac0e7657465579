import Foundation

/// The element-wise nonlinearities a layer can apply after its affine map.
public enum Activation: String, Codable, Sendable, CaseIterable {
    case identity
    case relu
    case tanh

    /// Adds `bias` to each of `rows` rows of `y` and applies the activation in place:
    /// one pass over the output instead of a bias pass and an activation pass.
    func applyWithBias(_ y: MatrixView, bias: UnsafePointer<Float>) {
        let n = y.columns
        for r in 0..<y.rows {
            let row = y.row(r)
            switch self {
            case .identity:
                VectorKernels.addBias(row, bias, count: n)
            case .relu:
                VectorKernels.addBiasRelu(row, bias, count: n)
            case .tanh:
                for j in 0..<n { row[j] = Foundation.tanh(row[j] + bias[j]) }
            }
        }
    }

    /// Turns dL/dy into dL/dz in place, from the stored outputs y = f(z):
    /// relu' = [y > 0], tanh' = 1 − y².
    func backpropagate(_ gradient: MatrixView, outputs y: MatrixView) {
        let n = gradient.columns
        switch self {
        case .identity:
            return
        case .relu:
            for r in 0..<gradient.rows { VectorKernels.reluBackward(gradient.row(r), outputs: y.row(r), count: n) }
        case .tanh:
            for r in 0..<gradient.rows { VectorKernels.tanhBackward(gradient.row(r), outputs: y.row(r), count: n) }
        }
    }
}
