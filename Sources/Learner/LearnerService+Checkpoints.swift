import Checkpoint
import DDPG
import Foundation
import ProcessSupport
import RunRecords

/// Why `--resume` could not continue a run.
public struct ResumeError: Error, CustomStringConvertible {
    public var directory: URL
    public var skipped: [(file: URL, error: CheckpointError)]

    public init(directory: URL, skipped: [(file: URL, error: CheckpointError)]) {
        self.directory = directory
        self.skipped = skipped
    }

    public var description: String {
        guard !skipped.isEmpty else { return "no checkpoints in \(directory.path)" }
        return "no usable checkpoint in \(directory.path): "
            + skipped.map { "\($0.file.lastPathComponent): \($0.error)" }.joined(separator: "; ")
    }
}

extension LearnerService {
    /// Continues from the newest valid checkpoint in `store`, falling back (and saying so)
    /// past any that are corrupt, truncated or do not fit this run's shapes.
    @discardableResult
    public func resume(from store: CheckpointStore) throws -> URL {
        let scan = store.scan { checkpoint throws(CheckpointError) in
            try checkpoint.checkCompatible(with: agent, spec: spec)
            if let saved = checkpoint.header.replay, saved.count > replay.capacity {
                throw .incompatible("its replay of \(saved.count) transitions exceeds --replay-capacity \(replay.capacity)")
            }
        }
        guard let (checkpoint, file) = scan.found else {
            throw ResumeError(directory: store.directory, skipped: scan.skipped)
        }
        for (skippedFile, error) in scan.skipped {
            logger.warning("checkpoint \(skippedFile.path) is unusable (\(error)); falling back to an older one")
        }
        checkpoint.restore(into: agent)
        lastGoodState.take(agent)
        let header = checkpoint.header
        if let generator = checkpoint.replayGenerator { replayGenerator = generator }
        // Versions published after this checkpoint, before the previous process ended, stay behind us.
        weightsVersion = max(header.weightsVersion, store.reservedWeightsVersion())
        reservedVersions = weightsVersion
        updatesAtLastBroadcast = header.updates
        resumedFrom = (header.envSteps, header.episodes, header.wallSeconds)
        evaluations = header.evaluations
        solvedAt = header.solvedAt
        let c = configuration.training
        nextEvaluationAt = saturatingAdd(header.envSteps / c.evalEvery * c.evalEvery, c.evalEvery)
        evaluationState.lastRecordedMark = UInt64(header.envSteps / c.evalEvery * c.evalEvery)
        // The rows after the checkpoint describe training that the crash lost; the run continues from the checkpoint.
        if let dropped = monitoring.progress?.discardRows(after: header.wallSeconds), dropped > 0 {
            logger.notice("dropped \(dropped) rows of progress.csv written after this checkpoint (training that was not saved)")
        }
        let replayRestored = (try? checkpoint.restoreReplay(into: replay)) ?? false
        if replayRestored {
            // The restored contents count as inserted and already paid for by samples, so training resumes at once.
            let spi = limiter.samplesPerInsert
            limiter = RateLimiter(samplesPerInsert: spi, minSizeToSample: c.learningStarts, errorBuffer: spi * Double(configuration.learner.rateTolerance),
                                  inserts: replay.count, samples: Int(spi * Double(max(replay.count - c.learningStarts, 0))))
        }
        resumedFile = file
        scheduleNextCheckpoint()
        logger.notice("""
            resumed from \(file.path): \(header.envSteps) env steps, \(header.updates) updates, weights v\(weightsVersion)\
            \(replayRestored ? ", replay of \(replay.count) transitions" : "; replay starts empty and refills to \(c.learningStarts) before training")
            """)
        return file
    }

    func scheduleNextCheckpoint() {
        let settings = configuration.learner
        nextCheckpoint = (settings.checkpointEverySeconds.map { elapsed + $0 } ?? .infinity,
                          settings.checkpointEveryUpdates.map { saturatingAdd(agent.updateCount, $0) } ?? .max)
    }

    func checkpointIfDue() {
        guard checkpointWriter != nil, elapsed >= nextCheckpoint.seconds || agent.updateCount >= nextCheckpoint.updates else { return }
        writeCheckpoint(reason: "scheduled")
    }

    /// Copies the learner's state (the only part that stalls training) and hands it to the writer thread.
    func writeCheckpoint(reason: String) {
        guard let checkpointWriter else { return }
        _ = ensureFiniteState(before: "a checkpoint")
        let started = ContinuousClock.now
        let progress = LearnerProgress(envSteps: envSteps, weightsVersion: weightsVersion, episodes: episodes, wallSeconds: trainingSeconds,
                                       evaluations: evaluations, solvedAt: solvedAt)
        let checkpoint = LearnerCheckpoint.capture(
            agent: agent, replay: configuration.learner.checkpointReplay ? replay : nil, replayGenerator: replayGenerator,
            progress: progress, configuration: configuration.training, spec: spec)
        checkpointWriter.submit(checkpoint)
        let stall = ContinuousClock.now - started
        metrics.checkpointStall.recordNanoseconds(stall.wholeNanoseconds)
        metrics.checkpoints.increment()
        checkpointsWritten += 1
        logger.debug("\(reason) checkpoint at \(agent.updateCount) updates: training stalled \(format(stall.seconds * 1_000)) ms")
        scheduleNextCheckpoint()
    }

    /// Before publishing `version`, makes sure a resumed learner will start above it: versions
    /// are reserved in blocks, so the file is written once per thousand broadcasts.
    func reserveVersions(through version: UInt64) {
        guard version > reservedVersions, let store = checkpointWriter?.store else { return }
        let block = version + 1_023
        do {
            try store.reserveWeightsVersions(through: block)
            reservedVersions = block
        } catch {
            // Not fatal: the next checkpoint still records the version; a crash before it may reuse versions.
            logger.error("cannot record weights versions in \(store.directory.path): \(error.localizedDescription)")
            reservedVersions = version
        }
    }
}

/// a + b, or Int.max where that overflows (schedules far in the future).
func saturatingAdd(_ a: Int, _ b: Int) -> Int {
    let (sum, overflow) = a.addingReportingOverflow(b)
    return overflow ? (b > 0 ? .max : .min) : sum
}
