import Foundation

/// A run's `checkpoints/` directory: atomic writes, the last `keep` kept, and
/// loading the newest valid one, falling back past any that are damaged.
public final class CheckpointStore: @unchecked Sendable {
    public let directory: URL
    public let keep: Int
    private static let prefix = "checkpoint-"
    private static let temporaryPrefix = ".tmp-"

    public init(directory: URL, keep: Int = 3) {
        self.directory = directory
        self.keep = max(keep, 1)
    }

    /// The directory of checkpoints of a run directory.
    public static func directory(ofRun run: URL) -> URL { run.appendingPathComponent("checkpoints") }

    public static func fileName(updates: Int) -> String {
        prefix + String(repeating: "0", count: max(0, 12 - String(updates).count)) + "\(updates).\(CheckpointFile.fileExtension)"
    }

    /// Checkpoint files, newest (most updates) first; temporary files of interrupted writes are not listed.
    public func files() -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasPrefix(Self.prefix) && $0.hasSuffix("." + CheckpointFile.fileExtension) }
            .sorted(by: >).map { directory.appendingPathComponent($0) }
    }

    /// Writes `bytes` as the checkpoint after `updates` updates: to a temporary file,
    /// fsync, rename over the final name, fsync the directory. A crash at any point
    /// leaves either the old set of checkpoints or the new one, never a partial file
    /// under a checkpoint's name. Older checkpoints beyond the newest `keep` are deleted.
    @discardableResult
    public func write(_ bytes: [UInt8], updates: Int) throws -> URL {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let name = Self.fileName(updates: updates)
        let final = directory.appendingPathComponent(name)
        let temporary = directory.appendingPathComponent(Self.temporaryPrefix + name)
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Self.posixError("cannot create \(temporary.path)") }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                let error = Self.posixError("cannot write \(temporary.path)")
                close(fd)
                unlink(temporary.path)
                throw error
            }
            offset += written
        }
        guard fsync(fd) == 0 else {
            let error = Self.posixError("cannot fsync \(temporary.path)")
            close(fd)
            throw error
        }
        close(fd)
        // Make room first, so that a crash between the rename and the pruning below leaves
        // at most `keep` files (two when keeping one: the newest existing checkpoint always
        // stays until the new one is in place).
        for old in files().filter({ $0 != final }).dropFirst(max(keep - 1, 1)) { try? FileManager.default.removeItem(at: old) }
        guard rename(temporary.path, final.path) == 0 else { throw Self.posixError("cannot rename \(temporary.path) to \(final.path)") }
        let directoryDescriptor = open(directory.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
        for old in files().dropFirst(keep) { try? FileManager.default.removeItem(at: old) }
        return final
    }

    /// The newest checkpoint that reads, checks and passes `validate`, and the
    /// newer ones that did not (with why), so that the caller can say it fell back.
    public func latestValid(validate: (LearnerCheckpoint) throws(CheckpointError) -> Void = { _ in })
        -> (checkpoint: LearnerCheckpoint, file: URL, skipped: [(file: URL, error: CheckpointError)])? {
        let scan = scan(validate: validate)
        return scan.found.map { ($0.checkpoint, $0.file, scan.skipped) }
    }

    /// Reads checkpoints newest first until one passes `validate`. `skipped` holds every
    /// file tried before it, or all of them (each with why) when none passed.
    public func scan(validate: (LearnerCheckpoint) throws(CheckpointError) -> Void = { _ in })
        -> (found: (checkpoint: LearnerCheckpoint, file: URL)?, skipped: [(file: URL, error: CheckpointError)]) {
        var skipped: [(URL, CheckpointError)] = []
        for file in files() {
            do throws(CheckpointError) {
                let checkpoint = try Self.load(file)
                try validate(checkpoint)
                return ((checkpoint, file), skipped)
            } catch {
                skipped.append((file, error))
            }
        }
        return (nil, skipped)
    }

    // MARK: Weights versions

    static let reservationName = "weights-versions"

    /// The highest weights version that an earlier process of this run may have
    /// published (0 when none is recorded). Checkpoints are taken every minute, but
    /// versions go out several times a second; this is how a resumed learner knows
    /// to start above all of them, even after kill -9.
    public func reservedWeightsVersion() -> UInt64 {
        let file = directory.appendingPathComponent(Self.reservationName)
        guard let text = try? String(contentsOf: file, encoding: .utf8),
              let value = UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines)),
              value <= UInt64(CheckpointHeader.maxCounter) else { return 0 }
        return value
    }

    /// Records that versions up to `version` may be published, before any of them is.
    /// Written atomically; no fsync, since a process crash keeps the page cache.
    public func reserveWeightsVersions(through version: UInt64) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent(Self.reservationName)
        try Data("\(version)\n".utf8).write(to: file, options: .atomic)
    }

    /// Reads and checks one checkpoint file.
    public static func load(_ file: URL) throws(CheckpointError) -> LearnerCheckpoint {
        let data: Data
        do {
            data = try Data(contentsOf: file)
        } catch {
            throw .unreadable(error.localizedDescription)
        }
        return try LearnerCheckpoint(bytes: Array(data))
    }

    static func posixError(_ what: String) -> NSError {
        NSError(domain: NSPOSIXErrorDomain, code: Int(errno), userInfo: [NSLocalizedDescriptionKey: "\(what): \(String(cString: strerror(errno)))"])
    }
}

/// Encodes and writes checkpoints on a background thread, one at a time, so that
/// the learner stalls only for the copy of its state.
public final class CheckpointWriter: @unchecked Sendable {
    public let store: CheckpointStore
    private let queue = DispatchQueue(label: "ddpg.checkpoint-writer")
    private let group = DispatchGroup()
    private let onFinish: @Sendable (Result<(URL, Int, Double), any Error>) -> Void
    private let lock = NSLock()
    private var failureCount = 0
    private var lastFailure: String?

    /// `onFinish` reports each write: the file, its size, and seconds spent encoding and writing.
    public init(store: CheckpointStore, onFinish: @escaping @Sendable (Result<(URL, Int, Double), any Error>) -> Void) {
        self.store = store
        self.onFinish = onFinish
    }

    /// Queues `checkpoint`; waits first if the previous write is still running, so at most one waits in memory.
    public func submit(_ checkpoint: LearnerCheckpoint) {
        group.wait()
        group.enter()
        queue.async { [self, store, onFinish, group] in
            let started = DispatchTime.now()
            let bytes = checkpoint.encoded()
            do {
                let file = try store.write(bytes, updates: checkpoint.header.updates)
                onFinish(.success((file, bytes.count, Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9)))
            } catch {
                self.recordFailure(error)
                onFinish(.failure(error))
            }
            group.leave()
        }
    }

    /// Waits for the write in flight, if any.
    public func wait() { group.wait() }

    /// Checkpoints that could not be written (a full disk, a read-only directory), and why the last one failed.
    public var failures: Int { lock.withLock { failureCount } }
    public var lastFailureDescription: String? { lock.withLock { lastFailure } }

    private func recordFailure(_ error: any Error) {
        lock.withLock {
            failureCount += 1
            lastFailure = "\(error)"
        }
    }
}
