import Checkpoint
import Foundation

/// When the learner checkpoints (every N seconds or N updates, and once at the end), and the
/// weights versions it has promised never to reuse.
struct CheckpointSchedule {
    /// Writes on its own thread; nil: this learner keeps no checkpoints.
    let writer: CheckpointWriter?
    let everySeconds: Double?
    let everyUpdates: Int?
    private(set) var next: (seconds: Double, updates: Int) = (.infinity, .max)
    private(set) var written = 0
    /// The checkpoint this run resumed from.
    var resumedFile: URL?
    /// Versions up to this one may have been published by an earlier process of this run.
    private(set) var reservedVersions: UInt64 = 0

    init(writer: CheckpointWriter?, everySeconds: Double?, everyUpdates: Int?) {
        self.writer = writer
        self.everySeconds = everySeconds
        self.everyUpdates = everyUpdates
    }

    mutating func schedule(now: Double, updates: Int) {
        next = (everySeconds.map { now + $0 } ?? .infinity, everyUpdates.map { saturatingAdd(updates, $0) } ?? .max)
    }

    func isDue(now: Double, updates: Int) -> Bool { writer != nil && (now >= next.seconds || updates >= next.updates) }

    /// Hands `checkpoint` to the writer thread and schedules the next.
    mutating func submit(_ checkpoint: LearnerCheckpoint, now: Double, updates: Int) {
        writer?.submit(checkpoint)
        written += 1
        schedule(now: now, updates: updates)
    }

    /// Before publishing `version`, makes sure a resumed learner will start above it: versions are
    /// reserved in blocks, so the file is written once per thousand broadcasts. Returns the error
    /// that kept the block from being recorded, if any (not fatal: the next checkpoint records the
    /// version; a crash before it may reuse versions).
    mutating func reserveVersions(through version: UInt64) -> Error? {
        guard version > reservedVersions, let store = writer?.store else { return nil }
        let block = version + 1_023
        do {
            try store.reserveWeightsVersions(through: block)
            reservedVersions = block
            return nil
        } catch {
            reservedVersions = version
            return error
        }
    }

    /// A resumed run continues above every version an earlier process could have published.
    mutating func resumed(from file: URL, version: UInt64) {
        resumedFile = file
        reservedVersions = version
    }
}
