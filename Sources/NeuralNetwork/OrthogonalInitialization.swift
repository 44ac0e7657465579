import Randomness

extension MLP {
    /// Orthogonal weights and zero biases (Saxe et al. 2014), as SB3's actor–critic policies start:
    /// each layer's weight matrix has orthonormal rows or columns, whichever are fewer, scaled by
    /// `hiddenGain` (√2 in SB3) for hidden layers and by `outputGain` for the last (0.01 for a policy,
    /// 1 for a value). Normalization starts as the identity.
    ///
    /// `torch.nn.init.orthogonal_` takes the Q of a Gaussian matrix's QR decomposition with R's diagonal
    /// made positive; Gram–Schmidt on the columns of a tall Gaussian matrix is that Q, drawn the same way.
    public func initializeOrthogonally<G: RandomNumberGenerator>(hiddenGain: Float, outputGain: Float, using generator: inout G) {
        for (index, layer) in layers.enumerated() {
            let gain = index == layers.count - 1 ? outputGain : hiddenGain
            let rows = layer.inputSize, columns = layer.outputSize
            let tall = Self.orthonormalColumns(rows: max(rows, columns), columns: min(rows, columns), using: &generator)
            let w = weights(index)
            for r in 0..<rows {
                for c in 0..<columns {
                    // The tall matrix, or its transpose when the layer is wider than its input.
                    let value = rows >= columns ? tall[r * columns + c] : tall[c * rows + r]
                    w[r, c] = gain * Float(value)
                }
            }
            biases(index).update(repeating: 0, count: columns)
        }
        resetNormalization()
    }

    /// A `rows × columns` (rows ≥ columns) row-major matrix with orthonormal columns: modified
    /// Gram–Schmidt on standard normal draws, in float64.
    static func orthonormalColumns<G: RandomNumberGenerator>(rows: Int, columns: Int, using generator: inout G) -> [Double] {
        var m = (0..<(rows * columns)).map { _ in generator.nextGaussian() }
        for c in 0..<columns {
            for previous in 0..<c {
                var dot = 0.0
                for r in 0..<rows { dot += m[r * columns + c] * m[r * columns + previous] }
                for r in 0..<rows { m[r * columns + c] -= dot * m[r * columns + previous] }
            }
            var norm = 0.0
            for r in 0..<rows { norm += m[r * columns + c] * m[r * columns + c] }
            norm = norm.squareRoot()
            // A draw with a zero column has probability zero; a unit vector keeps the result defined anyway.
            if norm == 0 {
                m[c * columns + c] = 1
                continue
            }
            for r in 0..<rows { m[r * columns + c] /= norm }
        }
        return m
    }
}
