import Foundation
import Tensors
import Testing
@testable import NeuralNetwork

@Suite("Activation kernels")
struct ActivationKernelTests {
    /// The tanh kernel is a rational approximation (vectorizable, unlike libm's): it must stay within a few units in the
    /// last place of tanh computed in double, keep tanh's symmetry, and saturate within ±1 without overflowing.
    @Test("the tanh kernel is within 4 ulps of tanh in double over [−12, 12], odd, and within ±1 however far out")
    func tanhAccuracy() {
        let n = 240_001
        let inputs = (0..<n).map { Float(-12 + 24 * Double($0) / Double(n - 1)) } + [0, -0.0, 1e-30, -1e-30, 1e6, -1e6, .greatestFiniteMagnitude]
        let matrix = Matrix(rows: 1, columns: inputs.count)
        matrix.storage.update(from: inputs, count: inputs.count)
        let zero = [Float](repeating: 0, count: inputs.count)
        zero.withUnsafeBufferPointer { VectorKernels.applyWithBias(matrix.view, bias: $0.baseAddress!, activation: .tanh) }
        var worst: Float = 0
        for (i, x) in inputs.enumerated() {
            let exact = Float(Foundation.tanh(Double(x))), computed = matrix.storage[i]
            worst = max(worst, abs(computed - exact) / max(exact.ulp, Float.leastNormalMagnitude))
        }
        #expect(worst <= 4, "worst error \(worst) ulps")
        #expect((0..<inputs.count).allSatisfy { abs(matrix.storage[$0]) <= 1 }, "never beyond ±1, however large the input")
        #expect(matrix.storage[inputs.count - 3] > 0.9999 && matrix.storage[inputs.count - 2] < -0.9999 && matrix.storage[inputs.count - 1] > 0.9999)
        #expect((0..<(n / 2)).allSatisfy { matrix.storage[$0] == -matrix.storage[n - 1 - $0] }, "tanh(−x) = −tanh(x)")
    }
}
