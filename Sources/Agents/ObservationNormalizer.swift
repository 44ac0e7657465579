import Foundation
import NeuralNetwork
import Policy
import Replay

/// The running mean and variance of the observations a learner has received, Chan et al.'s parallel update
/// over each batch of fresh transitions (never over replayed batches, which would count old data again).
/// A part of the agent, so that checkpoints, rollbacks and publications carry it with the networks.
public final class ObservationStatistics: AgentPart {
    public let mean: ParameterVector
    public let variance: ParameterVector
    public private(set) var count = 0 {
        didSet { cached = nil }
    }
    public let clip: Float
    /// ``normalization`` as of the last change: acting reads it every step. Observing and restoring (which always
    /// sets the count) change the estimates, and so drop it.
    private var cached: ObservationNormalization?
    /// σ's floor, Acme's `std_min_value`: a dimension that never varies is centred, not blown up.
    static let minimumDeviation: Float = 1e-6

    public init(size: Int, clip: Float) {
        mean = ParameterVector(count: size)
        variance = ParameterVector(count: size)
        self.clip = clip
    }

    public var size: Int { mean.count }

    /// Folds `n` rows of ``size`` floats, `stride` apart, into the estimates.
    public func observe(_ rows: UnsafePointer<Float>, count n: Int, stride: Int? = nil) {
        guard n > 0 else { return }
        let stride = stride ?? size, total = Double(count + n), seen = Double(count), fresh = Double(n)
        for j in 0..<size {
            var batchMean = 0.0
            for r in 0..<n { batchMean += Double(rows[r * stride + j]) }
            batchMean /= fresh
            var squares = 0.0
            for r in 0..<n {
                let d = Double(rows[r * stride + j]) - batchMean
                squares += d * d
            }
            let oldMean = Double(mean.values[j]), delta = batchMean - oldMean
            let m2 = Double(variance.values[j]) * seen + squares + delta * delta * seen * fresh / total
            mean.values[j] = Float(oldMean + delta * fresh / total)
            variance.values[j] = Float(m2 / total)
        }
        count += n
    }

    /// What the actor applies: μ and σ = max(√variance, 10⁻⁶); before any observation, the identity's 0 and 1.
    public var normalization: ObservationNormalization {
        if let cached { return cached }
        let deviation = (0..<size).map { count == 0 ? 1 : max(variance.values[$0].squareRoot(), Self.minimumDeviation) }
        let computed = ObservationNormalization(mean: count == 0 ? Array(repeating: 0, count: size) : mean.toArray(), standardDeviation: deviation,
                                                clip: clip)
        cached = computed
        return computed
    }

    /// Mean, variance and count in one vector, for keeping beside an actor's parameters (the count as a float).
    public var state: [Float] { mean.toArray() + variance.toArray() + [Float(count)] }

    /// Sets the estimates from the first 2 · ``size`` + 1 values of `values`, laid out as ``state``.
    public func assignState(_ values: ArraySlice<Float>) {
        precondition(values.count == 2 * size + 1, "\(values.count) values for statistics of \(size) dimensions")
        let start = values.startIndex
        for j in 0..<size {
            mean.values[j] = values[start + j]
            variance.values[j] = values[start + size + j]
        }
        count = Int(values[start + 2 * size])
    }

    public var tensors: [NamedTensor] { [NamedTensor("observation_mean", mean), NamedTensor("observation_variance", variance)] }
    public var counters: [NamedCounter] { [NamedCounter("observation_count", value: { self.count }, restore: { self.count = $0 })] }
}

/// An off-policy agent that learns on normalized observations (`--normalize-observations`): it normalizes each
/// replayed batch with the statistics of the observations received so far, then updates the agent it wraps,
/// whose actor acts with the same normalization. Replay keeps raw observations, so a later μ and σ apply to old data too.
final class ObservationNormalizingAgent: Agent {
    let inner: any Agent
    let statistics: ObservationStatistics

    init(_ inner: any Agent, clip: Float) {
        self.inner = inner
        statistics = ObservationStatistics(size: inner.actor.observationSize, clip: clip)
    }

    var configuration: AgentConfiguration { inner.configuration }
    var updates: UpdateCount { inner.updates }
    var parts: [any AgentPart] { inner.parts + [statistics] }

    /// The actor, normalizing with the current statistics (restored ones included).
    var actor: Actor {
        let actor = inner.actor
        actor.observationNormalization = statistics.normalization
        return actor
    }

    var observationStatistics: ObservationStatistics? { statistics }

    func observe(freshObservations rows: UnsafePointer<Float>, count: Int, stride: Int) {
        statistics.observe(rows, count: count, stride: stride)
    }

    @discardableResult
    func update(_ batch: TransitionBatch) -> UpdateStatistics {
        let normalization = statistics.normalization, n = batch.count
        normalization.apply(batch.observations.storage, count: n)
        normalization.apply(batch.nextObservations.storage, count: n)
        inner.actor.observationNormalization = normalization
        return inner.update(batch)
    }

    func qValues(observations: [Float], actions: [Float]) -> [Float] {
        inner.qValues(observations: statistics.normalization.applied(to: observations), actions: actions)
    }
}
