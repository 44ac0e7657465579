import CBLAS

/// Thin, typed entry points to the OpenBLAS routines the networks use.
public enum BLAS {
    /// Caps OpenBLAS's worker threads. The learner runs at 1 so it never competes
    /// with worker processes for cores, and so that results are reproducible.
    public static func setThreadCount(_ count: Int) {
        openblas_set_num_threads(Int32(count))
    }

    public static var threadCount: Int { Int(openblas_get_num_threads()) }

    /// `c = alpha · op(a) · op(b) + beta · c` on row-major views.
    @inlinable
    public static func gemm(
        _ a: MatrixView, transposeA: Bool = false,
        _ b: MatrixView, transposeB: Bool = false,
        into c: MatrixView, alpha: Float = 1, beta: Float = 0
    ) {
        let m = transposeA ? a.columns : a.rows
        let k = transposeA ? a.rows : a.columns
        let n = transposeB ? b.rows : b.columns
        precondition((transposeB ? b.columns : b.rows) == k, "gemm inner dimensions differ: \(k) vs \(transposeB ? b.columns : b.rows)")
        precondition(c.rows == m && c.columns == n, "gemm output is \(c.rows)x\(c.columns), expected \(m)x\(n)")
        guard m > 0, n > 0 else { return }
        guard k > 0 else {
            for r in 0..<m { scale(c.row(r), count: n, by: beta) }
            return
        }
        // Degenerate shapes go to level-2 routines: sgemm pads a one-wide
        // operand to its full micro-tile, which costs 8–16× the useful work in
        // the networks' one-output final layers and batch-1 inference.
        if n == 1 {
            // c[:, 0] = op(a) · (column of op(b))
            cblas_sgemv(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, Int32(a.rows), Int32(a.columns),
                        alpha, a.base, Int32(a.stride), b.base, transposeB ? 1 : Int32(b.stride),
                        beta, c.base, Int32(c.stride))
        } else if m == 1 {
            // c[0, :] = op(b)ᵀ · (row of op(a))
            cblas_sgemv(CblasRowMajor, transposeB ? CblasNoTrans : CblasTrans, Int32(b.rows), Int32(b.columns),
                        alpha, b.base, Int32(b.stride), a.base, transposeA ? Int32(a.stride) : 1,
                        beta, c.base, 1)
        } else if k <= smallDimension, !transposeA, !transposeB {
            // A layer fed by a few inputs (Pendulum's 3 observations).
            VectorKernels.narrowInnerProduct(a, b, into: c, alpha: alpha, beta: beta)
        } else if m <= smallDimension, transposeA, !transposeB {
            // The weight gradient of such a layer.
            VectorKernels.narrowTransposedProduct(a, b, into: c, alpha: alpha, beta: beta)
        } else if k == 1 {
            // Rank-one update: c = alpha · (column of op(a)) ⊗ (row of op(b)) + beta · c
            if beta != 1 {
                for r in 0..<m { scale(c.row(r), count: n, by: beta) }
            }
            cblas_sger(CblasRowMajor, Int32(m), Int32(n), alpha,
                       a.base, transposeA ? 1 : Int32(a.stride), b.base, transposeB ? Int32(b.stride) : 1,
                       c.base, Int32(c.stride))
        } else {
            cblas_sgemm(
                CblasRowMajor,
                transposeA ? CblasTrans : CblasNoTrans,
                transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k),
                alpha, a.base, Int32(a.stride), b.base, Int32(b.stride),
                beta, c.base, Int32(c.stride)
            )
        }
    }

    /// Below this inner (or output-row) size, the loops above beat sgemm's packing.
    @usableFromInline static let smallDimension = 4

    @inlinable
    static func scale(_ x: UnsafeMutablePointer<Float>, count: Int, by factor: Float) {
        if factor == 0 {
            x.update(repeating: 0, count: count)
        } else {
            for i in 0..<count { x[i] *= factor }
        }
    }

    /// Euclidean norm of `count` contiguous floats.
    @inlinable
    public static func norm(_ x: UnsafePointer<Float>, count: Int) -> Float {
        cblas_snrm2(Int32(count), x, 1)
    }
}
