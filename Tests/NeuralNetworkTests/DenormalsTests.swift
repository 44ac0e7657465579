import Foundation
import Testing
@testable import NeuralNetwork

@Suite("Denormals")
struct DenormalsTests {
    /// What one Adam step leaves in the first moment of a weight without gradient whose moment was 2⁻¹²⁶ (the
    /// smallest normal float), and in the weight beside it that has a gradient.
    private struct StepResult { var deadMoment: Float, liveWeight: Float, liveMoment: Float }

    private final class Box: @unchecked Sendable { var results: [StepResult] = [] }

    /// Steps Adam under IEEE 754, then with denormals flushed, on a thread of its own: the mode is the thread's,
    /// and this one ends here instead of reaching another test's thread.
    private func stepsOnOwnThread() -> [StepResult] {
        let box = Box(), done = DispatchSemaphore(value: 0)
        let thread = Thread {
            for flush in [false, true] {
                Denormals.flushToZero(flush)
                let weights = ParameterVector(count: 2), gradients = ParameterVector(count: 2)
                weights.values.update(from: [0.5, 0.5], count: 2)
                gradients.values.update(from: [0, 0.25], count: 2)
                let adam = Adam(parameterCount: 2, configuration: .init(learningRate: 0.1))
                adam.firstMoment.values.update(from: [Float.leastNormalMagnitude, 0], count: 2)
                adam.update(weights, gradients: gradients)
                box.results.append(StepResult(deadMoment: adam.firstMoment.values[0], liveWeight: weights.values[1],
                                              liveMoment: adam.firstMoment.values[1]))
            }
            Denormals.flushToZero(false)
            done.signal()
        }
        thread.start()
        done.wait()
        return box.results
    }

    @Test("flushed, a moment decaying below 2⁻¹²⁶ becomes 0 instead of a denormal; normal values step as before")
    func flushing() throws {
        try #require(Denormals.flushToZero(false), "this architecture has no flush-to-zero mode")
        let results = stepsOnOwnThread()
        try #require(results.count == 2)
        let (ieee, flushed) = (results[0], results[1])
        // β1 = 0.9 times the smallest normal float: a denormal under IEEE 754 (what made Adam slow), 0 when flushed.
        #expect(ieee.deadMoment == 0.9 * Float.leastNormalMagnitude && ieee.deadMoment.isSubnormal)
        #expect(flushed.deadMoment == 0)
        #expect(ieee.liveWeight == flushed.liveWeight && ieee.liveMoment == flushed.liveMoment)
        #expect(abs(flushed.liveWeight - 0.4) < 1e-4, "Adam's first step moves a weight by about the learning rate")
    }
}
