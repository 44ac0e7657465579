import Foundation

/// A rate over the last 10 and 60 seconds, as Sample Factory reports its FPS.
public struct WindowedRate: Codable, Sendable, Equatable {
    public var last10s: Double
    public var last60s: Double

    public init(last10s: Double, last60s: Double) {
        self.last10s = last10s
        self.last60s = last60s
    }

    public static let zero = WindowedRate(last10s: 0, last60s: 0)
}

/// Min, mean and max of recent values; the mean is fractional even when the values are whole.
public struct MinMeanMax<Value: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
    public var min: Value
    public var mean: Double
    public var max: Value

    public init(min: Value, mean: Double, max: Value) {
        self.min = min
        self.mean = mean
        self.max = max
    }
}

/// Policy lag of recently accepted transitions: learner version minus acting version.
public typealias LagRange = MinMeanMax<Int64>

/// Min, mean and max of a duration, in seconds.
public typealias DurationRange = MinMeanMax<Double>

/// The latest evaluation of the greedy policy.
public struct EvaluationPoint: Codable, Sendable, Equatable {
    public var envSteps: Int
    public var wallSeconds: Double
    public var meanReturn: Double
    public var stdReturn: Double

    public init(envSteps: Int, wallSeconds: Double, meanReturn: Double, stdReturn: Double) {
        self.envSteps = envSteps
        self.wallSeconds = wallSeconds
        self.meanReturn = meanReturn
        self.stdReturn = stdReturn
    }
}

/// An on-policy learner's state: its latest update's losses, and the segments (a2c) or gradients (a3c) it learned from.
public struct OnPolicyStatus: Codable, Sendable, Equatable {
    /// What its workers send: "segments" (a2c, learned from in rounds) or "gradients" (a3c, applied on arrival).
    public var learnsFrom: String
    public var policyLoss: Double
    /// mean (R − V)², before `--vf-coef`.
    public var valueLoss: Double
    public var entropy: Double
    /// 1 − Var(R − V)/Var(R): 1 when the critic predicts the returns, ≤ 0 when it explains nothing.
    public var explainedVariance: Double
    /// Segments learned from (a3c: gradients applied), and dropped as late (acted with weights before the last update; a3c: none,
    /// its stale gradients are rejections).
    public var segmentsAccepted: Int
    public var segmentsLate: Int
    /// Rounds that updated at `--segment-wait` without every live worker's segment.
    public var roundsAtDeadline: Int

    public init(learnsFrom: String = "segments", policyLoss: Double, valueLoss: Double, entropy: Double, explainedVariance: Double,
                segmentsAccepted: Int, segmentsLate: Int, roundsAtDeadline: Int) {
        self.learnsFrom = learnsFrom
        self.policyLoss = policyLoss
        self.valueLoss = valueLoss
        self.entropy = entropy
        self.explainedVariance = explainedVariance
        self.segmentsAccepted = segmentsAccepted
        self.segmentsLate = segmentsLate
        self.roundsAtDeadline = roundsAtDeadline
    }
}

/// One worker as the learner sees it.
public struct WorkerStatusRow: Codable, Sendable, Equatable {
    public var workerId: UInt32
    /// The worker process's random session id (a restarted worker has a new one).
    public var session: UInt32
    public var environments: Int
    /// Heard from within the last 10 s and has not said goodbye.
    public var connected: Bool
    public var finished: Bool
    public var transitionsReceived: Int
    public var transitionsPerSecond: WindowedRate
    public var episodes: Int
    public var lastEpisodeReturn: Double?
    public var weightsVersion: UInt64
    public var sequenceGaps: Int
    /// "actor" (acts and sends transitions) or "evaluator".
    public var role: String

    public init(workerId: UInt32, session: UInt32 = 0, environments: Int, connected: Bool, finished: Bool, transitionsReceived: Int,
                transitionsPerSecond: WindowedRate, episodes: Int, lastEpisodeReturn: Double?, weightsVersion: UInt64, sequenceGaps: Int,
                role: String = "actor") {
        self.role = role
        self.workerId = workerId
        self.session = session
        self.environments = environments
        self.connected = connected
        self.finished = finished
        self.transitionsReceived = transitionsReceived
        self.transitionsPerSecond = transitionsPerSecond
        self.episodes = episodes
        self.lastEpisodeReturn = lastEpisodeReturn
        self.weightsVersion = weightsVersion
        self.sequenceGaps = sequenceGaps
    }
}

