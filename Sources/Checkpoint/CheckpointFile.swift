import Checksum
import Foundation

/// The container of a checkpoint file (docs/CHECKPOINTS.md):
///
///     magic "DDPGCKPT" · format version (u32) · file length (u64) · header length (u32) · header (JSON)
///     · sections: name length (u16) · name · byte count (u64) · bytes
///     · CRC-32C of everything before it (u32)
///
/// All integers little-endian; section bytes are little-endian Float32 unless
/// the name says otherwise. Pure bytes in, bytes out: no files, no networks.
public enum CheckpointFile {
    public static let magic = Array("DDPGCKPT".utf8)
    public static let formatVersion: UInt32 = 1
    public static let fileExtension = "ddpgckpt"

    /// One file's bytes from its header and named sections.
    public static func encode(header: Data, sections: [(name: String, bytes: [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(32 + header.count + sections.reduce(0) { $0 + $1.name.utf8.count + $1.bytes.count + 10 })
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) } }
        out += magic
        append(formatVersion)
        let lengthOffset = out.count
        append(UInt64(0))  // the file's length, patched below
        append(UInt32(header.count))
        out += header
        for section in sections {
            let name = Array(section.name.utf8)
            append(UInt16(name.count))
            out += name
            append(UInt64(section.bytes.count))
            out += section.bytes
        }
        let total = UInt64(out.count + 4).littleEndian
        withUnsafeBytes(of: total) { out.replaceSubrange(lengthOffset..<lengthOffset + 8, with: $0) }
        append(CRC32C.checksum(out))
        return out
    }

    /// The header and sections of a file, after checking magic, version, checksum and every length.
    public static func decode(_ bytes: [UInt8]) throws(CheckpointError) -> (header: Data, sections: [String: ArraySlice<UInt8>]) {
        guard bytes.starts(with: magic.prefix(bytes.count)) else { throw .notACheckpoint }
        guard bytes.count >= magic.count + 20 else { throw .truncated("\(bytes.count) bytes, shorter than any checkpoint") }
        var offset = magic.count
        func read<T: FixedWidthInteger>(_: T.Type) throws(CheckpointError) -> T {
            guard offset + MemoryLayout<T>.size <= bytes.count - 4 else { throw .truncated("ends inside a length field at byte \(offset)") }
            var value: T = 0
            withUnsafeMutableBytes(of: &value) { $0.copyBytes(from: bytes[offset..<offset + MemoryLayout<T>.size]) }
            offset += MemoryLayout<T>.size
            return T(littleEndian: value)
        }
        let version = try read(UInt32.self)
        guard version == formatVersion else { throw .unsupportedVersion(version) }
        let declared = try read(UInt64.self)
        guard declared == UInt64(bytes.count) else {
            throw declared > UInt64(bytes.count) ? .truncated("\(bytes.count) bytes of the \(declared) the file says it has")
                                                 : .corrupt("\(bytes.count) bytes, but the file says it has \(declared)")
        }
        let stored = bytes.suffix(4).withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) }
        let computed = CRC32C.checksum(bytes.dropLast(4))
        guard stored == computed else {
            throw .checksumMismatch(stored: stored, computed: computed)
        }
        let headerLength = Int(try read(UInt32.self))
        guard offset + headerLength <= bytes.count - 4 else { throw .truncated("header of \(headerLength) bytes runs past the end") }
        let header = Data(bytes[offset..<offset + headerLength])
        offset += headerLength
        var sections: [String: ArraySlice<UInt8>] = [:]
        while offset < bytes.count - 4 {
            let nameLength = Int(try read(UInt16.self))
            guard offset + nameLength <= bytes.count - 4 else { throw .truncated("section name runs past the end") }
            let name = String(decoding: bytes[offset..<offset + nameLength], as: UTF8.self)
            offset += nameLength
            let count = try read(UInt64.self)
            guard count <= UInt64(bytes.count - 4 - offset) else { throw .truncated("section \(name) of \(count) bytes runs past the end") }
            sections[name] = bytes[offset..<offset + Int(count)]
            offset += Int(count)
        }
        return (header, sections)
    }
}

/// Why a checkpoint could not be used. Every case names what was wrong.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    case notACheckpoint
    case unsupportedVersion(UInt32)
    case truncated(String)
    case checksumMismatch(stored: UInt32, computed: UInt32)
    case corrupt(String)
    case badHeader(String)
    case missingSection(String)
    case sectionSize(name: String, expected: Int, got: Int)
    case incompatible(String)
    case unreadable(String)

    public var description: String {
        switch self {
        case .notACheckpoint: "not a ddpg checkpoint (no DDPGCKPT magic)"
        case let .unsupportedVersion(v): "checkpoint format version \(v), but this ddpg reads version \(CheckpointFile.formatVersion)"
        case let .truncated(detail): "truncated: \(detail)"
        case let .checksumMismatch(stored, computed):
            "corrupt: CRC-32C is \(String(computed, radix: 16)) but the file says \(String(stored, radix: 16))"
        case let .corrupt(detail): "corrupt: \(detail)"
        case let .badHeader(detail): "bad header: \(detail)"
        case let .missingSection(name): "missing section \(name)"
        case let .sectionSize(name, expected, got): "section \(name) holds \(got) bytes, expected \(expected)"
        case let .incompatible(detail): "incompatible: \(detail)"
        case let .unreadable(detail): "unreadable: \(detail)"
        }
    }
}
