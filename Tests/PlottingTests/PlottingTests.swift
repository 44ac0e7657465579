import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import Plotting

@Suite("Learning-curve figure")
struct PlottingTests {
    @Test("axes span the data with 1-2-5 ticks")
    func axis() {
        let axis = Axis(values: [-1_523, -140], pixelStart: 400, pixelEnd: 0)
        // A range of 1383 over 6 ticks: a raw step of 230 rounds up to 500.
        #expect(axis.lower == -2_000 && axis.upper == 0)
        #expect(axis.ticks == [-2_000, -1_500, -1_000, -500, 0])
        #expect(axis.pixel(-2_000) == 400 && axis.pixel(0) == 0 && axis.pixel(-1_000) == 200)
        #expect(Axis.niceStep(0.37) == 0.5 && Axis.niceStep(1_300) == 2_000)
        #expect(Axis.label(20_000) == "20k" && Axis.label(1_500_000) == "1.5M" && Axis.label(-200) == "-200" && Axis.label(2.5) == "2.5")
        let flat = Axis(values: [5, 5], pixelStart: 0, pixelEnd: 100)
        #expect(flat.lower < 5 && flat.upper > 5, "a constant series still gets a non-empty range")
    }

    @Test("a run directory without summary.json is refused by name")
    func missingSummary() {
        let directory = URL(fileURLWithPath: "/nonexistent/run")
        #expect(throws: RunRecord.LoadError.self) { try RunRecord.load(directory: directory) }
    }

    @Test("the figure draws evaluations with bands, the solved line and throughput from progress.csv")
    func figure() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("plot-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let summary = """
            {"eval": [{"env_steps": 1000, "wall_seconds": 0.5, "mean_return": -1200, "std_return": 100},
                      {"env_steps": 2000, "wall_seconds": 1.0, "mean_return": -150, "std_return": 20}],
             "final_eval": {"mean_return": -148.3, "std_return": 80.5}, "solved_at": {"env_steps": 2000, "wall_seconds": 1.0},
             "config": {"solved_return": -200}}
            """
        try Data(summary.utf8).write(to: directory.appendingPathComponent("summary.json"))
        let csv = """
            wall_seconds,env_steps,updates,transitions_per_second,updates_per_second,replay_size,weights_version,policy_lag_mean,episode_return,eval_return,workers_connected,messages_rejected
            0.000,0,0,0,0,0,0,,,,0,0
            1.000,2000,1500,2000,1500,2000,2,0.5,-900,-150,2,0
            2.000,4000,3500,2000,2000,4000,4,0.6,-300,-150,2,0
            """
        try Data(csv.utf8).write(to: directory.appendingPathComponent("progress.csv"))
        let svg = LearningCurveFigure.svg(try RunRecord.load(directory: directory))
        #expect(svg.contains("final eval -148.3 ± 80.5"))
        #expect(svg.contains("solved (≥ -200) at 2000 env steps, 1.0 s"))
        #expect(svg.contains("transitions/s into replay") && svg.contains("updates/s"))
        #expect(svg.contains("training episodes"))
        #expect(svg.components(separatedBy: "<polygon").count - 1 == 2, "a ±std band in each return panel")
        #expect(svg.contains("stroke-dasharray"), "the solved threshold is drawn")
        #expect(XMLParser(data: Data(svg.utf8)).parse())
    }
}
