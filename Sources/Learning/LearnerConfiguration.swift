import RunConfiguration
import Settings
import Specs
import WireProtocol


/// Settings of `ddpg learner` beyond the shared training configuration.
public struct LearnerSettings: DefaultedConfiguration, Sendable, Equatable {
    /// Where workers PUSH transitions (the learner binds a PULL socket). Loopback unless told otherwise.
    public var transitionsEndpoint = "tcp://127.0.0.1:5555"
    /// Where the learner publishes actor weights, announcements and shutdown notices.
    public var weightsEndpoint = "tcp://127.0.0.1:5556"
    /// Sampled transitions per inserted one (batch size × updates per transition); 0 disables rate limiting.
    public var samplesPerInsert: Double = 128
    /// How many transitions inserts may run ahead of the target ratio before workers feel backpressure.
    public var rateTolerance = 32
    /// Publish actor weights every this many updates (if the bandwidth budget allows).
    public var broadcastEvery = 25
    /// Bytes per second that weight broadcasts may take, over all subscribers: a large actor or
    /// many workers publish less often than every `broadcastEvery` updates, never more than this.
    public var broadcastBytesPerSecond: Double = 100_000_000
    /// Stop once an evaluation reaches this mean return (nil: run to maxEnvSteps).
    public var untilReturn: Double?
    /// At the end of a run, how long to wait for an evaluator's final evaluation.
    public var finalEvaluationSeconds = 60.0
    /// At shutdown, how long to wait for workers to flush their last transitions: a hard deadline, whatever peers send.
    public var drainSeconds = 5.0
    /// Open connections allowed on each socket; more are refused at the handshake. With the largest
    /// legal message this bounds the memory that peers can make the learner hold.
    public var maxPeers = 64
    /// Accept and count transitions but never train (for measuring ingest).
    public var ingestOnly = false
    /// Announce a pace to workers: how many transitions to act with one weights version before waiting for the next.
    public var workerPace = true
    /// Checkpoint every this many seconds of wall time (nil: not by time).
    public var checkpointEverySeconds: Double? = 60
    /// Checkpoint every this many updates (nil: not by updates).
    public var checkpointEveryUpdates: Int?
    /// Checkpoint files kept; older ones are deleted.
    public var keepCheckpoints = 3
    /// Whether checkpoints include the replay contents.
    public var checkpointReplay = false
    /// A2C: how long a round waits, from its first segment, for the live workers that have not sent theirs.
    /// A worker that died then holds the others back this long per round, until it counts as gone (2 s silent).
    public var segmentWaitSeconds = 0.5
    /// What a worker's hello may decide when the learner does not know its environment.
    public var specLimits = SpecLimits()

    public init() {}

    public func validate() throws(ConfigurationError) {
        let check = ConfigurationError.check
        try check(samplesPerInsert >= 0 && samplesPerInsert.isFinite, "samplesPerInsert", "must be non-negative, got \(samplesPerInsert)")
        try check(rateTolerance >= 1, "rateTolerance", "must be at least 1, got \(rateTolerance)")
        try check(broadcastEvery >= 1, "broadcastEvery", "must be at least 1, got \(broadcastEvery)")
        try check(broadcastBytesPerSecond >= 1_000 && broadcastBytesPerSecond.isFinite, "broadcastBytesPerSecond",
                  "must be at least 0.001 MB/s, got \(broadcastBytesPerSecond / 1e6) MB/s")
        try check(drainSeconds >= 0 && drainSeconds <= 600, "drainSeconds", "must be in 0...600, got \(drainSeconds)")
        try check(finalEvaluationSeconds >= 0 && finalEvaluationSeconds <= 3_600, "finalEvaluationSeconds",
                  "must be in 0...3600, got \(finalEvaluationSeconds)")
        try check(maxPeers >= 1 && maxPeers <= 4_096, "maxPeers", "must be in 1...4096, got \(maxPeers)")
        try check(!transitionsEndpoint.isEmpty, "transitionsEndpoint", "must not be empty")
        // Named by the second endpoint: the flag that moved it onto the first is the one to change.
        try check(transitionsEndpoint != weightsEndpoint, "weightsEndpoint", "must differ from the transitions endpoint (\(transitionsEndpoint))")
        if let seconds = checkpointEverySeconds {
            try check(seconds > 0 && seconds.isFinite, "checkpointEverySeconds", "must be positive, got \(seconds)")
        }
        if let updates = checkpointEveryUpdates {
            try check(updates >= 1, "checkpointEveryUpdates", "must be at least 1, got \(updates)")
        }
        try check(segmentWaitSeconds > 0 && segmentWaitSeconds <= 60, "segmentWaitSeconds", "must be in (0, 60], got \(segmentWaitSeconds)")
        try check(keepCheckpoints >= 1, "keepCheckpoints", "must be at least 1, got \(keepCheckpoints)")
        if let target = untilReturn {
            try check(target.isFinite, "untilReturn", "must be finite, got \(target)")
        }
        if let problem = specLimits.problem { throw ConfigurationError(field: "specLimits", message: problem) }
    }
}

/// Everything that defines a learner run; `training.learningStarts` is the
/// minimum replay size before updates, `training.maxEnvSteps` the transitions to accept.
public struct LearnerConfiguration: DefaultedConfiguration, Sendable, Equatable {
    /// The learner's share of a training configuration: its workers act, so the acting settings are not its own.
    public var training: TrainingConfiguration = {
        var training = TrainingConfiguration()
        training.actsInProcess = false
        return training
    }()
    public var learner = LearnerSettings()

    public init() {}

    /// With `spec`, also that the replay fits in memory for it.
    public func validate(spec: EnvironmentSpec? = nil) throws(ConfigurationError) {
        try training.validate(trains: !learner.ingestOnly, spec: spec)
        try learner.validate()
        // Evaluators report at most this many episodes at once (docs/PROTOCOL.md).
        for (field, episodes) in [("evalEpisodes", training.evalEpisodes), ("finalEvalEpisodes", training.finalEvalEpisodes)] {
            try ConfigurationError.check(episodes <= EvaluationReport.maxEpisodes, field,
                                         "must be at most \(EvaluationReport.maxEpisodes) (what one evaluation report carries), got \(episodes)")
        }
    }
}

/// What the learner knows of its environment before any worker says hello.
public struct LearnerEnvironment: Sendable {
    /// The spec, when known up front (a native environment named by --env, or a checkpoint's); nil: the first hello's.
    public var spec: EnvironmentSpec?
    /// Without a spec, the environment id the first hello must announce (nil: any).
    public var id: String?
    /// The mean evaluation return that counts as solving an environment (`--solved-return`, or the
    /// native environment's); nil for an environment with none, whose runs report no solved_at.
    public var solvedReturn: @Sendable (String) -> Double?

    public init(spec: EnvironmentSpec?, id: String? = nil, solvedReturn: @escaping @Sendable (String) -> Double? = { _ in nil }) {
        self.spec = spec
        self.id = spec?.id ?? id
        self.solvedReturn = solvedReturn
    }
}
