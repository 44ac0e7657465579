import Foundation
import Telemetry
import WireProtocol
import ZeroMQ

/// Attacks on whom the learner trusts (protocol 6): sessions, evaluators, credit, and the row limit.
/// Each ran against protocol 5 with the outcome named in its comment; each check here failed there.
enum TrustAttacks {
    /// The real worker's transitions accepted per second, and the same per second of the learner's updates.
    struct HonestRate {
        var perSecond: Double
        /// Its rate times the learner's mean update duration in the same window. The machine's own swings (the
        /// learner's update speed drifts over tens of seconds on a shared 2-core machine: ±7% in 4-s windows with
        /// no attack at all) move both alike and cancel here (0.6%), while whatever an attack does to the worker (its
        /// data crowded out, its credit cut, the learner's time spent on the attacker) does not. An attacker's own
        /// CPU on this machine, which a remote attacker would not share with the learner, cancels too.
        var perUpdateSecond: Double

        static func mean(_ a: HonestRate, _ b: HonestRate) -> HonestRate {
            HonestRate(perSecond: (a.perSecond + b.perSecond) / 2, perUpdateSecond: (a.perUpdateSecond + b.perUpdateSecond) / 2)
        }
    }

    /// The real worker's rate over about `seconds`, from the learner's own counts, timed by the learner's own clock: its
    /// status is a snapshot it takes once a second, up to a second old when read, which timed by this process's clock
    /// is up to 12% of an 8-s window.
    static func honestRate(_ target: Target, seconds: Double) -> HonestRate {
        func snapshot() -> (received: Int, at: Double, updateSeconds: Double, updates: Double)? {
            guard let status = target.waitForStatus(timeout: 30, { _ in true }),
                  let updateSeconds = target.metric("ddpg_update_duration_seconds_sum"),
                  let updates = target.metric("ddpg_update_duration_seconds_count") else { return nil }
            return (status.workers.first { $0.workerId == 0 }?.transitionsReceived ?? 0, status.uptimeSeconds, updateSeconds, updates)
        }
        let none = HonestRate(perSecond: 0, perUpdateSecond: 0)
        guard let start = snapshot() else { return none }
        usleep(UInt32(seconds * 1e6))
        guard let end = snapshot(), end.at > start.at, end.updates > start.updates else { return none }
        let perSecond = Double(end.received - start.received) / (end.at - start.at)
        let meanUpdate = (end.updateSeconds - start.updateSeconds) / (end.updates - start.updates)
        return HonestRate(perSecond: perSecond, perUpdateSecond: perSecond * meanUpdate)
    }

    /// While `attack` runs on its own thread for `seconds`, the real worker's rate; unattacked, the mean of the same
    /// measured just before and just after (the learner's pace drifts as replay fills, and this machine is shared).
    /// What the attack's first `warmup` seconds cost once (its first credit) is not its rate.
    static func rates(_ target: Target, seconds: Double, warmup: Double = 1, afterWarmup: () -> Void = {},
                      attack: @escaping @Sendable (Date) -> Void) -> (before: HonestRate, during: HonestRate) {
        let before = honestRate(target, seconds: seconds)
        let deadline = Date().addingTimeInterval(seconds + warmup)
        let done = DispatchSemaphore(value: 0)
        Thread { attack(deadline); done.signal() }.start()
        usleep(UInt32(warmup * 1e6))
        afterWarmup()
        let during = honestRate(target, seconds: seconds)
        done.wait()
        usleep(500_000)
        let after = honestRate(target, seconds: seconds)
        return (.mean(before, after), during)
    }

    /// No attack at all, measured as the attacks are: how far the measurement moves by itself (`--only no-attack`).
    static func noAttack(_ target: Target, seconds: Double) -> [Outcome] {
        let rates = rates(target, seconds: seconds) { deadline in
            while Date() < deadline { usleep(100_000) }
        }
        let (observed, kept) = keeps(rates)
        return [Outcome(attack: "no attack", check: "the real worker keeps >= 90% of its rate", observed: observed, passed: kept)]
    }

