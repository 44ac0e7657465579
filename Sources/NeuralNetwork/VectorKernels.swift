/// Element-wise loops written with explicit 16-lane SIMD.
///
/// LLVM cannot prove that the raw pointers of these loops do not alias, so it
/// leaves plain loops scalar; in small networks these passes would then cost
/// more than the matrix products. Each kernel handles the tail one by one.
public enum VectorKernels {
    public typealias Lanes = SIMD16<Float>
    public static let width = Lanes.scalarCount

    @inline(__always)
    public static func load(_ p: UnsafePointer<Float>) -> Lanes {
        UnsafeRawPointer(p).loadUnaligned(as: Lanes.self)
    }

    @inline(__always)
    public static func store(_ v: Lanes, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Lanes.self)
    }

    /// `y[i] = max(y[i] + b[i], 0)`.
    @inline(__always)
    public static func addBiasRelu(_ y: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, count n: Int) {
        var i = 0
        let zero = Lanes(repeating: 0)
        while i + width <= n {
            let v = load(y + i) + load(b + i)
            store(v.replacing(with: zero, where: v .< zero), y + i)
            i += width
        }
        while i < n {
            let v = y[i] + b[i]
            y[i] = v > 0 ? v : 0
            i += 1
        }
    }

    /// `y[i] += b[i]`.
    @inline(__always)
    public static func addBias(_ y: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, count n: Int) {
        var i = 0
        while i + width <= n {
            store(load(y + i) + load(b + i), y + i)
            i += width
        }
        while i < n {
            y[i] += b[i]
            i += 1
        }
    }

    /// `g[i] = y[i] > 0 ? g[i] : 0`, the ReLU derivative applied from its output.
    @inline(__always)
    public static func reluBackward(_ g: UnsafeMutablePointer<Float>, outputs y: UnsafePointer<Float>, count n: Int) {
        var i = 0
        let zero = Lanes(repeating: 0)
        while i + width <= n {
            store(load(g + i).replacing(with: zero, where: load(y + i) .<= zero), g + i)
            i += width
        }
        while i < n {
            if !(y[i] > 0) { g[i] = 0 }
            i += 1
        }
    }

    /// `g[i] *= 1 − y[i]²`, the tanh derivative applied from its output.
    @inline(__always)
    public static func tanhBackward(_ g: UnsafeMutablePointer<Float>, outputs y: UnsafePointer<Float>, count n: Int) {
        var i = 0
        let one = Lanes(repeating: 1)
        while i + width <= n {
            let out = load(y + i)
            store(load(g + i) * (one - out * out), g + i)
            i += width
        }
        while i < n {
            g[i] *= 1 - y[i] * y[i]
            i += 1
        }
    }

    /// `sum[i] += x[i]`.
    @inline(__always)
    public static func accumulate(_ sum: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count n: Int) {
        addBias(sum, x, count: n)
    }

    /// `c = alpha · a · b + beta · c` for an inner dimension of at most 4
    /// (`a` is m × k, `b` is k × n), accumulating each 16-wide block of a row
    /// in registers instead of making k passes over it.
    public static func narrowInnerProduct(_ a: MatrixView, _ b: MatrixView, into c: MatrixView, alpha: Float, beta: Float) {
        let k = a.columns, n = c.columns
        precondition(k <= 4)
        let b0 = b.row(0), b1 = b.row(min(1, k - 1)), b2 = b.row(min(2, k - 1)), b3 = b.row(min(3, k - 1))
        for r in 0..<c.rows {
            let x = a.row(r), out = c.row(r)
            // Unused terms get a zero coefficient so one loop serves k = 1…4.
            let f0 = alpha * x[0], f1 = k > 1 ? alpha * x[1] : 0, f2 = k > 2 ? alpha * x[2] : 0, f3 = k > 3 ? alpha * x[3] : 0
            let v0 = Lanes(repeating: f0), v1 = Lanes(repeating: f1), v2 = Lanes(repeating: f2), v3 = Lanes(repeating: f3)
            var j = 0
            while j + width <= n {
                var acc = v0 * load(b0 + j) + v1 * load(b1 + j) + v2 * load(b2 + j) + v3 * load(b3 + j)
                if beta != 0 { acc += Lanes(repeating: beta) * load(out + j) }
                store(acc, out + j)
                j += width
            }
            while j < n {
                var acc = f0 * b0[j] + f1 * b1[j] + f2 * b2[j] + f3 * b3[j]
                if beta != 0 { acc += beta * out[j] }
                out[j] = acc
                j += 1
            }
        }
    }

    /// `c = alpha · aᵀ · b + beta · c` for at most 4 output rows (`a` is k × m,
    /// `b` is k × n): the weight gradient of a narrow-input layer. Each 16-wide
    /// column block of `b` is read once and feeds all m accumulators.
    public static func narrowTransposedProduct(_ a: MatrixView, _ b: MatrixView, into c: MatrixView, alpha: Float, beta: Float) {
        let m = c.rows, n = c.columns, k = a.rows
        precondition(m <= 4)
        var j = 0
        while j + width <= n {
            var acc0 = Lanes(repeating: 0), acc1 = acc0, acc2 = acc0, acc3 = acc0
            for p in 0..<k {
                let x = a.row(p), v = load(b.row(p) + j)
                acc0 += x[0] * v
                if m > 1 { acc1 += x[1] * v }
                if m > 2 { acc2 += x[2] * v }
                if m > 3 { acc3 += x[3] * v }
            }
            func write(_ accumulator: Lanes, row i: Int) {
                let out = c.row(i) + j
                var value = Lanes(repeating: alpha) * accumulator
                if beta != 0 { value += Lanes(repeating: beta) * load(out) }
                store(value, out)
            }
            write(acc0, row: 0)
            if m > 1 { write(acc1, row: 1) }
            if m > 2 { write(acc2, row: 2) }
            if m > 3 { write(acc3, row: 3) }
            j += width
        }
        while j < n {
            for i in 0..<m {
                var sum: Float = 0
                for p in 0..<k { sum += a[p, i] * b[p, j] }
                c[i, j] = alpha * sum + (beta != 0 ? beta * c[i, j] : 0)
            }
            j += 1
        }
    }

    /// `y[i] += factor · x[i]`.
    @inline(__always)
    public static func multiplyAdd(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, factor: Float, count n: Int) {
        var i = 0
        let f = Lanes(repeating: factor)
        while i + width <= n {
            store(load(y + i) + f * load(x + i), y + i)
            i += width
        }
        while i < n {
            y[i] += factor * x[i]
            i += 1
        }
    }

    /// `destination[i] = factor · source[i]`.
    @inline(__always)
    public static func scaledCopy(_ source: UnsafePointer<Float>, to destination: UnsafeMutablePointer<Float>, factor: Float, count n: Int) {
        var i = 0
        let f = Lanes(repeating: factor)
        while i + width <= n {
            store(load(source + i) * f, destination + i)
            i += width
        }
        while i < n {
            destination[i] = factor * source[i]
            i += 1
        }
    }

    /// `target[i] = keep · target[i] + rate · source[i]`.
    public static func blend(_ target: UnsafeMutablePointer<Float>, towards source: UnsafePointer<Float>, rate: Float, count n: Int) {
        var i = 0
        let r = Lanes(repeating: rate), k = Lanes(repeating: 1 - rate)
        while i + width <= n {
            store(k * load(target + i) + r * load(source + i), target + i)
            i += width
        }
        while i < n {
            target[i] = (1 - rate) * target[i] + rate * source[i]
            i += 1
        }
    }

    /// One Adam step over `n` parameters (see ``Adam``); `decay` is coupled L2.
    public static func adamStep(
        weights w: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>,
        firstMoment m: UnsafeMutablePointer<Float>, secondMoment v: UnsafeMutablePointer<Float>, count n: Int,
        beta1: Float, beta2: Float, epsilon: Float, decay: Float, stepSize: Float, invSqrtCorrection2: Float
    ) {
        let b1 = Lanes(repeating: beta1), b2 = Lanes(repeating: beta2)
        let c1 = Lanes(repeating: 1 - beta1), c2 = Lanes(repeating: 1 - beta2)
        let eps = Lanes(repeating: epsilon), wd = Lanes(repeating: decay)
        let step = Lanes(repeating: stepSize), scale = Lanes(repeating: invSqrtCorrection2)
        var i = 0
        while i + width <= n {
            let weights = load(w + i)
            let grad = load(g + i) + wd * weights
            let mi = b1 * load(m + i) + c1 * grad
            let vi = b2 * load(v + i) + c2 * grad * grad
            store(mi, m + i)
            store(vi, v + i)
            store(weights - step * mi / (vi.squareRoot() * scale + eps), w + i)
            i += width
        }
        while i < n {
            let grad = g[i] + decay * w[i]
            let mi = beta1 * m[i] + (1 - beta1) * grad
            let vi = beta2 * v[i] + (1 - beta2) * grad * grad
            m[i] = mi
            v[i] = vi
            w[i] -= stepSize * mi / (vi.squareRoot() * invSqrtCorrection2 + epsilon)
            i += 1
        }
    }
}
