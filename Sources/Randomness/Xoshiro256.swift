/// A small, fast, seedable generator (xoshiro256**, Blackman & Vigna 2018).
///
/// The project owns its generator instead of using `SystemRandomNumberGenerator`
/// because every run must be reproducible from a seed: the same seed gives the
/// same environment resets, exploration noise, replay samples and initial weights
/// on every machine and every Swift release.
public struct Xoshiro256: RandomNumberGenerator, Sendable, Equatable {
    @usableFromInline var words: (UInt64, UInt64, UInt64, UInt64)

    /// The full generator state, for checkpoints.
    public var state: (UInt64, UInt64, UInt64, UInt64) { words }

    /// Seeds the four words of state through SplitMix64, as the authors recommend,
    /// so that nearby seeds (1, 2, 3) give unrelated streams.
    public init(seed: UInt64) {
        var splitMix = SplitMix64(state: seed)
        words = (splitMix.next(), splitMix.next(), splitMix.next(), splitMix.next())
    }

    /// Restores a generator from a state captured with ``state``.
    public init(state: (UInt64, UInt64, UInt64, UInt64)) {
        precondition(state != (0, 0, 0, 0), "xoshiro256** must not be seeded with an all-zero state")
        words = state
    }

    /// Derives an independent generator for a named sub-stream (e.g. "noise",
    /// "replay"), so that adding a random draw in one component does not shift
    /// the numbers another component sees.
    public init(seed: UInt64, stream: UInt64) {
        self.init(seed: seed &* 0x9E37_79B9_7F4A_7C15 ^ (stream &+ 0xD1B5_4A32_D192_ED03))
    }

    @inlinable
    public mutating func next() -> UInt64 {
        let result = rotateLeft(words.1 &* 5, 7) &* 9
        let shifted = words.1 << 17
        words.2 ^= words.0
        words.3 ^= words.1
        words.1 ^= words.2
        words.0 ^= words.3
        words.2 ^= shifted
        words.3 = rotateLeft(words.3, 45)
        return result
    }

    public static func == (lhs: Xoshiro256, rhs: Xoshiro256) -> Bool {
        lhs.words == rhs.words
    }
}

@inlinable
public func rotateLeft(_ value: UInt64, _ count: UInt64) -> UInt64 {
    (value << count) | (value >> (64 - count))
}

/// SplitMix64, used only to expand a 64-bit seed into xoshiro's 256-bit state.
struct SplitMix64 {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
