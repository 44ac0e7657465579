import Acting
import Agents
import CoreDoubles
import Foundation
@testable import Learning
import Randomness
import Specs
import Testing

@Suite("--normalize-observations in a learner and its workers, in memory")
struct ObservationNormalizationLearnerTests {
    final class Made {
        var agent: (any Agent)?
    }

    @Test("the statistics count each accepted transition once, as it arrives, never a replayed one; workers act with what was published")
    func freshTransitionsOnly() throws {
        let sim = Simulation(), made = Made()
        let learner = Fixture.learner { c in
            c.training.agent.algorithm = .td3
            c.training.agent.normalizeObservations = true
            c.training.agent.actorHiddenSizes = [8]
            c.training.agent.criticHiddenSizes = [8]
        }
        try sim.startLearner(configuration: learner, environment: LearnerEnvironment(spec: Fixture.spec)) { spec, c in
            var generator = Xoshiro256(seed: 1)
            let agent = makeAgent(spec: spec, configuration: c.training.agent, using: &generator)
            made.agent = agent
            return ReplayLoop(agent: agent, spec: spec, configuration: c.training, settings: c.learner)
        }
        let workers = [sim.startWorker(Fixture.worker(0), session: 0x10), sim.startWorker(Fixture.worker(1), session: 0x11)]
        let summary = try sim.runToEnd()
        let statistics = try #require(made.agent?.observationStatistics)
        #expect(statistics.count == summary.transitionsAccepted && summary.run.updates > 1_000,
                "\(statistics.count) observed, \(summary.transitionsAccepted) accepted, \(summary.run.updates) updates of 16 rows each")
        #expect(statistics.variance.toArray().contains { $0 > 0 })
        for worker in workers {
            let acting = try #require(worker.core.actor?.observationNormalization)
            #expect(acting.mean.count == Fixture.spec.observationSize && acting.clip == 10)
        }
    }
}
