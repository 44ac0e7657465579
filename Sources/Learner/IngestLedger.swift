import WireProtocol

/// Min, mean and max of a stream of integers, weighted by counts.
public struct RunningRange: Codable, Sendable, Equatable {
    public var min: Int64 = .max
    public var max: Int64 = .min
    public var sum: Double = 0
    public var count: Int = 0

    public init() {}

    public mutating func record(_ value: Int64, weight: Int = 1) {
        min = Swift.min(min, value)
        max = Swift.max(max, value)
        sum += Double(value) * Double(weight)
        count += weight
    }

    public var mean: Double { count > 0 ? sum / Double(count) : 0 }

    /// `{min, mean, max}`, or nil before anything was recorded.
    public var summary: PolicyLagSummary? {
        count > 0 ? PolicyLagSummary(min: min, mean: mean, max: max, transitions: count) : nil
    }
}

public struct PolicyLagSummary: Codable, Sendable, Equatable {
    public var min: Int64
    public var mean: Double
    public var max: Int64
    /// Transitions measured (those acted with learned weights; random ones have no lag).
    public var transitions: Int
}

/// What the learner knows of one worker.
public struct WorkerRecord: Codable, Sendable, Equatable {
    public var workerId: UInt32
    public var environments = 0
    public var transitionsReceived = 0
    /// The worker's own count of transitions handed to ZeroMQ, from its latest status message.
    public var transitionsSent = 0
    public var messages = 0
    /// Messages missing from the sequence numbers (lost, e.g. across a learner restart).
    public var sequenceGaps = 0
    public var episodes = 0
    public var lastEpisodeReturn: Double?
    /// The newest weights version this worker acted with.
    public var latestWeightsVersion: UInt64 = 0
    public var finished = false
    var lastSequence: UInt64?
    var lastSeen: Double = 0

    init(workerId: UInt32) { self.workerId = workerId }

    enum CodingKeys: String, CodingKey {
        case workerId, environments, transitionsReceived, transitionsSent, messages, sequenceGaps, episodes
        case lastEpisodeReturn, latestWeightsVersion, finished
    }
}

/// The learner's accounting of everything that arrived: what was accepted,
/// what was rejected and why, per worker, and the policy lag of accepted data.
public struct IngestLedger: Sendable {
    public static let maxTrackedWorkers = 4_096

    public private(set) var transitionsReceived = 0
    public private(set) var transitionsAccepted = 0
    /// Transitions in rejected messages, where their header could still be read.
    public private(set) var transitionsRejected = 0
    public private(set) var messagesRejected: [String: Int] = [:]
    public private(set) var workers: [UInt32: WorkerRecord] = [:]
    public private(set) var policyLag = RunningRange()
    public private(set) var randomTransitions = 0
    public private(set) var episodeReturns: [Double] = []

    public init() {}

    public var totalMessagesRejected: Int { messagesRejected.values.reduce(0, +) }

    public mutating func reject(_ error: ProtocolError, claimedTransitions: Int?) {
        messagesRejected[error.reason, default: 0] += 1
        transitionsRejected += claimedTransitions ?? 0
    }

    private mutating func withWorker(_ id: UInt32, now: Double, _ body: (inout WorkerRecord) -> Void) {
        if workers[id] == nil {
            guard workers.count < Self.maxTrackedWorkers else { return }
            workers[id] = WorkerRecord(workerId: id)
        }
        body(&workers[id]!)
        workers[id]!.lastSeen = now
    }

    public mutating func hello(_ hello: Hello, now: Double) {
        withWorker(hello.workerId, now: now) {
            $0.environments = hello.environmentCount
            $0.finished = false
            $0.lastSequence = nil
        }
    }

    /// Records an accepted transition batch acted with `header.weightsVersion` while the learner is at `currentVersion`.
    /// Returns its policy lag, or nil for random actions (version 0), which have none.
    @discardableResult
    public mutating func transitions(_ header: TransitionsHeader, currentVersion: UInt64, now: Double) -> Int64? {
        transitionsReceived += header.count
        transitionsAccepted += header.count
        var lag: Int64?
        if header.weightsVersion == 0 {
            randomTransitions += header.count
        } else {
            // A version from the future means the learner restarted under a running worker.
            lag = Swift.max(Int64(bitPattern: currentVersion &- header.weightsVersion), 0)
            policyLag.record(lag!, weight: header.count)
        }
        withWorker(header.workerId, now: now) { record in
            record.transitionsReceived += header.count
            record.messages += 1
            record.latestWeightsVersion = Swift.max(record.latestWeightsVersion, header.weightsVersion)
            if let last = record.lastSequence, header.sequence > last + 1 {
                record.sequenceGaps += Int(header.sequence - last - 1)
            }
            record.lastSequence = header.sequence
        }
        return lag
    }

    public mutating func episode(_ report: EpisodeReport, now: Double) {
        episodeReturns.append(report.episodeReturn)
        if episodeReturns.count > 100 { episodeReturns.removeFirst(episodeReturns.count - 100) }
        withWorker(report.workerId, now: now) {
            $0.episodes += 1
            $0.lastEpisodeReturn = report.episodeReturn
        }
    }

    public mutating func status(_ status: WorkerStatus, now: Double) {
        withWorker(status.workerId, now: now) {
            $0.transitionsSent = Int(status.transitionsSent)
            $0.finished = status.isFinal
        }
    }

    /// Workers heard from within `window` seconds that have not said goodbye.
    public func activeWorkers(now: Double, window: Double) -> [UInt32] {
        workers.values.filter { !$0.finished && now - $0.lastSeen <= window }.map(\.workerId).sorted()
    }

    /// Mean of the last `count` episode returns reported by workers.
    public func recentEpisodeReturn(count: Int = 10) -> Double? {
        let recent = episodeReturns.suffix(count)
        return recent.isEmpty ? nil : recent.reduce(0, +) / Double(recent.count)
    }
}
