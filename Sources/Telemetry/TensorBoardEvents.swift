import Checksum
import Foundation

/// The few protobuf encodings an Event of TensorFlow's `event.proto` needs.
struct ProtobufWriter {
    var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func key(_ field: Int, _ wireType: Int) { varint(UInt64(field << 3 | wireType)) }

    mutating func double(_ field: Int, _ value: Double) {
        key(field, 1)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func float(_ field: Int, _ value: Float) {
        key(field, 5)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func int64(_ field: Int, _ value: Int64) {
        key(field, 0)
        varint(UInt64(bitPattern: value))
    }

    mutating func bytesField(_ field: Int, _ value: [UInt8]) {
        key(field, 2)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }
}

/// Writes TensorBoard event files natively: TFRecord framing (length, masked
/// CRC-32C of the length, data, masked CRC-32C of the data) around `Event`
/// protobufs (`wall_time` 1, `step` 2, `file_version` 3, `summary` 5 with
/// `Summary.Value{tag 1, simple_value 2}`), as TensorFlow's `EventFileWriter` does.
public final class TensorBoardWriter {
    public let fileURL: URL
    private let handle: FileHandle
    private var pending: [UInt8] = []
    private var lastFlush = Date()

    /// Creates `directory` and an `events.out.tfevents.<time>.<host>` file in it.
    public init(directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let now = Date().timeIntervalSince1970
        let host = ProcessInfo.processInfo.hostName
        fileURL = directory.appendingPathComponent("events.out.tfevents.\(Int(now)).\(host).\(getpid())")
        guard FileManager.default.createFile(atPath: fileURL.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: fileURL.path])
        }
        handle = try FileHandle(forWritingTo: fileURL)
        var event = ProtobufWriter()
        event.double(1, now)
        event.bytesField(3, Array("brain.Event:2".utf8))
        append(record: event.bytes)
        flush()
    }

    deinit {
        flush()
        try? handle.close()
    }

    /// Records scalar `value` under `tag` at `step`.
    public func scalar(_ tag: String, _ value: Double, step: Int, wallTime: Double = Date().timeIntervalSince1970) {
        guard value.isFinite else { return }
        var summaryValue = ProtobufWriter()
        summaryValue.bytesField(1, Array(tag.utf8))
        summaryValue.float(2, Float(value))
        var summary = ProtobufWriter()
        summary.bytesField(1, summaryValue.bytes)
        var event = ProtobufWriter()
        event.double(1, wallTime)
        event.int64(2, Int64(step))
        event.bytesField(5, summary.bytes)
        append(record: event.bytes)
        // Buffered, but never more than a second behind, so a live TensorBoard follows the run.
        if pending.count > 1 << 16 || Date().timeIntervalSince(lastFlush) > 1 { flush() }
    }

    public func flush() {
        guard !pending.isEmpty else { return }
        handle.write(Data(pending))
        pending.removeAll(keepingCapacity: true)
        lastFlush = Date()
    }

    private func append(record data: [UInt8]) {
        var length = [UInt8]()
        withUnsafeBytes(of: UInt64(data.count).littleEndian) { length.append(contentsOf: $0) }
        pending.append(contentsOf: length)
        withUnsafeBytes(of: CRC32C.masked(length).littleEndian) { pending.append(contentsOf: $0) }
        pending.append(contentsOf: data)
        withUnsafeBytes(of: CRC32C.masked(data).littleEndian) { pending.append(contentsOf: $0) }
    }
}
