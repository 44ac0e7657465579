import DDPGTestSupport
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

@Suite("ddpg train, run as a real process")
struct TrainCommandTests {
    static let badFlags: [(arguments: [String], flag: String)] = [
        (["--replay-capacity=-5"], "--replay-capacity"),
        (["--replay-capacity", "-5"], "--replay-capacity"),
        (["--replay-capacity", "0"], "--replay-capacity"),
        (["--tau", "1.5"], "--tau"),
        (["--tau", "0"], "--tau"),
        (["--noise", "pink"], "--noise"),
        (["--actor-hidden", "64,0"], "--actor-hidden"),
        (["--critic-hidden", "0"], "--critic-hidden"),
        (["--actor-hidden", "64,x"], "--actor-hidden"),
        (["--batch-size", "-1"], "--batch-size"),
        (["--critic-action-layer", "5"], "--critic-action-layer"),
        (["--gamma", "1.5"], "--gamma"),
        (["--env", "Acrobot-v1"], "--env"),
        (["--env", "CartPole-v1"], "--algorithm"),
        (["--algorithm", "a2c", "--env", "CartPole-v1", "--prioritized-replay"], "--prioritized-replay"),
        (["--algorithm", "a2c", "--env", "CartPole-v1", "--noise", "ou"], "--noise"),
        (["--algorithm", "a2c", "--env", "CartPole-v1", "--gae-lambda", "1.5"], "--gae-lambda"),
        (["--algorithm", "a2c", "--env", "CartPole-v1", "--envs", "0"], "--envs"),
        (["--rollout-steps", "8"], "--rollout-steps"),
        (["--max-env-steps", "ten"], "--max-env-steps"),
        (["--no-such-flag"], "--no-such-flag"),
        (["--replay-capacity", "100000000000000"], "--replay-capacity"),
        (["--learning-starts", "30000"], "--learning-starts"),
        (["--until-return", "nan"], "--until-return"),
        (["--algorithm", "ppo"], "--algorithm"),
        (["--algorithm", "sac", "--initial-alpha", "0"], "--initial-alpha"),
        (["--algorithm", "td3", "--policy-delay", "0"], "--policy-delay"),
        (["--prioritized-replay", "--priority-beta", "1.5"], "--priority-beta"),
        (["--noise-sigma", "-0.1"], "--noise-sigma"),
    ]

    @Test("a bad flag value fails with a message naming the flag")
    func badFlags() throws {
        for (arguments, flag) in Self.badFlags {
            let result = try DDPGProcess.run(["train", "--run-dir", DDPGProcess.temporaryDirectory().path] + arguments, timeout: 30)
            #expect(result.status != 0, "\(arguments) should fail")
            #expect(result.stderr.contains(flag), "\(arguments): error should name \(flag), got: \(result.stderr.prefix(300))")
        }
    }

