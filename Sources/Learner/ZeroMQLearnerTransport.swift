import Foundation
import Learning
import Logging
import Transport
import WireProtocol
import ZeroMQ

/// Why the learner could not listen where it was told to.
public struct BindError: Error, CustomStringConvertible {
    public var endpoint: String
    public var underlying: ZMQError

    public var description: String {
        // "tcp://[::1]:5555": the host is everything between "//" and the last colon.
        let address = endpoint.range(of: "//").map { String(endpoint[$0.upperBound...]) } ?? endpoint
        let colon = address.lastIndex(of: ":")
        let host = colon.map { String(address[..<$0]) } ?? address
        let port = colon.map { String(address[address.index(after: $0)...]) } ?? "?"
        switch underlying.code {
        case ENODEV: return "cannot bind \(endpoint): '\(host)' is neither an address of this machine nor a network interface (--bind)"
        case EADDRNOTAVAIL: return "cannot bind \(endpoint): '\(host)' is not an address of this machine (--bind)"
        case EADDRINUSE: return "cannot bind \(endpoint): port \(port) is already in use (another learner?)"
        case EACCES: return "cannot bind \(endpoint): permission denied (ports below 1024 need privileges)"
        default: return "cannot bind \(endpoint): \(underlying.message)"
        }
    }
}

/// The learner's two ZeroMQ sockets as its core's transport: a ROUTER for what workers send (each
/// message with its connection's routing id, which sessions are bound to, and replies addressed to one
/// connection), and an XPUB that hands subscriptions to the learner, which accepts only "everything".
///
/// Memory that peers can make the learner hold is bounded on both, whatever the environment:
/// - transitions (ROUTER): at most `maxPeers` connections, each holding at most
///   ZMQ_RCVHWM (2) queued messages plus one being read, each at most
///   ``WireFormat/maxReadFrameBytes`` (ZMQ_MAXMSGSIZE, twice the largest legal message, so that one a
///   little over is read, rejected and counted): 64 × 3 × 513 KiB ≈ 96 MiB;
/// - weights (XPUB): frames are at most 64 bytes (1 KiB with CURVE, whose
///   handshake needs it), subscriptions are handed to the learner, which accepts
///   only "everything" and cuts off any address that sends anything else, so a
///   subscription flood cannot grow libzmq's subscription trie; at most
///   `maxPeers` subscribers, each queueing at most ZMQ_SNDHWM (2) weights messages.
public final class ZeroMQLearnerTransport: LearnerTransport {
    static let handshakeMilliseconds: Int32 = 5_000
    /// A SUB's handshake frame (READY with its socket type) is 25 bytes, its subscription 1.
    static let weightsFrameLimit: Int64 = 64
    /// CURVE's INITIATE command carries a vouch, the metadata and 80 bytes of boxes.
    static let curveWeightsFrameLimit: Int64 = 1_024

    let context: ZMQContext
    let transitions: ZMQSocket
    let weights: ZMQSocket
    /// Every connection passes it: CURVE keys when configured, and the cap on open connections.
    let gate: ConnectionGate
    /// The connection whose message's further frames are being read (each frame is handled as a message).
    private var readingFrom: PeerConnection?
    /// Each connection's file descriptor, from its newest message: what ``cut(_:)`` shuts down.
    private var descriptors: [PeerConnection: Int32] = [:]
    private let metrics: LearnerMetrics
    private let logger: Logger
    private let routingFrame = ZMQMessage()

    /// Binds both endpoints (weights first), guarded by the gate. Throws ``BindError`` naming an unusable address.
    public init(settings: LearnerSettings, security: LearnerSecurity?, logger: Logger, metrics: LearnerMetrics) throws {
        (context, transitions, weights, gate) = try Self.openSockets(settings: settings, security: security, logger: logger, metrics: metrics)
        self.metrics = metrics
        self.logger = logger
    }

    /// The endpoints actually bound (useful after binding port 0).
    public var boundEndpoints: (transitions: String, weights: String) { (transitions.lastEndpoint, weights.lastEndpoint) }

    /// Stops the gate's thread; the sockets close with the transport.
    public func close() { gate.stop() }

    public func receive() throws -> ReceivedMessage? {
        while true {
            if readingFrom == nil {
                // The routing frame is read into one message kept for it: one allocation a message, as with PULL.
                let routing = routingFrame
                guard try transitions.receive(into: routing) else { return nil }
                // A ROUTER's message is the routing id, then what the peer sent: at least one frame.
                guard routing.hasMoreFrames else { continue }
                guard let connection = routing.withUnsafeBytes({ Self.connection(routingId: $0) }) else {
                    // Longer than a packed id holds: not a ddpg worker's (they use 7 bytes), and not libzmq's (5).
                    skipFrames()
                    if let descriptor = routing.sourceDescriptor, gate.disconnect(descriptor: descriptor, socket: "transitions") {
                        metrics.connectionRejected(reason: "routing_id")
                        logger.warning("cut off a connection from \(routing.property("Peer-Address") ?? "unknown") whose routing id has \(routing.count) bytes (at most 7)")
                    }
                    continue
                }
                readingFrom = connection
            }
            // The frames of one message arrive together: the rest is there.
            guard let frame = try transitions.receive(blocking: false), let connection = readingFrom else {
                readingFrom = nil
                return nil
            }
            if !frame.hasMoreFrames { readingFrom = nil }
            if let descriptor = frame.sourceDescriptor { remember(descriptor, of: connection) }
            return ReceivedMessage(owner: frame, bytes: frame.withUnsafeBytes { $0 }, connection: connection)
        }
    }

    private func skipFrames() {
        while let frame = try? transitions.receive(blocking: false), frame.hasMoreFrames {}
    }

