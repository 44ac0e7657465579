import CoreMetrics
import WireProtocol

/// The learner's Prometheus metrics, through the swift-metrics API: the learner
/// never sees the backend, and with the default no-op factory (no `--metrics-port`)
/// every call below costs a virtual call into an empty function.
///
/// Label sets are fixed: `reason` takes the protocol's rejection reasons, `kind`
/// the five message kinds a worker sends, `window` 10s and 60s, and `worker` at
/// most `maxWorkerSeries` ids, after which workers share `worker="other"`.
public final class LearnerMetrics: @unchecked Sendable {
    public enum Kind: String, CaseIterable, Sendable { case counter, gauge, histogram }

    /// One row of docs/METRICS.md.
    public struct Definition: Sendable {
        public var name: String
        public var kind: Kind
        public var help: String
        public var labels: [String] = []
        /// Histogram upper bounds (seconds for durations).
        public var buckets: [Double]? = nil
    }

    public static let maxWorkerSeries = 256
    public static let connectionRejectionReasons = ["unauthorized_key", "handshake_failed", "too_many_peers", "bad_subscription", "over_credit",
                                                    "routing_id", "oversize_or_malformed"]

    public static let definitions: [Definition] = [
        .init(name: "ddpg_transitions_received_total", kind: .counter, help: "Transitions accepted into replay."),
        .init(name: "ddpg_transitions_rejected_total", kind: .counter, help: "Transitions in rejected messages, where the header still gave their count."),
        .init(name: "ddpg_messages_received_total", kind: .counter, help: "Well-formed messages received, by kind.", labels: ["kind"]),
        .init(name: "ddpg_messages_rejected_total", kind: .counter, help: "Messages rejected, by reason; nothing of a rejected message enters replay.", labels: ["reason"]),
        .init(name: "ddpg_worker_transitions_received_total", kind: .counter, help: "Transitions accepted from each worker.", labels: ["worker"]),
        .init(name: "ddpg_updates_total", kind: .counter, help: "Gradient updates (one minibatch each) of critic and actor."),
        .init(name: "ddpg_episodes_total", kind: .counter, help: "Episodes the workers finished and reported."),
        .init(name: "ddpg_weights_published_total", kind: .counter, help: "Actor weight broadcasts."),
        .init(name: "ddpg_evaluations_total", kind: .counter, help: "Evaluations of the greedy policy that evaluators reported."),
        .init(name: "ddpg_replay_size", kind: .gauge, help: "Transitions held in replay."),
        .init(name: "ddpg_replay_capacity", kind: .gauge, help: "Replay capacity in transitions."),
        .init(name: "ddpg_env_steps_target", kind: .gauge, help: "Transitions to accept before the run stops (--max-env-steps)."),
        .init(name: "ddpg_weights_version", kind: .gauge, help: "Version of the latest published actor weights."),
        .init(name: "ddpg_workers_connected", kind: .gauge, help: "Acting workers heard from in the last 10 s that have not said goodbye."),
        .init(name: "ddpg_evaluators_connected", kind: .gauge, help: "Evaluators heard from in the last 10 s; with none, no evaluation arrives."),
        .init(name: "ddpg_samples_per_insert", kind: .gauge, help: "Sampled transitions per inserted transition so far."),
        .init(name: "ddpg_transitions_per_second", kind: .gauge, help: "Transitions accepted per second over the window.", labels: ["window"]),
        .init(name: "ddpg_updates_per_second", kind: .gauge, help: "Updates per second over the window.", labels: ["window"]),
        .init(name: "ddpg_eval_return", kind: .gauge, help: "Mean return of the latest evaluation."),
        .init(name: "ddpg_policy_lag", kind: .histogram, help: "Weights versions between the learner and the actor that produced each accepted message.",
              buckets: [0, 1, 2, 4, 8, 16, 32, 64, 128]),
        .init(name: "ddpg_policy_lag_updates", kind: .histogram, help: "Updates between the weights that acted each accepted message and the learner's state when it arrived.",
              buckets: [0, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000]),
        .init(name: "ddpg_policy_lag_seconds", kind: .histogram, help: "Seconds between the publication of the weights that acted each accepted message and its arrival.",
              buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]),
        .init(name: "ddpg_episode_return", kind: .histogram, help: "Undiscounted returns of the episodes the workers report.",
              // Pendulum's range (about −1600 … 0) finely, and the thousands of the MuJoCo tasks coarsely.
              buckets: [-10000, -3000, -1500, -1200, -1000, -800, -600, -400, -300, -200, -150, -100, -50, 0,
                        50, 100, 200, 500, 1000, 2000, 3000, 5000, 10000]),
        .init(name: "ddpg_update_duration_seconds", kind: .histogram, help: "Wall time of one update as the learner loop runs it: sampling the batch, the critic, actor and target steps, and new priorities.",
              buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1]),
        .init(name: "ddpg_segments_received_total", kind: .counter, help: "On-policy segments accepted by the ingest (A2C), late ones included."),
        .init(name: "ddpg_gradients_received_total", kind: .counter, help: "A3C: workers' gradients accepted by the ingest, each applied on arrival."),
        .init(name: "ddpg_segments_late_total", kind: .counter, help: "Segments acted with weights from before the last update: dropped, never learned from."),
        .init(name: "ddpg_policy_loss", kind: .gauge, help: "On-policy: the policy-gradient loss of the latest update."),
        .init(name: "ddpg_value_loss", kind: .gauge, help: "On-policy: mean (R − V)² of the latest update, before --vf-coef."),
        .init(name: "ddpg_policy_entropy", kind: .gauge, help: "On-policy: the policy's mean entropy over the latest update's rows."),
        .init(name: "ddpg_explained_variance", kind: .gauge, help: "On-policy: 1 − Var(R − V)/Var(R) of the latest update (1: the critic explains the returns)."),
        .init(name: "ddpg_connections_authorized_total", kind: .counter, help: "CURVE connections whose worker key is in --authorized-keys."),
        .init(name: "ddpg_connections_rejected_total", kind: .counter, help: "Connections refused or cut off: a CURVE key not authorized, a failed handshake (no keys, wrong server key), the --max-peers cap, or a weights subscriber that sent something other than a subscription to everything.", labels: ["reason"]),
        .init(name: "ddpg_duplicate_worker_ids_total", kind: .counter, help: "Worker ids found in use by two live processes at once."),
        .init(name: "ddpg_rollbacks_total", kind: .counter, help: "Times the networks went non-finite and the learner put back its last finite state."),
        .init(name: "ddpg_checkpoint_failures_total", kind: .counter, help: "Checkpoints that could not be written (full disk, read-only directory)."),
        .init(name: "ddpg_checkpoints_total", kind: .counter, help: "Checkpoints taken (written by a background thread)."),
        .init(name: "ddpg_checkpoint_stall_seconds", kind: .histogram, help: "Time training stops to copy the state for one checkpoint; encoding and writing happen on another thread.",
              buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5]),
        .init(name: "ddpg_evaluation_delay_seconds", kind: .histogram, help: "Seconds from publishing weights with an evaluation request to the evaluator's report (training goes on meanwhile).",
              buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]),
    ]

    private let factory: any MetricsFactory
    let transitionsReceived: Counter
    let transitionsRejected: Counter
    let transitionsAfterStop: Counter
    private let messagesReceived: [String: Counter]
    private let messagesRejected: [String: Counter]
    private var workerTransitions: [UInt32: Counter] = [:]
    private let otherWorkersTransitions: Counter
    let updates: Counter
    let episodes: Counter
    let weightsPublished: Counter
    let evaluations: Counter
    let replaySize: Gauge
    let replayCapacity: Gauge
    let envStepsTarget: Gauge
    let weightsVersion: Gauge
    let workersConnected: Gauge
    let evaluatorsConnected: Gauge
    let samplesPerInsert: Gauge
    let transitionsPerSecond: (last10s: Gauge, last60s: Gauge)
    let updatesPerSecond: (last10s: Gauge, last60s: Gauge)
    let evalReturn: Gauge
    let policyLag: Recorder
    let policyLagUpdates: Recorder
    let policyLagSeconds: Recorder
    let episodeReturn: Recorder
    let updateDuration: Timer
    let evaluationDelay: Timer
    let checkpoints: Counter
    let checkpointFailures: Counter
    let duplicateWorkerIds: Counter
    let rollbacks: Counter
    let segmentsReceived: Counter
    let segmentsLate: Counter
    let gradientsReceived: Counter
    let policyLoss: Gauge
    let valueLoss: Gauge
    let policyEntropy: Gauge
    let explainedVariance: Gauge
    public let connectionsAuthorized: Counter
    private let connectionsRejected: [String: Counter]
    let checkpointStall: Timer

    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.factory = factory
        func counter(_ name: String, _ dimensions: [(String, String)] = []) -> Counter { Counter(label: name, dimensions: dimensions, factory: factory) }
        func gauge(_ name: String, _ dimensions: [(String, String)] = []) -> Gauge { Gauge(label: name, dimensions: dimensions, factory: factory) }
        transitionsReceived = counter("ddpg_transitions_received_total")
        transitionsRejected = counter("ddpg_transitions_rejected_total")
        transitionsAfterStop = counter("ddpg_transitions_after_stop_total")
        // Every label value is registered up front, so a scrape shows zeros rather than missing series.
        func counters(_ name: String, _ label: String, _ values: [String]) -> [String: Counter] {
            Dictionary(uniqueKeysWithValues: values.map { ($0, counter(name, [(label, $0)])) })
        }
        messagesReceived = counters("ddpg_messages_received_total", "kind", ["hello", "transitions", "segment", "gradient", "episode", "worker_status", "evaluation"])
        messagesRejected = counters("ddpg_messages_rejected_total", "reason", ProtocolError.allReasons)
        otherWorkersTransitions = counter("ddpg_worker_transitions_received_total", [("worker", "other")])
        updates = counter("ddpg_updates_total")
        episodes = counter("ddpg_episodes_total")
        weightsPublished = counter("ddpg_weights_published_total")
        evaluations = counter("ddpg_evaluations_total")
        replaySize = gauge("ddpg_replay_size")
        replayCapacity = gauge("ddpg_replay_capacity")
        envStepsTarget = gauge("ddpg_env_steps_target")
        weightsVersion = gauge("ddpg_weights_version")
        workersConnected = gauge("ddpg_workers_connected")
        evaluatorsConnected = gauge("ddpg_evaluators_connected")
        samplesPerInsert = gauge("ddpg_samples_per_insert")
        transitionsPerSecond = (gauge("ddpg_transitions_per_second", [("window", "10s")]), gauge("ddpg_transitions_per_second", [("window", "60s")]))
        updatesPerSecond = (gauge("ddpg_updates_per_second", [("window", "10s")]), gauge("ddpg_updates_per_second", [("window", "60s")]))
        evalReturn = gauge("ddpg_eval_return")
        policyLag = Recorder(label: "ddpg_policy_lag", dimensions: [], aggregate: true, factory: factory)
        policyLagUpdates = Recorder(label: "ddpg_policy_lag_updates", dimensions: [], aggregate: true, factory: factory)
        policyLagSeconds = Recorder(label: "ddpg_policy_lag_seconds", dimensions: [], aggregate: true, factory: factory)
        episodeReturn = Recorder(label: "ddpg_episode_return", dimensions: [], aggregate: true, factory: factory)
        updateDuration = Timer(label: "ddpg_update_duration_seconds", dimensions: [], factory: factory)
        evaluationDelay = Timer(label: "ddpg_evaluation_delay_seconds", dimensions: [], factory: factory)
        checkpoints = counter("ddpg_checkpoints_total")
        checkpointFailures = counter("ddpg_checkpoint_failures_total")
        duplicateWorkerIds = counter("ddpg_duplicate_worker_ids_total")
        rollbacks = counter("ddpg_rollbacks_total")
        segmentsReceived = counter("ddpg_segments_received_total")
        segmentsLate = counter("ddpg_segments_late_total")
        gradientsReceived = counter("ddpg_gradients_received_total")
        policyLoss = gauge("ddpg_policy_loss")
        valueLoss = gauge("ddpg_value_loss")
        policyEntropy = gauge("ddpg_policy_entropy")
        explainedVariance = gauge("ddpg_explained_variance")
        connectionsAuthorized = counter("ddpg_connections_authorized_total")
        connectionsRejected = counters("ddpg_connections_rejected_total", "reason", Self.connectionRejectionReasons)
        checkpointStall = Timer(label: "ddpg_checkpoint_stall_seconds", dimensions: [], factory: factory)
    }

    func messageReceived(kind: String) { messagesReceived[kind]?.increment() }

    func messageRejected(reason: String) { messagesRejected[reason]?.increment() }

    public func connectionRejected(reason: String, count: Int = 1) { connectionsRejected[reason]?.increment(by: count) }

    /// Counts `count` transitions from `workerId`, in its own series while there are fewer than `maxWorkerSeries`.
    func workerTransitionsReceived(_ workerId: UInt32, count: Int) {
        if let counter = workerTransitions[workerId] {
            counter.increment(by: count)
        } else if workerTransitions.count < Self.maxWorkerSeries {
            let counter = Counter(label: "ddpg_worker_transitions_received_total", dimensions: [("worker", "\(workerId)")], factory: factory)
            workerTransitions[workerId] = counter
            counter.increment(by: count)
        } else {
            otherWorkersTransitions.increment(by: count)
        }
    }
}
