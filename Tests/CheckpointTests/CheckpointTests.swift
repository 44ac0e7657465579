import Agents
import Environments
import Foundation
import NeuralNetwork
import Randomness
import Replay
import Testing
import RunConfiguration
import RunRecords
import Training
@testable import Checkpoint

@Suite("Checkpoints: format, atomic writes, fallback, every corruption")
struct CheckpointTests {
    /// An agent trained for a few updates, so that targets and Adam moments differ from their initial values.
    static func trainedAgent(hidden: [Int] = [16, 16], seed: UInt64 = 3) -> (DDPGAgent, ReplayBuffer) {
        var configuration = AgentConfiguration()
        configuration.actorHiddenSizes = hidden
        configuration.criticHiddenSizes = hidden
        configuration.batchSize = 32
        var generator = Xoshiro256(seed: seed)
        let agent = DDPGAgent(observationSize: 3, actionSize: 1, actionBound: 2, configuration: configuration, using: &generator)
        let replay = ReplayBuffer(capacity: 500, observationSize: 3, actionSize: 1)
        for i in 0..<300 {
            let f = Float(i % 23) / 23
            replay.add(observation: [f, 1 - f, f], action: [f - 0.5], reward: -f, nextObservation: [1 - f, f, -f], terminated: false, truncated: i % 200 == 199)
        }
        let batch = TransitionBatch(capacity: 32, observationSize: 3, actionSize: 1)
        for _ in 0..<5 {
            replay.sample(32, into: batch, using: &generator)
            agent.update(batch)
        }
        return (agent, replay)
    }

    static func checkpoint(_ agent: DDPGAgent, replay: ReplayBuffer? = nil, envSteps: Int = 300) -> LearnerCheckpoint {
        let progress = LearnerProgress(envSteps: envSteps, weightsVersion: 7, episodes: 1, wallSeconds: 1.5,
                                       evaluations: [EvaluationResult(envSteps: 200, wallSeconds: 1, meanReturn: -900, stdReturn: 50, minReturn: -1000, maxReturn: -800, episodes: 2)],
                                       solvedAt: nil)
        var configuration = TrainingConfiguration()
        configuration.agent = agent.configuration
        return LearnerCheckpoint.capture(agent: agent, replay: replay, replayGenerator: Xoshiro256(seed: 99, stream: 3), progress: progress,
                                         configuration: configuration, spec: Pendulum().spec)
    }

