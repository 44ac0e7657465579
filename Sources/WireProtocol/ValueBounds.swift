/// Inclusive per-component bounds of a column of little-endian Float32 values
/// whose bounds repeat every `period` values (an observation's dimensions), checked
/// sixteen at a time: ingest checks every value it accepts, so this must cost
/// little beside copying them.
struct ValueBounds: Sendable, Equatable {
    /// The bounds of one period, as given.
    let low: [Float]
    let high: [Float]
    /// The bounds repeated over a multiple of both the period and 16 values.
    private let lowLanes: [SIMD16<Float>]
    private let highLanes: [SIMD16<Float>]

    init(low: [Float], high: [Float]) {
        precondition(!low.isEmpty && low.count == high.count, "one low and one high bound per component")
        self.low = low
        self.high = high
        let span = 16 * low.count
        func lanes(_ bounds: [Float]) -> [SIMD16<Float>] {
            stride(from: 0, to: span, by: 16).map { start in SIMD16((0..<16).map { bounds[(start + $0) % bounds.count] }) }
        }
        lowLanes = lanes(low)
        highLanes = lanes(high)
    }

    init(repeating low: Float, _ high: Float) { self.init(low: [low], high: [high]) }

    /// Whether all `count` values lie within their bounds. NaN lies within no bounds.
    func contains(_ column: UnsafeRawPointer, count: Int) -> Bool {
        var inside = SIMDMask<SIMD16<Int32>>(repeating: true)
        let span = 16 * lowLanes.count
        var start = 0
        lowLanes.withUnsafeBufferPointer { lows in
            highLanes.withUnsafeBufferPointer { highs in
                while start + span <= count {
                    for k in 0..<lows.count {
                        let values = Self.load(column, at: start + 16 * k)
                        inside .&= (values .>= lows[k]) .& (values .<= highs[k])
                    }
                    start += span
                }
            }
        }
        guard all(inside) else { return false }
        for i in start..<count {
            let value = Self.float(column, i)
            guard value >= low[i % low.count], value <= high[i % high.count] else { return false }
        }
        return true
    }

    /// The first value outside its bounds, as an error naming `field` (computed only once a message is known to be bad).
    func violation(in column: UnsafeRawPointer, count: Int, field: String) -> ProtocolError {
        for i in 0..<count {
            let value = Self.float(column, i), lower = low[i % low.count], upper = high[i % high.count]
            if !value.isFinite { return .nonFinite(field: field) }
            if !(value >= lower && value <= upper) { return .outOfRange(field: field, value: "\(value) at \(i), outside [\(lower), \(upper)]") }
        }
        return .outOfRange(field: field, value: "outside its bounds")
    }

    @inline(__always)
    static func float(_ column: UnsafeRawPointer, _ index: Int) -> Float {
        Float(bitPattern: UInt32(littleEndian: column.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self)))
    }

    @inline(__always)
    static func load(_ column: UnsafeRawPointer, at index: Int) -> SIMD16<Float> {
        #if _endian(little)
        column.loadUnaligned(fromByteOffset: 4 * index, as: SIMD16<Float>.self)
        #else
        SIMD16((0..<16).map { float(column, index + $0) })
        #endif
    }
}
