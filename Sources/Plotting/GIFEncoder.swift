/// An animated GIF89a writer for palette images: LZW with variable code widths,
/// a global colour table, a looping NETSCAPE2.0 extension and a delay per frame.
public struct GIFEncoder {
    public let width: Int
    public let height: Int
    /// RGB triples; at most 256 colours, padded to a power of two.
    private let palette: [(UInt8, UInt8, UInt8)]
    private var bytes: [UInt8] = []
    private let colorBits: Int

    public init(width: Int, height: Int, palette: [(UInt8, UInt8, UInt8)], loop: Bool = true) {
        precondition(width > 0 && width < 65_536 && height > 0 && height < 65_536 && !palette.isEmpty && palette.count <= 256)
        self.width = width
        self.height = height
        var bits = 1
        while 1 << bits < palette.count { bits += 1 }
        colorBits = bits
        self.palette = palette + Array(repeating: (0, 0, 0), count: (1 << bits) - palette.count)
        bytes += Array("GIF89a".utf8)
        append16(width)
        append16(height)
        bytes.append(0x80 | UInt8((colorBits - 1) << 4) | UInt8(colorBits - 1))  // global table, its size
        bytes += [0, 0]  // background colour, aspect ratio
        for (r, g, b) in self.palette { bytes += [r, g, b] }
        if loop {
            bytes += [0x21, 0xFF, 11] + Array("NETSCAPE2.0".utf8) + [3, 1, 0, 0, 0]  // loop forever
        }
    }

    private mutating func append16(_ value: Int) { bytes += [UInt8(value & 0xFF), UInt8(value >> 8)] }

    /// Adds a frame of `width × height` palette indices, shown for `delay` hundredths of a second.
    public mutating func addFrame(_ pixels: [UInt8], delay: Int) {
        precondition(pixels.count == width * height)
        bytes += [0x21, 0xF9, 4, 0, UInt8(delay & 0xFF), UInt8(delay >> 8), 0, 0]  // graphic control
        bytes.append(0x2C)  // image descriptor: the whole canvas, no local table
        append16(0)
        append16(0)
        append16(width)
        append16(height)
        bytes.append(0)
        let minimumCodeSize = max(2, colorBits)
        bytes.append(UInt8(minimumCodeSize))
        let data = Self.lzw(pixels, minimumCodeSize: minimumCodeSize)
        var offset = 0
        while offset < data.count {
            let n = min(255, data.count - offset)
            bytes.append(UInt8(n))
            bytes += data[offset..<offset + n]
            offset += n
        }
        bytes.append(0)
    }

    /// The file: everything added, then the trailer.
    public var data: [UInt8] { bytes + [0x3B] }

    /// GIF's LZW: codes start one bit wider than the pixels, grow to 12 bits, and a
    /// clear code resets the table when it fills.
    static func lzw(_ pixels: [UInt8], minimumCodeSize: Int) -> [UInt8] {
        let clear = 1 << minimumCodeSize, end = clear + 1
        var out: [UInt8] = []
        var accumulator = 0, bitCount = 0
        var codeSize = minimumCodeSize + 1
        func emit(_ code: Int) {
            accumulator |= code << bitCount
            bitCount += codeSize
            while bitCount >= 8 {
                out.append(UInt8(accumulator & 0xFF))
                accumulator >>= 8
                bitCount -= 8
            }
        }
        // (prefix code << 8 | next pixel) → code
        var table: [Int: Int] = [:]
        table.reserveCapacity(4_096)
        var nextCode = end + 1
        // Widen after a code once the next free code no longer fits, as the decoder does
        // (it adds its entries one code later, so both sides widen at the same code).
        func emitData(_ code: Int) {
            emit(code)
            if nextCode >= 1 << codeSize, codeSize < 12 { codeSize += 1 }
        }
        emit(clear)
        guard var prefix = pixels.first.map(Int.init) else {
            emit(end)
            if bitCount > 0 { out.append(UInt8(accumulator & 0xFF)) }
            return out
        }
        for pixel in pixels.dropFirst() {
            let key = prefix << 8 | Int(pixel)
            if let code = table[key] {
                prefix = code
                continue
            }
            emitData(prefix)
            if nextCode < 4_096 {
                table[key] = nextCode
                nextCode += 1
            } else {
                emit(clear)
                table.removeAll(keepingCapacity: true)
                codeSize = minimumCodeSize + 1
                nextCode = end + 1
            }
            prefix = Int(pixel)
        }
        emitData(prefix)
        emit(end)
        if bitCount > 0 { out.append(UInt8(accumulator & 0xFF)) }
        return out
    }
}
