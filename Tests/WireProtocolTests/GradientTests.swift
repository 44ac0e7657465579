import Specs
import Testing
@testable import WireProtocol

/// An A3C learner's side: gradients of a 23-parameter policy and a 19-parameter value network, norms up to 1e6.
let gradientLimits = GradientLimits(policyParameters: 23, valueParameters: 19, maxNorm: 1e6, maxStaleness: 4)
let gradientDecoder = MessageDecoder(expected: ExpectedShapes(spec: cartPoleSpec, dataKind: .gradient, segmentSteps: 5, gradients: gradientLimits),
                                     accepting: .workerToLearner)

/// A gradient as a worker sends it, with whatever values and sizes a test forges.
struct GradientColumns {
    var policy = (0..<23).map { Float($0 - 11) / 64 }
    var value = (0..<19).map { Float(9 - $0) / 32 }
    var version: UInt64 = 4
    var rows = 10
    var entropy: Float = 0.69

    func encoded() -> [UInt8] {
        var encoder = MessageEncoder()
        let header = GradientHeader(workerId: 5, session: 0x5E55, sequence: 3, weightsVersion: version, rows: rows, policyParameters: policy.count,
                                    valueParameters: value.count, receipt: 9, policyLoss: 0.1, valueLoss: 3, entropy: entropy, explainedVariance: 0.2)
        return (policy + value).withUnsafeBufferPointer { encoder.encodeGradient(header, values: $0) }
    }
}

@Suite("Gradients (protocol 7, A3C)")
struct GradientTests {
    @Test("a gradient decodes to its values and norm, and its rows count as transitions do when rejected")
    func roundTrip() throws {
        let columns = GradientColumns()
        let bytes = columns.encoded()
        #expect(bytes.count == WireFormat.gradientMessageSize(parameters: 42))
        guard case let .gradient(view) = try decode(bytes, with: gradientDecoder) else { Issue.record("not a gradient"); return }
        #expect(view.header.weightsVersion == 4 && view.header.rows == 10 && view.header.policyParameters == 23 && view.header.receipt == 9)
        var values = [Float](repeating: 0, count: 42)
        TransitionsView.copyFloats(view.values, count: 42, to: &values)
        #expect(values == columns.policy + columns.value)
        let norm = (columns.policy + columns.value).reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        #expect(abs(view.norm - norm) < 1e-9)
        #expect(bytes.withUnsafeBytes { MessageDecoder.claimedTransitionCount($0) } == 10)
    }

    @Test("a forged gradient is refused by what is wrong with it: NaN, infinity, 1e30, the wrong shape, a short body, non-finite statistics")
    func forgeries() {
        var columns = GradientColumns()
        columns.policy[3] = .nan
        expectRejection(columns.encoded(), "non_finite", by: gradientDecoder)
        columns = GradientColumns()
        columns.value[18] = -.infinity
        expectRejection(columns.encoded(), "non_finite", by: gradientDecoder)
        columns = GradientColumns()
        columns.policy[0] = 1e30  // finite, and its square too in Double: the norm bound catches it
        expectRejection(columns.encoded(), "out_of_range", by: gradientDecoder)
        columns = GradientColumns()
        columns.value = (0..<19).map { _ in 3e37 }  // every square overflows Float, none Double
        expectRejection(columns.encoded(), "out_of_range", by: gradientDecoder)
        columns = GradientColumns()
        columns.policy.append(0)  // a network of another shape
        expectRejection(columns.encoded(), "dimension_mismatch", by: gradientDecoder)
        columns = GradientColumns()
        columns.value.removeLast()
        expectRejection(columns.encoded(), "dimension_mismatch", by: gradientDecoder)
        columns = GradientColumns()
        columns.entropy = .nan
        expectRejection(columns.encoded(), "non_finite", by: gradientDecoder)
        columns = GradientColumns()
        columns.rows = 0
        expectRejection(columns.encoded(), "out_of_range", by: gradientDecoder)
        expectRejection(Array(GradientColumns().encoded().dropLast(4)), "length_mismatch", by: gradientDecoder)
        var reserved = GradientColumns().encoded()
        reserved[WireFormat.headerSize + 36] = 1  // the reserved u32 after the two sizes
        expectRejection(reserved, "reserved_bits", by: gradientDecoder)
    }

    @Test("each learner takes its own data kind: a gradient is wrong_data_kind for a2c and off-policy learners, a segment for a3c's")
    func dataKinds() {
        expectRejection(GradientColumns().encoded(), "wrong_data_kind", by: segmentDecoder)
        expectRejection(GradientColumns().encoded(), "wrong_data_kind", by: decoder)
        expectRejection(SegmentColumns().encoded(), "wrong_data_kind", by: gradientDecoder)
    }
}
