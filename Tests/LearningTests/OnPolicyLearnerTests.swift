import Acting
import Agents
import CoreDoubles
import Environments
import Ingest
@testable import Learning
import Randomness
import Specs
import Testing
import WireProtocol

/// A2C's learner loop on its own, with segments encoded as workers send them, and a learner with on-policy
/// workers in memory on a manual clock.
@Suite("A2C and A3C: the on-policy loops and their learners")
struct OnPolicyLearnerTests {
    static let spec = CartPole().spec

    static func loop(waitSeconds: Double = 0.5) -> SynchronousRolloutLoop {
        var configuration = AgentConfiguration()
        configuration.algorithm = A2C.id
        var generator = Xoshiro256(seed: 1)
        let agent = A2C.makeAgent(spec: spec, configuration: configuration, using: &generator)
        return SynchronousRolloutLoop(agent: agent, spec: spec, waitSeconds: waitSeconds)
    }

    /// One environment's 5 steps of CartPole (within its bounds) acted with `version`, as a worker encodes them.
    static func segment(version: UInt64, session: UInt32, _ body: (SegmentView) -> Void) {
        let rows = 5
        let observations = (0..<(4 * rows)).map { Float($0 % 5) / 50 }, actions = (0..<rows).map { Float($0 % 2) }
        let rewards = [Float](repeating: 1, count: rows), logProbabilities = [Float](repeating: -0.69, count: rows)
        let bootstrap: [Float] = [0, 0.01, 0.02, 0.03], cut: [Float] = []
        let flags = [UInt8](repeating: 0, count: rows)
        let header = SegmentHeader(workerId: session, session: session, observationSize: 4, actionSize: 1, environments: 1, steps: 5,
                                   sequence: 0, weightsVersion: version, truncations: 0)
        var encoder = MessageEncoder()
        let bytes = observations.withUnsafeBufferPointer { o in actions.withUnsafeBufferPointer { a in rewards.withUnsafeBufferPointer { r in
            logProbabilities.withUnsafeBufferPointer { l in bootstrap.withUnsafeBufferPointer { b in cut.withUnsafeBufferPointer { c in
                flags.withUnsafeBufferPointer { f in
                    encoder.encodeSegment(header, observations: o, actions: a, rewards: r, logProbabilities: l, bootstrapObservations: b,
                                          truncationObservations: c, terminated: f, truncated: f)
                }
            } } } } } }
        let decoder = MessageDecoder(expected: ExpectedShapes(spec: spec, dataKind: .segment, segmentSteps: 5), accepting: .workerToLearner)
        bytes.withUnsafeBytes { raw in
            guard case let .segment(view)? = try? decoder.decode(raw) else { Issue.record("the segment does not decode"); return }
            body(view)
        }
    }

    static func insert(_ loop: SynchronousRolloutLoop, version: UInt64, session: UInt32, now: Double) -> Bool {
        var learned = false
        segment(version: version, session: session) { learned = loop.insert($0, from: SessionKey(workerId: session, session: session), now: now) }
        return learned
    }

    @Test("a round updates once every delivering worker's segment of the current weights is in, on all of them at once")
    func waitsForEveryone() {
        let loop = Self.loop()
        let everyone: Set<SessionKey> = [SessionKey(workerId: 1, session: 1), SessionKey(workerId: 2, session: 2)]
        #expect(Self.insert(loop, version: 1, session: 1, now: 0))
        loop.prepare(now: 0.1, publishedVersion: 1, deliveringSessions: everyone)
        #expect(!loop.canUpdate, "worker 2 has not delivered")
        #expect(Self.insert(loop, version: 1, session: 2, now: 0.1))
        loop.prepare(now: 0.1, publishedVersion: 1, deliveringSessions: everyone)
        #expect(loop.canUpdate && loop.size == 10)
        let statistics = loop.update(envSteps: 10)
        #expect(statistics.onPolicy?.rows == 10 && loop.size == 0 && loop.agent.updateCount == 1)
        loop.prepare(now: 0.1, publishedVersion: 1, deliveringSessions: everyone)
        #expect(!loop.canUpdate, "nothing new")
    }

    @Test("a worker that died holds a round only until its deadline; segments of weights before the last update are dropped and counted")
    func deadlineAndLateSegments() {
        let loop = Self.loop(waitSeconds: 0.5)
        let everyone: Set<SessionKey> = [SessionKey(workerId: 1, session: 1), SessionKey(workerId: 2, session: 2)]
        #expect(Self.insert(loop, version: 3, session: 1, now: 10))
        loop.prepare(now: 10.49, publishedVersion: 3, deliveringSessions: everyone)
        #expect(!loop.canUpdate)
        loop.prepare(now: 10.5, publishedVersion: 3, deliveringSessions: everyone)
        #expect(loop.canUpdate)
        _ = loop.update(envSteps: 5)
        #expect(loop.roundsAtDeadline == 1)
        // Worker 2's segment of version 3 arrives after the update that trained on version 3: late.
        #expect(!Self.insert(loop, version: 3, session: 2, now: 10.6))
        #expect(loop.segmentsLate == 1 && loop.size == 0)
        // Weights republished without an update (version 4, 5) are the same weights: their segments count.
        loop.prepare(now: 10.6, publishedVersion: 5, deliveringSessions: everyone)
        #expect(Self.insert(loop, version: 4, session: 2, now: 10.7))
        #expect(loop.segmentsAccepted == 2)
    }