    /// Whether the real worker kept 90% of its rate, in the learner's update time (``HonestRate/perUpdateSecond``).
    static func keeps(_ rates: (before: HonestRate, during: HonestRate)) -> (String, Bool) {
        let (before, during) = rates
        let kept = during.perUpdateSecond / max(before.perUpdateSecond, 1e-9)
        return (String(format: "%.0f/s unattacked, %.0f/s under attack (%.0f%%; %.0f%% of its rate in the learner's update time)",
                       before.perSecond, during.perSecond, 100 * during.perSecond / max(before.perSecond, 1), 100 * kept),
                kept >= 0.9)
    }

    static func rejected(_ status: LearnerStatus?, _ reason: String) -> Int { status?.messagesRejectedByReason[reason] ?? 0 }

    /// `count` new connections from `source`, each a new session (worker ids from `nextId` on) that said hello.
    static func greetedPeers(_ count: Int, port: Int, from source: String, nextId: inout UInt32, context: ZMQContext) -> [Peer] {
        let peers = (0..<count).compactMap { _ in
            defer { nextId += 1 }
            return try? Peer(port: port, workerId: nextId, source: source, context: context)
        }
        peers.forEach { $0.send($0.hello()) }
        return peers
    }

    /// Protocol 5 broadcast every session's id and next sequence; a hello in that session from any peer reset it.
    /// The real worker fell from 4,163 to 49 env steps/s. Here the attacker even has the session id (from /status).
    static func hijack(_ target: Target, seconds: Double) -> [Outcome] {
        let name = "session hijack"
        guard let victim = target.status?.workers.first(where: { $0.workerId == 0 }), let before = target.status else {
            return [Outcome(attack: name, check: "set up", observed: "no worker 0", passed: false)]
        }
        let session = victim.session, port = target.ports.transitions
        let rates = rates(target, seconds: seconds) { deadline in
            guard let peer = try? Peer(port: port, workerId: 0) else { return }
            var sequence: UInt64 = 0
            while Date() < deadline {
                peer.send(peer.hello(session: session, next: 0))
                peer.send(peer.transitions(sequence: sequence, session: session))
                sequence += 1
                usleep(2_000)
            }
        }
        let after = target.waitForStatus(timeout: 30) { _ in true }
        let (observed, kept) = keeps(rates)
        let gaps = after?.workers.first { $0.session == session }?.sequenceGaps ?? -1
        return [
            Outcome(attack: name, check: "another connection's hellos and data for the session rejected (session_conflict)",
                    observed: "\(rejected(after, "session_conflict") - rejected(before, "session_conflict")) rejected", passed: rejected(after, "session_conflict") > rejected(before, "session_conflict") + 100),
            Outcome(attack: name, check: "the victim's sequence untouched", observed: "\(gaps) sequence gaps", passed: gaps == victim.sequenceGaps),
            Outcome(attack: name, check: "the victim keeps >= 90% of its rate", observed: observed, passed: kept),
        ]
    }

    /// Protocol 5 let a hello rewind its session's next sequence: 160 messages accepted became 320.
    static func replay(_ target: Target) -> [Outcome] {
        let name = "replay by a rewinding hello"
        guard let peer = try? Peer(port: target.ports.transitions, workerId: 703), let before = target.status else {
            return [Outcome(attack: name, check: "set up", observed: "failed", passed: false)]
        }
        peer.send(peer.hello())
        for sequence: UInt64 in 0..<10 { peer.send(peer.transitions(sequence: sequence)); usleep(20_000) }
        peer.send(peer.hello(next: 0))
        for sequence: UInt64 in 0..<10 { peer.send(peer.transitions(sequence: sequence)) }
        let flushed = peer.flushThrough(target, since: before)
        let record = target.status?.workers.first { $0.workerId == 703 }
        return [
            Outcome(attack: name, check: "the rewinding hello refused, the replayed messages rejected",
                    observed: "\(record?.transitionsReceived ?? -1) transitions accepted of 80 sent, 40 of them replays",
                    passed: flushed && record?.transitionsReceived == 40),
        ]
    }

