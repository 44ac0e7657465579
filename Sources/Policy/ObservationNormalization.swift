/// Observation normalization as an actor applies it, Acme's `normalize_observations`: ô = clip((o − μ)/σ, −c, c)
/// per dimension, μ and σ the learner's running estimates over the observations it has received. The learner
/// trains on normalized observations and its replay keeps them raw; the actor it publishes carries the μ and σ
/// of its latest update, so that workers, evaluators and exports all see what the networks were trained on.
public struct ObservationNormalization: Equatable, Sendable {
    public let mean: [Float]
    public let standardDeviation: [Float]
    /// The bound c of every normalized value (Acme's `max_abs_value`).
    public let clip: Float
    private let inverseDeviation: [Float]

    public init(mean: [Float], standardDeviation: [Float], clip: Float) {
        precondition(mean.count == standardDeviation.count, "one mean and one σ per observation dimension")
        precondition(standardDeviation.allSatisfy { $0 > 0 } && clip > 0, "σ and the clip must be positive")
        self.mean = mean
        self.standardDeviation = standardDeviation
        self.clip = clip
        inverseDeviation = standardDeviation.map { 1 / $0 }
    }

    public var size: Int { mean.count }

    /// Normalizes `count` rows of ``size`` floats in place, `stride` floats apart.
    public func apply(_ rows: UnsafeMutablePointer<Float>, count: Int, stride: Int? = nil) {
        let stride = stride ?? size, c = clip
        mean.withUnsafeBufferPointer { mean in
            inverseDeviation.withUnsafeBufferPointer { inverse in
                for r in 0..<count {
                    let row = rows + r * stride
                    for j in 0..<mean.count { row[j] = min(max((row[j] - mean[j]) * inverse[j], -c), c) }
                }
            }
        }
    }

    /// `observations` normalized, for callers that hold arrays.
    public func applied(to observations: [Float]) -> [Float] {
        var copy = observations
        copy.withUnsafeMutableBufferPointer { apply($0.baseAddress!, count: $0.count / size) }
        return copy
    }
}
