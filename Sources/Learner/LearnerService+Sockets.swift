import Foundation
import Logging
import WireProtocol
import ZeroMQ

/// Why the learner could not listen where it was told to.
public struct BindError: Error, CustomStringConvertible {
    public var endpoint: String
    public var underlying: ZMQError

    public var description: String {
        let host = endpoint.split(separator: "/").last.map { String($0.split(separator: ":").dropLast().joined(separator: ":")) } ?? endpoint
        let port = endpoint.split(separator: ":").last.map(String.init) ?? "?"
        switch underlying.code {
        case ENODEV: return "cannot bind \(endpoint): '\(host)' is neither an address of this machine nor a network interface (--bind)"
        case EADDRNOTAVAIL: return "cannot bind \(endpoint): '\(host)' is not an address of this machine (--bind)"
        case EADDRINUSE: return "cannot bind \(endpoint): port \(port) is already in use (another learner?)"
        case EACCES: return "cannot bind \(endpoint): permission denied (ports below 1024 need privileges)"
        default: return "cannot bind \(endpoint): \(underlying.message)"
        }
    }
}

/// The learner's two sockets, what guards them, and the id it announces: opened before the
/// learner knows its environment, which it may learn from the first hello on them.
struct LearnerSockets {
    let context: ZMQContext
    let transitions: ZMQSocket
    let weights: ZMQSocket
    let gate: ConnectionGate
    /// Identifies this learner's run of versions to the workers.
    let learnerId = UInt64.random(in: 1...UInt64.max)
}

/// The learner's two sockets and what guards them.
///
/// Memory that peers can make the learner hold is bounded on both, whatever the environment:
/// - transitions (PULL): at most `maxPeers` connections, each holding at most
///   ZMQ_RCVHWM (2) queued messages plus one being read, each at most
///   ``WireFormat/maxWorkerMessageBytes`` (ZMQ_MAXMSGSIZE): 64 × 3 × 257 KiB ≈ 48 MiB;
/// - weights (XPUB): frames are at most 64 bytes (1 KiB with CURVE, whose
///   handshake needs it), subscriptions are handed to the learner, which accepts
///   only "everything" and cuts off any address that sends anything else, so a
///   subscription flood cannot grow libzmq's subscription trie; at most
///   `maxPeers` subscribers, each queueing at most ZMQ_SNDHWM (2) weights messages.
extension LearnerService {
    static let handshakeMilliseconds: Int32 = 5_000
    /// A SUB's handshake frame (READY with its socket type) is 25 bytes, its subscription 1.
    static let weightsFrameLimit: Int64 = 64
    /// CURVE's INITIATE command carries a vouch, the metadata and 80 bytes of boxes.
    static let curveWeightsFrameLimit: Int64 = 1_024
    static let announceSeconds = 0.2

