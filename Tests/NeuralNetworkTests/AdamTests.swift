import Foundation
import Testing
@testable import NeuralNetwork

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
