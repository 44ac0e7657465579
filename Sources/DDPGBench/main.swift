import Tensors
import CBLAS
import Agents
import Policy
import Environments
import Foundation
import KernelSelection
import NeuralNetwork
import Randomness
import Replay

// Learner micro-benchmarks. Prints one JSON object per line:
// {"name": ..., "value": ..., "unit": ...}. Run through scripts/bench-learner.sh.

let usage = """
    usage: ddpg-bench [--quick] [--only SUBSTRING] [--default-kernels] [--fixed-updates N]
                      [--ingest [--curve] | --broadcast | --checkpoint-stall | --monitoring-overhead | --worker-throughput]
    Without a mode flag: the kernels, the update rates and the environments, a few minutes on one core.
    """
// A flag it does not know would otherwise run the whole suite: minutes of a core taken by a typo or a --help.
do {
    let flags: Set = ["--quick", "--default-kernels", "--ingest", "--curve", "--broadcast",
                      "--checkpoint-stall", "--monitoring-overhead", "--worker-throughput"]
    var arguments = CommandLine.arguments.dropFirst()
    while let argument = arguments.popFirst() {
        if argument == "--help" || argument == "-h" { print(usage); exit(0) }
        if argument == "--only", arguments.popFirst() != nil { continue }
        if argument == "--fixed-updates", (arguments.popFirst().flatMap({ Int($0) }) ?? 0) > 0 { continue }
        guard flags.contains(argument) else {
            let problem = switch argument {
            case "--only": "--only needs a substring of the benchmarks' names"
            case "--fixed-updates": "--fixed-updates needs a positive count"
            default: "unknown argument '\(argument)'"
            }
            FileHandle.standardError.write(Data("ddpg-bench: \(problem)\n\(usage)\n".utf8))
            exit(2)
        }
    }
}

if !CommandLine.arguments.contains("--default-kernels") { KernelSelection.selectAtStartup() }
BLAS.setThreadCount(1)
// As `ddpg` does: denormal floats flushed to zero on the thread that computes.
Denormals.flushToZero()
print("{\"name\": \"openblas_core\", \"value\": \"\(BLAS.coreName)\", \"unit\": \"\"}")
if let choice = KernelSelection.report.openblasChoice {
    print("{\"name\": \"openblas_own_choice\", \"value\": \"\(choice)\", \"unit\": \"\"}")
}
let clock = ContinuousClock()
let quick = CommandLine.arguments.contains("--quick")
/// `--only SUBSTRING` runs just the benchmarks whose name contains it (for profiling one shape).
let only: String? = CommandLine.arguments.firstIndex(of: "--only").flatMap {
    $0 + 1 < CommandLine.arguments.count ? CommandLine.arguments[$0 + 1] : nil
}
func selected(_ name: String) -> Bool { only.map { name.contains($0) } ?? true }

func report(_ name: String, _ value: Double, _ unit: String) {
    let rounded = (value * 100).rounded() / 100
    print("{\"name\": \"\(name)\", \"value\": \(rounded), \"unit\": \"\(unit)\"}")
    fflush(nil)
}

/// Runs `body` repeatedly for at least `seconds` after a warm-up and returns calls per second.
func rate(seconds: Double, warmup: Int = 20, _ body: () -> Void) -> Double {
    for _ in 0..<warmup { body() }
    var calls = 0
    let start = clock.now
    var elapsed = 0.0
    repeat {
        for _ in 0..<10 { body() }
        calls += 10
        let d = clock.now - start
        elapsed = d.seconds
    } while elapsed < seconds
    return Double(calls) / elapsed
}

let seconds = quick ? 0.5 : 3.0

/// `--ingest`: learner ingest from 1, 2, 4 and 8 synthetic senders (runs the real `ddpg learner`).
if CommandLine.arguments.contains("--ingest") {
    var port = 19_555
    let curve = CommandLine.arguments.contains("--curve")
    for senders in [1, 2, 4, 8] {
        let (rate, cpu) = try DistributedBenchmarks.ingest(senders: senders, seconds: quick ? 1 : 3, perMessage: 1_024, port: port, curve: curve)
        report("learner_ingest_\(senders)_senders\(curve ? "_curve" : "")", rate, "transitions/s")
        // The learner's own cost, which the sender-side rate above hides when two cores are shared.
        report("learner_ingest_cpu_\(senders)_senders\(curve ? "_curve" : "")", cpu, "ns/transition")
        port += 2
    }
    exit(0)
}