/// What a running learner reports about itself once a second: the body of
/// `GET /status`, the source of the console line and of `ddpg top`.
public struct LearnerStatus: Codable, Sendable, Equatable {
    /// `warming_up` (filling replay to the learning-starts size), `training`, or `draining`.
    public var phase: String
    public var learnerId: String
    public var uptimeSeconds: Double
    /// Seconds of training across resumes: the time axis of evaluations and of progress.csv.
    public var wallSeconds: Double
    public var envSteps: Int
    public var maxEnvSteps: Int
    public var updates: Int
    public var transitionsPerSecond: WindowedRate
    public var updatesPerSecond: WindowedRate
    /// Sampled transitions per inserted one so far, and the configured target.
    public var samplesPerInsert: Double
    public var targetSamplesPerInsert: Double
    public var replaySize: Int
    public var replayCapacity: Int
    public var weightsVersion: UInt64
    /// Over the transitions accepted in the last 10 s (nil if all were random or none arrived): in weights
    /// versions, in updates, and in seconds from the publication of the weights acted with to the data's arrival.
    public var policyLag: LagRange?
    public var policyLagUpdates: LagRange?
    public var policyLagSeconds: DurationRange?
    /// Mean of the last 10 episode returns the workers reported.
    public var recentEpisodeReturn: Double?
    public var latestEvaluation: EvaluationPoint?
    public var solvedAtEnvSteps: Int?
    public var transitionsRejected: Int
    /// Messages accepted (of every kind) and rejected: together, every message that reached the learner.
    public var messagesAccepted: Int
    public var messagesRejected: Int
    public var messagesRejectedByReason: [String: Int]
    /// Acting workers heard from in the last 10 s.
    public var workersConnected: Int
    /// Evaluators heard from in the last 10 s: with none, evaluations stop arriving (nil where evaluation is in-process).
    public var evaluatorsConnected: Int?
    public var workers: [WorkerStatusRow]
    /// Seconds to `maxEnvSteps` at the 60 s (or, early on, 10 s) ingest rate; nil when unknown.
    public var etaSeconds: Double?
    /// Times the networks went non-finite and were put back to their last finite state, and why the last time.
    public var rollbacks: Int
    public var lastRollback: String?
    public var checkpointFailures: Int
    /// Worker ids that two live processes use at once.
    public var duplicateWorkerIds: [UInt32]
    /// An on-policy learner's losses and segments (nil for ddpg, td3 and sac).
    public var onPolicy: OnPolicyStatus?
    /// The environment trained on (nil in a status from a learner that predates the field).
    public var environment: String?
    /// The mean evaluation return that counts as solved (nil for an environment with none).
    public var solvedReturn: Double?

    public init(phase: String, learnerId: String, uptimeSeconds: Double, wallSeconds: Double, envSteps: Int, maxEnvSteps: Int, updates: Int,
                transitionsPerSecond: WindowedRate, updatesPerSecond: WindowedRate, samplesPerInsert: Double,
                targetSamplesPerInsert: Double, replaySize: Int, replayCapacity: Int, weightsVersion: UInt64,
                policyLag: LagRange?, recentEpisodeReturn: Double?, latestEvaluation: EvaluationPoint?, solvedAtEnvSteps: Int?,
                transitionsRejected: Int, messagesAccepted: Int = 0, messagesRejected: Int, messagesRejectedByReason: [String: Int],
                workersConnected: Int, workers: [WorkerStatusRow], etaSeconds: Double?, rollbacks: Int = 0, lastRollback: String? = nil,
                checkpointFailures: Int = 0, duplicateWorkerIds: [UInt32] = [], policyLagUpdates: LagRange? = nil,
                policyLagSeconds: DurationRange? = nil, evaluatorsConnected: Int? = nil) {
        self.evaluatorsConnected = evaluatorsConnected
        self.phase = phase
        self.learnerId = learnerId
        self.uptimeSeconds = uptimeSeconds
        self.wallSeconds = wallSeconds
        self.envSteps = envSteps
        self.maxEnvSteps = maxEnvSteps
        self.updates = updates
        self.transitionsPerSecond = transitionsPerSecond
        self.updatesPerSecond = updatesPerSecond
        self.samplesPerInsert = samplesPerInsert
        self.targetSamplesPerInsert = targetSamplesPerInsert
        self.replaySize = replaySize
        self.replayCapacity = replayCapacity
        self.weightsVersion = weightsVersion
        self.policyLag = policyLag
        self.recentEpisodeReturn = recentEpisodeReturn
        self.latestEvaluation = latestEvaluation
        self.solvedAtEnvSteps = solvedAtEnvSteps
        self.transitionsRejected = transitionsRejected
        self.messagesAccepted = messagesAccepted
        self.messagesRejected = messagesRejected
        self.messagesRejectedByReason = messagesRejectedByReason
        self.workersConnected = workersConnected
        self.workers = workers
        self.etaSeconds = etaSeconds
        self.rollbacks = rollbacks
        self.lastRollback = lastRollback
        self.checkpointFailures = checkpointFailures
        self.duplicateWorkerIds = duplicateWorkerIds
        self.policyLagUpdates = policyLagUpdates
        self.policyLagSeconds = policyLagSeconds
    }

    /// snake_case JSON, the convention of summary.json and of Prometheus names.
    public func jsonBytes() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return (try? Array(encoder.encode(self))) ?? []
    }

    public static func decode(_ data: Data) throws -> LearnerStatus {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode(LearnerStatus.self, from: data)
    }
}
