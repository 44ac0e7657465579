import Testing
@testable import Learning

@Suite("Samples-per-insert rate limiter")
struct RateLimiterTests {
    @Test("nothing is sampled before the minimum replay size")
    func minimumSize() {
        var limiter = RateLimiter(samplesPerInsert: 128, minSizeToSample: 100, errorBuffer: 1_280)
        #expect(!limiter.canSample(128))
        limiter.inserted(99)
        #expect(!limiter.canSample(128) && limiter.canInsert)
        limiter.inserted(1)
        #expect(limiter.canSample(128))
    }

    @Test("an alternating inserter and sampler settle at the target ratio", arguments: [32.0, 128.0, 512.0])
    func ratio(spi: Double) {
        var limiter = RateLimiter(samplesPerInsert: spi, minSizeToSample: 1_000, errorBuffer: spi * 64)
        var inserted = 0
        // A fast producer: it inserts whenever allowed; the sampler takes one batch per round.
        for _ in 0..<200_000 {
            while limiter.canInsert, inserted < 1_000_000 {
                limiter.inserted(16)
                inserted += 16
            }
            if limiter.canSample(128) { limiter.sampled(128) }
        }
        #expect(abs(limiter.observedRatio - spi) / spi < 0.01, "observed \(limiter.observedRatio)")
    }

    @Test("inserts are refused once they run ahead of sampling by the error buffer")
    func backpressure() {
        var limiter = RateLimiter(samplesPerInsert: 100, minSizeToSample: 10, errorBuffer: 1_000)
        limiter.inserted(10)
        var accepted = 0
        while limiter.canInsert, accepted < 1_000 {
            limiter.inserted(1)
            accepted += 1
        }
        #expect(accepted == 10, "1000 samples of tolerance at 100 per insert admit 10 extra inserts")
        limiter.sampled(500)
        #expect(limiter.canInsert)
    }

    @Test("a ratio of zero never limits")
    func disabled() {
        var limiter = RateLimiter(samplesPerInsert: 0, minSizeToSample: 1, errorBuffer: 0)
        limiter.inserted(1)
        for _ in 0..<1_000 {
            #expect(limiter.canInsert && limiter.canSample(256))
            limiter.sampled(256)
        }
    }
}