    static func openSockets(settings: LearnerSettings, security: LearnerSecurity?, logger: Logger, metrics: LearnerMetrics)
        throws -> LearnerSockets {
        let context = try ZMQContext()
        // Refused peers retry every few hundred milliseconds: every refusal is counted, but only some are logged.
        let refusals = RefusalLog(logger: logger)
        let gate = try ConnectionGate(context: context, allowedKeys: security?.authorizedKeys, maxPeers: settings.maxPeers) { [logger] event in
            switch event {
            case let .accepted(socket, key, address):
                if key != nil { metrics.connectionsAuthorized.increment() }
                logger.debug("accepted a \(socket) connection from \(address)\(key.map { " with worker key \($0)" } ?? "")")
            case let .refused(_, key, address):
                metrics.connectionRejected(reason: "unauthorized_key")
                refusals.log("refused a connection from \(address): worker key \(key) is not in --authorized-keys", key: key)
            case let .tooManyPeers(socket, address, limit):
                metrics.connectionRejected(reason: "too_many_peers")
                refusals.log("refused a \(socket) connection from \(address): \(limit) are open already (--max-peers)", key: "peers-\(socket)")
            case let .handshakeFailed(endpoint, reason):
                metrics.connectionRejected(reason: "handshake_failed")
                refusals.log("refused a connection on \(endpoint): \(reason)", key: reason)
            case let .closedDuringHandshake(endpoint):
                logger.debug("a peer closed its connection on \(endpoint) before the handshake")
            }
        }
        let transitions = try ZMQSocket(context, type: .pull)
        // A small queue keeps backpressure tight; the credit (below) is what keeps workers from running far
        // ahead of the learner's weights. A kernel buffer smaller than a message (it was 2 KiB) left TCP
        // waiting on delayed ACKs and spurious retransmits, and starved one worker of two for seconds.
        try transitions.setReceiveHighWaterMark(2)
        try transitions.setKernelBuffers(send: 2 << 10, receive: 128 << 10)
        // The largest legal message, and room for CURVE's framing.
        try transitions.setMaximumMessageSize(Int64(WireFormat.maxWorkerMessageBytes + 1_024))
        try transitions.setLinger(milliseconds: 0)
        try transitions.setHandshakeInterval(milliseconds: handshakeMilliseconds)
        let weights = try ZMQSocket(context, type: .xpub)
        try weights.setManualSubscriptions(true)
        try weights.setSendHighWaterMark(2)
        try weights.setReceiveHighWaterMark(16)
        try weights.setMaximumMessageSize(security == nil ? weightsFrameLimit : curveWeightsFrameLimit)
        try weights.setLinger(milliseconds: 500)
        try weights.setHandshakeInterval(milliseconds: handshakeMilliseconds)
        for (socket, name) in [(transitions, "transitions"), (weights, "weights")] {
            // Both directions: only listed workers may feed replay, and only they can read (decrypt) the weights.
            if let security { try socket.makeCurveServer(secretKey: security.secretKey) }
            try gate.guard(socket, name: name)
        }
        gate.start()
        // Weights first: a worker that reaches the transitions socket then finds the weights socket
        // listening too, instead of waiting out a reconnect back-off before it hears any announcement.
        for (socket, endpoint) in [(weights, settings.weightsEndpoint), (transitions, settings.transitionsEndpoint)] {
            do {
                try socket.bind(endpoint)
            } catch let error as ZMQError {
                gate.stop()
                throw BindError(endpoint: endpoint, underlying: error)
            }
        }
        return LearnerSockets(context: context, transitions: transitions, weights: weights, gate: gate)
    }

    /// Reads the subscriptions waiting on the weights socket. A worker subscribes to
    /// everything (one byte, 1); anything else is not a worker, and every connection
    /// from its address is cut off, which also frees what libzmq kept of it.
    func serviceSubscriptions() {
        // Every few milliseconds, not per message: subscriptions are rare, and libzmq takes in
        // new ones only during calls on this socket, a bounded number each.
        nextSubscriptionsAt = elapsed + 0.005
        while let message = try? weightsSocket.receive(blocking: false) {
            let kind = message.withUnsafeBytes { bytes -> UInt8? in bytes.count == 1 ? bytes[0] : nil }
            switch kind {
            case 1:
                try? weightsSocket.subscribe()
                // A new subscriber learns the learner id and its credit now, not at the next periodic
                // announcement: until then a paced worker holds back (and cannot say hello).
                nextAnnounceAt = min(nextAnnounceAt, elapsed)
            case 0:
                break  // unsubscribing from everything: libzmq forgets the peer when it leaves
            default:
                let address = message.property("Peer-Address") ?? "unknown"
                let cut = gate.disconnect(address: address, socket: "weights")
                guard cut > 0 else { continue }  // already cut off; its last frames are still being read
                metrics.connectionRejected(reason: "bad_subscription", count: cut)
                if rejections.shouldLog(now: elapsed, reason: "bad_subscription") {
                    logger.warning("a peer at \(address) sent \(message.count) bytes on the weights socket that are not a subscription to everything; cut off \(cut) connections from it")
                }
            }
        }
    }

    /// Sends one message to every subscriber without waiting; a subscriber whose queue is full misses it (PUB semantics).
    func publish(_ bytes: [UInt8], what: String) {
        do {
            try bytes.withUnsafeBytes { _ = try weightsSocket.send($0, blocking: false) }
        } catch {
            logger.error("publishing \(what) failed: \(error)")
        }
    }

