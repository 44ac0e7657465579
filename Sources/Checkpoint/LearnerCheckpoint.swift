import DDPG
import Foundation
import NeuralNetwork
import Randomness
import Replay
import Specs
import RunRecords

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
    public var actorAdamStep: Int
    public var criticAdamStep: Int
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
        let counters: [(String, Int)] = [("env_steps", envSteps), ("updates", updates), ("episodes", episodes),
                                         ("actor_adam_step", actorAdamStep), ("critic_adam_step", criticAdamStep)]
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

/// The learner's counters that a checkpoint carries besides the networks.
public struct LearnerProgress: Sendable, Equatable {
    public var envSteps: Int
    public var weightsVersion: UInt64
    public var episodes: Int
    public var wallSeconds: Double
    public var evaluations: [EvaluationResult]
    public var solvedAt: SolvedAt?

    public init(envSteps: Int, weightsVersion: UInt64, episodes: Int, wallSeconds: Double, evaluations: [EvaluationResult], solvedAt: SolvedAt?) {
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

    static let networkSections = ["actor", "critic", "target_actor", "target_critic", "actor_adam_m", "actor_adam_v", "critic_adam_m", "critic_adam_v"]

    /// Copies everything needed to continue training exactly where it stands.
    public static func capture(agent: DDPGAgent, replay: ReplayBuffer?, replayGenerator: Xoshiro256, progress: LearnerProgress,
                               configuration: TrainingConfiguration, spec: EnvironmentSpec) -> LearnerCheckpoint {
        func bytes(_ vector: ParameterVector) -> [UInt8] {
            Array(UnsafeRawBufferPointer(start: vector.values, count: vector.count * MemoryLayout<Float>.size))
        }
        var sections: [String: [UInt8]] = [
            "actor": bytes(agent.actor.network.parameters), "critic": bytes(agent.critic.parameters),
            "target_actor": bytes(agent.targetActor.parameters), "target_critic": bytes(agent.targetCritic.parameters),
            "actor_adam_m": bytes(agent.actorOptimizer.firstMoment), "actor_adam_v": bytes(agent.actorOptimizer.secondMoment),
            "critic_adam_m": bytes(agent.criticOptimizer.firstMoment), "critic_adam_v": bytes(agent.criticOptimizer.secondMoment),
        ]
        var position: CheckpointHeader.ReplayPosition?
        if let replay {
            replay.forEachColumn { name, raw in sections[name] = Array(raw) }
            let ring = replay.ringPosition
            position = .init(count: ring.count, nextSlot: ring.nextSlot, totalAdded: ring.totalAdded)
        }
        let state = replayGenerator.state
        let header = CheckpointHeader(
            createdAt: ISO8601DateFormatter().string(from: Date()), environment: spec.id,
            observationSize: agent.observationSize, actionSize: agent.actionSize, actionBound: agent.actionBound,
            actorLayerSizes: layerSizes(agent.actor.network), criticLayerSizes: layerSizes(agent.critic),
            criticActionLayer: agent.configuration.criticActionLayer, envSteps: progress.envSteps, updates: agent.updateCount,
            weightsVersion: progress.weightsVersion, episodes: progress.episodes, actorAdamStep: agent.actorOptimizer.step,
            criticAdamStep: agent.criticOptimizer.step, wallSeconds: progress.wallSeconds,
            replayGeneratorState: [state.0, state.1, state.2, state.3].map { String($0, radix: 16) },
            evaluations: progress.evaluations, solvedAt: progress.solvedAt, configuration: configuration, replay: position, spec: spec)
        return LearnerCheckpoint(header: header, sections: sections)
    }

    /// Main inputs of each layer plus the output: [3, 64, 64, 1] for the default actor.
    static func layerSizes(_ network: MLP) -> [Int] {
        network.layers.map(\.mainInputSize) + [network.layers.last?.outputSize ?? 0]
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
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do {
            header = try decoder.decode(CheckpointHeader.self, from: headerData)
        } catch {
            throw .badHeader("\(error)")
        }
        guard header.format == "ddpg-checkpoint" else { throw .badHeader("format is '\(header.format)'") }
        try header.checkRanges()
        sections = raw.mapValues { Array($0) }
        for name in Self.networkSections where sections[name] == nil { throw .missingSection(name) }
    }

    // MARK: Restoring

    /// A fresh agent of this checkpoint's shapes and configuration with its networks restored (for eval, export, render).
    public func makeAgent() throws(CheckpointError) -> DDPGAgent {
        do {
            try header.configuration.agent.validate()
        } catch {
            throw .badHeader("configuration: \(error)")
        }
        guard header.observationSize > 0, header.actionSize > 0, header.actionBound > 0 else {
            throw .badHeader("observation size \(header.observationSize), action size \(header.actionSize), bound \(header.actionBound)")
        }
        var generator = Xoshiro256(seed: 0)
        let agent: DDPGAgent
        if let spec = header.spec {
            if let problem = spec.problem { throw .badHeader("environment spec: \(problem)") }
            guard spec.id == header.environment, spec.observationSize == header.observationSize, spec.actionSize == header.actionSize else {
                throw .badHeader("the spec \(spec) disagrees with environment \(header.environment), sizes \(header.observationSize)/\(header.actionSize)")
            }
            agent = DDPGAgent(spec: spec, configuration: header.configuration.agent, using: &generator)
        } else {
            agent = DDPGAgent(observationSize: header.observationSize, actionSize: header.actionSize, actionBound: header.actionBound,
                              configuration: header.configuration.agent, using: &generator)
        }
        try checkShapes(of: agent)
        restore(into: agent)
        return agent
    }

    /// Checks that this checkpoint was trained on `spec` and fits `agent` (and `replay`, if its contents are to be restored).
    public func checkCompatible(with agent: DDPGAgent, spec: EnvironmentSpec) throws(CheckpointError) {
        if let saved = header.spec {
            if !saved.isSameEnvironment(as: spec) { throw .incompatible("it was trained on \(saved); this run is \(spec)") }
        } else if header.environment != spec.id {
            throw .incompatible("environment \(header.environment), this run is \(spec.id)")
        }
        try checkShapes(of: agent)
    }

    /// Checks that the networks and optimizer states fit `agent`.
    func checkShapes(of agent: DDPGAgent) throws(CheckpointError) {
        if header.observationSize != agent.observationSize || header.actionSize != agent.actionSize {
            throw .incompatible("observation/action sizes \(header.observationSize)/\(header.actionSize), this run has \(agent.observationSize)/\(agent.actionSize)")
        }
        if header.actorLayerSizes != Self.layerSizes(agent.actor.network) {
            throw .incompatible("actor layers \(header.actorLayerSizes), this run has \(Self.layerSizes(agent.actor.network)) (--actor-hidden)")
        }
        if header.criticLayerSizes != Self.layerSizes(agent.critic) || header.criticActionLayer != agent.configuration.criticActionLayer {
            throw .incompatible("critic layers \(header.criticLayerSizes) with the action at layer \(header.criticActionLayer), this run has \(Self.layerSizes(agent.critic)) at \(agent.configuration.criticActionLayer) (--critic-hidden, --critic-action-layer)")
        }
        let expected: [(String, ParameterVector)] = [
            ("actor", agent.actor.network.parameters), ("critic", agent.critic.parameters), ("target_actor", agent.targetActor.parameters),
            ("target_critic", agent.targetCritic.parameters), ("actor_adam_m", agent.actorOptimizer.firstMoment),
            ("actor_adam_v", agent.actorOptimizer.secondMoment), ("critic_adam_m", agent.criticOptimizer.firstMoment),
            ("critic_adam_v", agent.criticOptimizer.secondMoment),
        ]
        for (name, vector) in expected {
            let size = sections[name]?.count ?? 0
            if size != vector.count * MemoryLayout<Float>.size {
                throw .sectionSize(name: name, expected: vector.count * MemoryLayout<Float>.size, got: size)
            }
        }
        guard replayGenerator != nil else { throw .badHeader("replay_generator_state is not four non-zero hexadecimal words") }
        // A run that went non-finite before this file was written must not come back to life from it.
        for name in Self.networkSections {
            let finite = sections[name]!.withUnsafeBytes { raw in
                (0..<(raw.count / 4)).allSatisfy { raw.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self).isFinite }
            }
            if !finite { throw .corrupt("section \(name) holds NaN or infinity") }
        }
    }

