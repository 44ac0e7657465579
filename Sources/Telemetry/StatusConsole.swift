import Foundation
import Logging

/// How the learner shows its status on standard error.
public enum ConsoleMode: String, CaseIterable, Sendable {
    /// `interactive` on a terminal, `plain` otherwise.
    case auto
    /// A block redrawn in place every second, with a progress bar and ETA.
    case interactive
    /// One log line at most every 10 s.
    case plain
    case none

    /// `auto` decided by whether standard error is a terminal.
    public var resolved: ConsoleMode {
        guard self == .auto else { return self }
        let dumb = ProcessInfo.processInfo.environment["TERM"].map { $0.isEmpty || $0 == "dumb" } ?? true
        return isatty(STDERR_FILENO) == 1 && !dumb ? .interactive : .plain
    }
}

/// Shows the learner's status each second, in the way `mode` says.
public final class StatusConsole: @unchecked Sendable {
    public let mode: ConsoleMode
    private let plainInterval: Double
    private let logger: Logger
    private var lastPlainLine = -Double.infinity

    /// `mode` must be resolved (not `auto`).
    public init(mode: ConsoleMode, plainInterval: Double = 10, logger: Logger = Logger(label: "ddpg.learner")) {
        self.mode = mode.resolved
        self.plainInterval = plainInterval
        self.logger = logger
    }

    public func show(_ status: LearnerStatus, force: Bool = false) {
        switch mode {
        case .interactive:
            TerminalScreen.standardError.draw(StatusFormat.interactiveLines(status))
        case .plain:
            guard force || status.uptimeSeconds - lastPlainLine >= plainInterval else { return }
            lastPlainLine = status.uptimeSeconds
            logger.info("\(StatusFormat.plainLine(status))")
        case .auto, .none:
            break
        }
    }

    /// Leaves the last block on screen and moves below it.
    public func finish() {
        if mode == .interactive { TerminalScreen.standardError.release() }
    }
}

/// Standard error shared between a status block redrawn in place and log lines
/// scrolling above it: a log line erases the block, prints, and redraws it.
public final class TerminalScreen: @unchecked Sendable {
    public static let standardError = TerminalScreen(fileDescriptor: STDERR_FILENO)

    private let fileDescriptor: Int32
    private let lock = NSLock()
    private var block: [String] = []
    private var drawnLines = 0

    init(fileDescriptor: Int32) { self.fileDescriptor = fileDescriptor }

    public func draw(_ lines: [String]) {
        lock.withLock {
            block = lines
            write(eraseSequence() + render(lines))
        }
    }

    public func log(_ line: String) {
        lock.withLock {
            write(eraseSequence() + line + "\n" + render(block))
        }
    }

    /// Stops redrawing: the block stays and output continues below it.
    public func release() {
        lock.withLock {
            if drawnLines > 0 { write("\n") }
            block = []
            drawnLines = 0
        }
    }

    private func eraseSequence() -> String {
        guard drawnLines > 0 else { return "" }
        return "\r" + (drawnLines > 1 ? "\u{1B}[\(drawnLines - 1)A" : "") + "\u{1B}[J"
    }

    /// The block cut to the terminal's width, so that no line wraps and the redraw stays in place.
    private func render(_ lines: [String]) -> String {
        drawnLines = lines.count
        let width = Self.columns(fileDescriptor)
        return lines.map { $0.count >= width ? String($0.prefix(width - 1)) : $0 }.joined(separator: "\n")
    }

    private func write(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Foundation.write(fileDescriptor, $0.baseAddress! + offset, $0.count - offset) }
            if n <= 0 { return }
            offset += n
        }
    }

    static func columns(_ fileDescriptor: Int32) -> Int {
        var size = winsize()
        if ioctl(fileDescriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 10 { return Int(size.ws_col) }
        return 120
    }
}

/// swift-log output through a `TerminalScreen`, so log lines and the status block do not overwrite each other.
public struct ConsoleLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String
    private let screen: TerminalScreen

    public init(label: String, level: Logger.Level, screen: TerminalScreen = .standardError) {
        self.label = label
        self.logLevel = level
        self.screen = screen
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let extra = merged.isEmpty ? "" : " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        screen.log("\(Self.timestamp()) \(event.level) \(label):\(extra) \(event.message)")
    }

    private static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var buffer = [UInt8](repeating: 0, count: 32)
        let length = buffer.withUnsafeMutableBufferPointer { pointer in
            pointer.withMemoryRebound(to: CChar.self) { strftime($0.baseAddress, $0.count, "%Y-%m-%dT%H:%M:%S%z", &parts) }
        }
        return String(decoding: buffer.prefix(length), as: UTF8.self)
    }
}
