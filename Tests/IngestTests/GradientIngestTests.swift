import Specs
import Testing
import WireProtocol
@testable import Ingest

/// A3C's ingest: a gradient is accounted as transitions are (sequence, credit, lag), and refused before the
/// ledger when it is more than `--max-staleness` versions behind, so that it never reaches the weights.
@Suite("A3C: gradients through the ingest")
struct GradientIngestTests {
    static let limits = GradientLimits(policyParameters: 5, valueParameters: 4, maxNorm: 100, maxStaleness: 3)

    static func gradient(sequence: UInt64, version: UInt64, session: UInt32 = 0xA, rows: Int = 8) -> [UInt8] {
        var encoder = MessageEncoder()
        let header = GradientHeader(workerId: 7, session: session, sequence: sequence, weightsVersion: version, rows: rows, policyParameters: 5,
                                    valueParameters: 4)
        return [Float](repeating: 0.5, count: 9).withUnsafeBufferPointer { encoder.encodeGradient(header, values: $0) }
    }

    static func handle(_ ingest: inout MessageIngest, _ bytes: [UInt8], version: UInt64, connection: UInt64? = nil) -> MessageIngest.Outcome {
        bytes.withUnsafeBytes { raw in
            connection.map { ingest.handle(raw, connection: $0, key: nil, currentVersion: version, now: 1) }
                ?? ingest.handle(raw, currentVersion: version, now: 1)
        }
    }

    @Test("a fresh gradient is accepted with its lag; a stale one, a replay and one on another session's connection are refused and counted")
    func staleAndReplayed() throws {
        var ingest = MessageIngest(expected: ExpectedShapes(spec: pendulumSpec, dataKind: .gradient, segmentSteps: 2, gradients: Self.limits))
        var encoder = MessageEncoder()
        _ = Self.handle(&ingest, encoder.encode(hello()), version: 10)
        guard case let .gradient(_, lag) = Self.handle(&ingest, Self.gradient(sequence: 0, version: 7), version: 10) else {
            Issue.record("a gradient 3 versions behind (the limit) is accepted")
            return
        }
        #expect(lag == 3)
        guard case let .rejected(stale, claimed) = Self.handle(&ingest, Self.gradient(sequence: 1, version: 6), version: 10) else {
            Issue.record("a gradient 4 versions behind is refused")
            return
        }
        #expect(stale.reason == "stale_gradient" && claimed == 8)
        guard case let .rejected(replayed, _) = Self.handle(&ingest, Self.gradient(sequence: 0, version: 9), version: 10) else {
            Issue.record("a replayed gradient is refused")
            return
        }
        #expect(replayed.reason == "bad_sequence")
        // Another connection claiming this session: a hijack, refused before the gradient's values are read.
        guard case let .rejected(hijack, _) = Self.handle(&ingest, Self.gradient(sequence: 1, version: 10), version: 10, connection: 999) else {
            Issue.record("a gradient for another connection's session is refused")
            return
        }
        #expect(hijack.reason != "stale_gradient")
        let ledger = ingest.ledger
        #expect(ledger.transitionsAccepted == 8 && ledger.messagesRejected["stale_gradient"] == 1 && ledger.messagesRejected["bad_sequence"] == 1)
        #expect(ledger.transitionsRejected == 24, "each refused gradient's 8 rows are counted as rejected transitions")
    }
}