/// `--broadcast`: publish-to-applied latency of [256,256] actor weights in a worker, at the default
/// samples-per-insert ratio (the worker spends most of its time pushed back by the learner).
if CommandLine.arguments.contains("--broadcast") {
    let stats = try DistributedBenchmarks.workerReport(
        learnerArguments: ["--actor-hidden", "256,256", "--critic-hidden", "256,256", "--batch-size", "256", "--broadcast-every", "10",
                           "--learning-starts", "1000"],
        workerArguments: [], seconds: quick ? 5 : 15, port: 19_655)
    let latency = stats["weights_latency_milliseconds"] as? [String: Double] ?? [:]
    for key in ["p50", "p90", "p99"] { report("weights_latency_256x256_\(key)", latency[key] ?? .nan, "ms") }
    report("weights_applied_256x256", Double(stats["weights_applied"] as? Int ?? 0), "versions")
    exit(0)
}

/// `--worker-throughput`: env steps/s of one worker, actor inference included, with N environments
/// acting through one batched forward pass, against a learner that trains without rate limiting.
if CommandLine.arguments.contains("--worker-throughput") {
    var port = 19_755
    for environments in [1, 16, 64, 256] {
        let stats = try DistributedBenchmarks.workerReport(
            learnerArguments: ["--samples-per-insert", "0", "--learning-starts", "1000", "--replay-capacity", "1000000"],
            workerArguments: ["--envs-per-worker", "\(environments)", "--transitions-per-message", "\(max(64, environments * 16))"],
            seconds: quick ? 4 : 10, port: port)
        report("worker_env_steps_\(environments)_envs", stats["env_steps_per_second"] as? Double ?? .nan, "steps/s")
        port += 2
    }
    exit(0)
}

/// `--monitoring-overhead`: learner updates/s with monitoring off and on, in alternating runs
/// so that drift of the machine falls on both alike.
if CommandLine.arguments.contains("--monitoring-overhead") {
    let runs = quick ? 2 : 4, seconds = quick ? 4.0 : 10.0
    var off: [Double] = [], on: [Double] = []
    for run in 0..<runs {
        let port = 19_855 + 4 * run
        // Alternate which goes first, so neither always runs on a warmer machine.
        for monitoring in run.isMultiple(of: 2) ? [false, true] : [true, false] {
            let rate = try DistributedBenchmarks.learnerUpdateRate(monitoring: monitoring, seconds: seconds, scrapesPerSecond: 10, port: port)
            report("learner_updates_monitoring_\(monitoring ? "on" : "off")_run\(run + 1)", rate, "updates/s")
            if monitoring { on.append(rate) } else { off.append(rate) }
        }
    }
    let meanOff = off.reduce(0, +) / Double(off.count), meanOn = on.reduce(0, +) / Double(on.count)
    report("learner_updates_monitoring_off_mean", meanOff, "updates/s")
    report("learner_updates_monitoring_on_mean", meanOn, "updates/s")
    report("monitoring_overhead", (meanOff - meanOn) / meanOff * 100, "%")
    exit(0)
}

/// `--checkpoint-stall`: what a [256,256] checkpoint costs the learner's training loop.
if CommandLine.arguments.contains("--checkpoint-stall") {
    for (name, value, unit) in try DistributedBenchmarks.checkpointStall(seconds: quick ? 4 : 12, port: 19_955) {
        report(name, value, unit)
    }
    exit(0)
}

/// `--fixed-updates N`: run exactly N [64,64] updates (after building everything) and exit,
/// so that scripts/check-allocations.sh can count heap allocations per update under valgrind.
if let index = CommandLine.arguments.firstIndex(of: "--fixed-updates"), index + 1 < CommandLine.arguments.count,
   let count = Int(CommandLine.arguments[index + 1]) {
    var config = AgentConfiguration()
    config.batchSize = 256
    var generator = Xoshiro256(seed: 7)
    let agent = DDPGAgent(observationSize: 3, actionSize: 1, actionBound: 2, configuration: config, using: &generator)
    let replay = ReplayBuffer(capacity: 1_000, observationSize: 3, actionSize: 1)
    for i in 0..<1_000 {
        let f = Float(i % 17) / 17
        replay.add(observation: [f, 1 - f, f], action: [f], reward: -f, nextObservation: [1 - f, f, f], terminated: false, truncated: false)
    }
    let batch = TransitionBatch(capacity: 256, observationSize: 3, actionSize: 1)
    for _ in 0..<count {
        replay.sample(256, into: batch, using: &generator)
        agent.update(batch)
    }
    exit(0)
}

