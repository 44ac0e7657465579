import Tensors
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

extension BLAS {
    /// The OpenBLAS kernel family in use, e.g. "Haswell" or "SkylakeX".
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// OpenBLAS's build description, e.g. "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64".
    public static var configuration: String { String(cString: openblas_get_config()) }

    /// "OpenBLAS 0.3.21": the library and its version, the first two words of its configuration.
    public static var library: String { configuration.split(separator: " ").prefix(2).joined(separator: " ") }
}

/// Which BLAS a run used, for summary.json, logs and `ddpg info`.
public struct BLASReport: Codable, Sendable, Equatable {
    /// Library and version, e.g. "OpenBLAS 0.3.21".
    public var library: String
    /// The kernel family in use, e.g. "SkylakeX".
    public var kernels: String
    /// The family OpenBLAS chose by itself, when the process replaced it by one the CPU supports better.
    public var openblasChoice: String?
    /// Why these kernels: the CPU features they need, or that OpenBLAS chose them.
    public var reason: String
    public var threads: Int

    public init(library: String, kernels: String, openblasChoice: String?, reason: String, threads: Int) {
        self.library = library
        self.kernels = kernels
        self.openblasChoice = openblasChoice
        self.reason = reason
        self.threads = threads
    }

    /// "OpenBLAS 0.3.21, SkylakeX kernels (for AVX-512 F/CD/BW/DQ/VL; OpenBLAS chose Haswell), 1 thread".
    public var line: String {
        let chose = openblasChoice.map { "; OpenBLAS chose \($0)" } ?? ""
        return "\(library), \(kernels) kernels (\(reason)\(chose)), \(threads) thread\(threads == 1 ? "" : "s")"
    }
}