    static func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("ddpg-checkpoint-\(UUID().uuidString)")
    }

    static func bits(_ v: ParameterVector) -> [UInt32] { v.toArray().map(\.bitPattern) }

    @Test("save and load round-trip every network, target, Adam state, counter and RNG bit for bit")
    func roundTrip() throws {
        let (agent, replay) = Self.trainedAgent()
        let original = Self.checkpoint(agent, replay: replay)
        let bytes = original.encoded()
        let loaded = try LearnerCheckpoint(bytes: bytes)
        #expect(loaded.header == original.header)
        #expect(loaded.encoded() == bytes, "re-encoding gives the same file")

        let (fresh, _) = Self.trainedAgent(seed: 11)
        try loaded.checkCompatible(with: fresh, spec: Pendulum().spec)
        loaded.restore(into: fresh)
        for (a, b) in [(agent.actor.network.parameters, fresh.actor.network.parameters), (agent.critic.parameters, fresh.critic.parameters),
                       (agent.targetActor.parameters, fresh.targetActor.parameters), (agent.targetCritic.parameters, fresh.targetCritic.parameters),
                       (agent.actorOptimizer.firstMoment, fresh.actorOptimizer.firstMoment), (agent.actorOptimizer.secondMoment, fresh.actorOptimizer.secondMoment),
                       (agent.criticOptimizer.firstMoment, fresh.criticOptimizer.firstMoment), (agent.criticOptimizer.secondMoment, fresh.criticOptimizer.secondMoment)] {
            #expect(Self.bits(a) == Self.bits(b))
        }
        #expect(fresh.updateCount == 5 && fresh.actorOptimizer.step == agent.actorOptimizer.step && fresh.criticOptimizer.step == agent.criticOptimizer.step)
        #expect(loaded.replayGenerator == Xoshiro256(seed: 99, stream: 3))
        #expect(loaded.header.weightsVersion == 7 && loaded.header.envSteps == 300 && loaded.header.evaluations.count == 1)

        // The restored agent continues exactly as the original: one more update on the same batch gives identical weights.
        let batch = TransitionBatch(capacity: 32, observationSize: 3, actionSize: 1)
        var g1 = Xoshiro256(seed: 5), g2 = Xoshiro256(seed: 5)
        replay.sample(32, into: batch, using: &g1)
        agent.update(batch)
        let otherReplay = ReplayBuffer(capacity: 500, observationSize: 3, actionSize: 1)
        #expect(try loaded.restoreReplay(into: otherReplay))
        otherReplay.sample(32, into: batch, using: &g2)
        fresh.update(batch)
        #expect(Self.bits(agent.actor.network.parameters) == Self.bits(fresh.actor.network.parameters))
        #expect(Self.bits(agent.targetCritic.parameters) == Self.bits(fresh.targetCritic.parameters))
    }

    @Test("a prioritized replay's priorities go through the file: the resumed run draws the same batches")
    func prioritizedReplayRoundTrip() throws {
        let (agent, uniform) = Self.trainedAgent()
        let prioritization = PrioritizationConfiguration()
        let replay = ReplayBuffer(capacity: 500, observationSize: 3, actionSize: 1, prioritization: prioritization)
        var columns: [String: [UInt8]] = [:]
        uniform.forEachColumn { name, raw in columns[name] = Array(raw) }
        let ring = uniform.ringPosition
        #expect(replay.restore(count: ring.count, nextSlot: ring.nextSlot, totalAdded: ring.totalAdded) { columns[$0] })
        let batch = TransitionBatch(capacity: 32, observationSize: 3, actionSize: 1)
        var generator = Xoshiro256(seed: 8)
        for _ in 0..<20 {
            replay.sample(32, into: batch, beta: 0.4, using: &generator)
            agent.update(batch)
            replay.updatePriorities(from: batch)
        }
        let loaded = try LearnerCheckpoint(bytes: Self.checkpoint(agent, replay: replay).encoded())
        let resumed = ReplayBuffer(capacity: 500, observationSize: 3, actionSize: 1, prioritization: prioritization)
        #expect(try loaded.restoreReplay(into: resumed))
        let original = replay.prioritized!, restored = resumed.prioritized!
        #expect((0..<300).allSatisfy { restored.priority(ofSlot: $0) == original.priority(ofSlot: $0) })
        #expect((0..<300).contains { original.priority(ofSlot: $0) != Float(original.maxPriority) }, "the updates gave the slots different priorities")
        #expect(restored.maxPriority == original.maxPriority)
        var g1 = Xoshiro256(seed: 21), g2 = Xoshiro256(seed: 21)
        let other = TransitionBatch(capacity: 32, observationSize: 3, actionSize: 1)
        replay.sample(32, into: batch, beta: 0.7, using: &g1)
        resumed.sample(32, into: other, beta: 0.7, using: &g2)
        #expect(Array(UnsafeBufferPointer(start: batch.slots, count: 32)) == Array(UnsafeBufferPointer(start: other.slots, count: 32)))
        #expect(batch.weights.view.toArray() == other.weights.view.toArray())
    }

    @Test("a write killed midway (a truncated temporary file) leaves the previous checkpoint in use")
    func interruptedWrite() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = CheckpointStore(directory: directory, keep: 3)
        let (agent, _) = Self.trainedAgent()
        let first = try store.write(Self.checkpoint(agent).encoded(), updates: 5)
        // What kill -9 during the next write leaves: a temporary file cut short, never renamed.
        let next = Self.checkpoint(agent, envSteps: 900).encoded()
        let temporary = directory.appendingPathComponent(".tmp-" + CheckpointStore.fileName(updates: 10))
        try Data(next.prefix(next.count / 2)).write(to: temporary)
        #expect(store.files() == [first], "the partial file is not a checkpoint")
        let found = try #require(store.latestValid())
        #expect(found.file == first && found.skipped.isEmpty && found.checkpoint.header.envSteps == 300)
    }

    @Test("a damaged newest checkpoint falls back to the previous one, saying which and why")
    func fallback() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = CheckpointStore(directory: directory, keep: 2)
        let (agent, _) = Self.trainedAgent()
        try store.write(Self.checkpoint(agent, envSteps: 100).encoded(), updates: 1)
        let second = try store.write(Self.checkpoint(agent, envSteps: 200).encoded(), updates: 2)
        let third = try store.write(Self.checkpoint(agent, envSteps: 300).encoded(), updates: 3)
        #expect(store.files() == [third, second], "only the newest two are kept")
        var bytes = Array(try Data(contentsOf: third))
        bytes[bytes.count / 2] ^= 0x40
        try Data(bytes).write(to: third)
        let found = try #require(store.latestValid())
        #expect(found.file == second && found.checkpoint.header.envSteps == 200)
        #expect(found.skipped.count == 1 && found.skipped[0].file == third)
        if case .checksumMismatch = found.skipped[0].error {} else { Issue.record("expected a checksum error, got \(found.skipped[0].error)") }
    }

    @Test("every kind of bad checkpoint gives its own error")
    func corruptions() throws {
        let (agent, _) = Self.trainedAgent()
        let good = Self.checkpoint(agent).encoded()
        func error(_ bytes: [UInt8]) -> CheckpointError? {
            do throws(CheckpointError) {
                _ = try LearnerCheckpoint(bytes: bytes).makeAgent()
                return nil
            } catch {
                return error
            }
        }
        #expect(error(Array(good.prefix(10))) == .truncated("10 bytes, shorter than any checkpoint"))
        if case .truncated(let detail) = error(Array(good.prefix(good.count - 100))) {
            #expect(detail.contains("of the \(good.count)"))
        } else { Issue.record("a cut file must read as truncated") }
        #expect(error(Array("NOTACKPT".utf8) + good.dropFirst(8)) == .notACheckpoint)
        var version = good
        version[8] = 2
        #expect(error(version) == .unsupportedVersion(2))
        var flipped = good
        flipped[good.count - 20] ^= 1
        if case .checksumMismatch = error(flipped) {} else { Issue.record("a flipped bit must fail the checksum") }
        #expect(error(good + [0, 0, 0]) == .corrupt("\(good.count + 3) bytes, but the file says it has \(good.count)"))

        // A valid container whose header is not a checkpoint header, or lacks a network.
        let notJSON = CheckpointFile.encode(header: Data("{".utf8), sections: [])
        if case .badHeader = error(notJSON) {} else { Issue.record("bad JSON must fail as a bad header") }
        var sections = Self.checkpoint(agent).sections
        sections["target_critic"] = nil
        let missing = LearnerCheckpoint(header: Self.checkpoint(agent).header, sections: sections).encoded()
        #expect(error(missing) == .missingSection("target_critic"))

        // A valid CRC around counters no run reaches: refused before any sum can overflow.
        for (field, value) in [("env_steps", Int.max - 3), ("updates", -1), ("episodes", 1 << 60)] {
            var checkpoint = Self.checkpoint(agent)
            switch field {
            case "env_steps": checkpoint.header.envSteps = value
            case "updates": checkpoint.header.updates = value
            default: checkpoint.header.episodes = value
            }
            #expect(error(checkpoint.encoded()) == .badHeader("\(field) \(value) is outside 0...2^53"))
        }
        var late = Self.checkpoint(agent)
        late.header.weightsVersion = .max
        if case .badHeader(let detail) = error(late.encoded()) { #expect(detail.contains("weights_version")) } else { Issue.record("version") }
        late = Self.checkpoint(agent)
        late.header.wallSeconds = .nan
        if case .badHeader(let detail) = error(late.encoded()) { #expect(detail.contains("wall_seconds")) } else { Issue.record("NaN seconds") }
    }

    @Test("weights versions reserved ahead survive a crash, and a missing or bad reservation reads as none")
    func versionReservation() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = CheckpointStore(directory: directory)
        #expect(store.reservedWeightsVersion() == 0)
        try store.reserveWeightsVersions(through: 2_047)
        #expect(CheckpointStore(directory: directory).reservedWeightsVersion() == 2_047)
        try Data("not a number".utf8).write(to: directory.appendingPathComponent("weights-versions"))
        #expect(store.reservedWeightsVersion() == 0)
        try Data("\(UInt64.max)".utf8).write(to: directory.appendingPathComponent("weights-versions"))
        #expect(store.reservedWeightsVersion() == 0, "beyond 2^53 is corruption")
        #expect(store.files().isEmpty, "the reservation is not a checkpoint")
    }

    @Test("a checkpoint of other layer sizes or a wrong-sized section is refused, naming what differs")
    func incompatible() throws {
        let (small, _) = Self.trainedAgent(hidden: [16, 16])
        let (large, _) = Self.trainedAgent(hidden: [32, 32])
        let checkpoint = Self.checkpoint(small)
        #expect(throws: CheckpointError.incompatible("actor layers [3, 16, 16, 1], this run has [3, 32, 32, 1] (--actor-hidden)")) {
            try checkpoint.checkCompatible(with: large, spec: Pendulum().spec)
        }
        // The header records the spec: another environment, or the same id with other bounds, is named in full.
        #expect(checkpoint.header.spec == Pendulum().spec)
        #expect(throws: CheckpointError.incompatible("it was trained on Pendulum-v1 (observation 3, action 1 in [-2.0, 2.0], 200 steps); this run is MountainCarContinuous-v0 (observation 2, action 1 in [-1.0, 1.0], 999 steps)")) {
            try checkpoint.checkCompatible(with: small, spec: MountainCarContinuous().spec)
        }
        var widened = Pendulum().spec
        widened.actionLow = [-3]
        widened.actionHigh = [3]
        #expect(throws: CheckpointError.self) { try checkpoint.checkCompatible(with: small, spec: widened) }
        // Checkpoints from before the spec was recorded are still matched by their environment id.
        var legacyHeader = checkpoint.header
        legacyHeader.spec = nil
        let legacy = LearnerCheckpoint(header: legacyHeader, sections: checkpoint.sections)
        try legacy.checkCompatible(with: small, spec: Pendulum().spec)
        #expect(throws: CheckpointError.incompatible("environment Pendulum-v1, this run is MountainCarContinuous-v0")) {
            try legacy.checkCompatible(with: small, spec: MountainCarContinuous().spec)
        }
        // A spec that cannot describe an environment is a corrupt header.
        var forged = checkpoint.header
        forged.spec?.actionHigh = [-5]
        #expect(throws: CheckpointError.self) { _ = try LearnerCheckpoint(header: forged, sections: checkpoint.sections).makeAgent() }
        var sections = checkpoint.sections
        sections["critic_adam_v"] = Array(sections["critic_adam_v"]!.dropLast(4))
        let short = LearnerCheckpoint(header: checkpoint.header, sections: sections)
        #expect(throws: CheckpointError.self) { try short.checkCompatible(with: small, spec: Pendulum().spec) }
        // Networks that went non-finite before the file was written: refused, so --resume falls back to an older one.
        sections = checkpoint.sections
        withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { sections["target_critic"]!.replaceSubrange(8..<12, with: $0) }
        #expect(throws: CheckpointError.corrupt("section target_critic holds NaN or infinity")) {
            try LearnerCheckpoint(header: checkpoint.header, sections: sections).checkCompatible(with: small, spec: Pendulum().spec)
        }
        // An agent rebuilt from the checkpoint alone acts exactly as the one that wrote it.
        let rebuilt = try checkpoint.makeAgent()
        #expect(Self.bits(rebuilt.actor.network.parameters) == Self.bits(small.actor.network.parameters))
    }
}
