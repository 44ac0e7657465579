/// Bounds-checked little-endian reads from a received message.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    private(set) var offset: Int

    init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    var remaining: Int { bytes.count - offset }

    mutating func read<T: FixedWidthInteger>(_: T.Type, field: String) throws(ProtocolError) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw .tooShort(needed: offset + size, got: bytes.count) }
        let value = T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += size
        return value
    }

    mutating func readFloat(field: String) throws(ProtocolError) -> Float {
        Float(bitPattern: try read(UInt32.self, field: field))
    }

    mutating func readDouble(field: String) throws(ProtocolError) -> Double {
        Double(bitPattern: try read(UInt64.self, field: field))
    }

    /// `count` little-endian Float32 values, as they are (NaN and infinities included).
    mutating func readFloats(_ count: Int, field: String) throws(ProtocolError) -> [Float] {
        var values: [Float] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try readFloat(field: field)) }
        return values
    }

    /// Skips `count` bytes and returns where they start.
    mutating func take(_ count: Int, field: String) throws(ProtocolError) -> Int {
        guard count >= 0, remaining >= count else { throw .tooShort(needed: offset + max(count, 0), got: bytes.count) }
        defer { offset += count }
        return offset
    }
}

/// Little-endian writes into a growable byte buffer that is reused between messages.
public struct ByteWriter {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    public mutating func reset() { bytes.removeAll(keepingCapacity: true) }

    mutating func write<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func write(_ value: Float) { write(value.bitPattern) }
    mutating func write(_ value: Double) { write(value.bitPattern) }

    /// Appends floats as little-endian IEEE-754 (the host order on every platform ddpg supports).
    mutating func write(floats: UnsafeBufferPointer<Float>) {
        #if _endian(little)
        bytes.append(contentsOf: UnsafeRawBufferPointer(floats))
        #else
        for value in floats { write(value) }
        #endif
    }

    mutating func write(bytes other: UnsafeRawBufferPointer) { bytes.append(contentsOf: other) }

    /// Patches a u32 written earlier at `offset`.
    mutating func patch(_ value: UInt32, at offset: Int) {
        withUnsafeBytes(of: value.littleEndian) { raw in
            for i in 0..<4 { bytes[offset + i] = raw[i] }
        }
    }
}
