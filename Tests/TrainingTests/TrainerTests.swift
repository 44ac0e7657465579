import Evaluation
import Agents
import Environments
import Foundation
import Testing
import RunConfiguration
import RunRecords
import Settings
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
    return String(decoding: try RecordFormat.encoder().encode(s), as: UTF8.self)
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
        let decoded = try RecordFormat.decoder().decode(RunSummary.self, from: data)
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
        let data = try RecordFormat.encoder().encode(summary)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"mean_return\" : \"nan\"") && text.contains("\"std_return\" : \"inf\"") && text.contains("\"-inf\""))
        #expect(try JSONSerialization.jsonObject(with: data) is [String: Any], "still valid JSON")
        let decoded = try RecordFormat.decoder().decode(RunSummary.self, from: data)
        #expect(decoded.finalEval?.meanReturn.isNaN == true && decoded.finalEval?.stdReturn == .infinity && decoded.eval[0].minReturn == -.infinity)
    }

    @Test("a configuration round-trips through JSON; one that does not act in process leaves its acting settings out")
    func configurationRecord() throws {
        var c = TrainingConfiguration()
        c.environment = "MountainCarContinuous-v0"
        c.noise.sigma = 0.7
        c.untilReturn = 90
        c.agent.actorHiddenSizes = [32, 16]
        let encoder = RecordFormat.encoder(), decoder = RecordFormat.decoder()
        #expect(try decoder.decode(TrainingConfiguration.self, from: encoder.encode(c)) == c)
        c.actsInProcess = false
        let data = try encoder.encode(c)
        let keys = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any]).keys
        #expect(!keys.contains("noise") && !keys.contains("random_steps") && !keys.contains("updates_per_step") && keys.contains("agent"))
        #expect(try decoder.decode(TrainingConfiguration.self, from: data).actsInProcess == false)
        // An on-policy trainer's record has its environments and no replay or noise, and reads back the same.
        var onPolicy = TrainingConfiguration()
        onPolicy.agent.algorithm = .a2c
        onPolicy.environments = 8
        let onPolicyData = try encoder.encode(onPolicy)
        let onPolicyKeys = try #require(try JSONSerialization.jsonObject(with: onPolicyData) as? [String: Any]).keys
        #expect(onPolicyKeys.contains("environments") && !onPolicyKeys.contains("noise") && !onPolicyKeys.contains("replay_capacity"))
        #expect(try decoder.decode(TrainingConfiguration.self, from: onPolicyData) == onPolicy)
        // A record from before `until_return` existed still reads, with the defaults for what it lacks.
        let old = try decoder.decode(TrainingConfiguration.self, from: Data(#"{"environment": "Pendulum-v1", "seed": 3}"#.utf8))
        #expect(old.seed == 3 && old.untilReturn == nil && old.maxEnvSteps == TrainingConfiguration().maxEnvSteps)
        // One from before algorithms had their own settings kept TD3's beside the shared ones.
        let td3 = try decoder.decode(TrainingConfiguration.self, from: Data(#"""
            {"agent": {"algorithm": "td3", "policy_delay": 3, "target_policy_noise": 0.3, "target_noise_clip": 0.4}}
            """#.utf8))
        #expect(td3.agent.settings(of: TD3.self) == TD3.Settings(policyDelay: 3, targetNoise: 0.3, targetNoiseClip: 0.4))
        let ddpg = try decoder.decode(TrainingConfiguration.self, from: Data(#"{"agent": {"algorithm": "ddpg", "policy_delay": 2}}"#.utf8))
        #expect(ddpg.agent == AgentConfiguration())
        #expect(try decoder.decode(TrainingConfiguration.self, from: encoder.encode(td3)) == td3)
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

@Suite("n-step returns in single-process training")
struct TrainerNStepTests {
    /// The replay's columns after a run that acts at random throughout (so both runs see one trajectory).
    static func columns(nStep: Int) -> [String: [Float]] {
        var c = shortRun()
        c.maxEnvSteps = 450
        c.randomSteps = 450
        c.learningStarts = 450
        c.agent.nStep = nStep
        c.agent.discount = 0.9
        let trainer = Trainer(configuration: c)
        _ = trainer.run()
        var result: [String: [Float]] = [:]
        trainer.replay.forEachColumn { name, raw in
            guard name != "replay_truncated" else { return }
            result[name] = Array(raw.bindMemory(to: Float.self))
        }
        return result
    }

    @Test("the replay holds (s_t, a_t, r_t + γ r_t+1 + γ² r_t+2, s_t+3, γ³) of the one-step trajectory, shorter at each episode's end")
    func threeStepRowsFromOneStepRows() {
        let one = Self.columns(nStep: 1), three = Self.columns(nStep: 3)
        let r = one["replay_rewards"]!, o = one["replay_observations"]!, next = one["replay_next_observations"]!, a = one["replay_actions"]!
        #expect(one["replay_discounts"]!.allSatisfy { $0 == 0.9 } && r.count == 450)
        // Episodes of 200 steps: rows 0...197 have three steps; 198 and 199 two and one, emitted at the truncation.
        #expect(three["replay_rewards"]!.count == 450 - 2, "the last episode's two newest steps are still pending")
        for t in [0, 57, 197, 198, 199, 200, 350] {
            let k = min(3, 200 - t % 200)
            let expected = (0..<k).reduce(Float(0)) { $0 + Float(pow(0.9, Double($1))) * r[t + $1] }
            #expect(abs(three["replay_rewards"]![t] - expected) < 1e-4, "row \(t): \(three["replay_rewards"]![t]) vs \(expected)")
            #expect(abs(three["replay_discounts"]![t] - Float(pow(0.9, Double(k)))) < 1e-6, "row \(t)")
            #expect(Array(three["replay_observations"]![(3 * t)..<(3 * t + 3)]) == Array(o[(3 * t)..<(3 * t + 3)]), "row \(t)")
            #expect(three["replay_actions"]![t] == a[t], "row \(t) keeps the action taken at s_t, not a later one")
            let last = t + k - 1
            #expect(Array(three["replay_next_observations"]![(3 * t)..<(3 * t + 3)]) == Array(next[(3 * last)..<(3 * last + 3)]), "row \(t)")
        }
    }
}
