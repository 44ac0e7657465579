import Tensors
/// The element-wise nonlinearities a layer can apply after its affine map.
public enum Activation: String, Codable, Sendable, CaseIterable {
    case identity
    case relu
    case tanh

    /// Adds `bias` to each row of `y` and applies the activation in place:
    /// one pass over the output instead of a bias pass and an activation pass.
    func applyWithBias(_ y: MatrixView, bias: UnsafePointer<Float>) {
        VectorKernels.applyWithBias(y, bias: bias, activation: self)
    }

    /// Turns dL/dy into dL/dz in place, from the stored outputs y = f(z):
    /// relu' = [y > 0], tanh' = 1 − y²; and, if given, writes the column sums of dL/dz into `columnSums`.
    func backpropagate(_ gradient: MatrixView, outputs y: MatrixView, columnSums: UnsafeMutablePointer<Float>? = nil) {
        VectorKernels.backpropagate(gradient, outputs: y, activation: self, columnSums: columnSums)
    }
}
