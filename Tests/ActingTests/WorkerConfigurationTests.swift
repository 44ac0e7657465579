import Foundation
import Testing
@testable import Acting

@Suite("Worker configuration")
struct WorkerConfigurationTests {
    @Test("Ape-X spread: σ_i = σ^(1 + α·i/(N−1))")
    func spread() {
        var c = WorkerConfiguration()
        c.noise.sigma = 0.2
        c.noiseSpreadAlpha = 1
        c.workerCount = 4
        let sigmas = (0..<4).map { id -> Double in
            c.workerId = UInt32(id)
            return c.effectiveSigma
        }
        let expected = (0..<4).map { pow(0.2, 1 + Double($0) / 3) }
        #expect(zip(sigmas, expected).allSatisfy { abs($0 - $1) < 1e-12 })
        #expect(sigmas == sigmas.sorted(by: >), "later workers explore less")
        c.workerCount = 1
        c.workerId = 0
        #expect(c.effectiveSigma == 0.2, "a single worker uses σ itself")
    }

    @Test("an explicit list overrides the spread, cycling by worker id")
    func explicitList() {
        var c = WorkerConfiguration()
        c.noiseSigmas = [0.3, 0.05]
        c.workerCount = 3
        c.workerId = 2
        #expect(c.effectiveSigma == 0.3)
        c.workerId = 1
        #expect(c.effectiveSigma == 0.05)
    }

    @Test("A3C workers explore differently: worker i of N adds spread · i/(N − 1) to the entropy coefficient; a list overrides it")
    func entropySpread() {
        var c = WorkerConfiguration()
        c.workerCount = 3
        let spread = (0..<3).map { id -> Float in
            c.workerId = UInt32(id)
            return c.entropyCoefficient(base: 0.001)
        }
        #expect(spread == [0.001, 0.001 + Float(0.01) * 0.5, 0.011])
        c.entropyCoefficients = [0.2, 0]
        #expect(c.entropyCoefficient(base: 0.001) == 0.2, "worker 2 takes entry 2 mod 2")
        c.workerId = 1
        #expect(c.entropyCoefficient(base: 0.001) == 0)
        c = WorkerConfiguration()
        c.workerCount = 1
        #expect(c.entropyCoefficient(base: 0.003) == 0.003, "a single worker uses the learner's coefficient")
        c.entropySpread = -1
        #expect(throws: (any Error).self) { try c.validate() }
    }

    @Test("invalid settings name the field")
    func validation() {
        var c = WorkerConfiguration()
        c.environments = 0
        #expect(throws: (any Error).self) { try c.validate() }
        c = WorkerConfiguration()
        c.transitionsPerMessage = 100_000
        #expect(throws: (any Error).self) { try c.validate() }
        #expect(throws: Never.self) { try WorkerConfiguration().validate() }
    }
}
