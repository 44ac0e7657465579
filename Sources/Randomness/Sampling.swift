import Foundation

extension RandomNumberGenerator {
    /// A uniform `Float` in [0, 1) from the top 24 bits, so every value is exactly representable.
    @inlinable
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * 0x1p-24
    }

    /// A uniform `Double` in [0, 1) from the top 53 bits.
    @inlinable
    public mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// A uniform `Double` in [low, high).
    @inlinable
    public mutating func nextUniform(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * nextUnitDouble()
    }

    /// A uniform `Float` in [low, high).
    @inlinable
    public mutating func nextUniform(_ low: Float, _ high: Float) -> Float {
        low + (high - low) * nextUnitFloat()
    }

    /// A uniform integer in 0..<bound without modulo bias (Lemire's multiply-shift method).
    @inlinable
    public mutating func nextIndex(below bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        let range = UInt64(bound)
        var product = next().multipliedFullWidth(by: range)
        if product.low < range {
            let threshold = (0 &- range) % range
            while product.low < threshold {
                product = next().multipliedFullWidth(by: range)
            }
        }
        return Int(product.high)
    }

    /// A standard normal draw (Box–Muller; one of the pair is discarded to keep the
    /// generator stateless beyond its words, which keeps checkpoints simple).
    @inlinable
    public mutating func nextGaussian() -> Double {
        // 1 - u keeps the logarithm's argument in (0, 1].
        let u1 = 1.0 - nextUnitDouble()
        let u2 = nextUnitDouble()
        return (-2.0 * log(u1)).squareRoot() * cos(2.0 * Double.pi * u2)
    }
}