    static let distributedBadFlags: [(arguments: [String], flag: String)] = [
        (["launch", "--workers", "0"], "--workers"),
        (["launch", "--samples-per-insert", "-1"], "--samples-per-insert"),
        (["launch", "--transitions-port", "70000"], "--transitions-port"),
        (["launch", "--weights-port", "5555"], "--weights-port"),
        (["launch", "--noise-sigmas", "0.1,x"], "--noise-sigmas"),
        (["learner", "--broadcast-every", "0"], "--broadcast-every"),
        (["learner", "--tau", "2"], "--tau"),
        (["learner", "--max-observation-dims", "0"], "--max-observation-dims"),
        (["learner", "--max-action-dims", "2000"], "--max-action-dims"),
        (["learner", "--max-reward", "nan"], "--max-reward"),
        (["learner", "--spec-file", "/nonexistent/spec.json"], "--spec-file"),
        (["worker", "--envs-per-worker", "0"], "--envs-per-worker"),
        (["worker", "--weights-port", "0"], "--weights-port"),
        (["worker", "--learner", ""], "--learner"),
        (["worker", "--flush-ms", "-3"], "--flush-ms"),
        (["learner", "--metrics-port", "70000"], "--metrics-port"),
        (["learner", "--console", "fancy"], "--console"),
        (["launch", "--metrics-port", "-1"], "--metrics-port"),
        (["top", "localhost"], "HOST:PORT"),
        (["top", "127.0.0.1:9464", "--interval", "0"], "--interval"),
        (["plot", "/nonexistent-run"], "no summary.json"),
        (["learner", "--bind", "0.0.0.0"], "--insecure"),
        (["launch", "--bind", "0.0.0.0"], "--insecure"),
        (["learner", "--bind", "999.1.1.1"], "--bind"),
        (["learner", "--max-peers", "0"], "--max-peers"),
        (["launch", "--env", "CartPole-v1"], "--algorithm"),
        (["launch", "--env", "CartPole-v1", "--algorithm", "a3c", "--actor-norm", "layer"], "--actor-norm"),
        (["launch", "--env", "CartPole-v1", "--algorithm", "a2c", "--segment-wait", "0"], "--segment-wait"),
        (["worker", "--env", "Acrobot-v1"], "--env"),
        (["worker", "--env", "CartPole-v1"], "--env"),
        (["learner", "--eval-episodes", "1001"], "--eval-episodes"),
        (["learner", "--replay-capacity", "100000000000000"], "--replay-capacity"),
        (["learner", "--learning-starts", "100000000", "--max-env-steps", "20000"], "--learning-starts"),
        (["worker", "--resolve-timeout", "-1"], "--resolve-timeout"),
        (["worker", "--workers", "0"], "--workers"),
        (["launch", "--target-noise-clip", "-1"], "--target-noise-clip"),
        (["plot", "/tmp", "--out", "curve.pdf"], "--out"),
    ]

    @Test("distributed commands reject bad flag values, naming the flag")
    func distributedBadFlags() throws {
        for (arguments, flag) in Self.distributedBadFlags {
            let result = try DDPGProcess.run(arguments, timeout: 30)
            #expect(result.status != 0, "\(arguments) should fail")
            #expect(result.stderr.contains(flag), "\(arguments): error should name \(flag), got: \(result.stderr.prefix(300))")
        }
    }

