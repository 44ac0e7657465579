/// Keeps the ratio of sampled to inserted transitions near a target, as Reverb's
/// `SampleToInsertRatio` does.
///
/// With `samplesPerInsert` = batch size × updates per transition, every inserted
/// transition pays for exactly that much training, whatever the number of
/// workers. Sampling waits when it runs ahead of inserts; inserts wait when they
/// run ahead of sampling by more than the tolerance, and while the learner does
/// not read, ZeroMQ's queues fill and the workers' sends block: backpressure,
/// never silent dropping. A ratio of 0 turns the limiter off (insert and sample freely).
public struct RateLimiter: Sendable, Equatable {
    public let samplesPerInsert: Double
    public let minSizeToSample: Int
    /// How far, in sampled items, the actual balance may stray from the target.
    public let errorBuffer: Double
    public private(set) var inserts = 0
    public private(set) var samples = 0

    public init(samplesPerInsert: Double, minSizeToSample: Int, errorBuffer: Double) {
        precondition(samplesPerInsert >= 0 && minSizeToSample >= 1 && errorBuffer >= 0, "invalid rate limiter settings")
        self.samplesPerInsert = samplesPerInsert
        self.minSizeToSample = minSizeToSample
        self.errorBuffer = errorBuffer
    }

    /// Starts from existing counts (e.g. after a restart).
    public init(samplesPerInsert: Double, minSizeToSample: Int, errorBuffer: Double, inserts: Int, samples: Int) {
        self.init(samplesPerInsert: samplesPerInsert, minSizeToSample: minSizeToSample, errorBuffer: errorBuffer)
        self.inserts = inserts
        self.samples = samples
    }

    private var offset: Double { samplesPerInsert * Double(minSizeToSample) }

    /// inserts · ratio − samples: how much sampling the inserts so far have paid for.
    private func balance(inserts: Int, samples: Int) -> Double {
        Double(inserts) * samplesPerInsert - Double(samples)
    }

    public var canInsert: Bool {
        guard samplesPerInsert > 0, inserts >= minSizeToSample else { return true }
        return balance(inserts: inserts + 1, samples: samples) <= offset + errorBuffer
    }

    public func canSample(_ count: Int) -> Bool {
        guard inserts >= minSizeToSample else { return false }
        guard samplesPerInsert > 0 else { return true }
        return balance(inserts: inserts, samples: samples + count) >= offset - errorBuffer
    }

    public mutating func inserted(_ count: Int) { inserts += count }
    public mutating func sampled(_ count: Int) { samples += count }

    /// Sampled items per inserted item since learning could start.
    public var observedRatio: Double {
        let paid = inserts - minSizeToSample
        return paid > 0 ? Double(samples) / Double(paid) : 0
    }
}
