import ArgumentParser
import Foundation
import ProcessSupport
import Telemetry

struct TopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "Watch a running learner: its throughput and one row per worker, refreshed from /status.",
        discussion: "HOST:PORT is the learner's --metrics-port (bound to 127.0.0.1 unless --metrics-bind says otherwise). Exits when the learner stops answering."
    )

    @Argument(help: "The learner's metrics endpoint, HOST:PORT.")
    var address: String

    @Option(parsing: .unconditional, help: "Seconds between refreshes.")
    var interval = 1.0

    @Option(parsing: .unconditional, help: "Seconds to wait for an answer before giving up.")
    var timeout = 2.0

    @Flag(help: "Print the table once and exit (no screen redraw).")
    var once = false

    func validate() throws {
        guard interval >= 0.1, interval.isFinite else { throw ValidationError("--interval: must be at least 0.1 s, got \(interval)") }
        guard timeout > 0, timeout <= 60 else { throw ValidationError("--timeout: must be in (0, 60] s, got \(timeout)") }
        do {
            _ = try MonitoringClient(address: address)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func run() throws {
        ShutdownSignal.install()
        let client = try MonitoringClient(address: address, timeout: timeout)
        let redraw = !once && isatty(STDOUT_FILENO) == 1
        var shownOnce = false
        while !ShutdownSignal.isRequested {
            let status: LearnerStatus
            do {
                status = try client.status()
            } catch {
                // A learner that finished its run goes away: say so without an error if it was seen.
                if shownOnce, case .unreachable = error {
                    print("learner at \(address) is gone (\(error))")
                    return
                }
                throw TopError(message: "\(error)")
            }
            let text = StatusFormat.table(status, endpoint: address).joined(separator: "\n") + "\n"
            // Home and clear, then the table, in one write so the screen never shows half a frame.
            FileHandle.standardOutput.write(Data(((redraw ? "\u{1B}[H\u{1B}[2J" : "") + text).utf8))
            shownOnce = true
            if once { return }
            usleep(useconds_t(interval * 1e6))
        }
    }
}

/// An error whose message is the whole story, printed without the usage text.
struct TopError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
