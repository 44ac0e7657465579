import Acting
import Agents
import CoreDoubles
import Environments
import Foundation
import Ingest
@testable import Learning
import Specs
import Testing
import Transport
import WireProtocol

/// What the tests make: a small learner over a fake agent, and workers on the counting environment.
enum Fixture {
    static let spec = CountingEnvironment().spec

    static func learner(maxEnvSteps: Int = 2_000, configure: (inout LearnerConfiguration) -> Void = { _ in }) -> LearnerConfiguration {
        var c = LearnerConfiguration()
        c.training.maxEnvSteps = maxEnvSteps
        c.training.learningStarts = 100
        c.training.replayCapacity = 10_000
        c.training.agent.batchSize = 16
        c.training.evalEvery = 500
        c.training.evalEpisodes = 2
        c.training.finalEvalEpisodes = 3
        c.learner.samplesPerInsert = 16
        c.learner.broadcastEvery = 10
        c.learner.checkpointEverySeconds = nil
        configure(&c)
        return c
    }

    static func worker(_ id: UInt32, role: WorkerRole = .actor, configure: (inout WorkerConfiguration) -> Void = { _ in }) -> WorkerConfiguration {
        var c = WorkerConfiguration()
        c.environment = CountingEnvironment.id
        c.workerId = id
        c.role = role
        c.workerCount = 2
        c.seed = 1
        c.transitionsPerMessage = 16
        configure(&c)
        return c
    }

    /// A replay loop over a ``FakeAgent``, which `agents` keeps for the test.
    static func fakeLoop(_ agents: Agents = Agents()) -> TrainingLoopFactory {
        { spec, c in
            let agent = FakeAgent(spec: spec, configuration: c.training.agent)
            agents.made.append(agent)
            return ReplayLoop(agent: agent, spec: spec, configuration: c.training, settings: c.learner)
        }
    }

    final class Agents {
        var made: [FakeAgent] = []
        var last: FakeAgent { made.last! }
    }

    /// A learner that knows its environment, two actors and an evaluator.
    static func fleet(_ sim: Simulation, learner: LearnerConfiguration = learner(), agents: Agents = Agents(),
                      evaluator: Bool = true) throws -> [SimulatedWorker] {
        try sim.startLearner(configuration: learner, environment: LearnerEnvironment(spec: spec), makeLoop: fakeLoop(agents))
        var workers = [sim.startWorker(worker(0), session: 0x10), sim.startWorker(worker(1), session: 0x11)]
        if evaluator { workers.append(sim.startWorker(worker(9, role: .evaluator), session: 0x19)) }
        return workers
    }
}