    public var replayGenerator: Xoshiro256? {
        let words = header.replayGeneratorState.compactMap { UInt64($0, radix: 16) }
        guard words.count == 4, words != [0, 0, 0, 0] else { return nil }
        return Xoshiro256(state: (words[0], words[1], words[2], words[3]))
    }

    /// Writes the networks, targets and Adam states into `agent`, bit for bit. Call ``checkCompatible(with:spec:)`` first.
    public func restore(into agent: DDPGAgent) {
        func load(_ name: String, _ vector: ParameterVector) {
            sections[name]!.withUnsafeBytes { UnsafeMutableRawPointer(vector.values).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        }
        load("actor", agent.actor.network.parameters)
        load("critic", agent.critic.parameters)
        load("target_actor", agent.targetActor.parameters)
        load("target_critic", agent.targetCritic.parameters)
        load("actor_adam_m", agent.actorOptimizer.firstMoment)
        load("actor_adam_v", agent.actorOptimizer.secondMoment)
        load("critic_adam_m", agent.criticOptimizer.firstMoment)
        load("critic_adam_v", agent.criticOptimizer.secondMoment)
        agent.actorOptimizer.restore(step: header.actorAdamStep)
        agent.criticOptimizer.restore(step: header.criticAdamStep)
        agent.restoreUpdateCount(header.updates)
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
