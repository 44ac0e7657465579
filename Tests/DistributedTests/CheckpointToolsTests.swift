import Checkpoint
import DDPGTestSupport
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

/// Part of the serialized suite, so no two tests that bind loopback ports run at once.
extension DistributedTests {
    @Test("ddpg eval, export and render read the checkpoint a launch leaves behind")
    func checkpointTools() throws {
        let directory = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ports = Harness.freePorts()
        let launch = try DDPGProcess.run([
            "launch", "--workers", "1", "--seed", "2", "--run-dir", directory.path, "--max-env-steps", "6000",
            "--learning-starts", "500", "--eval-every", "2000", "--eval-episodes", "2", "--final-eval-episodes", "2",
            "--bind", "127.0.0.1", "--transitions-port", "\(ports.transitions)", "--weights-port", "\(ports.weights)",
        ], timeout: 60)
        try #require(launch.status == 0, "\(launch.stderr.suffix(1_000))")

        // eval: deterministic, the same numbers twice.
        let eval = try DDPGProcess.run(["eval", directory.path, "--episodes", "5", "--seed", "3", "--json"])
        #expect(eval.status == 0, "\(eval.stderr)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Any])
        let returns = try #require(document["returns"] as? [Double])
        let mean = try #require(document["mean_return"] as? Double)
        #expect(returns.count == 5 && returns.allSatisfy { $0.isFinite && $0 <= 0 })
        #expect(abs(mean - returns.reduce(0, +) / 5) < 1e-9)
        #expect(document["min_return"] as? Double == returns.min() && document["max_return"] as? Double == returns.max())
        #expect(document["env_steps"] as? Int ?? 0 >= 6_000)
        let again = try DDPGProcess.run(["eval", directory.path, "--episodes", "5", "--seed", "3", "--json"])
        #expect(again.stdout == eval.stdout, "same checkpoint, same seed, same result")
        let text = try DDPGProcess.run(["eval", directory.path, "--episodes", "5", "--seed", "3"])
        #expect(text.stdout.contains("5 episodes, seed 3: mean") && text.stdout.contains("min") && text.stdout.contains("max"))

        // export: the JSON actor, loaded by plain Python, acts as the learner's own actor does.
        let actorFile = directory.appendingPathComponent("actor.json")
        let export = try DDPGProcess.run(["export", directory.path, "--out", actorFile.path])
        #expect(export.status == 0, "\(export.stderr)")
        let agent = try #require(try CheckpointStore(directory: CheckpointStore.directory(ofRun: directory)).latestValid()?.checkpoint.makeAgent())
        let observations: [[Float]] = [[1, 0, 0], [-1, 0, 0], [0.6, -0.8, 3.5], [0.1, 0.995, -7.9]]
        var expected = [Float](repeating: 0, count: observations.count)
        agent.actor.act(observations: observations.flatMap { $0 }, count: observations.count, actions: &expected)
        let python = """
            import json, math, sys
            actor = json.load(open(sys.argv[1]))
            f = {"relu": lambda v: max(v, 0.0), "tanh": math.tanh, "identity": lambda v: v}
            for x in json.loads(sys.argv[2]):
                for layer in actor["layers"]:
                    w, b = layer["weights"], layer["bias"]
                    x = [f[layer["activation"]](sum(x[i] * w[i][j] for i in range(len(x))) + b[j]) for j in range(len(b))]
                low, high = actor["action_low"][0], actor["action_high"][0]
                print((high - low) / 2 * x[0] + (high + low) / 2)
            """
        let run = Process()
        run.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        run.arguments = ["python3", "-c", python, actorFile.path, "\(observations)"]
        let pipe = Pipe()
        run.standardOutput = pipe
        try run.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        run.waitUntilExit()
        let actions = output.split(separator: "\n").compactMap { Double($0) }
        try #require(actions.count == observations.count, "python printed: \(output)")
        for (ours, theirs) in zip(expected, actions) { #expect(abs(Double(ours) - theirs) < 1e-4, "\(ours) vs \(theirs)") }

        // render: an animation of the whole episode, or a still.
        let animation = directory.appendingPathComponent("swing.svg")
        let render = try DDPGProcess.run(["render", directory.path, "--out", animation.path])
        #expect(render.status == 0, "\(render.stderr)")
        let svg = try String(contentsOf: animation, encoding: .utf8)
        #expect(XMLParser(data: Data(svg.utf8)).parse(), "well-formed SVG")
        #expect(svg.contains("<animateTransform") && svg.components(separatedBy: "<set ").count - 1 == 200, "one text per step of the 200")
        let still = directory.appendingPathComponent("still.svg")
        let frame = try DDPGProcess.run(["render", directory.path, "--out", still.path, "--frame", "100"])
        let stillSVG = try String(contentsOf: still, encoding: .utf8)
        #expect(frame.status == 0 && !stillSVG.contains("<animate") && stillSVG.contains("step 100 "))
        let gifFile = directory.appendingPathComponent("swing.gif")
        let gif = try DDPGProcess.run(["render", directory.path, "--out", gifFile.path])
        #expect(gif.status == 0, "\(gif.stderr)")
        let gifBytes = Array(try Data(contentsOf: gifFile))
        #expect(gifBytes.starts(with: Array("GIF89a".utf8)) && gifBytes.last == 0x3B)
        let png = try DDPGProcess.run(["render", directory.path, "--out", "swing.png"])
        #expect(png.status != 0 && png.stderr.contains("--out"))

        // A damaged checkpoint file is named with its reason.
        let file = try #require(CheckpointStore(directory: CheckpointStore.directory(ofRun: directory)).files().first)
        var bytes = Array(try Data(contentsOf: file))
        bytes[bytes.count / 2] ^= 0xFF
        try Data(bytes).write(to: file)
        let broken = try DDPGProcess.run(["eval", file.path])
        #expect(broken.status != 0 && broken.stderr.contains(file.lastPathComponent) && broken.stderr.contains("CRC-32C"), "\(broken.stderr)")
    }
}
