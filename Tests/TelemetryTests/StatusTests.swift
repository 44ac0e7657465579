import Foundation
import Testing
@testable import Telemetry

@Suite("Learner status: rates, formatting, progress.csv")
struct StatusTests {
    static func status(envSteps: Int = 50_000, workers: Int = 2) -> LearnerStatus {
        LearnerStatus(
            phase: "training", learnerId: "abc", uptimeSeconds: 12.5, wallSeconds: 12.5, envSteps: envSteps, maxEnvSteps: 200_000, updates: 48_000,
            transitionsPerSecond: WindowedRate(last10s: 4_100, last60s: 3_900), updatesPerSecond: WindowedRate(last10s: 4_000, last60s: 3_800),
            samplesPerInsert: 127.6, targetSamplesPerInsert: 128, replaySize: envSteps, replayCapacity: 1_000_000, weightsVersion: 48,
            policyLag: LagRange(min: 0, mean: 0.6, max: 2), recentEpisodeReturn: -812.4,
            latestEvaluation: EvaluationPoint(envSteps: 45_000, wallSeconds: 11, meanReturn: -150.2, stdReturn: 80.1), solvedAtEnvSteps: 7_000,
            transitionsRejected: 64, messagesRejected: 3, messagesRejectedByReason: ["bad_magic": 2, "too_short": 1], workersConnected: workers,
            workers: (0..<workers).map {
                WorkerStatusRow(workerId: UInt32($0), environments: 1, connected: true, finished: false, transitionsReceived: 25_000,
                                transitionsPerSecond: WindowedRate(last10s: 2_050, last60s: 1_950), episodes: 125, lastEpisodeReturn: -130.5,
                                weightsVersion: 47, sequenceGaps: 0)
            },
            etaSeconds: 36.6, policyLagUpdates: LagRange(min: 8, mean: 37.4, max: 90),
            policyLagSeconds: DurationRange(min: 0.001, mean: 0.0042, max: 0.011))
    }

    @Test("rates over 10 s and 60 s windows come from one sample a second")
    func rateWindow() {
        var window = RateWindow()
        #expect(window.rate(over: 10) == 0)
        // 100/s for 60 s, then 1000/s for 10 s.
        var value = 0
        for second in 0...60 {
            window.record(value, at: Double(second))
            value += 100
        }
        value -= 100
        for second in 61...70 {
            value += 1_000
            window.record(value, at: Double(second))
        }
        #expect(abs(window.rate(over: 10) - 1_000) < 1e-9)
        #expect(abs(window.rate(over: 60) - (50 * 100 + 10 * 1_000) / 60.0) < 1e-9)
        // A window longer than what was kept uses the oldest sample kept.
        #expect(window.rate(over: 1_000) > 0)
    }

    @Test("the plain line and the interactive block show every field the issue names")
    func formatting() {
        let s = Self.status()
        let plain = StatusFormat.plainLine(s)
        for field in ["step 50000/200000", "4.10k/s (10s)", "3.90k/s (60s)", "updates 4.00k/s", "samples/insert 127.6",
                      "replay 50000/1000000", "workers 2 (#0 2.05k/s, #1 2.05k/s)", "weights v48", "lag 37 updates, 4 ms (0/0.6/2 versions)",
                      "episode -812.4", "eval -150.2 ± 80.1", "rejected 3", "ETA 37s"] {
            #expect(plain.contains(field), "plain line lacks \(field): \(plain)")
        }
        #expect(!plain.contains("\n"))
        let block = StatusFormat.interactiveLines(s, barWidth: 20)
        #expect(block.count == 3)
        #expect(block[0].hasPrefix("[█████░░░░░░░░░░░░░░░]  25%"), "\(block[0])")
        #expect(block[0].contains("ETA 37s"))
        #expect(StatusFormat.interactiveLines(Self.status(workers: 9))[2].contains("+5 more"))
        #expect(StatusFormat.duration(3_725) == "1h02m" && StatusFormat.duration(185) == "3m05s")
        #expect(StatusFormat.count(1_234_567) == "1.23M" && StatusFormat.count(999) == "999")
    }

