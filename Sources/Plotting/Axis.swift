import Foundation

/// A linear axis from data values to pixels, with "nice" ticks (1, 2, 5 × 10ⁿ).
struct Axis {
    var lower: Double
    var upper: Double
    var pixelStart: Double
    var pixelEnd: Double

    /// Spans `values` (with a little headroom), widened to whole ticks.
    init(values: [Double], pixelStart: Double, pixelEnd: Double, includeZero: Bool = false, targetTicks: Int = 6) {
        var low = values.min() ?? 0, high = values.max() ?? 1
        if includeZero { low = min(low, 0); high = max(high, 0) }
        if high - low < 1e-9 { low -= 1; high += 1 }
        let step = Self.niceStep((high - low) / Double(targetTicks))
        lower = (low / step).rounded(.down) * step
        upper = (high / step).rounded(.up) * step
        self.pixelStart = pixelStart
        self.pixelEnd = pixelEnd
    }

    static func niceStep(_ raw: Double) -> Double {
        let exponent = (log10(raw)).rounded(.down)
        let base = pow(10, exponent)
        let fraction = raw / base
        let nice: Double = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10
        return nice * base
    }

    func pixel(_ value: Double) -> Double {
        pixelStart + (value - lower) / (upper - lower) * (pixelEnd - pixelStart)
    }

    var ticks: [Double] {
        let step = Self.niceStep((upper - lower) / 6)
        var result: [Double] = []
        var value = lower
        while value <= upper + step * 1e-6 {
            result.append(abs(value) < step * 1e-9 ? 0 : value)
            value += step
        }
        return result
    }

    /// 0, 500, 2.5k, 1.2M: short enough to sit under a tick.
    static func label(_ value: Double) -> String {
        let magnitude = abs(value)
        func trimmed(_ x: Double, _ suffix: String) -> String {
            let text = String(format: "%.2f", x)
            let short = text.contains(".") ? String(text.reversed().drop { $0 == "0" }.drop { $0 == "." }.reversed()) : text
            return short + suffix
        }
        if magnitude >= 1e6 { return trimmed(value / 1e6, "M") }
        if magnitude >= 1e4 { return trimmed(value / 1e3, "k") }
        return trimmed(value, "")
    }
}
