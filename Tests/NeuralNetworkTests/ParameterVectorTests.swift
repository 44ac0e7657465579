import Randomness
import Testing
@testable import NeuralNetwork

@Suite("Parameter vectors")
struct ParameterVectorTests {
    @Test("Polyak blend moves a fraction τ toward the source")
    func blend() {
        let target = ParameterVector(count: 19), source = ParameterVector(count: 19)
        target.assign(Array(repeating: 1, count: 19))
        source.assign((0..<19).map(Float.init))
        target.blend(towards: source, rate: 0.25)
        #expect(target.toArray() == (0..<19).map { 0.75 + 0.25 * Float($0) })
    }

    @Test("norm clipping rescales only when above the threshold")
    func clip() {
        let v = ParameterVector(count: 2)
        v.assign([3, 4])
        #expect(v.clipNorm(to: 10) == 5)
        #expect(v.toArray() == [3, 4])
        #expect(v.clipNorm(to: 1) == 5)
        #expect(abs(v.norm - 1) < 1e-5)
    }

    @Test("fan-in initialization stays within its bounds, final layer within ±scale")
    func initialization() {
        var generator = Xoshiro256(seed: 1)
        let network = MLP(MLPArchitecture(inputSize: 4, hiddenSizes: [16], outputSize: 2), finalLayerScale: 3e-3, using: &generator)
        let p = network.parameters.toArray()
        let first = network.layers[0], last = network.layers[1]
        let firstBound = 1 / Float(4).squareRoot()
        #expect(p[first.weightOffset..<(first.biasOffset + first.outputSize)].allSatisfy { abs($0) <= firstBound })
        #expect(p[first.weightOffset..<first.biasOffset].contains { abs($0) > firstBound / 2 }, "weights should spread over the range")
        #expect(p[last.weightOffset..<(last.biasOffset + last.outputSize)].allSatisfy { abs($0) <= 3e-3 })
    }
}