    @Test("ddpg top's table has a row per worker, a total, and the rejection reasons")
    func table() {
        let lines = StatusFormat.table(Self.status(), endpoint: "127.0.0.1:9464")
        #expect(lines.contains { $0.hasPrefix("#0 ") } && lines.contains { $0.hasPrefix("#1 ") })
        let total = try? #require(lines.first { $0.hasPrefix("total") })
        #expect(total?.contains("50000") == true)
        #expect(lines.last == "rejected: bad_magic 2, too_short 1")
        // Columns line up: every table row has the same length.
        let rows = lines.filter { $0.hasPrefix("#") || $0.hasPrefix("worker  ") || $0.hasPrefix("total") }
        #expect(Set(rows.map(\.count)).count == 1, "\(rows.joined(separator: "\n"))")
    }

    @Test("status JSON is snake_case and decodes back to the same value")
    func json() throws {
        let s = Self.status()
        let bytes = s.jsonBytes()
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("\"transitions_per_second\"") && text.contains("\"workers_connected\":2"))
        #expect(try LearnerStatus.decode(Data(bytes)) == s)
    }

    @Test("progress.csv rows read back by column")
    func progress() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("progress-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = try ProgressLog(directory: directory)
        var s = Self.status()
        log.append(s)
        s.uptimeSeconds = 13.5
        s.wallSeconds = 13.5
        s.latestEvaluation = nil
        s.policyLag = nil
        log.append(s)
        let table = ProgressTable(csv: try String(contentsOf: log.url, encoding: .utf8))
        #expect(table.rowCount == 2)
        #expect(table.series("wall_seconds", "updates_per_second").map(\.1) == [4_000, 4_000])
        #expect(table.series("wall_seconds", "eval_return").count == 1, "an empty field is a missing value")
        #expect(table.columns.keys.sorted() == ProgressLog.columns.sorted())
        // A resumed run continues the file; a new one starts it afresh.
        try ProgressLog(directory: directory, appending: true).append(s)
        #expect(ProgressTable(csv: try String(contentsOf: log.url, encoding: .utf8)).rowCount == 3)
        _ = try ProgressLog(directory: directory)
        #expect(ProgressTable(csv: try String(contentsOf: log.url, encoding: .utf8)).rowCount == 0)
    }

    @Test("resuming from a checkpoint drops the rows written after it, so time and steps only increase")
    func discardAfterCheckpoint() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("progress-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = try ProgressLog(directory: directory)
        var s = Self.status()
        for second in 1...6 {
            s.wallSeconds = Double(second)
            s.envSteps = second * 1_000
            log.append(s)
        }
        let resumed = try ProgressLog(directory: directory, appending: true)
        #expect(resumed.discardRows(after: 3.5) == 3)
        s.wallSeconds = 3.6
        s.envSteps = 3_600
        resumed.append(s)
        let table = ProgressTable(csv: try String(contentsOf: log.url, encoding: .utf8))
        #expect(table.series("wall_seconds", "env_steps").map(\.0) == [1, 2, 3, 3.6])
        #expect(table.series("wall_seconds", "env_steps").map(\.1) == [1_000, 2_000, 3_000, 3_600])
        #expect(resumed.discardRows(after: 100) == 0)
    }

    @Test("a log line erases the status block, prints, and redraws the block below it")
    func terminalScreen() throws {
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        defer { close(fds[0]) }
        let screen = TerminalScreen(fileDescriptor: fds[1])
        screen.draw(["line one", "line two", "line three"])
        screen.log("a log line")
        screen.draw(["new one", "new two", "new three"])
        screen.release()
        close(fds[1])
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while true {
            let n = read(fds[0], &buffer, buffer.count)
            if n <= 0 { break }
            output += buffer[0..<n]
        }
        let text = String(decoding: output, as: UTF8.self)
        let erase = "\r\u{1B}[2A\u{1B}[J"
        #expect(text == "line one\nline two\nline three" + erase + "a log line\nline one\nline two\nline three"
                + erase + "new one\nnew two\nnew three\n")
    }
}
