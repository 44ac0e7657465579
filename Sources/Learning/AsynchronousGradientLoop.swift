import Agents
import Checkpoint
import Ingest
import NeuralNetwork
import Randomness
import RunConfiguration
import Specs
import WireProtocol

/// A3C's learner loop (Mnih et al. 2016): each worker computes the actor–critic gradient on its own segment
/// with its copy of both networks and sends it; the learner applies each on arrival, clipped as A2C clips,
/// with one optimizer whose statistics every worker's gradients share, and publishes both networks every
/// `--broadcast-every` updates.
///
/// What reaches the weights was checked on the way: the ingest rejects a gradient of the wrong shape, with
/// NaN or infinity, over `--gradient-norm-limit`, replayed (its sequence) or more than `--max-staleness`
/// versions old; an update that still leaves a non-finite network is rolled back by the learner.
public final class AsynchronousGradientLoop: OnPolicyTrainingLoop {
    public let agent: any OnPolicyAgent
    /// Gradients accepted and not yet applied, each as both networks' values in one array.
    private var pending: [(values: [Float], header: GradientHeader)] = []
    private let queueLimit: Int
    public private(set) var gradientsApplied = 0
    private var rowsApplied = 0
    private var rowsInserted = 0
    /// The run's length, which the learning-rate schedule counts down from (0: none, a constant rate).
    private let maxEnvSteps: Int

    public init(agent: any OnPolicyAgent, maxEnvSteps: Int = 0, queueLimit: Int = 4) {
        self.agent = agent
        self.maxEnvSteps = maxEnvSteps
        self.queueLimit = queueLimit
    }

    public var learningAgent: any LearningAgent { agent }
    public var dataKind: MessageKind { .gradient }
    public var workersWaitForWeights: Bool { true }
    public var publishedValueNetwork: MLP? { agent.critic }
    public var segmentCounts: (accepted: Int, late: Int, roundsAtDeadline: Int)? { (gradientsApplied, 0, 0) }

    /// What each gradient must be, as the ingest checks it.
    public var gradientLimits: GradientLimits? {
        GradientLimits(policyParameters: agent.actor.network.parameterCount, valueParameters: agent.critic.parameterCount,
                       maxNorm: Double(agent.settings.gradientNormLimit), maxStaleness: agent.settings.maxStaleness)
    }

    /// A few gradients wait at most: the learner then stops reading, and the workers' queues hold them back.
    public var canInsert: Bool { pending.count < queueLimit }

    public func insert(_ transitions: TransitionsView) {
        preconditionFailure("a gradient loop takes gradients: its ingest rejects transitions as wrong_data_kind")
    }

    public func insert(_ segment: SegmentView, from session: SessionKey, now: Double) -> Bool {
        preconditionFailure("a gradient loop takes gradients: its ingest rejects segments as wrong_data_kind")
    }

    public func insert(_ gradient: GradientView, from session: SessionKey, now: Double) -> Bool {
        let count = gradient.header.policyParameters + gradient.header.valueParameters
        let values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            TransitionsView.copyFloats(gradient.values, count: count, to: buffer.baseAddress!)
            initialized = count
        }
        pending.append((values, gradient.header))
        rowsInserted += gradient.header.rows
        return true
    }

    public var canUpdate: Bool { !pending.isEmpty }

    public func update(envSteps: Int) -> UpdateStatistics {
        let (values, header) = pending.removeFirst()
        let policy = agent.actor.network.gradients, value = agent.critic.gradients
        values.withUnsafeBufferPointer { all in
            policy.values.update(from: all.baseAddress!, count: policy.count)
            value.values.update(from: all.baseAddress! + policy.count, count: value.count)
        }
        var statistics = OnPolicyStatistics()
        agent.schedule(envSteps: envSteps, of: maxEnvSteps)
        statistics.gradientNorm = agent.applyGradients()
        statistics.policyLoss = header.policyLoss
        statistics.valueLoss = header.valueLoss
        statistics.entropy = header.entropy
        statistics.explainedVariance = header.explainedVariance
        statistics.rows = header.rows
        gradientsApplied += 1
        rowsApplied += header.rows
        return UpdateStatistics(statistics)
    }

    public var size: Int { pending.count }
    public var capacity: Int { queueLimit }
    public var observedRatio: Double { rowsInserted > 0 ? Double(rowsApplied) / Double(rowsInserted) : 0 }

    public func restore(from checkpoint: LearnerCheckpoint) -> String {
        checkpoint.restore(into: agent)
        return "both networks and their shared optimizer"
    }
}
