import Evaluation
import DDPG
import Environments
import Foundation
import Testing
import RunRecords
@testable import Training

func shortRun(seed: UInt64 = 4) -> TrainingConfiguration {
    var c = TrainingConfiguration()
    c.seed = seed
    c.maxEnvSteps = 1_200
    c.randomSteps = 300
    c.learningStarts = 300
    c.evalEvery = 400
    c.evalEpisodes = 3
    c.finalEvalEpisodes = 4
    c.replayCapacity = 10_000
    c.agent.actorHiddenSizes = [16, 16]
    c.agent.criticHiddenSizes = [16, 16]
    c.agent.batchSize = 32
    return c
}

/// The summary with every wall-clock field zeroed, for comparing runs.
func timeless(_ summary: RunSummary) throws -> String {
    var s = summary
    s.wallSeconds = 0
    s.eval = s.eval.map { var e = $0; e.wallSeconds = 0; return e }
    s.finalEval?.wallSeconds = 0
    s.solvedAt = s.solvedAt.map { SolvedAt(envSteps: $0.envSteps, wallSeconds: 0) }
    return String(decoding: try RunSummary.encoder().encode(s), as: UTF8.self)
}

@Suite("Single-process training")
struct TrainerTests {
    @Test("same seed, same summary apart from times; another seed differs")
    func reproducible() throws {
        let first = Trainer(configuration: shortRun()).run()
        let second = Trainer(configuration: shortRun()).run()
        let other = Trainer(configuration: shortRun(seed: 5)).run()
        #expect(try timeless(first) == timeless(second))
        #expect(try timeless(first) != timeless(other))
    }

    @Test("counts and evaluations follow the configuration")
    func bookkeeping() {
        let summary = Trainer(configuration: shortRun()).run()
        #expect(summary.envSteps == 1_200)
        #expect(summary.updates == 1_200 - 300 + 1)
        #expect(summary.episodes == 6)
        #expect(summary.eval.map(\.envSteps) == [400, 800, 1_200])
        #expect(summary.eval.allSatisfy { $0.episodes == 3 })
        #expect(summary.finalEval?.episodes == 4)
        #expect(summary.eval.map(\.wallSeconds) == summary.eval.map(\.wallSeconds).sorted())
    }

    @Test("summary.json has the documented keys, with solved_at null when unsolved")
    func summaryFile() throws {
        var config = shortRun()
        config.solvedReturn = 1  // unreachable: Pendulum rewards are never positive
        let summary = Trainer(configuration: config).run()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ddpg-summary-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try summary.write(toDirectory: directory)
        let data = try Data(contentsOf: directory.appendingPathComponent("summary.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        for key in ["env_steps", "updates", "wall_seconds", "eval", "solved_at", "final_eval", "config"] {
            #expect(json[key] != nil, "missing \(key)")
        }
        #expect(json["solved_at"] is NSNull)
        let eval = try #require(json["eval"] as? [[String: Any]])
        for key in ["env_steps", "wall_seconds", "mean_return", "std_return", "episodes"] {
            #expect(eval.first?[key] != nil, "eval entry missing \(key)")
        }
        let config2 = try #require(json["config"] as? [String: Any])
        #expect(config2["seed"] as? Int == 4)
        let decoded = try RunSummary.decoder().decode(RunSummary.self, from: data)
        #expect(decoded.config == config)
    }

    @Test("evaluation is deterministic and independent of the training streams")
    func evaluation() {
        let trainer = Trainer(configuration: shortRun())
        let evaluator = Evaluator(seed: 99) { Environments.Pendulum() }
        let a = evaluator.returns(of: trainer.agent.actor, episodes: 5)
        let b = evaluator.returns(of: trainer.agent.actor, episodes: 5)
        #expect(a == b)
        #expect(Set(a).count == 5, "each evaluation episode starts from its own state")
        #expect(a.allSatisfy { $0 < 0 && $0 > -2_000 })
    }
}

@Suite("Run records survive NaN and absurd settings")
struct RunRecordTests {
    @Test("summary.json writes NaN and infinities as strings and reads them back")
    func nanRoundTrip() throws {
        let bad = EvaluationResult(envSteps: 1_000, wallSeconds: 1, meanReturn: .nan, stdReturn: .infinity, minReturn: -.infinity, maxReturn: .nan, episodes: 2)
        let summary = RunSummary(envSteps: 1_000, updates: 10, episodes: 5, wallSeconds: .nan, eval: [bad], solvedAt: nil, finalEval: bad,
                                 config: TrainingConfiguration())
        let data = try RunSummary.encoder().encode(summary)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"mean_return\" : \"nan\"") && text.contains("\"std_return\" : \"inf\"") && text.contains("\"-inf\""))
        #expect(try JSONSerialization.jsonObject(with: data) is [String: Any], "still valid JSON")
        let decoded = try RunSummary.decoder().decode(RunSummary.self, from: data)
        #expect(decoded.finalEval?.meanReturn.isNaN == true && decoded.finalEval?.stdReturn == .infinity && decoded.eval[0].minReturn == -.infinity)
    }

    @Test("a configuration round-trips through JSON; one that does not act in process leaves its acting settings out")
    func configurationRecord() throws {
        var c = TrainingConfiguration()
        c.environment = "MountainCarContinuous-v0"
        c.noise.sigma = 0.7
        c.untilReturn = 90
        c.agent.actorHiddenSizes = [32, 16]
        let encoder = RunSummary.encoder(), decoder = RunSummary.decoder()
        #expect(try decoder.decode(TrainingConfiguration.self, from: encoder.encode(c)) == c)
        c.actsInProcess = false
        let data = try encoder.encode(c)
        let keys = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any]).keys
        #expect(!keys.contains("noise") && !keys.contains("random_steps") && !keys.contains("updates_per_step") && keys.contains("agent"))
        #expect(try decoder.decode(TrainingConfiguration.self, from: data).actsInProcess == false)
        // A record from before `until_return` existed still reads, with the defaults for what it lacks.
        let old = try decoder.decode(TrainingConfiguration.self, from: Data(#"{"environment": "Pendulum-v1", "seed": 3}"#.utf8))
        #expect(old.seed == 3 && old.untilReturn == nil && old.maxEnvSteps == TrainingConfiguration().maxEnvSteps)
    }

    @Test("a replay capacity beyond this machine's memory, or a run that ends before learning starts, is refused by name")
    func absurdSettings() {
        var c = TrainingConfiguration()
        let spec = Pendulum().spec
        c.replayCapacity = 100_000_000_000_000
        #expect(throws: ConfigurationError.self) { try c.validate(spec: spec) }
        do {
            try c.validate(spec: spec)
        } catch {
            #expect(error.field == "replayCapacity" && error.message.contains("41 bytes each") && error.message.contains("PiB"), "\(error)")
        }
        #expect((try? c.validate()) != nil, "without a spec, the replay's size is checked once the spec is known")
        c.replayCapacity = .max
        #expect((try? c.validate(spec: spec)) == nil, "a capacity whose byte count overflows is refused too")
        c = TrainingConfiguration()
        c.learningStarts = 100_000_000
        do {
            try c.validate()
            Issue.record("learning starts after the run ends")
        } catch {
            #expect(error.field == "learningStarts" && error.message.contains("before its first update"))
        }
        #expect((try? c.validate(trains: false)) != nil, "an ingest-only learner never trains anyway")
    }
}