    /// An on-policy worker of CartPole: 4 environments, segments of 5 steps; with `gradients`, an A3C worker
    /// (the default entropy spread: worker 1 of 2 adds 0.01).
    static func worker(_ id: UInt32, gradients: Bool) -> WorkerConfiguration {
        var c = WorkerConfiguration()
        c.environment = CartPole.id
        c.workerId = id
        c.workerCount = 2
        c.environments = 4
        c.rolloutSteps = 5
        if gradients { c.gradientLoss = OnPolicySettings() }
        return c
    }

    /// A learner of `algorithm` on CartPole for 4,000 env steps, and two workers of its kind, in memory.
    static func learnerWithTwoWorkers(algorithm: AlgorithmID) throws -> (Simulation, [SimulatedWorker]) {
        let sim = Simulation()
        var configuration = LearnerConfiguration()
        configuration.training.agent.algorithm = algorithm
        configuration.training.maxEnvSteps = 4_000
        configuration.training.evalEvery = 100_000
        configuration.learner.checkpointEverySeconds = nil
        configuration.learner.segmentWaitSeconds = 0.5
        try sim.startLearner(configuration: configuration, environment: LearnerEnvironment(spec: spec), makeLoop: LearnerCore.replayLoop)
        let gradients = algorithm == A3C.id
        return (sim, [sim.startWorker(worker(0, gradients: gradients), session: 0x10, environment: CartPole.self),
                      sim.startWorker(worker(1, gradients: gradients), session: 0x11, environment: CartPole.self)])
    }

    @Test("A2C with two on-policy workers in memory: every round learns from both, with no late segment; a killed worker stalls no one")
    func learnerWithWorkers() throws {
        let (sim, workers) = try Self.learnerWithTwoWorkers(algorithm: A2C.id)
        let loop = try #require(sim.learner?.learning?.loop as? SynchronousRolloutLoop)
        try sim.run(until: { loop.agent.updateCount >= 20 }, timeout: 30, "20 updates")
        #expect(loop.segmentsLate == 0 && loop.roundsAtDeadline == 0)
        #expect(loop.segmentsAccepted == 2 * loop.agent.updateCount + loop.size / 20, "each round: one segment of 4 × 5 rows per worker")
        // Killed mid-run: the rounds wait for it until their deadline, then go on without it.
        sim.kill(workers[1])
        let updates = loop.agent.updateCount
        try sim.run(until: { loop.agent.updateCount >= updates + 20 }, timeout: 30, "20 more updates without worker 1")
        #expect(loop.roundsAtDeadline >= 1 && loop.roundsAtDeadline <= 5,
                "worker 1 counts as gone once silent for 2 s: \(loop.roundsAtDeadline) rounds waited for it")
        let summary = try sim.runToEnd()
        #expect(summary.stopReason == "max_env_steps" && summary.transitionsRejected == 0)
        #expect(workers[0].report?.stopReason == "learner_shutdown" || workers[0].report?.stopReason == "learner_stopping")
    }

    @Test("A3C with two gradient workers in memory: each gradient is applied on arrival with the shared RMSprop, none is stale, both workers' count")
    func asynchronousLearnerWithWorkers() throws {
        let (sim, workers) = try Self.learnerWithTwoWorkers(algorithm: A3C.id)
        #expect(Self.worker(1, gradients: true).gradientConfiguration?.onPolicySettings.entCoef == 0.01, "worker 1 explores with its own entropy weight")
        let loop = try #require(sim.learner?.learning?.loop as? AsynchronousGradientLoop)
        let before = loop.agent.actor.network.parameters.toArray()
        try sim.run(until: { loop.gradientsApplied >= 40 }, timeout: 30, "40 gradients applied")
        #expect(loop.agent.actor.network.parameters.toArray() != before, "the gradients moved the policy")
        #expect(loop.agent.updateCount == loop.gradientsApplied, "one optimizer step per gradient")
        let summary = try sim.runToEnd()
        #expect(summary.stopReason == "max_env_steps" && summary.transitionsRejected == 0 && summary.messagesRejected.isEmpty)
        let received = Dictionary(uniqueKeysWithValues: summary.workers.map { ($0.workerId, $0.transitionsReceived) })
        #expect((received[0] ?? 0) >= 1_000 && (received[1] ?? 0) >= 1_000, "both workers' gradients count: \(received)")
        #expect(loop.gradientsApplied * 20 == summary.transitionsReceived, "every accepted gradient (4 × 5 steps) was applied")
        #expect(workers.allSatisfy { $0.report?.stopReason == "learner_shutdown" || $0.report?.stopReason == "learner_stopping" })
    }
}