    /// Protocol 5 took any hello as an evaluator's, and matched reports on what every subscriber sees: a peer's
    /// returns of 0 stopped a run at `--until-return` with a fake `solved_at`. This learner has no evaluator at all.
    static func forgedEvaluation(_ target: Target, seconds: Double) -> [Outcome] {
        let name = "forged evaluation"
        guard let before = target.status, let context = try? ZMQContext(), let subscriber = try? ZMQSocket(context, type: .sub),
              let outsider = try? Peer(port: target.ports.transitions, workerId: 704),
              let guesser = try? Peer(port: target.ports.transitions, workerId: 705) else {
            return [Outcome(attack: name, check: "set up", observed: "failed", passed: false)]
        }
        try? subscriber.subscribe()
        try? subscriber.connect("tcp://127.0.0.1:\(target.ports.weights)")
        outsider.send(outsider.hello(role: .evaluator))
        guesser.send(guesser.hello(role: .evaluator, token: EvaluatorToken(secret: "ddpg")!))
        let decoder = MessageDecoder(expected: ExpectedShapes(spec: pendulum), accepting: .learnerToWorker)
        var forged = 0
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline, forged < 20 {
            guard (try? subscriber.waitForInput(timeoutMilliseconds: 100)) == true, let message = try? subscriber.receive(blocking: false) else { continue }
            let request: (EvaluationRequest, Publication)? = message.withUnsafeBytes { bytes in
                guard case let .weights(view)? = try? decoder.decode(bytes), let request = view.evaluationRequest else { return nil }
                return (request, view.publication)
            }
            guard let (request, publication) = request else { continue }
            for peer in [outsider, guesser] {
                peer.send(peer.evaluation(request: request, publication: publication, nonce: UInt64.random(in: 1...UInt64.max)))
                forged += 1
            }
        }
        // Waited for: the learner reads and counts them between training slices.
        let after = target.waitForStatus(timeout: 20) { rejected($0, "unauthorized_evaluator") >= rejected(before, "unauthorized_evaluator") + 2 }
            ?? target.waitForStatus(timeout: 10) { _ in true }
        let reasons = (after?.messagesRejectedByReason ?? [:]).map { ($0.key, $0.value - (before.messagesRejectedByReason[$0.key] ?? 0)) }
            .filter { $0.1 > 0 }.sorted { $0.0 < $1.0 }.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
        return [
            Outcome(attack: name, check: "evaluators without the token refused", observed: reasons,
                    passed: rejected(after, "unauthorized_evaluator") >= rejected(before, "unauthorized_evaluator") + 2),
            Outcome(attack: name, check: "no forged report counts as an evaluation", observed: "\(forged) forged; latest evaluation \(after?.latestEvaluation.map { String($0.meanReturn) } ?? "none")",
                    passed: forged > 0 && after != nil && after?.latestEvaluation == nil && after?.solvedAtEnvSteps == nil),
        ]
    }

    /// Protocol 5 kept any session that sent a status every few seconds: 1,024 of them locked out the real worker,
    /// and 200 idle ones cut its credit to 1 (5,854 → 539 env steps/s).
    static func idleSessions(_ target: Target, seconds: Double) -> [Outcome] {
        let name = "idle sessions"
        let before = target.status, port = target.ports.transitions
        let rates = rates(target, seconds: seconds) { deadline in
            // 1,024 sessions on one connection, and one on each of 40 more, all kept alive by statuses.
            guard let many = try? Peer(port: port, workerId: 706) else { return }
            let others = (0..<40).compactMap { try? Peer(port: port, workerId: 800 + UInt32($0)) }
            for session in 1...UInt32(1_024) { many.send(many.hello(session: session)) }
            others.forEach { $0.send($0.hello()) }
            while Date() < deadline {
                for session in 1...UInt32(64) { many.send(many.status(session: session)) }
                others.forEach { $0.send($0.status()) }
                usleep(1_000_000)
            }
        }
        let after = target.waitForStatus(timeout: 30) { _ in true }
        let (observed, kept) = keeps(rates)
        return [
            Outcome(attack: name, check: "one session per connection", observed: "\(rejected(after, "session_conflict") - rejected(before, "session_conflict")) session_conflict; \(after?.workers.count ?? 0) sessions listed",
                    passed: (after?.workers.count ?? .max) < 100),
            Outcome(attack: name, check: "the real worker keeps >= 90% of its rate", observed: observed, passed: kept),
        ]
    }

