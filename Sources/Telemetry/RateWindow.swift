/// Rates of a growing counter over the last 10 and 60 seconds, from one sample a
/// second (61 kept), so that a rate is a difference of two samples and costs nothing
/// between ticks.
public struct RateWindow: Sendable {
    private var samples: [(time: Double, value: Int)] = []
    private let keepSeconds: Double

    public init(keepSeconds: Double = 61) {
        self.keepSeconds = keepSeconds
    }

    /// Adds the counter's value at `time` (seconds, increasing).
    public mutating func record(_ value: Int, at time: Double) {
        samples.append((time, value))
        // Keep one sample older than the window, so that a full window can be measured.
        while samples.count > 2, samples[1].time <= time - keepSeconds { samples.removeFirst() }
    }

    /// The rate over the last `seconds` (or over what was recorded, if less).
    public func rate(over seconds: Double) -> Double {
        guard let last = samples.last else { return 0 }
        let from = samples.last { $0.time <= last.time - seconds } ?? samples[0]
        let span = last.time - from.time
        return span > 0 ? Double(last.value - from.value) / span : 0
    }

    public var rates: WindowedRate { WindowedRate(last10s: rate(over: 10), last60s: rate(over: 60)) }
}