// 1. The sgemm ceiling, at the shape of a [256,256] hidden layer on a batch of 256.
/// GFLOP/s of one-threaded sgemm at 256³, over `seconds`.
func sgemmRate(seconds: Double) -> Double {
    let n = 256
    let a = Matrix(rows: n, columns: n, fill: 0.5), b = Matrix(rows: n, columns: n, fill: 0.25), c = Matrix(rows: n, columns: n)
    let calls = rate(seconds: seconds) { BLAS.gemm(a.view, b.view, into: c.view) }
    return calls * 2 * Double(n * n * n) / 1e9
}
if selected("sgemm") {
    report("sgemm_256x256x256", sgemmRate(seconds: seconds), "GFLOP/s")
}

/// Floating-point operations one DDPG update executes, counted from the GEMMs it runs.
func updateFlops(_ agent: DDPGAgent, batch: Int) -> Double {
    func products(_ net: MLP) -> [(main: Int, aux: Int, out: Int)] {
        net.layers.map { ($0.mainInputSize, $0.auxiliaryInputSize, $0.outputSize) }
    }
    let actor = products(agent.actor.network), critic = products(agent.critic)
    let actionLayer = agent.configuration.criticActionLayer
    let forwardActor = actor.reduce(0) { $0 + ($1.main + $1.aux) * $1.out }
    let forwardCritic = critic.reduce(0) { $0 + ($1.main + $1.aux) * $1.out }
    // Backward with weight gradients: one GEMM for dW per layer, one for dX per layer above the first.
    let criticBackward = forwardCritic + critic.dropFirst().reduce(0) { $0 + $1.main * $1.out }
    let actorBackward = forwardActor + actor.dropFirst().reduce(0) { $0 + $1.main * $1.out }
    // dQ/da: input gradients of the layers above the action's, and the action columns at its layer.
    let actionGradient = critic.enumerated().reduce(0) { sum, item in
        let (index, layer) = item
        if index > actionLayer { return sum + layer.main * layer.out }
        if index == actionLayer { return sum + layer.aux * layer.out }
        return sum
    }
    let macs = forwardActor + forwardCritic      // targets
        + forwardCritic + criticBackward           // critic step
        + forwardActor + forwardCritic + actionGradient + actorBackward  // actor step
    return 2 * Double(macs * batch)
}

/// Floating-point operations of the textbook update that PyTorch's autograd runs (CleanRL, SB3):
/// the actor step's backward pass through the critic also computes the critic's weight gradients,
/// which are then thrown away. The issue tracker's "sgemm bound" counts these.
func nominalUpdateFlops(_ agent: DDPGAgent, batch: Int) -> Double {
    let criticWeightGradients = agent.critic.layers.reduce(0) { $0 + ($1.mainInputSize + $1.auxiliaryInputSize) * $1.outputSize }
    return updateFlops(agent, batch: batch) + 2 * Double(criticWeightGradients * batch)
}