    /// Protocol 5's credit was advisory: 4 connections ignoring it took the real worker from ~5,900 to 6–12 env steps/s.
    static func creditFlood(_ target: Target, seconds: Double) -> [Outcome] {
        let name = "credit ignored, 4 connections"
        let cutBefore = target.metric("ddpg_connections_rejected_total{reason=\"over_credit\"}") ?? 0
        let before = target.status, port = target.ports.transitions
        let rates = rates(target, seconds: seconds) { deadline in
            let peers = (0..<4).compactMap { try? Peer(port: port, workerId: 900 + UInt32($0), source: "127.0.0.2") }
            peers.forEach { $0.send($0.hello()) }
            var sequences = [UInt64](repeating: 0, count: peers.count)
            // Faster than the real worker (256,000 rows/s offered, two and a half times its rate), without spinning
            // on this machine's two cores, which a remote attacker would not share with the learner.
            while Date() < deadline {
                for (i, peer) in peers.enumerated() {
                    peer.sendWithoutReading(peer.transitions(sequence: sequences[i], count: 64))
                    sequences[i] += 1
                }
                usleep(1_000)
            }
        }
        let after = target.waitForStatus(timeout: 30) { _ in true }
        let cut = (target.metric("ddpg_connections_rejected_total{reason=\"over_credit\"}") ?? 0) - cutBefore
        let flooded = after?.workers.filter { $0.workerId >= 900 && $0.workerId < 904 }.reduce(0) { $0 + $1.transitionsReceived } ?? -1
        let (observed, kept) = keeps(rates)
        return [
            Outcome(attack: name, check: "data beyond the credit rejected, and its connections cut",
                    observed: "\(rejected(after, "over_credit") - rejected(before, "over_credit")) over_credit, \(Int(cut)) connections cut; \(flooded) of theirs accepted",
                    passed: cut >= 4 && Double(flooded) < 0.1 * rates.during.perSecond * seconds),
            Outcome(attack: name, check: "the real worker keeps >= 90% of its rate", observed: observed, passed: kept),
        ]
    }

    /// The flood above, but each cut connection comes back as a new one with a new session (and worker id), which the
    /// learner grants a first credit of its own: 4 connections, each replaced every 250 ms whether cut or not.
    static func reconnectingCreditFlood(_ target: Target, seconds: Double) -> [Outcome] {
        let name = "credit ignored, 4 connections reconnecting every 250 ms"
        let cutBefore = target.metric("ddpg_connections_rejected_total{reason=\"over_credit\"}") ?? 0
        let before = target.status, port = target.ports.transitions
        let firstId: UInt32 = 10_000
        let cycles = SharedCount()
        let rates = rates(target, seconds: seconds) { deadline in
            guard let context = try? ZMQContext() else { return }
            var nextId = firstId
            while Date() < deadline {
                let peers = greetedPeers(4, port: port, from: "127.0.0.3", nextId: &nextId, context: context)
                var sequence: UInt64 = 0
                let replaceAt = min(deadline, Date().addingTimeInterval(0.25))
                while Date() < replaceAt {
                    peers.forEach { $0.sendWithoutReading($0.transitions(sequence: sequence, count: 64)) }
                    sequence += 1
                    usleep(1_000)
                }
                peers.forEach { try? $0.socket.setLinger(milliseconds: 0) }
                cycles.increment()
            }
        }
        let after = target.waitForStatus(timeout: 30) { _ in true }
        let cut = (target.metric("ddpg_connections_rejected_total{reason=\"over_credit\"}") ?? 0) - cutBefore
        let attackers = after?.workers.filter { $0.workerId >= firstId } ?? []
        let flooded = attackers.reduce(0) { $0 + $1.transitionsReceived }
        let (observed, kept) = keeps(rates)
        return [
            Outcome(attack: name, check: "cut for ignoring its credit, then no new session from its address for 10 s (cooling_down)",
                    observed: "\(cycles.value) rounds of 4; \(rejected(after, "over_credit") - rejected(before, "over_credit")) over_credit, \(Int(cut)) connections cut, \(rejected(after, "cooling_down") - rejected(before, "cooling_down")) cooling_down; \(flooded) of theirs accepted (\(String(format: "%.0f", Double(flooded) / seconds))/s)",
                    passed: cut >= 4 && cut <= 8 && rejected(after, "cooling_down") - rejected(before, "cooling_down") >= 4
                        && Double(flooded) < 0.1 * rates.during.perSecond * seconds),
            Outcome(attack: name, check: "the real worker keeps >= 90% of its rate", observed: observed, passed: kept),
        ]
    }

