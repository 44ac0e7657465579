import Foundation

/// The latest status and the evaluation history as JSON, written by the learner's thread and read by the HTTP server's.
public final class StatusBoard: @unchecked Sendable {
    private let lock = NSLock()
    private var latest: [UInt8]?
    private var evaluations: [UInt8] = Array("[]".utf8)

    public init() {}

    public func publish(_ status: LearnerStatus) {
        let json = status.jsonBytes()
        lock.withLock { latest = json }
    }

    /// Encoded here, on the learner's thread, once per new evaluation rather than once per request.
    public func publish(evaluations points: [EvaluationPoint]) {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        guard let json = try? Array(encoder.encode(points)) else { return }
        lock.withLock { evaluations = json }
    }

    public var json: [UInt8]? { lock.withLock { latest } }

    public var evaluationsJSON: [UInt8] { lock.withLock { evaluations } }
}
