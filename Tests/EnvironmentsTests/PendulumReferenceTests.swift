import Foundation
import Testing
@testable import Environments

/// One recorded gymnasium step (see `gen_pendulum_reference.py` in the reference folder).
struct ReferenceStep: Decodable {
    let t: Int
    let stateBefore: [Double]
    let obsBefore: [Double]
    let action: Double
    let reward: Double
    let obsAfter: [Double]
    let stateAfter: [Double]
    let terminated: Bool
    let truncated: Bool
}

struct ReferenceEpisode: Decodable {
    let seed: Int
    let kind: String
    let steps: [ReferenceStep]
}

struct ReferenceFile: Decodable {
    let episodes: [ReferenceEpisode]
}

/// A folder of reference trajectories named by the environment variable `variable`, else `fallback`;
/// relative paths are taken from the package root.
func referenceDirectory(variable: String = "PENDULUM_REFERENCE_DIR", fallback: String = "../shared/reference") -> URL {
    let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let configured = ProcessInfo.processInfo.environment[variable] ?? fallback
    return configured.hasPrefix("/") ? URL(fileURLWithPath: configured) : packageRoot.appendingPathComponent(configured).standardizedFileURL
}

/// Every episode of every JSON file directly in `directory` (subfolders hold other environments).
func loadReferenceEpisodes(in directory: URL = referenceDirectory()) throws -> [(file: String, episode: ReferenceEpisode)] {
    let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return try files.filter { $0.hasSuffix(".json") }.sorted().flatMap { name in
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        return try decoder.decode(ReferenceFile.self, from: data).episodes.map { (name, $0) }
    }
}

@Suite("Pendulum-v1 against gymnasium's recorded trajectories")
struct PendulumReferenceTests {
    @Test("every recorded step: reward and observation to 1e-5, state to 1e-9")
    func replayTrajectories() throws {
        let episodes = try loadReferenceEpisodes()
        try #require(!episodes.isEmpty, "no trajectories found in \(referenceDirectory().path); set PENDULUM_REFERENCE_DIR")
        var checkedSteps = 0
        var worstState = 0.0, worstReward = 0.0
        var observation = [Float](repeating: 0, count: 3)
        for (file, episode) in episodes {
            var env = Pendulum()
            let label = "\(file) seed \(episode.seed) \(episode.kind)"
            for step in episode.steps {
                // Set the recorded state, keeping the episode clock, so the time limit is checked too.
                env.setState(theta: step.stateBefore[0], thetaDot: step.stateBefore[1], elapsedSteps: step.t)
                env.writeObservation(&observation)
                for i in 0..<3 {
                    #expect(abs(Double(observation[i]) - step.obsBefore[i]) <= 1e-5, "\(label) t \(step.t) obs_before[\(i)]")
                }
                let result = env.step(torque: Float(step.action), observation: &observation)
                worstReward = max(worstReward, abs(result.reward - step.reward))
                worstState = max(worstState, abs(env.theta - step.stateAfter[0]), abs(env.thetaDot - step.stateAfter[1]))
                #expect(abs(result.reward - step.reward) <= 1e-5, "\(label) t \(step.t) reward \(result.reward) vs \(step.reward)")
                for i in 0..<3 {
                    #expect(abs(Double(observation[i]) - step.obsAfter[i]) <= 1e-5, "\(label) t \(step.t) obs_after[\(i)]")
                }
                #expect(abs(env.theta - step.stateAfter[0]) <= 1e-9, "\(label) t \(step.t) theta \(env.theta) vs \(step.stateAfter[0])")
                #expect(abs(env.thetaDot - step.stateAfter[1]) <= 1e-9, "\(label) t \(step.t) thetadot")
                #expect(result.terminated == step.terminated, "\(label) t \(step.t) terminated")
                #expect(result.truncated == step.truncated, "\(label) t \(step.t) truncated")
                checkedSteps += 1
            }
        }
        #expect(checkedSteps >= 200)
        print("checked \(checkedSteps) steps of \(episodes.count) episodes; worst reward error \(worstReward), worst state error \(worstState)")
    }

    @Test("whole episodes replayed from the first state alone stay on the recorded path")
    func freeRunningEpisodes() throws {
        let episodes = try loadReferenceEpisodes()
        try #require(!episodes.isEmpty, "no trajectories found in \(referenceDirectory().path)")
        var observation = [Float](repeating: 0, count: 3)
        for (file, episode) in episodes {
            var env = Pendulum()
            env.setState(theta: episode.steps[0].stateBefore[0], thetaDot: episode.steps[0].stateBefore[1])
            var total = 0.0, recorded = 0.0
            for step in episode.steps {
                total += env.step(torque: Float(step.action), observation: &observation).reward
                recorded += step.reward
            }
            let last = episode.steps[episode.steps.count - 1]
            #expect(abs(env.theta - last.stateAfter[0]) <= 1e-9, "\(file) seed \(episode.seed) \(episode.kind): final theta")
            #expect(abs(total - recorded) <= 1e-6, "\(file) seed \(episode.seed) \(episode.kind): return \(total) vs \(recorded)")
        }
    }
}