    /// Never over any one session's credit, never reading an acknowledgement: 4 connections, each a new session every
    /// 250 ms that sends 512 rows (four times the first credit of 128) and goes. Before sessions were counted per origin
    /// nothing cut it: 9,216 of its transitions/s accepted, and the real worker at 87%. Its origin's allowance of new
    /// sessions (as many as the learner takes connections) is spent once, in its first seconds: that is not its rate.
    static func sessionChurn(_ target: Target, seconds: Double) -> [Outcome] {
        let name = "a new session every 250 ms on 4 connections, each within its first credit"
        let before = target.status, port = target.ports.transitions
        let firstId: UInt32 = 20_000
        let warmup = 8.0
        let rounds = SharedCount()
        let attackerRows = { (status: LearnerStatus?) in
            status?.workers.filter { $0.workerId >= firstId }.reduce(0) { $0 + $1.transitionsReceived } ?? 0
        }
        var warm = 0
        let rates = rates(target, seconds: seconds, warmup: warmup, afterWarmup: { warm = attackerRows(target.status) }) { deadline in
            guard let context = try? ZMQContext() else { return }
            var nextId = firstId
            while Date() < deadline {
                let peers = greetedPeers(4, port: port, from: "127.0.0.4", nextId: &nextId, context: context)
                for sequence: UInt64 in 0..<8 { peers.forEach { $0.sendWithoutReading($0.transitions(sequence: sequence, count: 64)) } }
                usleep(250_000)
                peers.forEach { try? $0.socket.setLinger(milliseconds: 0) }
                rounds.increment()
            }
        }
        let after = target.waitForStatus(timeout: 30) { _ in true }
        let total = attackerRows(after), steady = total - warm
        let refused = rejected(after, "session_rate") - rejected(before, "session_rate")
        let (observed, kept) = keeps(rates)
        return [
            Outcome(attack: name, check: "after its origin's allowance of new sessions, hellos refused (session_rate); what it gets after that < 2% of the real worker's",
                    observed: "\(rounds.value) rounds of 4; \(refused) session_rate, \(rejected(after, "over_credit") - rejected(before, "over_credit")) over_credit; \(total) of theirs accepted, \(steady) after its first \(Int(warmup)) s (\(String(format: "%.0f", Double(steady) / seconds))/s)",
                    passed: refused >= 4 && Double(steady) < 0.02 * rates.during.perSecond * seconds),
            Outcome(attack: name, check: "the real worker keeps >= 90% of its rate", observed: observed, passed: kept),
        ]
    }

    /// Protocol 5's limit formula (2·O + A + 1 floats a row) let a worker send a message over 256 KiB, which libzmq
    /// dropped with the connection: nothing counted it. Here: one row over the row limit, and a message over 256 KiB.
    static func overLimit(_ target: Target) -> [Outcome] {
        let name = "messages over the limit"
        guard let peer = try? Peer(port: target.ports.transitions, workerId: 707), let before = target.status else {
            return [Outcome(attack: name, check: "set up", observed: "failed", passed: false)]
        }
        peer.send(peer.hello())
        peer.send(peer.transitions(sequence: 0, count: 4_097))  // 155,730 bytes
        peer.send(peer.transitions(sequence: 0, count: 7_000))  // 266,044 bytes
        let flushed = peer.flushThrough(target, since: before)
        let after = target.status
        let counted = rejected(after, "out_of_range") - rejected(before, "out_of_range")
        return [Outcome(attack: name, check: "both rejected and counted (out_of_range)", observed: "\(counted) counted", passed: flushed && counted >= 2)]
    }
}
