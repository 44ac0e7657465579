#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// What the learner's and the worker's cores read the time from: seconds since the clock started.
///
/// Deadlines, schedules and rates are decisions; the time they compare against is injected, so a
/// test can drive hours of drains, stalls and evaluations in microseconds with a ``ManualClock``.
public protocol RunClock: AnyObject, Sendable {
    /// Seconds since this clock started; never decreases.
    var now: Double { get }
    /// Nanoseconds since the Unix epoch, for timestamps that cross processes (a weights message's
    /// publication time, and a worker's latency from it). Only measured, never decided on.
    var wallNanoseconds: UInt64 { get }
}

/// The monotonic clock of the process, from when it was made.
public final class SystemClock: RunClock {
    private let clock = ContinuousClock()
    private let start: ContinuousClock.Instant

    public init() { start = clock.now }

    public var now: Double { (clock.now - start).seconds }

    public var wallNanoseconds: UInt64 { WallClock.nanoseconds() }
}

/// A clock that moves only when told to.
public final class ManualClock: RunClock {
    private let time = Mutex(0.0)
    private let wallStart: UInt64

    /// A clock at `now`, whose wall time was `wallStart` nanoseconds since the Unix epoch at 0.
    public init(now: Double = 0, wallStart: UInt64 = 1_800_000_000_000_000_000) {
        self.wallStart = wallStart
        time.withLock { $0 = now }
    }

    public var now: Double { time.withLock { $0 } }

    public var wallNanoseconds: UInt64 { wallStart + UInt64(now * 1e9) }

    /// Moves the time forward by `seconds` (negative values are ignored: time never runs back).
    public func advance(by seconds: Double) {
        time.withLock { $0 += max(seconds, 0) }
    }

    /// Moves the time forward to `instant`, if it lies ahead.
    public func advance(to instant: Double) {
        time.withLock { $0 = max($0, instant) }
    }
}

/// Wall-clock time for timestamps that cross processes (a weights message's publication time).
public enum WallClock {
    /// Nanoseconds since the Unix epoch (CLOCK_REALTIME).
    public static func nanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    public var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) * 1e-18
    }

    /// The duration in whole nanoseconds (saturating beyond ±292 years).
    public var wholeNanoseconds: Int64 {
        let (whole, attoseconds) = components
        let (product, overflow) = whole.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? (whole < 0 ? .min : .max) : product &+ attoseconds / 1_000_000_000
    }
}
