import WireProtocol
@testable import Ingest

/// The connection the accounting tests put a session on: one of its own.
func ownConnection(_ workerId: UInt32, _ session: UInt32) -> UInt64 { UInt64(workerId) << 32 | UInt64(session) }

/// The accounting tests' shorthand: each session on a connection of its own, with no CURVE key, and any
/// evaluator authorized. The binding itself is tested in SessionBindingTests.
extension IngestLedger {
    @discardableResult
    mutating func hello(_ hello: Hello, currentVersion: UInt64 = 0, now: Double) throws(ProtocolError) -> Bool {
        try self.hello(hello, connection: ownConnection(hello.workerId, hello.session), key: nil, authorizedEvaluator: true, currentVersion: currentVersion, now: now)
    }

    @discardableResult
    mutating func transitions(_ header: TransitionsHeader, currentVersion: UInt64, afterStop: Bool = false, now: Double) throws(ProtocolError) -> Int64? {
        try transitions(header, from: ownConnection(header.workerId, header.session), currentVersion: currentVersion, afterStop: afterStop, now: now)
    }

    mutating func episode(_ report: EpisodeReport, currentVersion: UInt64, now: Double) throws(ProtocolError) {
        try episode(report, from: ownConnection(report.workerId, report.session), currentVersion: currentVersion, now: now)
    }

    mutating func status(_ status: WorkerStatus, now: Double) throws(ProtocolError) {
        try self.status(status, from: ownConnection(status.workerId, status.session), now: now)
    }

    mutating func evaluation(_ report: EvaluationReport, requested: Bool, now: Double) throws(ProtocolError) {
        try evaluation(report, from: ownConnection(report.workerId, report.session), requested: requested, now: now)
    }
}

extension MessageIngest {
    /// A message on the connection of the session its header names.
    mutating func handle(_ bytes: UnsafeRawBufferPointer, currentVersion: UInt64, now: Double) -> Outcome {
        let connection = MessageDecoder.claimedSession(bytes).map { ownConnection($0.workerId, $0.session) } ?? 0
        return handle(bytes, connection: connection, key: nil, currentVersion: currentVersion, now: now)
    }

    mutating func requested(_ request: EvaluationRequest, of publication: Publication, wallSeconds: Double, at now: Double) {
        requested(request, nonce: 0, of: publication, wallSeconds: wallSeconds, at: now)
    }
}