@Suite("LearnerCore with WorkerCores, in memory on a manual clock")
struct LearnerCoreTests {
    @Test("a run stops at --max-env-steps, asks for the final evaluation, drains every worker, and accounts for every transition")
    func stopsAndDrains() throws {
        let sim = Simulation()
        let workers = try Fixture.fleet(sim)
        let summary = try sim.runToEnd()
        #expect(summary.stopReason == "max_env_steps")
        #expect(summary.run.envSteps >= 2_000 && summary.run.envSteps < 2_000 + 16, "stops within one message (16 rows) of the target")
        #expect(summary.run.updates > 1_500, "one update per transition after learning starts")
        for worker in workers {
            // Actors stop at the final evaluation's request (the run is over); the evaluator plays it, then hears the shutdown.
            let told = worker.core.configuration.role == .evaluator ? "learner_shutdown" : "learner_stopping"
            #expect(worker.report?.stopReason == told, "worker \(worker.core.configuration.workerId) was told to stop")
        }
        let sent = summary.transitionsSent.values.reduce(0, +)
        #expect(Int(sent) == summary.transitionsReceived + summary.transitionsRejected + summary.transitionsAfterStop,
                "sent \(summary.transitionsSent)")
        #expect(summary.transitionsRejected == 0 && summary.workers.allSatisfy(\.finished))
        let marks = summary.run.eval.map(\.envSteps)
        #expect(marks.count == 3 && zip(marks, [500, 1_000, 1_500]).allSatisfy { $0 >= $1 && $0 < $1 + 64 * 16 },
                "one evaluation per mark, of the weights published as its ingest slice passed it: \(marks)")
        #expect(summary.run.eval.allSatisfy { $0.meanReturn == -10 }, "counting episodes return −10")
        #expect(summary.run.finalEval?.episodes == 3)
        #expect(summary.randomTransitions >= 100 && summary.randomTransitions < 500, "only the first transitions act without weights")
    }

    @Test("credit: while replay fills, workers may keep up to 128 in flight; once training, about twice their share of a broadcast's worth")
    func creditAndPacing() throws {
        let sim = Simulation()
        try sim.startLearner(configuration: Fixture.learner(maxEnvSteps: 4_000) { $0.training.learningStarts = 1_000 },
                             environment: LearnerEnvironment(spec: Fixture.spec), makeLoop: Fixture.fakeLoop())
        // Eight environments a worker: two workers make more transitions a round than eight updates consume.
        for id in 0..<2 { sim.startWorker(Fixture.worker(UInt32(id)) { $0.environments = 8 }, session: 0x10 + UInt32(id)) }
        // The credit each acknowledgement grants, as the learner's envSteps move.
        var credits: [(envSteps: Int, credit: Int)] = []
        try sim.run(until: {
            if let learning = sim.learner?.learning, learning.envSteps != credits.last?.envSteps {
                credits.append((learning.envSteps, learning.flow.lastAnnouncedCredit))
            }
            return sim.summary != nil
        }, timeout: 600)
        let filling = credits.filter { $0.envSteps > 0 && $0.envSteps < 700 }.map(\.credit)
        #expect(!filling.isEmpty && filling.allSatisfy { $0 == FlowControl.fillCredit }, "the fill credit while replay fills: \(filling.prefix(10))")
        // Once training: 2 × (broadcastEvery 10 updates × 16 rows / 16 samples per insert) / 2 workers = 10.
        let training = credits.filter { $0.envSteps > 2_000 && $0.envSteps < 3_500 }.map(\.credit)
        #expect(!training.isEmpty && training.allSatisfy { $0 == 10 }, "the training credit: \(credits.map { "\($0.envSteps):\($0.credit)" })")
        let reports = sim.workers.compactMap(\.report)
        #expect(reports.count == 2 && reports.allSatisfy { $0.pacedSeconds > 0 && $0.creditStalls == 0 }, "workers wait for credit and never stall")
        let lag = try #require(sim.summary?.policyLagUpdates)
        #expect(lag.mean < 40, "data is trained on within a few broadcasts of being acted: \(lag)")
    }

    @Test("a learner that restarts is greeted again by its workers, which act with its weights, not the old ones")
    func learnerRestart() throws {
        let sim = Simulation()
        let agents = Fixture.Agents()
        _ = try Fixture.fleet(sim, learner: Fixture.learner(maxEnvSteps: 100_000), agents: agents, evaluator: false)
        try sim.run(until: { agents.made.first.map { $0.updateCount > 300 } ?? false }, "the first learner to train")
        try sim.startLearner(configuration: Fixture.learner(maxEnvSteps: 1_500), environment: LearnerEnvironment(spec: Fixture.spec),
                             learnerId: 0xB0B, makeLoop: Fixture.fakeLoop(agents))
        let summary = try sim.runToEnd()
        #expect(sim.log.contains("the learner restarted; saying hello again"))
        #expect(summary.workers.count == 2 && summary.workers.allSatisfy { $0.latestWeightsVersion >= 1 },
                "both workers joined the new learner and act with its weights: \(summary.workers)")
        #expect(summary.transitionsRejected == 0, "the old learner's versions and sequence numbers do not leak into the new one")
        #expect(summary.run.envSteps >= 1_500)
    }

    @Test("a worker killed and started again with a new session rejoins; the old session is no duplicate")
    func workerRestart() throws {
        let sim = Simulation()
        let agents = Fixture.Agents()
        let workers = try Fixture.fleet(sim, learner: Fixture.learner(maxEnvSteps: 3_000) { $0.learner.drainSeconds = 1 }, agents: agents)
        try sim.run(until: { agents.made.first.map { $0.updateCount > 500 } ?? false })
        sim.kill(workers[0])
        try sim.run(seconds: 0.5)
        let again = sim.startWorker(Fixture.worker(0), session: 0x20)
        let summary = try sim.runToEnd()
        #expect(again.report?.stopReason == "learner_stopping", "it stops at the final evaluation's request")
        let sessions = summary.workers.filter { $0.workerId == 0 }.map(\.session).sorted()
        #expect(sessions == [0x10, 0x20], "two sessions of worker 0, accounted apart")
        #expect(summary.duplicateWorkerIds.isEmpty, "a dead session is not a second process")
        #expect(summary.workers.first { $0.session == 0x20 }.map { $0.latestWeightsVersion > 0 } == true)
        #expect(sim.log.contains("workers [0] did not finish within the drain period"), "the killed session never said goodbye")
    }

    @Test("two live processes with one worker id are reported once, and their data is accounted per session")
    func duplicateIds() throws {
        let sim = Simulation()
        try sim.startLearner(configuration: Fixture.learner(maxEnvSteps: 1_500), environment: LearnerEnvironment(spec: Fixture.spec),
                             makeLoop: Fixture.fakeLoop())
        sim.startWorker(Fixture.worker(3), session: 0x31)
        sim.startWorker(Fixture.worker(3) { $0.seed = 2 }, session: 0x32)
        let summary = try sim.runToEnd()
        #expect(summary.duplicateWorkerIds == [3])
        #expect(sim.log.contains("worker id 3 is used by 2 processes at once"))
        let records = summary.workers.filter { $0.workerId == 3 }
        #expect(records.count == 2 && records.allSatisfy { $0.claimed?.transitionsSent == UInt64($0.transitionsReceived + $0.transitionsAfterStop) })
    }

    @Test("a learner without a spec learns it from the first hello of its --env; other environments are rejected as wrong_environment, before and after")
    func specDiscovery() throws {
        let sim = Simulation()
        try sim.startLearner(configuration: Fixture.learner(maxEnvSteps: 1_500) { $0.learner.drainSeconds = 1 },
                             environment: LearnerEnvironment(spec: nil, id: CountingEnvironment.id), makeLoop: Fixture.fakeLoop())
        let pendulum = sim.startWorker(Fixture.worker(5) { $0.environment = Pendulum.id }, session: 0x50, environment: Pendulum.self)
        try sim.run(seconds: 0.3)
        #expect(sim.learner?.spec == nil, "a Pendulum hello does not make this a Pendulum learner")
        sim.startWorker(Fixture.worker(0), session: 0x10)
        try sim.run(until: { sim.learner?.spec != nil }, "the spec")
        #expect(sim.learner?.spec == Fixture.spec)
        let summary = try sim.runToEnd()
        #expect((summary.messagesRejected["wrong_environment"] ?? 0) >= 1, "the Pendulum hello: \(summary.messagesRejected)")
        #expect(summary.workers.map(\.workerId) == [0], "only the counting worker has a session")
        #expect(summary.run.config.environment == CountingEnvironment.id && summary.run.envSteps >= 1_500)
        #expect(summary.transitionsRejected > 0 && summary.transitionsSent["5"] == nil,
                "the Pendulum worker's transitions are rejected, and it has no session to claim them")
        sim.kill(pendulum)
    }

    @Test("without --env, a hello over the operator's limits, or whose replay would not fit, is refused and counted; the learner waits on")
    func specLimits() throws {
        let sim = Simulation()
        try sim.startLearner(configuration: Fixture.learner(maxEnvSteps: 1_000) { $0.learner.specLimits.maxObservationDims = 2 },
                             environment: LearnerEnvironment(spec: nil), makeLoop: Fixture.fakeLoop())
        let pendulum = sim.startWorker(Fixture.worker(5) { $0.environment = Pendulum.id }, session: 0x50, environment: Pendulum.self)
        try sim.run(seconds: 0.5)
        #expect(sim.learner?.spec == nil, "three observation dimensions are over --max-observation-dims 2")
        sim.startWorker(Fixture.worker(0), session: 0x10)
        let summary = try sim.runToEnd()
        #expect(summary.run.config.environment == CountingEnvironment.id)
        #expect((summary.messagesRejected["spec_not_allowed"] ?? 0) >= 1, "\(summary.messagesRejected)")
        sim.kill(pendulum)

        let huge = Simulation()
        try huge.startLearner(configuration: Fixture.learner { $0.training.replayCapacity = Int.max / 2 }, environment: LearnerEnvironment(spec: nil),
                              makeLoop: Fixture.fakeLoop())
        huge.startWorker(Fixture.worker(0), session: 0x10)
        try huge.run(seconds: 1)
        #expect(huge.learner?.spec == nil, "a spec whose replay cannot fit is refused, and the learner does not exit")
        #expect(huge.log.contains("replayCapacity"), "the refusal says why: \(huge.log.text.suffix(800))")
    }

    @Test("a hello's unbounded reward range is narrowed to --max-reward, never widened: a reward past it is rejected")
    func rewardRangeNarrowed() throws {
        let sim = Simulation()
        try sim.startLearner(configuration: Fixture.learner(maxEnvSteps: 100_000) { $0.learner.specLimits.maxRewardMagnitude = 100 },
                             environment: LearnerEnvironment(spec: nil), makeLoop: Fixture.fakeLoop())
        let peer = sim.network.connectWorker()
        var spec = Fixture.spec, encoder = MessageEncoder()
        (spec.rewardLow, spec.rewardHigh) = (-.infinity, .infinity)
        _ = try encoder.encode(Hello(workerId: 1, session: 0x1, environmentCount: 1, seed: 1, spec: spec)).withUnsafeBytes { try peer.send($0) }
        try sim.run(until: { sim.learner?.spec != nil })
        #expect(sim.learner?.spec?.rewardLow == -100 && sim.learner?.spec?.rewardHigh == 100)
        let rewards: [Float] = [1e6], observations: [Float] = [0.5, 0.5], actions: [Float] = [0], flags: [UInt8] = [0]
        let header = TransitionsHeader(workerId: 1, session: 0x1, observationSize: 2, actionSize: 1, sequence: 0, weightsVersion: 0, count: 1)
        let bytes = observations.withUnsafeBufferPointer { o in actions.withUnsafeBufferPointer { a in rewards.withUnsafeBufferPointer { r in
            flags.withUnsafeBufferPointer { f in
                encoder.encodeTransitions(header, observations: o, actions: a, rewards: r, nextObservations: o, terminated: f, truncated: f, gamma: 0.99)
            } } } }
        _ = try bytes.withUnsafeBytes { try peer.send($0) }
        try sim.run(seconds: 0.1)
        #expect(sim.learner?.learning?.ledger.messagesRejected["out_of_range"] == 1)
        #expect(sim.learner?.learning?.ledger.transitionsAccepted == 0)
    }

    @Test("--env with an id the learner cannot describe: it says it waits for that id, and every 30 s which environments said hello instead")
    func unknownEnvironmentId() throws {
        let sim = Simulation()
        try sim.startLearner(configuration: Fixture.learner(), environment: LearnerEnvironment(spec: nil, id: "Countin-v0"),
                             makeLoop: Fixture.fakeLoop())
        let worker = sim.startWorker(Fixture.worker(0), session: 0x10)
        try sim.run(seconds: 31)
        #expect(sim.log.contains("--env Countin-v0 is not an environment this learner can describe itself"))
        #expect(sim.log.contains("still waiting after 30 s for a hello of Countin-v0"))
        #expect(sim.log.contains("hellos of other environments: Counting-v0 ×"), "\(sim.log.text.suffix(600))")
        sim.kill(worker)
    }

    @Test("--until-return stops at the evaluator's report and ends with the weights it approved; an unrequested report is rejected")
    func untilReturn() throws {
        let sim = Simulation()
        let agents = Fixture.Agents()
        _ = try Fixture.fleet(sim, learner: Fixture.learner(maxEnvSteps: 100_000) { $0.learner.untilReturn = -10 }, agents: agents)
        // Peers that say hello as evaluators and answer the first request with returns of 0: one without the token, and one
        // with it that copies every field subscribers see (the published weights' version, updates, env steps, episodes) but
        // not the nonce of the ticket the learner gave its own evaluator alone.
        let outsider = sim.network.connectWorker(), insider = sim.network.connectWorker()
        var encoder = MessageEncoder()
        try sim.run(until: { sim.learner?.learning?.ingest.requestedEvaluations.isEmpty == false }, "the first request")
        let requested = try #require(sim.learner?.learning?.ingest.requestedEvaluations.newest)
        for (peer, session, token) in [(outsider, UInt32(0x66), EvaluatorToken.none), (insider, UInt32(0x67), Simulation.evaluatorToken)] {
            let hello = Hello(workerId: 66, session: session, role: .evaluator, environmentCount: 1, seed: 1, spec: Fixture.spec, token: token)
            _ = try encoder.encode(hello).withUnsafeBytes { try peer.send($0) }
            let forged = EvaluationReport(workerId: 66, session: session, isFinal: false, nonce: requested.nonce &+ 1, publication: requested.publication,
                                          returns: [0, 0], lengths: [10, 10])
            _ = try encoder.encode(forged).withUnsafeBytes { try peer.send($0) }
        }
        let summary = try sim.runToEnd()
        #expect(summary.stopReason == "until_return")
        #expect(summary.run.eval.first?.envSteps == 500 && summary.run.eval.count == 1, "stops at the first evaluation that reaches −10")
        #expect(sim.log.contains("ending with the weights that reached --until-return"))
        #expect(summary.run.finalEval?.meanReturn == -10, "the final evaluation is the real evaluator's, not 0")
        #expect(summary.run.eval.allSatisfy { $0.meanReturn == -10 })
        #expect(summary.messagesRejected["unauthorized_evaluator"] == 1 && summary.messagesRejected["no_hello"] == 1, "\(summary.messagesRejected)")
        #expect(summary.messagesRejected["unrequested_evaluation"] == 1, "the insider's report lacks the nonce: \(summary.messagesRejected)")
    }

    @Test("a diverged update is rolled back and training goes on; five in a row stop the run as non_finite, with its summary")
    func rollback() throws {
        let sim = Simulation()
        let agents = Fixture.Agents()
        _ = try Fixture.fleet(sim, learner: Fixture.learner(maxEnvSteps: 100_000), agents: agents, evaluator: false)
        try sim.run(until: { (agents.made.first?.updateCount ?? 0) >= 200 })
        agents.last.divergeFromUpdate = agents.last.updateCount + 1
        let summary = try sim.runToEnd()
        #expect(summary.stopReason == "non_finite")
        #expect(summary.rollbacks == 5)
        #expect(agents.last.isFinite, "the state is the last finite one")
        #expect(sim.log.contains("non-finite training state"))
        #expect(summary.run.updates > 200, "the update count keeps counting across rollbacks")
    }

    @Test("the drain has a hard deadline: a worker that never says goodbye costs --drain-seconds, no more")
    func drainDeadline() throws {
        let sim = Simulation()
        let agents = Fixture.Agents()
        let workers = try Fixture.fleet(sim, learner: Fixture.learner(maxEnvSteps: 1_000) { $0.learner.drainSeconds = 2 }, agents: agents,
                                        evaluator: false)
        try sim.run(until: { (agents.made.first?.updateCount ?? 0) >= 700 })
        sim.kill(workers[1])
        let killed = sim.clock.now
        let summary = try sim.runToEnd()
        #expect(summary.stopReason == "max_env_steps")
        #expect(sim.clock.now - killed < 2.5, "drained within its deadline: \(sim.clock.now - killed) s after the kill")
        #expect(sim.clock.now - killed > 1.9, "and waited for the silent worker until then")
        #expect(summary.workers.first { $0.workerId == 1 }?.finished == false)
        #expect(sim.log.contains("workers [1] did not finish within the drain period"))
    }

    @Test("after its launcher exits, a learner does not wait for a final evaluation: an evaluator killed with the launcher held it 10 s",
          arguments: [StopRequest.launcherExited, .signal])
    func launcherExited(request: StopRequest) throws {
        let sim = Simulation()
        let agents = Fixture.Agents()
        let workers = try Fixture.fleet(sim, learner: Fixture.learner(maxEnvSteps: 100_000), agents: agents)
        try sim.run(until: { (agents.made.first?.updateCount ?? 0) >= 500 })
        sim.kill(workers[2])  // the evaluator: gone without a goodbye
        sim.learnerStopRequest = request
        let stopped = sim.clock.now
        let summary = try sim.runToEnd()
        #expect(summary.stopReason == request.rawValue)
        if request == .launcherExited {
            #expect(sim.clock.now - stopped < 3.5, "stops within the drain: \(sim.clock.now - stopped) s")
            #expect(sim.log.contains("the launcher exited: stopping without a final evaluation"))
        } else {
            // A plain SIGTERM still asks a connected evaluator for the final evaluation, until it has been silent for 10 s.
            #expect(sim.clock.now - stopped > 9, "waits for the evaluator as long as it counts as connected: \(sim.clock.now - stopped) s")
            #expect(sim.log.contains("no final evaluation: the evaluators left"))
        }
        #expect(summary.run.finalEval == nil)
    }

    @Test("what arrives after the stop is checked and counted apart, never trained on: env_steps ends within one message of the limit")
    func nothingTrainedAfterStop() throws {
        let sim = Simulation()
        let agents = Fixture.Agents()
        // Eight environments a worker and a slow final evaluation: the actors keep sending while the evaluator plays.
        try sim.startLearner(configuration: Fixture.learner(maxEnvSteps: 3_000) { $0.training.finalEvalEpisodes = 200 },
                             environment: LearnerEnvironment(spec: Fixture.spec), makeLoop: Fixture.fakeLoop(agents))
        for id in 0..<2 { sim.startWorker(Fixture.worker(UInt32(id)) { $0.environments = 8 }, session: 0x10 + UInt32(id)) }
        sim.startWorker(Fixture.worker(9, role: .evaluator), session: 0x19)
        var insertedAtStop: Int?
        try sim.run(until: {
            if insertedAtStop == nil, sim.learner?.learning?.ingest.afterStop == true { insertedAtStop = sim.learner?.learning?.loop.size }
            return sim.summary != nil
        }, timeout: 600)
        let summary = try #require(sim.summary)
        #expect(summary.run.envSteps >= 3_000 && summary.run.envSteps < 3_000 + 16, "within one message: \(summary.run.envSteps)")
        #expect(summary.transitionsAfterStop > 0, "what the actors sent before the final request reached them is counted")
        #expect(summary.replaySize == summary.transitionsAccepted && summary.replaySize == insertedAtStop, "and none of it reached replay")
        #expect(summary.transitionsAccepted == summary.run.envSteps)
        #expect(summary.workers.reduce(0) { $0 + $1.transitionsAfterStop } == summary.transitionsAfterStop, "per session too")
        for record in summary.workers where record.role == .actor {
            #expect(record.claimed.map { Int($0.transitionsSent) } == record.transitionsReceived + record.transitionsAfterStop + record.transitionsRejected,
                    "an honest worker's claim adds up per session: \(record)")
        }
        #expect(summary.run.finalEval?.episodes == 200)
    }

    @Test("an authorized evaluator that says hello and sends statuses but never answers holds the final evaluation for its patience (15 s), not --final-eval-seconds")
    func silentEvaluator() throws {
        let sim = Simulation()
        try sim.startLearner(configuration: Fixture.learner(maxEnvSteps: 1_500) { $0.learner.drainSeconds = 1 },
                             environment: LearnerEnvironment(spec: Fixture.spec), makeLoop: Fixture.fakeLoop())
        sim.startWorker(Fixture.worker(0), session: 0x10)
        let silent = sim.network.connectWorker()
        var encoder = MessageEncoder(), lastStatus = -Double.infinity, stoppedAt: Double?
        let hello = Hello(workerId: 66, session: 0x66, role: .evaluator, environmentCount: 1, seed: 1, spec: Fixture.spec,
                          token: Simulation.evaluatorToken)
        try sim.run(until: {
            if sim.clock.now - lastStatus >= 3 {
                lastStatus = sim.clock.now
                let status = WorkerStatus(workerId: 66, session: 0x66, isFinal: false, transitionsSent: 0, episodes: 0, messagesSent: 0)
                _ = try? encoder.encode(hello).withUnsafeBytes { try silent.send($0) }
                _ = try? encoder.encode(status).withUnsafeBytes { try silent.send($0) }
            }
            if stoppedAt == nil, sim.learner?.learning?.ingest.afterStop == true { stoppedAt = sim.clock.now }
            return sim.summary != nil
        }, timeout: 120)
        let waited = sim.clock.now - (stoppedAt ?? 0)
        #expect(sim.summary?.run.finalEval == nil)
        #expect(waited < EvaluationSchedule.minimumPatience + 1 + 0.5, "the wait ended with its patience: \(waited) s after the stop")
        #expect(sim.log.contains("no evaluator answered within 15.0 s") || sim.log.contains("no connected evaluator answered"), "\(sim.log.text.suffix(2_000))")
    }

    @Test("a worker whose buffer holds more than one message may carry splits it: no message is rejected, every transition arrives")
    func oversizedBufferIsSplit() throws {
        let sim = Simulation()
        // 4,096 rows a message (the protocol's most) and 3 environments a step: the buffer reaches 4,098 before it is sent.
        try sim.startLearner(configuration: Fixture.learner(maxEnvSteps: 6 * 4_096) { $0.learner.ingestOnly = true },
                             environment: LearnerEnvironment(spec: Fixture.spec), makeLoop: Fixture.fakeLoop())
        let worker = sim.startWorker(Fixture.worker(0) { $0.transitionsPerMessage = 4_096; $0.environments = 3; $0.flushMilliseconds = 10_000 },
                                     session: 0x10)
        let summary = try sim.runToEnd()
        #expect(summary.messagesRejected.isEmpty, "\(summary.messagesRejected)")
        #expect(summary.transitionsSent["0"] == UInt64(summary.transitionsReceived + summary.transitionsAfterStop) && summary.transitionsReceived >= 6 * 4_096)
        #expect(worker.report.map { $0.messagesSent > 6 } == true)
    }
}
