import ArgumentParser
import Foundation
import Specs

/// `--spec-file`: an environment's spec as `ddpg-gym-worker --describe` prints it, which the operator
/// pins instead of letting the first worker's hello decide it. JSON has no infinity: an observation
/// bound of magnitude 1e6 or more (what `--describe` writes for an unbounded one), or the string
/// "inf" or "-inf", means unbounded, as the worker's hello says it. `discrete_actions` n makes the action space
/// Discrete(n) (its bounds then [0] and [n − 1]).
enum SpecFile {
    static func read(_ path: String) throws -> EnvironmentSpec {
        func fail(_ why: String) -> ValidationError { ValidationError("--spec-file: \(path): \(why)") }
        guard let data = FileManager.default.contents(atPath: path) else { throw fail("cannot be read") }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { throw fail("is not a JSON object") }
        func floats(_ key: String, unboundedBeyond limit: Float = .infinity) throws -> [Float] {
            guard let values = object[key] as? [Any] else { throw fail("\(key) is missing or not a list of numbers") }
            return try values.map { value in
                if let text = value as? String, ["inf", "+inf", "-inf"].contains(text.lowercased()) { return text.hasPrefix("-") ? -.infinity : .infinity }
                guard let number = value as? NSNumber, !(value is Bool) else { throw fail("\(key) holds \(value), not a number") }
                let float = number.floatValue
                return abs(float) >= limit ? (float < 0 ? -.infinity : .infinity) : float
            }
        }
        func bound(_ key: String, default value: Float) throws -> Float {
            guard let raw = object[key], !(raw is NSNull) else { return value }
            guard let number = raw as? NSNumber, !(raw is Bool) else { throw fail("\(key) is \(raw), not a number") }
            return number.floatValue
        }
        guard let id = object["id"] as? String else { throw fail("id is missing or not a string") }
        guard let steps = object["max_episode_steps"] as? Int else { throw fail("max_episode_steps is missing or not an integer") }
        let unbounded = EnvironmentSpec.maxMagnitude
        var spec = EnvironmentSpec(id: id, observationLow: try floats("observation_low", unboundedBeyond: unbounded),
                                   observationHigh: try floats("observation_high", unboundedBeyond: unbounded),
                                   actionLow: try floats("action_low"), actionHigh: try floats("action_high"),
                                   rewardLow: try bound("reward_low", default: -.infinity), rewardHigh: try bound("reward_high", default: .infinity),
                                   maxEpisodeSteps: steps)
        if let raw = object["discrete_actions"], !(raw is NSNull) {
            guard let n = raw as? Int, !(raw is Bool) else { throw fail("discrete_actions is \(raw), not a whole number") }
            spec.discreteActions = n
        }
        for (key, size) in [("observation_size", spec.observationSize), ("action_size", spec.actionSize)] {
            if let stated = object[key] as? Int, stated != size { throw fail("\(key) is \(stated), but the bounds have \(size) values") }
        }
        if let problem = spec.problem { throw fail(problem) }
        return spec
    }
}
