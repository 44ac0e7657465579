import Foundation

/// The latest status as JSON, written by the learner's thread and read by the HTTP server's.
public final class StatusBoard: @unchecked Sendable {
    private let lock = NSLock()
    private var latest: [UInt8]?

    public init() {}

    public func publish(_ status: LearnerStatus) {
        let json = status.jsonBytes()
        lock.withLock { latest = json }
    }

    public var json: [UInt8]? { lock.withLock { latest } }
}
