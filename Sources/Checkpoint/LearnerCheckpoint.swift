import Agents
import Foundation
import NeuralNetwork
import Randomness
import Replay
import RunConfiguration
import RunRecords
import Specs

/// What a checkpoint's JSON header says: shapes (to refuse an incompatible
/// checkpoint before touching a weight), counters, RNG state and the configuration.
public struct CheckpointHeader: Codable, Sendable, Equatable {
    public var format = "ddpg-checkpoint"
    public var createdAt: String
    public var environment: String
    public var observationSize: Int
    public var actionSize: Int
    public var actionBound: Float
    public var actorLayerSizes: [Int]
    public var criticLayerSizes: [Int]
    public var criticActionLayer: Int
    public var envSteps: Int
    public var updates: Int
    public var weightsVersion: UInt64
    public var episodes: Int
    /// The agent's counters ("updates" and each optimizer's step). Absent in checkpoints written
    /// before the Agent seam, which have `actorAdamStep` and `criticAdamStep` instead.
    public var counters: [String: Int]?
    public var actorAdamStep: Int?
    public var criticAdamStep: Int?
    /// Seconds trained over all runs of this checkpoint's lineage.
    public var wallSeconds: Double
    /// The replay sampler's xoshiro256** state, four words in hexadecimal (exact in any JSON reader).
    public var replayGeneratorState: [String]
    public var evaluations: [EvaluationResult]
    public var solvedAt: SolvedAt?
    public var configuration: TrainingConfiguration
    /// Present when the replay contents were saved (`--checkpoint-replay`).
    public var replay: ReplayPosition?
    /// The environment the networks were trained on, bounds and all (absent in checkpoints written before it was recorded).
    public var spec: EnvironmentSpec?

    public struct ReplayPosition: Codable, Sendable, Equatable {
        public var count: Int
        public var nextSlot: Int
        public var totalAdded: Int
    }
}

extension CheckpointHeader {
    /// Counters beyond 2^53 (exact as JSON numbers, and far beyond any run) are corruption or forgery;
    /// checking them here keeps every later sum and product from overflowing.
    public static let maxCounter = 1 << 53

    func checkRanges() throws(CheckpointError) {
        let counters = [("env_steps", envSteps), ("updates", updates), ("episodes", episodes)] + agentCounters.sorted { $0.key < $1.key }
        for (name, value) in counters where !(0...Self.maxCounter).contains(value) {
            throw .badHeader("\(name) \(value) is outside 0...2^53")
        }
        guard weightsVersion <= UInt64(Self.maxCounter) else { throw .badHeader("weights_version \(weightsVersion) is outside 0...2^53") }
        guard wallSeconds.isFinite, wallSeconds >= 0 else { throw .badHeader("wall_seconds \(wallSeconds) is not a duration") }
        guard evaluations.allSatisfy({ (0...Self.maxCounter).contains($0.envSteps) }) else {
            throw .badHeader("an evaluation's env_steps is outside 0...2^53")
        }
        if let replay, !(0...Self.maxCounter).contains(replay.count) || !(0...Self.maxCounter).contains(replay.nextSlot)
            || !(0...Self.maxCounter).contains(replay.totalAdded) {
            throw .badHeader("replay position \(replay) is out of range")
        }
    }
}

extension CheckpointHeader {
    /// The agent's counters, read from the fields of an older checkpoint when it has no `counters`.
    public var agentCounters: [String: Int] {
        if let counters { return counters }
        var legacy = ["updates": updates]
        legacy["actor_adam_step"] = actorAdamStep
        legacy["critic_adam_step"] = criticAdamStep
        return legacy
    }
}

/// The learner's counters that a checkpoint carries besides the networks.
public struct LearnerProgress: Sendable, Equatable {
    public var envSteps: Int
    public var weightsVersion: UInt64
    public var episodes: Int
    public var wallSeconds: Double
    public var evaluations: [EvaluationResult]
    public var solvedAt: SolvedAt?
    /// When the checkpoint was taken, by the run's clock: the header's `created_at`.
    public var takenAt: Date

    public init(envSteps: Int, weightsVersion: UInt64, episodes: Int, wallSeconds: Double, evaluations: [EvaluationResult], solvedAt: SolvedAt?,
                takenAt: Date = Date()) {
        self.takenAt = takenAt
        self.envSteps = envSteps
        self.weightsVersion = weightsVersion
        self.episodes = episodes
        self.wallSeconds = wallSeconds
        self.evaluations = evaluations
        self.solvedAt = solvedAt
    }
}

/// A checkpoint in memory: taken from the learner in a few memcpys (the slow part,
/// encoding and writing, can then run on another thread), or read from a file.
public struct LearnerCheckpoint: Sendable {
    public var header: CheckpointHeader
    /// Section name → raw little-endian bytes.
    public var sections: [String: [UInt8]]

