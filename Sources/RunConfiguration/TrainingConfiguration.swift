import Agents
import Foundation
import Policy
import Replay
import Settings
import Specs

/// Everything that defines a single-process training run; written into `summary.json`.
public struct TrainingConfiguration: DefaultedConfiguration, Sendable, Equatable {
    /// The environment's id; a learner started without one records the one its first worker announced.
    public var environment = "Pendulum-v1"
    public var seed: UInt64 = 1
    public var maxEnvSteps = 20_000
    public var replayCapacity = 1_000_000
    /// Steps acted with uniformly random actions before the policy takes over.
    public var randomSteps = 1_000
    /// Environment steps collected before the first update.
    public var learningStarts = 1_000
    /// Gradient updates per environment step once learning has started.
    public var updatesPerStep = 1
    /// Environment steps between deterministic evaluations.
    public var evalEvery = 1_000
    public var evalEpisodes = 10
    public var finalEvalEpisodes = 50
    /// Seed of the evaluation episodes; fixed so every evaluation faces the same starts.
    public var evalSeed: UInt64 = 1_000_003
    /// The mean evaluation return that counts as solving the task (nil: the environment declares none).
    public var solvedReturn: Double? = -200.0
    /// Stop at the first evaluation whose mean return reaches this (nil: run all `maxEnvSteps`).
    public var untilReturn: Double?
    public var blasThreads = 1
    /// Environment copies a trainer steps together: one for off-policy training; for on-policy training,
    /// each update learns from all their segments (SB3's `n_envs`; `ddpg train` gives A2C 8, as
    /// rl-baselines3-zoo's CartPole-v1 settings do).
    public var environments = 1
    public var agent = AgentConfiguration()
    /// Prioritized replay's settings; nil samples uniformly.
    public var prioritizedReplay: PrioritizationConfiguration?
    public var noise = NoiseConfiguration()
    /// False for a learner, whose workers act: then `randomSteps`, `updatesPerStep` and `noise`
    /// are not its settings, and its records leave them out. Not itself recorded.
    public var actsInProcess = true

    public init() {}

    enum CodingKeys: String, CodingKey {
        case environment, seed, maxEnvSteps, replayCapacity, randomSteps, learningStarts, updatesPerStep, evalEvery, evalEpisodes
        case finalEvalEpisodes, evalSeed, solvedReturn, untilReturn, blasThreads, environments, agent, prioritizedReplay, noise
    }

    /// Whether the agent learns on-policy (A2C, A3C): no replay, no random warm-up, no exploration noise.
    public var isOnPolicy: Bool { Algorithms.named(agent.algorithm)?.isOnPolicy ?? false }

    /// A record without the acting settings (an off-policy trainer's noise, an on-policy one's environments) was a learner's.
    public mutating func didDecode(from record: Decoder, presentKeys: Set<String>) {
        actsInProcess = presentKeys.contains(CodingKeys.noise.stringValue) || presentKeys.contains(CodingKeys.environments.stringValue)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(environment, forKey: .environment)
        try container.encode(seed, forKey: .seed)
        try container.encode(maxEnvSteps, forKey: .maxEnvSteps)
        try container.encode(evalEvery, forKey: .evalEvery)
        try container.encode(evalEpisodes, forKey: .evalEpisodes)
        try container.encode(finalEvalEpisodes, forKey: .finalEvalEpisodes)
        try container.encode(evalSeed, forKey: .evalSeed)
        try container.encode(solvedReturn, forKey: .solvedReturn)
        try container.encodeIfPresent(untilReturn, forKey: .untilReturn)
        try container.encode(blasThreads, forKey: .blasThreads)
        try container.encode(agent, forKey: .agent)
        try container.encodeIfPresent(prioritizedReplay, forKey: .prioritizedReplay)
        if actsInProcess { try container.encode(environments, forKey: .environments) }
        if isOnPolicy { return }
        try container.encode(replayCapacity, forKey: .replayCapacity)
        try container.encode(learningStarts, forKey: .learningStarts)
        if actsInProcess {
            try container.encode(randomSteps, forKey: .randomSteps)
            try container.encode(updatesPerStep, forKey: .updatesPerStep)
            try container.encode(noise, forKey: .noise)
        }
    }

