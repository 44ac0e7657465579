import NeuralNetwork
import Policy
import Randomness
import Settings
import Testing
@testable import Agents
@testable import Replay

@Suite("Observation normalization")
struct ObservationNormalizationTests {
    @Test("the running mean and variance over batches as they arrive equal those of all the observations at once")
    func runningStatistics() {
        var generator = Xoshiro256(seed: 4)
        var rows: [Float] = []
        for i in 0..<(37 * 3) {
            let column = Float(i % 3), noise: Float = generator.nextUniform(-1, 1)
            rows.append(noise * (1 + 100 * column) + 1_000 * column)
        }
        let statistics = ObservationStatistics(size: 3, clip: 10)
        #expect(statistics.normalization.mean == [0, 0, 0] && statistics.normalization.standardDeviation == [1, 1, 1], "the identity before data")
        var start = 0
        for chunk in [1, 5, 16, 15] {
            rows.withUnsafeBufferPointer { statistics.observe($0.baseAddress! + start * 3, count: chunk) }
            start += chunk
        }
        #expect(statistics.count == 37)
        for j in 0..<3 {
            let column: [Double] = (0..<37).map { Double(rows[$0 * 3 + j]) }
            let mean: Double = column.reduce(0, +) / 37
            var squares = 0.0
            for value in column { squares += (value - mean) * (value - mean) }
            let variance = squares / 37
            #expect(abs(Double(statistics.mean.values[j]) - mean) <= 1e-5 * max(1, abs(mean)), "mean \(j)")
            #expect(abs(Double(statistics.variance.values[j]) - variance) <= 1e-4 * variance, "variance \(j)")
        }
        let normalization = statistics.normalization
        var probe: [Float] = [2_000_000, 1_000, 2_000]
        normalization.apply(&probe, count: 1)
        #expect(probe[0] == 10, "clipped to ±10")
        #expect(abs(probe[1] - (1_000 - statistics.mean.values[1]) / statistics.variance.values[1].squareRoot()) < 1e-4)
    }

    @Test("an agent with --normalize-observations trains its networks on normalized batches and acts on raw observations through them")
    func normalizingAgent() throws {
        let configuration = smallConfiguration(.td3) { $0.normalizeObservations = true; $0.observationClip = 3 }
        let plain = smallConfiguration(.td3) { _ in }
        let (agent, batch) = smallAgent(configuration) { low, high, generator in
            makeAgent(observationSize: 3, actionLow: low, actionHigh: high, configuration: configuration, using: &generator)
        }
        let (reference, referenceBatch) = smallAgent(plain) { low, high, generator in
            makeAgent(observationSize: 3, actionLow: low, actionHigh: high, configuration: plain, using: &generator)
        }
        let statistics = try #require(agent.observationStatistics)
        #expect(reference.observationStatistics == nil)
        // The fresh observations: the batch's own, scaled far from the unit range.
        let raw = batch.observations.view.toArray().map { $0 * 50 + 7 }
        raw.withUnsafeBufferPointer { agent.observe(freshObservations: $0.baseAddress!, count: 8, stride: 3) }
        #expect(statistics.count == 8)
        let normalization = statistics.normalization
        #expect(agent.actor.observationNormalization == normalization)
        // The same update, on a batch normalized by hand, leaves the plain agent's networks where the normalizing agent's are.
        batch.observations.view.assign(raw)
        batch.nextObservations.view.assign(batch.nextObservations.view.toArray().map { $0 * 50 + 7 })
        referenceBatch.observations.view.assign(normalization.applied(to: batch.observations.view.toArray()))
        referenceBatch.nextObservations.view.assign(normalization.applied(to: batch.nextObservations.view.toArray()))
        agent.update(batch)
        reference.update(referenceBatch)
        #expect(agent.tensors.filter { !$0.name.hasPrefix("observation") }.map { $0.values.toArray() } == reference.tensors.map { $0.values.toArray() })
        // Acting on a raw observation is acting on its normalized form.
        var acted = [Float](repeating: 0, count: 2), expected = [Float](repeating: 0, count: 2)
        agent.actor.act(observations: Array(raw[0..<3]), count: 1, actions: &acted)
        reference.actor.observationNormalization = nil
        reference.actor.act(observations: normalization.applied(to: Array(raw[0..<3])), count: 1, actions: &expected)
        #expect(acted == expected)
        #expect(agent.tensors.map(\.name).suffix(2) == ["observation_mean", "observation_variance"] && agent.counters["observation_count"] == 8)
    }

    @Test("on-policy algorithms refuse --normalize-observations by name, and the clip must be positive")
    func validation() {
        for (algorithm, clip, field) in [(AlgorithmID.a2c, Float(10), "normalizeObservations"), (.ddpg, 0, "observationClip")] {
            var configuration = AgentConfiguration()
            configuration.algorithm = algorithm
            configuration.normalizeObservations = true
            configuration.observationClip = clip
            let error = #expect(throws: ConfigurationError.self) { try configuration.validate() }
            #expect(error?.field == field)
        }
    }
}
