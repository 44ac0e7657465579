import Foundation
import Testing
@testable import NeuralNetwork
import Randomness

@Suite("Adam")
struct AdamTests {
    /// Hand-computed, step by step, with the formulas of Kingma & Ba (and torch.optim.Adam):
    /// m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;  w ← w − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε).
    @Test("matches a hand-computed reference for three steps")
    func handComputed() {
        let parameters = ParameterVector(count: 2)
        let gradients = ParameterVector(count: 2)
        parameters.assign([1.0, -2.0])
        let adam = Adam(parameterCount: 2, configuration: .init(learningRate: 0.1))
        // Step 1, g = (0.5, -1): m = (0.05, -0.1), v = (2.5e-4, 1e-3); m̂ = g, v̂ = g² ⇒ w −= 0.1·sign(g).
        gradients.assign([0.5, -1.0])
        adam.update(parameters, gradients: gradients)
        #expect(abs(parameters.values[0] - 0.9) < 1e-6)
        #expect(abs(parameters.values[1] - -1.9) < 1e-6)
        // Step 2, g = (0.5, 1): m = (0.095, 0.01), v = (4.9975e-4, 1.999e-3).
        // w0: 0.9 − 0.1/0.19 · 0.095 / (√4.9975e-4/√1.999e-3 + 1e-8) = 0.9 − 0.5/0.5 = 0.8
        // w1: −1.9 − 0.1/0.19 · 0.01 / (√1.999e-3/√1.999e-3) = −1.9 − 0.0052632 = −1.9052632
        gradients.assign([0.5, 1.0])
        adam.update(parameters, gradients: gradients)
        #expect(abs(parameters.values[0] - 0.8) < 1e-5)
        #expect(abs(parameters.values[1] - -1.9052632) < 1e-5)
        // Step 3, g = (0, 0): m = (0.0855, 0.009), v = (4.992503e-4, 1.997001e-3), bias corrections
        // 1 − 0.9³ = 0.271 and 1 − 0.999³ = 2.997001e-3.
        gradients.assign([0, 0])
        adam.update(parameters, gradients: gradients)
        let c1 = 1 - pow(0.9, 3.0), c2 = 1 - pow(0.999, 3.0)
        let w0 = 0.8 - 0.1 / c1 * 0.0855 / ((4.992503e-4).squareRoot() / c2.squareRoot() + 1e-8)
        let w1 = -1.9052632 - 0.1 / c1 * 0.009 / ((1.997001e-3).squareRoot() / c2.squareRoot() + 1e-8)
        #expect(abs(Double(parameters.values[0]) - w0) < 1e-5)
        #expect(abs(Double(parameters.values[1]) - w1) < 1e-5)
        #expect(adam.step == 3)
    }

    @Test("coupled weight decay adds λw to the gradient")
    func weightDecay() {
        let parameters = ParameterVector(count: 17)
        let gradients = ParameterVector(count: 17)
        parameters.assign((0..<17).map { Float($0) - 8 })
        let decayed = Adam(parameterCount: 17, configuration: .init(learningRate: 0.01, weightDecay: 0.1))
        decayed.update(parameters, gradients: gradients)
        // With g = 0 the effective gradient is 0.1·w, so every nonzero weight moves toward zero by lr.
        for i in 0..<17 {
            let w0 = Float(i) - 8
            let expected = w0 == 0 ? 0 : w0 - 0.01 * (w0 > 0 ? 1 : -1)
            #expect(abs(parameters.values[i] - expected) < 1e-5, "parameter \(i)")
        }
    }
}

@Suite("RMSprop and orthogonal initialization")
struct OnPolicyOptimizerTests {
    @Test("RMSprop takes torch.optim.RMSprop's steps: v ← αv + (1 − α)g², θ ← θ − lr·g/(√v + ε)")
    func rmsprop() {
        let parameters = ParameterVector(count: 2), gradients = ParameterVector(count: 2)
        parameters.assign([1, -2])
        let optimizer = RMSprop(parameterCount: 2, configuration: .init(learningRate: 0.1, alpha: 0.9, epsilon: 1e-5))
        gradients.assign([0.5, -4])
        optimizer.update(parameters, gradients: gradients)
        // v = 0.1·g², so the first step is lr·g/(√0.1·|g| + ε) ≈ lr·sign(g)/√0.1.
        let v0 = 0.1 * 0.25 as Float, v1 = 0.1 * 16 as Float
        #expect(abs(parameters.values[0] - (1 - 0.1 * 0.5 / (v0.squareRoot() + 1e-5))) < 1e-6)
        #expect(abs(parameters.values[1] - (-2 + 0.1 * 4 / (v1.squareRoot() + 1e-5))) < 1e-6)
        gradients.assign([0.5, 0])
        optimizer.update(parameters, gradients: gradients)
        #expect(abs(optimizer.squareAverage.values[0] - (0.9 * v0 + 0.1 * 0.25)) < 1e-7 && optimizer.step == 2)
        #expect(abs(optimizer.squareAverage.values[1] - 0.9 * v1) < 1e-6)
    }

    @Test("orthogonal initialization: WᵀW or WWᵀ is gain² · I, biases are zero", arguments: [(3, 8), (8, 3), (5, 5)])
    func orthogonal(shape: (Int, Int)) {
        let network = MLP(MLPArchitecture(inputSize: shape.0, hiddenSizes: [shape.1], outputSize: 2))
        var generator = Xoshiro256(seed: 2)
        network.initializeOrthogonally(hiddenGain: 2, outputGain: 0.5, using: &generator)
        let w = network.weights(0), rows = w.rows, columns = w.columns
        let small = min(rows, columns)
        for i in 0..<small {
            for j in 0..<small {
                // Gram matrix over the longer side.
                var dot: Float = 0
                if rows >= columns {
                    for r in 0..<rows { dot += w[r, i] * w[r, j] }
                } else {
                    for c in 0..<columns { dot += w[i, c] * w[j, c] }
                }
                #expect(abs(dot - (i == j ? 4 : 0)) < 1e-4, "(\(i), \(j)): \(dot)")
            }
        }
        #expect((0..<shape.1).allSatisfy { network.biases(0)[$0] == 0 })
    }
}