    /// Checks every field. `trains` false (a learner that only ingests) allows a run that ends before its first update.
    /// With `spec`, also that the replay fits in memory (a learner that learns its spec from a hello checks then).
    /// Whether `environment` names an environment is the caller's to check: only it knows which it can run.
    public func validate(trains: Bool = true, spec: EnvironmentSpec? = nil) throws(ConfigurationError) {
        let check = ConfigurationError.check
        try check(maxEnvSteps > 0, "maxEnvSteps", "must be positive, got \(maxEnvSteps)")
        try check(replayCapacity > 0, "replayCapacity", "must be positive, got \(replayCapacity)")
        if let spec, !isOnPolicy { try checkReplayFits(spec) }
        try check(randomSteps >= 0, "randomSteps", "must be non-negative, got \(randomSteps)")
        try check(learningStarts >= 1, "learningStarts", "must be at least 1, got \(learningStarts)")
        if trains, !isOnPolicy {
            try check(learningStarts <= maxEnvSteps, "learningStarts",
                      "\(learningStarts) exceeds --max-env-steps \(maxEnvSteps): the run would end before its first update")
        }
        try check(updatesPerStep >= 0, "updatesPerStep", "must be non-negative, got \(updatesPerStep)")
        try check(evalEvery > 0, "evalEvery", "must be positive, got \(evalEvery)")
        try check(solvedReturn?.isFinite ?? true, "solvedReturn", "must be a finite number, got \(solvedReturn ?? 0)")
        try check(evalEpisodes > 0, "evalEpisodes", "must be positive, got \(evalEpisodes)")
        try check(finalEvalEpisodes > 0, "finalEvalEpisodes", "must be positive, got \(finalEvalEpisodes)")
        if let untilReturn { try check(untilReturn.isFinite, "untilReturn", "must be finite, got \(untilReturn)") }
        try check(blasThreads > 0, "blasThreads", "must be positive, got \(blasThreads)")
        try check((1...1_024).contains(environments), "environments", "must be in 1...1024, got \(environments)")
        try check(isOnPolicy || environments == 1, "environments", "off-policy training steps one environment, got \(environments)")
        if let spec, let refusal = Algorithms.named(agent.algorithm)?.refusal(of: spec) {
            throw ConfigurationError(field: "algorithm", message: refusal)
        }
        if isOnPolicy {
            try check(prioritizedReplay == nil, "prioritizedReplay", "\(agent.algorithm) learns on-policy, from no replay")
        }
        try agent.validate()
        try prioritizedReplay?.validate()
        try noise.validate()
    }

    /// Replay storage is reserved up front: a capacity beyond this machine's memory fails here, by name, not in the allocator.
    public func checkReplayFits(_ spec: EnvironmentSpec) throws(ConfigurationError) {
        let perTransition = ReplayBuffer.bytesPerTransition(observationSize: spec.observationSize, actionSize: spec.actionSize)
        let (bytes, overflow) = replayCapacity.multipliedReportingOverflow(by: perTransition)
        let physical = Int(ProcessInfo.processInfo.physicalMemory)
        guard overflow || bytes > physical else { return }
        let needed = overflow ? "more than \(Int.max) bytes" : formatBytes(Double(bytes))
        throw ConfigurationError(field: "replayCapacity", message: """
            \(replayCapacity) transitions of \(spec.id) need \(needed) (\(perTransition) bytes each); \
            this machine has \(formatBytes(Double(physical))) of memory
            """)
    }
}

/// Bytes in binary units: 37.0 MiB, 3.2 PiB.
public func formatBytes(_ bytes: Double) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    var value = bytes, unit = 0
    while value >= 1_024, unit < units.count - 1 {
        value /= 1_024
        unit += 1
    }
    return unit == 0 ? "\(Int(value)) bytes" : "\(String(format: "%.1f", value)) \(units[unit])"
}
