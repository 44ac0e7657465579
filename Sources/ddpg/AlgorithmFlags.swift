import ArgumentParser
import Agents

/// Flags that mean something to one family of algorithms only. Setting one for the other family is a
/// mistake worth naming (`--prioritized-replay` with a2c), not a value to ignore.
enum AlgorithmFlags {
    /// Replay, warm-up, exploration noise and the off-policy update's own hyperparameters.
    static let offPolicyOnly: Set<String> = Set([
        "--replay-capacity", "--prioritized-replay", "--priority-alpha", "--priority-beta", "--priority-epsilon", "--learning-starts",
        "--random-steps", "--updates-per-step", "--critic-action-layer", "--actor-lr", "--critic-lr", "--critic-weight-decay", "--tau",
        "--hard-target-every", "--batch-size", "--critic-loss", "--huber-delta", "--grad-clip-norm", "--reward-scale", "--reward-shift",
        "--final-layer-init", "--n-step", "--noise", "--noise-sigma", "--ou-theta", "--ou-dt",
    ]).union(settingFlags(of: TD3.Settings())).union(settingFlags(of: SAC.Settings()))

    /// A2C's and A3C's settings, and the environments a trainer steps together for them.
    static let onPolicyOnly: Set<String> = settingFlags(of: OnPolicySettings()).union(["--envs"])

    /// The flag of each stored property of `settings`: each setting is an option named like it.
    static func settingFlags(of settings: Any) -> Set<String> {
        Set(Mirror(reflecting: settings).children.compactMap { $0.label.map(flagName(forProperty:)) })
    }
}

/// Throws, naming the first flag `command` sets away from its default that `algorithm` has no use for.
func checkFlagsApply(to algorithm: AlgorithmID, in command: some ParsableArguments) throws {
    guard let chosen = Algorithms.named(algorithm) else { return }
    let foreign = chosen.isOnPolicy ? AlgorithmFlags.offPolicyOnly : AlgorithmFlags.onPolicyOnly
    guard let flag = command.flagsAwayFromDefault.first(where: foreign.contains) else { return }
    let why = chosen.isOnPolicy ? "\(algorithm) learns on-policy, from its current policy's segments: no replay, warm-up, noise or target networks"
        : "it is an on-policy setting (A2C, A3C), and \(algorithm) learns off-policy from replay"
    throw ValidationError("\(flag) does not apply to --algorithm \(algorithm): \(why)")
}