// 2. Updates per second, with replay sampling, for the shapes the issue names.
for hidden in [[256, 256], [400, 300], [64, 64]] where selected("update_b256_" + hidden.map(String.init).joined(separator: "x")) {
    var config = AgentConfiguration()
    config.actorHiddenSizes = hidden
    config.criticHiddenSizes = hidden
    config.batchSize = 256
    var generator = Xoshiro256(seed: 7)
    let agent = DDPGAgent(observationSize: 3, actionSize: 1, actionBound: 2, configuration: config, using: &generator)
    let replay = ReplayBuffer(capacity: 100_000, observationSize: 3, actionSize: 1)
    var env = Pendulum()
    var obs = [Float](repeating: 0, count: 3), next = [Float](repeating: 0, count: 3)
    env.reset(using: &generator, observation: &obs)
    for _ in 0..<20_000 {
        let action: [Float] = [generator.nextUniform(-2, 2)]
        let result = env.step(action, observation: &next)
        replay.add(observation: obs, action: action, reward: Float(result.reward), nextObservation: next,
                   terminated: result.terminated, truncated: result.truncated)
        if result.isDone { env.reset(using: &generator, observation: &next) }
        swap(&obs, &next)
    }
    let batch = TransitionBatch(capacity: 256, observationSize: 3, actionSize: 1)
    // The bound is sgemm's rate measured just before and just after, so that clock drift
    // of the machine (turbo, neighbours) falls on both alike.
    let before = sgemmRate(seconds: seconds / 3)
    let updates = rate(seconds: seconds) {
        replay.sample(256, into: batch, using: &generator)
        agent.update(batch)
    }
    let bound = (before + sgemmRate(seconds: seconds / 3)) / 2
    let shape = hidden.map(String.init).joined(separator: "x")
    let gflops = updates * updateFlops(agent, batch: 256) / 1e9
    report("update_b256_\(shape)", updates, "updates/s")
    report("update_b256_\(shape)_gflops", gflops, "GFLOP/s")
    report("update_b256_\(shape)_sgemm_bound", bound * 1e9 / updateFlops(agent, batch: 256), "updates/s")
    report("update_b256_\(shape)_fraction_of_bound", gflops / bound * 100, "%")
    let nominalBound = bound * 1e9 / nominalUpdateFlops(agent, batch: 256)
    report("update_b256_\(shape)_nominal_sgemm_bound", nominalBound, "updates/s")
    report("update_b256_\(shape)_fraction_of_nominal_bound", updates / nominalBound * 100, "%")
}

// 2b. The algorithms and options of issue 14 at HalfCheetah's shapes (17 observations, 6 actions, [400, 300], batch 256):
// what TD3, prioritized replay and normalization cost per update against DDPG on uniform replay.
if selected("algorithm_update") {
    let variants: [(name: String, configure: (inout AgentConfiguration) -> Void, prioritized: Bool)] = [
        ("ddpg", { _ in }, false), ("ddpg_per", { _ in }, true), ("td3", { $0.algorithm = .td3 }, false),
        ("td3_per", { $0.algorithm = .td3 }, true), ("ddpg_layer_norm", { $0.actorNormalization = .layer; $0.criticNormalization = .layer }, false),
        ("ddpg_batch_norm", { $0.actorNormalization = .batch; $0.criticNormalization = .batch }, false),
        ("sac", { $0.algorithm = .sac }, false), ("crossq", { $0.algorithm = .crossq }, false),
        ("td3_normalized_observations", { $0.algorithm = .td3; $0.normalizeObservations = true }, false),
    ]
    var generator = Xoshiro256(seed: 9)
    let filled = 200_000
    var rows: [Float] = (0..<(4_096 * 41)).map { _ in generator.nextUniform(Float(-1), 1) }
    for variant in variants {
        var config = AgentConfiguration()
        config.actorHiddenSizes = [400, 300]
        config.criticHiddenSizes = [400, 300]
        config.batchSize = 256
        variant.configure(&config)
        let agent = makeAgent(observationSize: 17, actionLow: Array(repeating: -1, count: 6), actionHigh: Array(repeating: 1, count: 6),
                              configuration: config, using: &generator)
        let replay = ReplayBuffer(capacity: 1_000_000, observationSize: 17, actionSize: 6,
                                  prioritization: variant.prioritized ? PrioritizationConfiguration() : nil)
        for i in 0..<filled {
            let base = (i % 4_000) * 41
            rows.withUnsafeBufferPointer { r in
                replay.add(observation: r.baseAddress! + base, action: r.baseAddress! + base + 17, reward: r[base + 23],
                           nextObservation: r.baseAddress! + base + 24, terminated: false, truncated: false)
            }
        }
        let batch = TransitionBatch(capacity: 256, observationSize: 17, actionSize: 6)
        let updates = rate(seconds: seconds, warmup: 5) {
            replay.sample(256, into: batch, beta: 0.7, using: &generator)
            agent.update(batch)
            replay.updatePriorities(from: batch)
        }
        report("algorithm_update_\(variant.name)_400x300", updates, "updates/s")
    }
    rows.removeAll()
}