    private func remember(_ descriptor: Int32, of connection: PeerConnection) {
        guard descriptors[connection] != descriptor else { return }
        // Bounded: connections that closed long ago are forgotten first (any of them will do).
        if descriptors.count >= 4 * gate.maxPeers, let stale = descriptors.keys.first { descriptors[stale] = nil }
        descriptors[connection] = descriptor
    }

    public func send(_ bytes: [UInt8], to connection: PeerConnection) -> Delivery {
        do {
            return try transitions.send(bytes, toRoutingId: Self.routingId(of: connection)) ? .sent : .queueFull
        } catch {
            // EHOSTUNREACH (ROUTER_MANDATORY): no connection with that routing id.
            return .connectionGone
        }
    }

    public func cut(_ connection: PeerConnection) -> Bool {
        guard let descriptor = descriptors.removeValue(forKey: connection) else { return false }
        return gate.disconnect(descriptor: descriptor, socket: "transitions")
    }

    public func peerKey(of message: ReceivedMessage) -> String? {
        guard let key = (message.owner as? ZMQMessage)?.property("User-Id"), !key.isEmpty else { return nil }
        return key
    }

    public func peerAddress(of message: ReceivedMessage) -> String? { (message.owner as? ZMQMessage)?.property("Peer-Address") }

    /// A routing id of 1 to 7 bytes as a connection: its bytes, and its length in the top byte.
    static func connection(routingId bytes: UnsafeRawBufferPointer) -> PeerConnection? {
        guard (1...7).contains(bytes.count) else { return nil }
        let packed = bytes.enumerated().reduce(UInt64(bytes.count) << 56) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        return PeerConnection(id: packed)
    }

    static func routingId(of connection: PeerConnection) -> [UInt8] {
        let count = Int(connection.id >> 56)
        return (0..<count).map { UInt8(truncatingIfNeeded: connection.id >> (8 * UInt64($0))) }
    }

    public func receiveSubscriptionEvent() -> SubscriptionEvent? {
        guard let message = try? weights.receive(blocking: false) else { return nil }
        let kind = message.withUnsafeBytes { bytes -> UInt8? in bytes.count == 1 ? bytes[0] : nil }
        switch kind {
        case 1: return .subscribe
        case 0: return .unsubscribe
        default: return .other(address: message.property("Peer-Address") ?? "unknown", byteCount: message.count)
        }
    }

    public func acceptSubscription() { try? weights.subscribe() }

    public func publish(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { _ = try weights.send($0, blocking: false) }
    }

    public func disconnect(address: String) -> Int { gate.disconnect(address: address, socket: "weights") }

    public var subscriberCount: Int { gate.openConnections(socket: "weights") }

    public func wait(seconds: Double) throws -> Readiness {
        let ready = try ZMQPoller.poll([transitions, weights], timeoutMilliseconds: Int((max(seconds, 0) * 1_000).rounded(.up)))
        return Readiness(canReceive: ready[0], other: ready[1])
    }

    private static func openSockets(settings: LearnerSettings, security: LearnerSecurity?, logger: Logger, metrics: LearnerMetrics)
        throws -> (ZMQContext, ZMQSocket, ZMQSocket, ConnectionGate) {
        let context = try ZMQContext()
        // Refused peers retry every few hundred milliseconds: every refusal is counted, but only some are logged.
        let refusals = RefusalLog(logger: logger)
        let allowed = security.map { $0.authorizedKeys.union($0.evaluatorKeys) }
        let gate = try ConnectionGate(context: context, allowedKeys: allowed, maxPeers: settings.maxPeers) { [logger] event in
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
            case let .droppedByProtocol(socket, address):
                metrics.connectionRejected(reason: "oversize_or_malformed")
                refusals.log("libzmq closed a \(socket) connection from \(address): a frame over the size limit, or a malformed one",
                             key: "protocol-\(address)")
            }
        }
        let transitions = try ZMQSocket(context, type: .router)
        // A reply to a connection that is gone fails instead of vanishing; a worker that reconnects
        // (with the same routing id) takes its connection's place at once.
        try transitions.setRouterMandatory(true)
        try transitions.setRouterHandover(true)
        try transitions.setSendHighWaterMark(64)
        // A small queue keeps backpressure tight; the credit (below) is what keeps workers from running far
        // ahead of the learner's weights. A kernel buffer smaller than a message (it was 2 KiB) left TCP
        // waiting on delayed ACKs and spurious retransmits, and starved one worker of two for seconds.
        try transitions.setReceiveHighWaterMark(2)
        try transitions.setKernelBuffers(send: 2 << 10, receive: 128 << 10)
        // The largest legal message, and room for CURVE's framing.
        try transitions.setMaximumMessageSize(Int64(WireFormat.maxReadFrameBytes + 1_024))
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
            try socket.enableIPv6()
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
        return (context, transitions, weights, gate)
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

/// CURVE security of the learner's two sockets: its secret key and the worker
/// public keys it lets in. Kept out of the Codable settings so that no key ever
/// reaches summary.json.
public struct LearnerSecurity: Sendable {
    /// The learner's Z85 secret key.
    public var secretKey: String
    /// Z85 public keys of the workers allowed to connect.
    public var authorizedKeys: Set<String>
    /// Z85 public keys of the evaluators: they may connect, and only they may evaluate.
    public var evaluatorKeys: Set<String>

    public init(secretKey: String, authorizedKeys: Set<String>, evaluatorKeys: Set<String> = []) {
        self.secretKey = secretKey
        self.authorizedKeys = authorizedKeys
        self.evaluatorKeys = evaluatorKeys
    }
}
