#if canImport(Glibc)
import Glibc
#endif
import CShims
import Synchronization

/// SIGINT, SIGTERM and SIGHUP as a flag that long-running loops poll.
///
/// Services here run blocking loops around libzmq calls, which return `EINTR`
/// when a signal arrives, so a flag checked once per iteration stops them
/// promptly without async machinery.
public enum ShutdownSignal {
    private static let received = Atomic<Int32>(0)

    /// Installs the handlers (SIGHUP too: a child of `ddpg launch` gets it when the launcher dies). Idempotent.
    public static func install() {
        signal(SIGINT) { number in ShutdownSignal.record(number) }
        signal(SIGTERM) { number in ShutdownSignal.record(number) }
        signal(SIGHUP) { number in ShutdownSignal.record(number) }
        // A process inherits its parent's blocked-signal mask across exec; a
        // parent that blocked SIGTERM (some test runners and supervisors do)
        // would otherwise leave us deaf to it.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGHUP)
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
        // A closed socket or pipe must surface as an error, not kill the process.
        signal(SIGPIPE, SIG_IGN)
    }

    /// Keeps the first signal: the one that decided how the process stops.
    private static func record(_ number: Int32) {
        _ = received.compareExchange(expected: 0, desired: number, ordering: .relaxed)
    }

    /// Whether SIGINT, SIGTERM or SIGHUP arrived.
    public static var isRequested: Bool { received.load(ordering: .relaxed) != 0 }

    /// The signal that arrived (0 if none).
    public static var signalNumber: Int32 { received.load(ordering: .relaxed) }

    /// Requests shutdown from code (e.g. a stop condition), as a signal would.
    public static func request() { received.store(SIGTERM, ordering: .relaxed) }
}

/// Ties a child process's life to its parent's.
public enum ParentWatch {
    private static let parent = Atomic<Int32>(0)

    /// Asks the kernel to send SIGHUP to this process when the parent with pid `parent` dies, even
    /// by SIGKILL, so a killed `ddpg launch` leaves no orphans. Exits at once if that parent is already gone.
    ///
    /// SIGHUP, not SIGTERM, so that the process can tell its launcher's death from a stop the launcher
    /// forwarded (or anyone else's SIGTERM). It cannot tell by its parent pid: the kernel sends the
    /// signal when the thread that started the process exits, and while the launcher's other threads
    /// are still being killed the process is reparented to one of them, keeping the launcher's pid.
    public static func terminateWithParent(_ parent: Int32) {
        Self.parent.store(parent, ordering: .relaxed)
        _ = ddpg_set_parent_death_signal(SIGHUP)
        // The parent may have died before prctl took effect.
        if getppid() != parent { exit(0) }
    }

    /// Whether the stop came from the death of the parent this process was tied to: nobody waits for
    /// its results, and its siblings are stopping too.
    public static var parentExited: Bool {
        parent.load(ordering: .relaxed) != 0 && ShutdownSignal.signalNumber == SIGHUP
    }
}