    /// Copies everything needed to continue training exactly where it stands: one section per agent tensor.
    public static func capture(agent: any LearningAgent, replay: ReplayBuffer?, replayGenerator: Xoshiro256, progress: LearnerProgress,
                               configuration: TrainingConfiguration, spec: EnvironmentSpec) -> LearnerCheckpoint {
        var sections: [String: [UInt8]] = [:]
        for tensor in agent.tensors {
            sections[tensor.name] = Array(UnsafeRawBufferPointer(start: tensor.values.values, count: tensor.values.count * MemoryLayout<Float>.size))
        }
        var position: CheckpointHeader.ReplayPosition?
        if let replay {
            replay.forEachColumn { name, raw in sections[name] = Array(raw) }
            let ring = replay.ringPosition
            position = .init(count: ring.count, nextSlot: ring.nextSlot, totalAdded: ring.totalAdded)
        }
        let state = replayGenerator.state
        let c = agent.configuration
        let header = CheckpointHeader(
            createdAt: ISO8601DateFormatter().string(from: progress.takenAt), environment: spec.id,
            observationSize: agent.observationSize, actionSize: agent.actionSize, actionBound: agent.actionBound,
            actorLayerSizes: agent.actor.layerSizes,
            criticLayerSizes: [agent.observationSize] + c.criticHiddenSizes + [1],
            criticActionLayer: c.criticActionLayer, envSteps: progress.envSteps, updates: agent.updateCount,
            weightsVersion: progress.weightsVersion, episodes: progress.episodes, counters: agent.counters,
            wallSeconds: progress.wallSeconds,
            replayGeneratorState: [state.0, state.1, state.2, state.3].map { String($0, radix: 16) },
            evaluations: progress.evaluations, solvedAt: progress.solvedAt, configuration: configuration, replay: position, spec: spec)
        return LearnerCheckpoint(header: header, sections: sections)
    }

