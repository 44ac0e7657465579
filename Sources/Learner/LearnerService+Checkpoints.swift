import Checkpoint
import DDPG
import Environments
import Foundation
import ProcessSupport
import Training

/// Why `--resume` could not continue a run.
public struct ResumeError: Error, CustomStringConvertible {
    public var directory: URL
    public var skipped: [(file: URL, error: CheckpointError)]

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
            try checkpoint.checkCompatible(with: agent, environment: Pendulum.id)
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
        let header = checkpoint.header
        if let generator = checkpoint.replayGenerator { replayGenerator = generator }
        weightsVersion = header.weightsVersion
        updatesAtLastBroadcast = header.updates
        resumedFrom = (header.envSteps, header.episodes, header.wallSeconds)
        evaluations = header.evaluations
        solvedAt = header.solvedAt
        let c = configuration.training
        nextEvaluationAt = (header.envSteps / c.evalEvery + 1) * c.evalEvery
        let replayRestored = (try? checkpoint.restoreReplay(into: replay)) ?? false
        if replayRestored {
            // The restored contents count as inserted and already paid for by samples, so training resumes at once.
            let spi = configuration.learner.samplesPerInsert
            limiter = RateLimiter(samplesPerInsert: spi, minSizeToSample: c.learningStarts, errorBuffer: spi * Double(configuration.learner.rateTolerance),
                                  inserts: replay.count, samples: Int(spi * Double(max(replay.count - c.learningStarts, 0))))
        }
        resumedFile = file
        scheduleNextCheckpoint()
        logger.notice("""
            resumed from \(file.path): \(header.envSteps) env steps, \(header.updates) updates, weights v\(header.weightsVersion)\
            \(replayRestored ? ", replay of \(replay.count) transitions" : "; replay starts empty and refills to \(c.learningStarts) before training")
            """)
        return file
    }

    func scheduleNextCheckpoint() {
        let settings = configuration.learner
        nextCheckpoint = (settings.checkpointEverySeconds.map { elapsed + $0 } ?? .infinity,
                          settings.checkpointEveryUpdates.map { agent.updateCount + $0 } ?? .max)
    }

    func checkpointIfDue() {
        guard checkpointWriter != nil, elapsed >= nextCheckpoint.seconds || agent.updateCount >= nextCheckpoint.updates else { return }
        writeCheckpoint(reason: "scheduled")
    }

    /// Copies the learner's state (the only part that stalls training) and hands it to the writer thread.
    func writeCheckpoint(reason: String) {
        guard let checkpointWriter else { return }
        let started = ContinuousClock.now
        let progress = LearnerProgress(envSteps: envSteps, weightsVersion: weightsVersion, episodes: episodes, wallSeconds: trainingSeconds,
                                       evaluations: evaluations, solvedAt: solvedAt)
        let checkpoint = LearnerCheckpoint.capture(
            agent: agent, replay: configuration.learner.checkpointReplay ? replay : nil, replayGenerator: replayGenerator,
            progress: progress, configuration: configuration.training, environment: Pendulum.id)
        checkpointWriter.submit(checkpoint)
        let stall = ContinuousClock.now - started
        metrics.checkpointStall.recordNanoseconds(stall.wholeNanoseconds)
        metrics.checkpoints.increment()
        checkpointsWritten += 1
        logger.debug("\(reason) checkpoint at \(agent.updateCount) updates: training stalled \(format(stall.seconds * 1_000)) ms")
        scheduleNextCheckpoint()
    }
}
