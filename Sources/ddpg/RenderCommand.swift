import ArgumentParser
import Checkpoint
import Environments
import Foundation
import Plotting
import Policy
import Randomness
import RunRecords

struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "A video of a checkpoint's actor playing its environment: MP4 or GIF of any environment, or Pendulum's own GIF or SVG.",
        discussion: """
            Pendulum-v1 to .gif or .svg is drawn by ddpg itself: the pendulum, the torque and the running return, in real time \
            (50 ms a step); --frame N writes a still of step N. So are MountainCarContinuous-v0 and CartPole-v1 to .gif. Everything else (any environment to .mp4, any other to .gif) is \
            played by gymnasium with render_mode="rgb_array" through the Python package under --python \
            (python -m ddpg_gym.render; pip install "./python[render]"), its episode k reset with seed + k.
            """
    )

    @OptionGroup var source: CheckpointArgument

    @Option(parsing: .unconditional, help: "Output file: .mp4 or .gif (any environment), or .svg (Pendulum-v1).")
    var out = "swing.gif"

    @Option(parsing: .unconditional, help: "Seed of the first episode's initial state (Pendulum's GIF and SVG: the same as episode 0 of `ddpg eval --seed`).")
    var seed: UInt64 = 12_345

    @Option(parsing: .unconditional, help: "Episodes to play, one after another (gymnasium's renderer).")
    var episodes = 1

    @Option(parsing: .unconditional, help: "Cut each episode at this many steps (gymnasium's renderer; default: the environment's limit).")
    var maxSteps: Int?

    @Option(parsing: .unconditional, help: "Write a still of this step (1-based) instead of the animation (Pendulum's GIF and SVG).")
    var frame: Int?

    @Option(parsing: .unconditional, help: "The interpreter with the ddpg_gym package, gymnasium and imageio, for gymnasium's renderer.")
    var python = "python3"

    private var videoFormat: String { URL(fileURLWithPath: out).pathExtension.lowercased() }

    func validate() throws {
        guard ["gif", "svg", "mp4"].contains(videoFormat) else {
            throw ValidationError("--out: '\(out)' must end in .mp4, .gif or .svg")
        }
        guard (1...10_000).contains(episodes) else { throw ValidationError("--episodes: must be in 1...10000, got \(episodes)") }
        if let maxSteps, maxSteps < 1 { throw ValidationError("--max-steps: must be at least 1, got \(maxSteps)") }
        let steps = Pendulum().maxEpisodeSteps
        if let frame, !(1...steps).contains(frame) {
            throw ValidationError("--frame: must be in 1...\(steps), got \(frame)")
        }
    }

    func run() throws {
        let (checkpoint, agent, file) = try source.load()
        let native = NativeEnvironments.type(named: checkpoint.header.environment)
        if native != nil, videoFormat != "mp4", episodes == 1, maxSteps == nil {
            let type = try checkpoint.header.nativeEnvironment(file: file)
            if type == Pendulum.self { return try drawPendulum(agent.actor, checkpoint: checkpoint, file: file) }
            if videoFormat == "gif", frame == nil, let bytes = Self.drawClassicControl(type, actor: agent.actor, seed: seed) {
                try writeOutput(Data(bytes.gif), to: out)
                print("\(out): \(bytes.steps) steps of \(file.lastPathComponent), return \(format(bytes.total))")
                return
            }
        }
        guard videoFormat != "svg" else {
            throw ValidationError("--out: an SVG animation is drawn for \(Pendulum.id) alone, over one episode; use .mp4 or .gif")
        }
        guard frame == nil else { throw ValidationError("--frame: stills are drawn for \(Pendulum.id) alone, as .gif or .svg") }
        let document = ActorExport.document(actor: agent.actor, header: checkpoint.header)
        let arguments = ["--env", checkpoint.header.environment, "--out", out, "--episodes", "\(episodes)", "--seed", "\(seed)"]
            + (maxSteps.map { ["--max-steps", "\($0)"] } ?? [])
        // Its progress lines go straight to the terminal while frames are drawn and encoded.
        let status = try PythonProcess.run(python: python, module: "ddpg_gym.render", document: document, name: file.path, arguments: arguments,
                                           capturing: false).status
        guard status == 0 else {
            throw ValidationError("render: \(python) -m ddpg_gym.render failed (status \(status)); its error is above (with no ddpg_gym: `\(python) -m pip install \"./python[render]\"`)")
        }
    }

    /// MountainCarContinuous-v0 and CartPole-v1 drawn by ddpg's own rasterizer: one episode from `seed`, as `ddpg eval --seed`
    /// plays its first; nil for another environment.
    static func drawClassicControl(_ type: any Environment.Type, actor: Policy.Actor, seed: UInt64) -> (gif: [UInt8], steps: Int, total: Double)? {
        func play<Env: Environment>(_: Env.Type) -> (observations: [[Float]], actions: [Float], rewards: [Double]) {
            var environment = Env()
            var observation = [Float](repeating: 0, count: environment.observationSize)
            var action = [Float](repeating: 0, count: environment.actionSize)
            var generator = Xoshiro256(seed: seed, stream: 0)
            environment.reset(using: &generator, observation: &observation)
            var episode: (observations: [[Float]], actions: [Float], rewards: [Double]) = ([], [], [])
            while true {
                actor.act(observations: observation, count: 1, actions: &action)
                let result = environment.step(action, observation: &observation)
                episode.observations.append(observation)
                episode.actions.append(action[0])
                episode.rewards.append(result.reward)
                if result.isDone { return episode }
            }
        }
        func running(_ rewards: [Double]) -> [Double] { rewards.reduce(into: []) { $0.append(($0.last ?? 0) + $1) } }
        if type == MountainCarContinuous.self {
            let episode = play(MountainCarContinuous.self), returns = running(episode.rewards)
            let frames = episode.observations.indices.map {
                MountainCarFrame(position: Double(episode.observations[$0][0]), force: Double(max(-1, min(1, episode.actions[$0]))), runningReturn: returns[$0])
            }
            return (ClassicControlAnimation.mountainCarGIF(frames), frames.count, returns.last ?? 0)
        }
        if type == CartPole.self {
            let episode = play(CartPole.self), returns = running(episode.rewards)
            let frames = episode.observations.indices.map {
                CartPoleFrame(x: Double(episode.observations[$0][0]), theta: Double(episode.observations[$0][2]), push: Int(episode.actions[$0]),
                              runningReturn: returns[$0])
            }
            return (ClassicControlAnimation.cartPoleGIF(frames), frames.count, returns.last ?? 0)
        }
        return nil
    }

    /// Pendulum-v1 drawn by ddpg's own rasterizer: one episode from `seed`, as `ddpg eval --seed` plays its first.
    private func drawPendulum(_ actor: Policy.Actor, checkpoint: LearnerCheckpoint, file: URL) throws {
        var environment = Pendulum()
        var observation = [Float](repeating: 0, count: environment.observationSize)
        var action = [Float](repeating: 0, count: environment.actionSize)
        var generator = Xoshiro256(seed: seed, stream: 0)
        environment.reset(using: &generator, observation: &observation)
        var frames: [PendulumFrame] = []
        var total = 0.0
        while true {
            actor.act(observations: observation, count: 1, actions: &action)
            let result = environment.step(action, observation: &observation)
            total += result.reward
            frames.append(PendulumFrame(theta: atan2(Double(observation[1]), Double(observation[0])),
                                        torque: Double(max(-environment.actionBound, min(environment.actionBound, action[0]))),
                                        runningReturn: total))
            if result.isDone { break }
        }
        let title = "\(checkpoint.header.environment) · \(checkpoint.header.envSteps) env steps · return \(format(total))"
        let still = frame.map { $0 - 1 }
        let bytes = out.lowercased().hasSuffix(".gif")
            ? Data(SwingUpAnimation.gif(frames, secondsPerStep: Pendulum.dt, maxTorque: Double(environment.actionBound), frame: still))
            : Data(SwingUpAnimation.svg(frames, secondsPerStep: Pendulum.dt, maxTorque: Double(environment.actionBound), title: title, frame: still).utf8)
        try writeOutput(bytes, to: out)
        print("\(out): \(frames.count) steps of \(file.lastPathComponent), return \(format(total))")
    }
}