    // MARK: Files

    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let header = (try? encoder.encode(header)) ?? Data()
        return CheckpointFile.encode(header: header, sections: sections.keys.sorted().map { ($0, sections[$0]!) })
    }

    public init(header: CheckpointHeader, sections: [String: [UInt8]]) {
        self.header = header
        self.sections = sections
    }

    /// Parses and checks a checkpoint file's bytes.
    public init(bytes: [UInt8]) throws(CheckpointError) {
        let (headerData, raw) = try CheckpointFile.decode(bytes)
        // Settings a checkpoint from an older version lacks take their defaults.
        let decoder = RecordFormat.decoder()
        do {
            header = try decoder.decode(CheckpointHeader.self, from: headerData)
        } catch {
            throw .badHeader("\(error)")
        }
        guard header.format == "ddpg-checkpoint" else { throw .badHeader("format is '\(header.format)'") }
        try header.checkRanges()
        sections = raw.mapValues { Array($0) }
    }

    // MARK: Restoring

    /// A fresh agent of this checkpoint's algorithm, shapes and configuration with its state restored (for eval, export, render).
    public func makeAgent() throws(CheckpointError) -> any LearningAgent {
        do {
            try header.configuration.agent.validate()
        } catch {
            throw .badHeader("configuration: \(error)")
        }
        guard header.observationSize > 0, header.actionSize > 0, header.actionBound > 0 else {
            throw .badHeader("observation size \(header.observationSize), action size \(header.actionSize), bound \(header.actionBound)")
        }
        var generator = Xoshiro256(seed: 0)
        let agent: any LearningAgent
        if let algorithm = Algorithms.named(header.configuration.agent.algorithm) as? any OnPolicyAlgorithm.Type {
            // An on-policy run's learner always knew its spec: its heads are shaped by the action space.
            guard let spec = header.spec, spec.problem == nil, spec.id == header.environment else {
                throw .badHeader("an on-policy (\(algorithm.id)) checkpoint without a valid environment spec")
            }
            agent = algorithm.makeAgent(spec: spec, configuration: header.configuration.agent, using: &generator)
        } else if let spec = header.spec {
            if let problem = spec.problem { throw .badHeader("environment spec: \(problem)") }
            guard spec.id == header.environment, spec.observationSize == header.observationSize, spec.actionSize == header.actionSize else {
                throw .badHeader("the spec \(spec) disagrees with environment \(header.environment), sizes \(header.observationSize)/\(header.actionSize)")
            }
            agent = Agents.makeAgent(spec: spec, configuration: header.configuration.agent, using: &generator)
        } else {
            let bound = header.actionBound
            agent = Agents.makeAgent(observationSize: header.observationSize, actionLow: Array(repeating: -bound, count: header.actionSize),
                                   actionHigh: Array(repeating: bound, count: header.actionSize),
                                   configuration: header.configuration.agent, using: &generator)
        }
        try checkShapes(of: agent)
        restore(into: agent)
        return agent
    }

    /// Checks that this checkpoint was trained on `spec` and fits `agent` (and `replay`, if its contents are to be restored).
    public func checkCompatible(with agent: any LearningAgent, spec: EnvironmentSpec) throws(CheckpointError) {
        if let saved = header.spec {
            if !saved.isSameEnvironment(as: spec) { throw .incompatible("it was trained on \(saved); this run is \(spec)") }
        } else if header.environment != spec.id {
            throw .incompatible("environment \(header.environment), this run is \(spec.id)")
        }
        try checkShapes(of: agent)
    }

    /// Checks that the checkpoint holds every tensor and counter of `agent`, each of its size, all finite.
    func checkShapes(of agent: any LearningAgent) throws(CheckpointError) {
        let saved = header.configuration.agent.algorithm, running = agent.configuration.algorithm
        if saved != running {
            throw .incompatible("it was trained with \(saved), this run uses \(running) (--algorithm)")
        }
        let savedAgent = header.configuration.agent
        if savedAgent.actorNormalization != agent.configuration.actorNormalization
            || savedAgent.criticNormalization != agent.configuration.criticNormalization {
            throw .incompatible("""
                it was trained with \(savedAgent.actorNormalization.rawValue)/\(savedAgent.criticNormalization.rawValue) normalization, \
                this run has \(agent.configuration.actorNormalization.rawValue)/\(agent.configuration.criticNormalization.rawValue) (--actor-norm, --critic-norm)
                """)
        }
        if savedAgent.normalizeObservations != agent.configuration.normalizeObservations {
            let (was, now) = (savedAgent.normalizeObservations ? "with" : "without", agent.configuration.normalizeObservations ? "does" : "does not")
            throw .incompatible("it was trained \(was) observation normalization, and this run \(now) normalize them (--normalize-observations)")
        }
        if header.observationSize != agent.observationSize || header.actionSize != agent.actionSize {
            throw .incompatible("observation/action sizes \(header.observationSize)/\(header.actionSize), this run has \(agent.observationSize)/\(agent.actionSize)")
        }
        let c = agent.configuration
        let actorSizes = agent.actor.layerSizes
        let criticSizes = [agent.observationSize] + c.criticHiddenSizes + [1]
        if header.actorLayerSizes != actorSizes {
            throw .incompatible("actor layers \(header.actorLayerSizes), this run has \(actorSizes) (--actor-hidden)")
        }
        if header.criticLayerSizes != criticSizes || header.criticActionLayer != c.criticActionLayer {
            throw .incompatible("critic layers \(header.criticLayerSizes) with the action at layer \(header.criticActionLayer), this run has \(criticSizes) at \(c.criticActionLayer) (--critic-hidden, --critic-action-layer)")
        }
        for tensor in agent.tensors {
            guard let section = sections[tensor.name] else { throw .missingSection(tensor.name) }
            let expected = tensor.values.count * MemoryLayout<Float>.size
            if section.count != expected { throw .sectionSize(name: tensor.name, expected: expected, got: section.count) }
            // A run that went non-finite before this file was written must not come back to life from it.
            let finite = section.withUnsafeBytes { raw in
                (0..<(raw.count / 4)).allSatisfy { raw.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self).isFinite }
            }
            if !finite { throw .corrupt("section \(tensor.name) holds NaN or infinity") }
        }
        let counters = header.agentCounters
        for name in agent.counters.keys.sorted() where counters[name] == nil {
            throw .badHeader("the agent's counter \(name) is missing")
        }
        guard replayGenerator != nil else { throw .badHeader("replay_generator_state is not four non-zero hexadecimal words") }
    }

    public var replayGenerator: Xoshiro256? {
        let words = header.replayGeneratorState.compactMap { UInt64($0, radix: 16) }
        guard words.count == 4, words != [0, 0, 0, 0] else { return nil }
        return Xoshiro256(state: (words[0], words[1], words[2], words[3]))
    }

    /// Writes every tensor and counter into `agent`, bit for bit. Call ``checkCompatible(with:spec:)`` first.
    public func restore(into agent: any LearningAgent) {
        for tensor in agent.tensors {
            sections[tensor.name]!.withUnsafeBytes {
                UnsafeMutableRawPointer(tensor.values.values).copyMemory(from: $0.baseAddress!, byteCount: $0.count)
            }
        }
        let counters = header.agentCounters
        for name in agent.counters.keys { agent.restore(counter: name, to: counters[name]!) }
    }

    /// Refills `replay` when the checkpoint holds its contents. Returns whether it did.
    public func restoreReplay(into replay: ReplayBuffer) throws(CheckpointError) -> Bool {
        guard let position = header.replay else { return false }
        guard position.count <= replay.capacity else {
            throw .incompatible("replay of \(position.count) transitions does not fit --replay-capacity \(replay.capacity)")
        }
        let restored = replay.restore(count: position.count, nextSlot: position.count == replay.capacity ? position.nextSlot % replay.capacity : position.count % replay.capacity,
                                      totalAdded: position.totalAdded) { sections[$0] }
        guard restored else { throw .badHeader("replay sections do not match replay position \(position)") }
        return true
    }
}
