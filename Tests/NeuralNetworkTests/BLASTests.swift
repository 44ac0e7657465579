import Tensors
import Randomness
import Testing
@testable import NeuralNetwork

/// Naive triple loop in Double, the reference every GEMM route must match.
func referenceProduct(_ a: Matrix, transposeA: Bool, _ b: Matrix, transposeB: Bool, c: [Float], alpha: Float, beta: Float) -> [Double] {
    let m = transposeA ? a.columns : a.rows, k = transposeA ? a.rows : a.columns
    let n = transposeB ? b.rows : b.columns
    var result = [Double](repeating: 0, count: m * n)
    for i in 0..<m {
        for j in 0..<n {
            var sum = 0.0
            for p in 0..<k {
                let x = transposeA ? a[p, i] : a[i, p]
                let y = transposeB ? b[j, p] : b[p, j]
                sum += Double(x) * Double(y)
            }
            result[i * n + j] = Double(alpha) * sum + Double(beta) * Double(c[i * n + j])
        }
    }
    return result
}

@Suite("GEMM routing")
struct BLASTests {
    /// (m, n, k) covering sgemm, gemv (n = 1 or m = 1), rank-one (k = 1) and the small-dimension loops.
    static let shapes: [(Int, Int, Int)] = [
        (7, 9, 11), (7, 1, 11), (1, 9, 11), (7, 9, 1), (7, 9, 3), (3, 9, 11), (1, 1, 5), (20, 33, 4), (4, 33, 20),
    ]

    @Test("every route matches the reference for all transpositions and scalars")
    func routes() {
        var generator = Xoshiro256(seed: 99)
        for (m, n, k) in Self.shapes {
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    for (alpha, beta) in [(Float(1), Float(0)), (0.5, 1), (2, -0.5)] {
                        let a = transposeA ? Matrix(rows: k, columns: m) : Matrix(rows: m, columns: k)
                        let b = transposeB ? Matrix(rows: n, columns: k) : Matrix(rows: k, columns: n)
                        for i in 0..<a.count { a.storage[i] = generator.nextUniform(Float(-1), 1) }
                        for i in 0..<b.count { b.storage[i] = generator.nextUniform(Float(-1), 1) }
                        let initial = (0..<(m * n)).map { _ in generator.nextUniform(Float(-1), 1) }
                        let c = Matrix(rows: m, columns: n, values: initial)
                        BLAS.gemm(a.view, transposeA: transposeA, b.view, transposeB: transposeB, into: c.view, alpha: alpha, beta: beta)
                        let expected = referenceProduct(a, transposeA: transposeA, b, transposeB: transposeB, c: initial, alpha: alpha, beta: beta)
                        let worst = zip(c.view.toArray(), expected).map { abs(Double($0) - $1) }.max() ?? 0
                        #expect(worst < 1e-4, "m \(m) n \(n) k \(k) tA \(transposeA) tB \(transposeB) α \(alpha) β \(beta): error \(worst)")
                    }
                }
            }
        }
    }

    @Test("strided views read and write only their own columns")
    func stridedViews() {
        let wide = Matrix(rows: 2, columns: 5, fill: -7)
        let a = Matrix(rows: 2, columns: 2, values: [1, 2, 3, 4])
        let b = Matrix(rows: 2, columns: 3, values: [1, 0, 1, 0, 1, 1])
        BLAS.gemm(a.view, b.view, into: wide.view.columns(1..<4))
        #expect(wide.view.toArray() == [-7, 1, 2, 3, -7, -7, 3, 4, 7, -7])
    }
}