    /// Tells workers this learner is here (so that one that has not greeted it, after a learner
    /// restart, says hello), and how much of each one's data it has consumed: every 0.2 s; while
    /// workers are paced, at most every millisecond after accepting transitions (which is what
    /// paces them) and at least every 5 ms, since PUB drops a message whose subscriber's queue is
    /// full and a worker waiting for a lost acknowledgement would otherwise wait out its timeout.
    func announceIfDue(acceptedSinceLast: Bool = false) {
        let now = elapsed
        guard now >= nextAnnounceAt || now >= pacedAnnounceDue(acceptedSinceLast: acceptedSinceLast) else { return }
        if now >= nextAnnounceAt {
            nextAnnounceAt = now + Self.announceSeconds
            updateWorkerCredit(now: now)
        }
        lastAnnouncedAt = now
        acceptedSinceAnnounce = false
        let announce = Announce(learnerId: learnerId, weightsVersion: weightsVersion, maxTransitionsPerMessage: ingest.decoder.expected.maxTransitionsPerMessage,
                                credit: announcedCredit(now: now), acknowledgements: workerCredit > 0 ? ledger.acknowledgements(now: now, window: 10) : [])
        publish(encoder.encode(announce), what: "the announcement")
    }

    static let acknowledgementSeconds = 0.001
    static let pacedRepeatSeconds = 0.005

    /// When paced workers are next owed an announcement (never, when they are not paced).
    func pacedAnnounceDue(acceptedSinceLast: Bool) -> Double {
        guard workerCredit > 0 else { return .infinity }
        return lastAnnouncedAt + (acceptedSinceLast ? Self.acknowledgementSeconds : Self.pacedRepeatSeconds)
    }

    /// How long the loop may sleep waiting for transitions: not past an announcement paced
    /// workers are owed, since without it no transitions would come.
    var idleWaitMilliseconds: Int {
        let due = min(pacedAnnounceDue(acceptedSinceLast: acceptedSinceAnnounce), elapsed + 0.02)
        return Int(max((due - elapsed) * 1_000, 0).rounded(.up))
    }

    /// While replay fills, everything is accepted at once, so workers may keep a little more in
    /// flight: enough not to wait on each acknowledgement, little enough that what is still in
    /// flight when training starts (acted at random, then trained on) stays small.
    func announcedCredit(now: Double) -> Int {
        let missing = configuration.training.learningStarts - replay.count
        guard workerCredit > 0, missing > 0 else { return workerCredit }
        let workers = max(ledger.activeSessions(now: now, window: 10, role: .actor).count, 1)
        return max(workerCredit, min((missing + workers - 1) / workers, Self.fillCredit))
    }

    static let fillCredit = 128

    /// The credit announced to workers: twice each active worker's share of the transitions the
    /// learner consumes between two broadcasts. A worker with that much sent and not yet consumed
    /// waits for the learner, so its data does not age in queues (the kernel's socket buffers alone
    /// hold hundreds of transitions). In force from the first announcement: a backlog built while
    /// replay fills would otherwise be trained on, acted with no policy at all, long after learning
    /// started. 0 (no limit) when nothing limits consumption, or with `--no-worker-pace`.
    func updateWorkerCredit(now: Double) {
        defer { creditSample = (agent.updateCount, weightsVersion) }
        let settings = configuration.learner
        guard settings.workerPace, !settings.ingestOnly, limiter.samplesPerInsert > 0 else {
            workerCredit = 0
            return
        }
        let versions = weightsVersion &- creditSample.version, updates = agent.updateCount - creditSample.updates
        let updatesPerVersion = versions > 0 && updates > 0 ? Double(updates) / Double(versions) : Double(settings.broadcastEvery)
        let transitionsPerVersion = updatesPerVersion * Double(configuration.training.agent.batchSize) / limiter.samplesPerInsert
        let workers = max(ledger.activeSessions(now: now, window: 10, role: .actor).count, 1)
        workerCredit = max(Int((2 * transitionsPerVersion / Double(workers)).rounded(.up)), 1)
    }
}

/// Logs refusals of the same kind the first 3 times, then every 100th, with the count; called from the gate's thread only.
final class RefusalLog: @unchecked Sendable {
    private let logger: Logger
    private var counts: [String: Int] = [:]

    init(logger: Logger) { self.logger = logger }

    func log(_ message: String, key: String) {
        let count = (counts[key] ?? 0) + 1
        if counts.count < 10_000 || counts[key] != nil { counts[key] = count }
        if count <= 3 || count.isMultiple(of: 100) { logger.warning("\(message) (\(count) so far)") }
    }
}