    @Test("ddpg info names the BLAS, its kernels and why; a core OpenBLAS mistakes for an old one is replaced")
    func info() throws {
        let result = try DDPGProcess.run(["info", "--json"], timeout: 30)
        #expect(result.status == 0)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let blas = try #require(document["blas"] as? [String: Any])
        let cpu = try #require(document["cpu"] as? [String: Any])
        #expect((blas["library"] as? String)?.hasPrefix("OpenBLAS") == true && blas["threads"] as? Int == 1)
        #expect(cpu["flags"] is [String])
        // Pretend OpenBLAS chose its SSE3 kernels, as it does on recent Intel Xeons.
        let process = Process()
        process.executableURL = DDPGProcess.executable
        process.arguments = ["info", "--json"]
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("DDPG_") && $0.key != "OPENBLAS_CORETYPE" }
            .merging(["OPENBLAS_CORETYPE": "PRESCOTT"]) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let forced = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let forcedBLAS = try #require(forced["blas"] as? [String: Any])
        if let best = cpu["best_kernels"] as? String {
            #expect((forcedBLAS["kernels"] as? String)?.uppercased() == best, "replaced by \(best): \(forcedBLAS)")
            #expect(forcedBLAS["openblas_choice"] as? String == "Prescott")
        } else {
            #expect(forcedBLAS["kernels"] as? String == "Prescott", "a CPU without AVX2 and FMA keeps OpenBLAS's choice")
        }
    }

    @Test("an unusable run directory fails at start, naming it, before any training")
    func unusableRunDirectory() throws {
        let file = DDPGProcess.temporaryDirectory().appendingPathComponent("a-file")
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: file.deletingLastPathComponent()) }
        try Data("x".utf8).write(to: file)
        let run = file.appendingPathComponent("run")
        for command in [["train"], ["learner", "--transitions-port", "1", "--weights-port", "2"], ["launch", "--workers", "1"]] {
            let started = Date()
            let result = try DDPGProcess.run(command + ["--run-dir", run.path, "--max-env-steps", "20000"], timeout: 30)
            #expect(result.status != 0)
            #expect(result.stderr.contains("--run-dir: cannot create '\(run.path)'"), "\(command[0]): \(result.stderr.prefix(300))")
            #expect(Date().timeIntervalSince(started) < 10, "fails before training")
        }
    }

    @Test("a worker whose learner host does not resolve says so and gives up after --resolve-timeout")
    func unresolvableLearner() throws {
        let started = Date()
        let result = try DDPGProcess.run(["worker", "--learner", "no-such-learner.invalid", "--resolve-timeout", "1"], timeout: 30)
        #expect(result.status != 0)
        #expect(result.stderr.contains("cannot resolve learner host 'no-such-learner.invalid'"), "\(result.stderr.prefix(400))")
        #expect(result.stderr.contains("--learner: cannot resolve 'no-such-learner.invalid'"))
        #expect(Date().timeIntervalSince(started) < 15)
    }

    @Test("a learner whose port is taken, or whose address is not this machine's, fails saying which")
    func portTaken() throws {
        let ports = DDPGExecutable.freePorts(2)
        let listener = try #require(DDPGExecutable.silentListener(port: ports[0]))
        defer { close(listener) }
        let directory = DDPGProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let cases: [(bind: String, expected: String)] = [
            ("127.0.0.1", "port \(ports[0]) is already in use"),
            ("999.1.1.1", "'999.1.1.1' is not a valid IPv4 address"),
            ("256.0.0.1", "'256.0.0.1' is not a valid IPv4 address"),
            ("10.255.255.254", "'10.255.255.254' is not an address of this machine"),
            ("nosuchif9", "'nosuchif9' is neither an address of this machine nor a network interface"),
        ]
        for (bind, expected) in cases {
            let result = try DDPGProcess.run(["learner", "--bind", bind, "--insecure", "--transitions-port", "\(ports[0])",
                                              "--weights-port", "\(ports[1])", "--run-dir", directory.path], timeout: 30)
            #expect(result.status != 0)
            #expect(result.stderr.contains(expected), "--bind \(bind): got: \(result.stderr.prefix(300))")
        }
    }

    @Test("a learner whose metrics port is taken fails naming --metrics-port and the address")
    func metricsPortTaken() throws {
        let ports = DDPGExecutable.freePorts(3)
        let listener = try #require(DDPGExecutable.silentListener(port: ports[2]))
        defer { close(listener) }
        let result = try DDPGProcess.run(["learner", "--bind", "127.0.0.1", "--transitions-port", "\(ports[0])", "--weights-port", "\(ports[1])",
                                          "--metrics-port", "\(ports[2])", "--run-dir", DDPGProcess.temporaryDirectory().path], timeout: 30)
        #expect(result.status != 0)
        #expect(result.stderr.contains("--metrics-port") && result.stderr.contains("127.0.0.1:\(ports[2])"), "got: \(result.stderr.prefix(400))")
    }

    @Test("ddpg plot draws a train run's learning curve as SVG")
    func plot() throws {
        let directory = DDPGProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let train = try DDPGProcess.run(["train", "--seed", "1", "--run-dir", directory.path, "--max-env-steps", "3000",
                                         "--eval-every", "1000", "--eval-episodes", "2", "--final-eval-episodes", "2"])
        try #require(train.status == 0, "\(train.stderr)")
        let output = directory.appendingPathComponent("curve.svg")
        let plot = try DDPGProcess.run(["plot", directory.path, "--out", output.path])
        #expect(plot.status == 0, "\(plot.stderr)")
        let svg = try String(contentsOf: output, encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n"))
        for title in ["Return vs environment steps", "Return vs wall-clock time", "Throughput", "final eval"] {
            #expect(svg.contains(title), "the figure has \(title)")
        }
        // Three evaluations in each return panel, each drawn as a marker.
        #expect(svg.components(separatedBy: "<circle").count - 1 >= 6)
        // The XML parses.
        let parser = XMLParser(data: Data(svg.utf8))
        #expect(parser.parse(), "SVG is well-formed XML: \(parser.parserError.map { "\($0)" } ?? "")")
    }

    @Test("a short run writes summary.json, and its return improves")
    func smoke() throws {
        let directory = DDPGProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try DDPGProcess.run([
            "train", "--seed", "2", "--run-dir", directory.path, "--max-env-steps", "6000",
            "--eval-every", "1000", "--eval-episodes", "5", "--final-eval-episodes", "10",
            "--logdir", directory.appendingPathComponent("tensorboard").path,
        ])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("step 1000"), "progress is logged while training")
        #expect(result.stderr.contains("BLAS: OpenBLAS"), "the kernels in use are logged")
        let data = try Data(contentsOf: directory.appendingPathComponent("summary.json"))
        let summary = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let blas = try #require(summary["blas"] as? [String: Any], "summary.json records the BLAS")
        #expect((blas["kernels"] as? String)?.isEmpty == false && blas["threads"] as? Int == 1)
        let evals = try #require(summary["eval"] as? [[String: Any]])
        let returns = evals.compactMap { $0["mean_return"] as? Double }
        #expect(returns.count == 6)
        let final = try #require((summary["final_eval"] as? [String: Any])?["mean_return"] as? Double)
        // Before learning the policy scores about −1200; any real learning lifts it well clear.
        #expect(final > returns[0] + 200, "return should improve: first eval \(returns[0]), final \(final)")
        #expect(summary["env_steps"] as? Int == 6000)
        let config = try #require(summary["config"] as? [String: Any])
        #expect(config["noise"] != nil && config["random_steps"] as? Int == 1000 && config["updates_per_step"] as? Int == 1,
                "train acts itself, so its acting settings are recorded")
        let eventFiles = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("tensorboard").path)
        #expect(eventFiles.count == 1 && eventFiles[0].hasPrefix("events.out.tfevents."), "one TensorBoard event file: \(eventFiles)")
    }

    /// With the action joining the critic after its first hidden layer (the default until issue 27), ∂Q/∂a
    /// started with one sign in every state, the actor saturated within a few hundred updates, and with
    /// n-step targets it stayed pinned at full torque: seed 3 scored −1,517 at every evaluation to 20,000 steps.
    @Test("train --n-step 3 at the defaults solves Pendulum-v1 (seed 3 once stayed pinned at full torque)")
    func nStepSolvesAtTheDefaults() throws {
        let directory = DDPGProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try DDPGProcess.run([
            "train", "--n-step", "3", "--seed", "3", "--run-dir", directory.path, "--max-env-steps", "20000",
            "--eval-every", "1000", "--eval-episodes", "10", "--final-eval-episodes", "10", "--until-return", "-200",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let data = try Data(contentsOf: directory.appendingPathComponent("summary.json"))
        let summary = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let returns = (summary["eval"] as? [[String: Any]] ?? []).compactMap { $0["mean_return"] as? Double }
        #expect(summary["solved_at"] is [String: Any] && (summary["env_steps"] as? Int ?? 20_000) < 20_000, "never reached −200: \(returns)")
        #expect((summary["config"] as? [String: Any]).flatMap { $0["agent"] as? [String: Any] }?["n_step"] as? Int == 3)
    }

    @Test("train runs MountainCarContinuous-v0, and --until-return stops at the first evaluation that reaches it")
    func mountainCarUntilReturn() throws {
        let directory = DDPGProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // An untrained policy scores about 0 on MountainCar (it never reaches the goal): −5 is reached at once.
        let result = try DDPGProcess.run([
            "train", "--env", "MountainCarContinuous-v0", "--run-dir", directory.path, "--max-env-steps", "20000",
            "--eval-every", "1000", "--eval-episodes", "2", "--final-eval-episodes", "3", "--until-return", "-5",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("reached --until-return"), "\(result.stderr.suffix(500))")
        let data = try Data(contentsOf: directory.appendingPathComponent("summary.json"))
        let summary = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(summary["env_steps"] as? Int == 1000, "stopped at the first evaluation, not at --max-env-steps")
        #expect((summary["eval"] as? [[String: Any]])?.count == 1)
        let config = try #require(summary["config"] as? [String: Any])
        #expect(config["environment"] as? String == "MountainCarContinuous-v0")
        #expect(config["solved_return"] as? Double == 90, "gymnasium's threshold for MountainCarContinuous-v0")
        #expect((summary["final_eval"] as? [String: Any])?["env_steps"] as? Int == 1000)
    }

    @Test("the same seed gives the same summary.json apart from times")
    func reproducible() throws {
        func summary(_ seed: Int) throws -> String {
            let directory = DDPGProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let result = try DDPGProcess.run([
                "train", "--seed", "\(seed)", "--run-dir", directory.path, "--max-env-steps", "2000",
                "--learning-starts", "500", "--eval-every", "500", "--final-eval-episodes", "5", "--log-level", "warning",
            ])
            #expect(result.status == 0, "stderr: \(result.stderr)")
            let text = try String(contentsOf: directory.appendingPathComponent("summary.json"), encoding: .utf8)
            // Drop every line that carries a wall-clock time.
            return text.split(separator: "\n").filter { !$0.contains("wall_seconds") }.joined(separator: "\n")
        }
        let first = try summary(3)
        #expect(first.contains("mean_return"))
        #expect(try summary(3) == first)
        #expect(try summary(4) != first)
    }

    @Test("train --algorithm a2c learns CartPole-v1 in 8 environments, and the same seed gives the same run")
    func a2cCartPole() throws {
        func run(_ seed: Int) throws -> (summary: [String: Any], text: String) {
            let directory = DDPGProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let result = try DDPGProcess.run([
                "train", "--algorithm", "a2c", "--env", "CartPole-v1", "--seed", "\(seed)", "--run-dir", directory.path,
                "--max-env-steps", "100000", "--eval-every", "10000", "--eval-episodes", "10", "--final-eval-episodes", "10",
                "--log-level", "warning",
            ])
            #expect(result.status == 0, "stderr: \(result.stderr)")
            let text = try String(contentsOf: directory.appendingPathComponent("summary.json"), encoding: .utf8)
            let summary = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            return (summary, text.split(separator: "\n").filter { !$0.contains("wall_seconds") }.joined(separator: "\n"))
        }
        let (summary, text) = try run(2)
        let config = try #require(summary["config"] as? [String: Any])
        #expect(config["environments"] as? Int == 8 && config["solved_return"] as? Double == 475)
        #expect(config["replay_capacity"] == nil && config["noise"] == nil, "an on-policy run records no replay or noise settings")
        // Over 5 seeds on two CPUs, A2C first reached 475 within 30,000 steps; an untrained policy scores about 20.
        let best = try #require((summary["eval"] as? [[String: Any]])?.compactMap { $0["mean_return"] as? Double }.max())
        #expect(best >= 475, "the best evaluation in 100,000 steps was \(best)")
        #expect(summary["updates"] as? Int == 100_000 / 40, "one update per 8 environments × 5 steps")
        #expect(try run(2).text == text)
    }

    @Test("--help lists every hyperparameter flag")
    func help() throws {
        let result = try DDPGProcess.run(["train", "--help"], timeout: 30)
        #expect(result.status == 0)
        for flag in ["--seed", "--run-dir", "--max-env-steps", "--noise", "--ou-theta", "--ou-dt", "--random-steps",
                     "--hard-target-every", "--critic-loss", "--grad-clip-norm", "--reward-scale", "--reward-shift",
                     "--critic-weight-decay", "--actor-hidden", "--critic-hidden", "--critic-action-layer", "--tau"] {
            #expect(result.stdout.contains(flag), "help should mention \(flag)")
        }
    }
}
