import ArgumentParser
import Foundation
import Plotting

struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Draw a run's learning curve (return against env steps and wall seconds) and its throughput as SVG.",
        discussion: "Reads summary.json and, when present, progress.csv from RUN_DIR. Writes RUN_DIR/ddpg.svg unless --out says otherwise."
    )

    @Argument(help: "A run directory of ddpg train, learner or launch.")
    var runDir: String

    @Option(parsing: .unconditional, help: "Output file (.svg).")
    var out: String?

    func validate() throws {
        if let out, !out.lowercased().hasSuffix(".svg") {
            throw ValidationError("--out: '\(out)' must end in .svg (convert to PNG with e.g. `rsvg-convert -o ddpg.png ddpg.svg`)")
        }
    }

    func run() throws {
        let directory = URL(fileURLWithPath: runDir)
        let record: RunRecord
        do {
            record = try RunRecord.load(directory: directory)
        } catch {
            throw ValidationError("\(error)")
        }
        let output = out.map { URL(fileURLWithPath: $0) } ?? directory.appendingPathComponent("ddpg.svg")
        try writeOutput(Data(LearningCurveFigure.svg(record).utf8), to: output.path)
        print(output.path)
    }
}

/// Writes a command's output file atomically; a failure names `--out` and the path.
func writeOutput(_ data: Data, to path: String) throws {
    do {
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
        throw ValidationError("--out: cannot write '\(path)': \(error.localizedDescription)")
    }
}
