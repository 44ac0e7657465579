import Foundation
import Testing
import Checksum
@testable import Telemetry

@Suite("TensorBoard event files")
struct TensorBoardTests {
    @Test("CRC-32C matches the standard check value and TFRecord's masking")
    func crc() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8]()) == 0)
        let crc = CRC32C.checksum([1, 2, 3])
        #expect(CRC32C.masked([1, 2, 3]) == ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8)
    }

    @Test("records are framed with valid masked CRCs, first the file version, then each scalar")
    func framing() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tb-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let writer = try TensorBoardWriter(directory: directory)
        writer.scalar("Reward", -150.5, step: 1_000)
        writer.scalar("Qmax", 12.25, step: 1_000)
        writer.scalar("skipped", .nan, step: 1_000)
        writer.flush()
        let bytes = [UInt8](try Data(contentsOf: writer.fileURL))
        var offset = 0, records: [[UInt8]] = []
        while offset < bytes.count {
            let lengthBytes = Array(bytes[offset..<(offset + 8)])
            let length = Int(lengthBytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
            let lengthCRC = bytes[(offset + 8)..<(offset + 12)].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
            #expect(lengthCRC == CRC32C.masked(lengthBytes))
            let data = Array(bytes[(offset + 12)..<(offset + 12 + length)])
            let dataCRC = bytes[(offset + 12 + length)..<(offset + 16 + length)].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
            #expect(dataCRC == CRC32C.masked(data))
            records.append(data)
            offset += 16 + length
        }
        #expect(records.count == 3, "version event and two finite scalars")
        #expect(String(decoding: records[0], as: UTF8.self).contains("brain.Event:2"))
        #expect(String(decoding: records[1], as: UTF8.self).contains("Reward"))
        // Summary.Value.simple_value (field 2, fixed32) holds the float.
        let valueBytes = withUnsafeBytes(of: Float(12.25).bitPattern.littleEndian) { Array($0) }
        #expect(records[2].windowsContain([0x15] + valueBytes))
    }
}

extension Array where Element == UInt8 {
    func windowsContain(_ needle: [UInt8]) -> Bool {
        guard needle.count <= count else { return false }
        return (0...(count - needle.count)).contains { Array(self[$0..<($0 + needle.count)]) == needle }
    }
}