// 2c. Adam over a SAC learner's parameters at [256, 256] on Hopper-v5 (210,184), with 6% of the first moments
// denormal, as a run's were at 12,000 updates: IEEE 754's gradual underflow against flushing to zero (what
// `ddpg` runs with, see Denormals.swift). The moments are restored before every step, so both modes step the same state.
if selected("adam_denormal") {
    let count = 210_184
    var generator = Xoshiro256(seed: 11)
    let weights = ParameterVector(count: count), gradients = ParameterVector(count: count)
    let adam = Adam(parameterCount: count, configuration: .init(learningRate: 3e-4))
    var firstMoment = [Float](repeating: 0, count: count), secondMoment = [Float](repeating: 0, count: count)
    for i in 0..<count {
        weights.values[i] = generator.nextUniform(Float(-0.1), 0.1)
        let dead = generator.nextUniform(0.0, 1.0) < 0.06
        // A dead unit's weights: no gradient, a first moment decayed below 2⁻¹²⁶, a second moment not yet.
        gradients.values[i] = dead ? 0 : generator.nextUniform(Float(-1e-3), 1e-3)
        // From bits: arithmetic here runs flushed, and would make 0 of it.
        firstMoment[i] = dead ? Float(bitPattern: UInt32(generator.next() % 0x7F_FFFF) + 1) : generator.nextUniform(Float(-1e-4), 1e-4)
        secondMoment[i] = dead ? 1e-12 : generator.nextUniform(Float(1e-8), 1e-6)
    }
    for flushed in [false, true] {
        Denormals.flushToZero(flushed)
        let steps = rate(seconds: seconds) {
            adam.firstMoment.values.update(from: firstMoment, count: count)
            adam.secondMoment.values.update(from: secondMoment, count: count)
            adam.update(weights, gradients: gradients)
        }
        report("adam_step_210k_6pct_denormal_\(flushed ? "flushed" : "ieee")", steps, "steps/s")
    }
    Denormals.flushToZero()
}

// 3. Raw Pendulum steps per second (observation included), actions cycling through a fixed table.
if selected("pendulum") {
    var env = Pendulum()
    var generator = Xoshiro256(seed: 3)
    let observation = UnsafeMutablePointer<Float>.allocate(capacity: 3)
    env.reset(using: &generator, observation: observation)
    let table = (0..<1024).map { _ in generator.nextUniform(Float(-2.5), 2.5) }
    var checksum = 0.0
    var t = 0
    let stepsPerCall = 10_000
    let calls = rate(seconds: seconds, warmup: 2) {
        for _ in 0..<stepsPerCall {
            let result = env.step(torque: table[t & 1023], observation: observation)
            checksum += result.reward
            t &+= 1
            if result.truncated { env.setState(theta: Double(observation[1]), thetaDot: 0) }
        }
    }
    report("pendulum_steps", calls * Double(stepsPerCall), "steps/s")
    if checksum == 42 { print("") }  // keeps the loop's result observable
    observation.deallocate()
}

// 4. Actor inference, one observation and a batch of 64.
for hidden in [[64, 64], [256, 256]] where selected("actor_forward") {
    var generator = Xoshiro256(seed: 5)
    let network = MLP(Actor.architecture(observationSize: 3, actionSize: 1, hiddenSizes: hidden), using: &generator)
    let actor = Actor(network: network, actionBound: 2, inferenceCapacity: 64)
    let observations = (0..<(64 * 3)).map { _ in generator.nextUniform(Float(-1), 1) }
    var actions = [Float](repeating: 0, count: 64)
    let shape = hidden.map(String.init).joined(separator: "x")
    let single = rate(seconds: seconds / 2) { actor.act(observations: observations, count: 1, actions: &actions) }
    report("actor_forward_b1_\(shape)", single, "forwards/s")
    let batched = rate(seconds: seconds / 2) { actor.act(observations: observations, count: 64, actions: &actions) }
    report("actor_forward_b64_\(shape)", batched, "forwards/s")
    report("actor_forward_b64_\(shape)_observations", batched * 64, "observations/s")
}
