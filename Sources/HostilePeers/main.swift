import Foundation

// ddpg-hostile: a real learner (and one real worker) against hostile peers, then an A3C learner against forged gradients, run by
// scripts/hostile-peers.sh. Prints one line per check and a summary; exits 1 if any check failed.
//
//   ddpg-hostile [--quick] [--gradients-only] [--only NAME]   (NAME: one attack, e.g. session-churn)

signal(SIGPIPE, SIG_IGN)
let quick = CommandLine.arguments.contains("--quick")
// Only the attacks on an A3C learner's gradients.
let gradientsOnly = CommandLine.arguments.contains("--gradients-only")
// One of the attacks on the learner below, by name (then no drain and no A3C learner).
let only = CommandLine.arguments.firstIndex(of: "--only").map { CommandLine.arguments.indices.contains($0 + 1) ? CommandLine.arguments[$0 + 1] : "" }
let ddpg = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("ddpg")

func report(_ outcomes: [Outcome]) {
    for outcome in outcomes {
        print("\(outcome.passed ? "PASS" : "FAIL")  \(outcome.attack): \(outcome.check) — \(outcome.observed)")
        fflush(nil)
    }
}

var outcomes: [Outcome] = []
if !gradientsOnly { do {
    let target = try Target(ddpg: ddpg)
    guard target.waitForStatus(timeout: 60, { $0.updates > 0 && $0.workersConnected >= 1 }) != nil else {
        print("FAIL  set up: the learner did not start training; its log:\n\(target.log.suffix(2_000))")
        exit(1)
    }
    let atStart = target.memory
    var attacks: [(name: String, run: () -> [Outcome])] = [
        ("forged-evaluation", { TrustAttacks.forgedEvaluation(target, seconds: quick ? 6 : 12) }),
        ("bit-flips", { Attacks.overflowAndBitFlips(target, flips: quick ? 5_000 : 20_000) }),
        ("finite-poison", { Attacks.finitePoison(target, seconds: 3) }),
        ("subscription-flood", { Attacks.subscriptionFlood(target, seconds: quick ? 4 : 10) }),
        ("near-maximum-frames", { Attacks.nearMaximumFrames(target, connections: 100, seconds: quick ? 4 : 8) }),
        ("replay", { TrustAttacks.replay(target) }),
        ("over-limit", { TrustAttacks.overLimit(target) }),
        ("hijack", { TrustAttacks.hijack(target, seconds: quick ? 6 : 8) }),
        ("idle-sessions", { TrustAttacks.idleSessions(target, seconds: quick ? 6 : 8) }),
        ("credit-flood", { TrustAttacks.creditFlood(target, seconds: quick ? 6 : 8) }),
        ("reconnecting-credit-flood", { TrustAttacks.reconnectingCreditFlood(target, seconds: quick ? 6 : 8) }),
        ("session-churn", { TrustAttacks.sessionChurn(target, seconds: quick ? 6 : 8) }),
        // Last before the drain: it keeps the metrics port's connections busy for a while.
        ("slowloris", { Attacks.slowloris(target, connections: quick ? 300 : 1_000, seconds: 16) }),
    ]
    // Not an attack: how far the measurement of a rate moves by itself (--only no-attack).
    let calibration: [(name: String, run: () -> [Outcome])] = [("no-attack", { TrustAttacks.noAttack(target, seconds: quick ? 6 : 8) })]
    attacks += only == "no-attack" ? calibration : []
    if let only, !attacks.contains(where: { $0.name == only }) {
        print("FAIL  --only \(only): no such attack; the attacks are \(attacks.map(\.name).joined(separator: ", "))")
        exit(2)
    }
    for attack in attacks where only == nil || attack.name == only {
        let started = Date()
        let result = attack.run()
        report(result)
        print(String(format: "      (%.0f s)", Date().timeIntervalSince(started)))
        outcomes += result
        guard target.isAlive else {
            print("FAIL  the learner died; its log:\n\(target.log.suffix(3_000))")
            exit(1)
        }
    }
    let worst = target.memory
    print(String(format: "learner memory: %.1f MiB resident when the attacks began, %.1f MiB at the worst (peak resident over every attack above)",
                 atStart.rss, worst.peak))
    if outcomes.contains(where: { !$0.passed }) {
        // What the learner said about the failed checks' peers.
        let lines = target.log.split(separator: "\n").filter { $0.contains("rejected message (") || $0.contains("cut off connection") }
        print("learner's rejections (the first 40):\n" + lines.prefix(40).joined(separator: "\n"))
    }
    if only != nil {
        _ = target.stop()
        let failed = outcomes.filter { !$0.passed }
        print("hostile-peers: \(outcomes.count - failed.count) of \(outcomes.count) checks passed")
        exit(failed.isEmpty ? 0 : 1)
    }
    // Last: it stops the learner.
    let drain = Attacks.drainHolder(target, drainSeconds: 5)
    report(drain)
    outcomes += drain
} catch {
    print("FAIL  set up: \(error)")
    exit(1)
} }
// An A3C learner of its own, with a worker that sends gradients: the attacks on gradients.
do {
    let target = try Target(ddpg: ddpg, training: Target.a3c.learner, worker: Target.a3c.worker)
    guard target.waitForStatus(timeout: 60, { $0.updates > 0 && $0.workersConnected >= 1 }) != nil else {
        print("FAIL  set up: the a3c learner did not start training; its log:\n\(target.log.suffix(2_000))")
        exit(1)
    }
    let started = Date()
    let result = GradientAttacks.forgedGradients(target, seconds: 3)
    report(result)
    print(String(format: "      (%.0f s)", Date().timeIntervalSince(started)))
    outcomes += result
    if !target.isAlive { print("FAIL  the a3c learner died; its log:\n\(target.log.suffix(3_000))") }
    _ = target.stop()
} catch {
    print("FAIL  set up of the a3c learner: \(error)")
    exit(1)
}
let failed = outcomes.filter { !$0.passed }
print("hostile-peers: \(outcomes.count - failed.count) of \(outcomes.count) checks passed\(failed.isEmpty ? "" : "; FAILED: " + failed.map { "\($0.attack): \($0.check)" }.joined(separator: "; "))")
exit(failed.isEmpty ? 0 : 1)
