import CZeroMQ
import Foundation

/// Guards the connections of a process's bound sockets, which libzmq alone
/// does not: every connection passes a ZeroMQ Authentication Protocol (ZAP,
/// RFC 27) handler, with or without CURVE, that
///
/// - lets in only CURVE clients whose public key is on an allow-list (when the sockets are CURVE servers);
/// - refuses a connection while a socket already has `maxPeers` open, so memory
///   held by connections is bounded whatever the number of peers trying;
///
/// and it watches each socket's TCP connections, so that the owner can cut off
/// every connection from an address that misbehaves (``disconnect(address:socket:)``).
///
/// It runs on its own thread, with its own sockets, in the context of the sockets
/// it guards; create it and ``guard(_:name:)`` them before they bind.
public final class ConnectionGate: @unchecked Sendable {
    /// What happened to one connection attempt.
    public enum Event: Sendable, Equatable {
        /// Let in (with its CURVE key, when there is one).
        case accepted(socket: String, clientKey: String?, address: String)
        /// Refused: this CURVE key is not on the allow-list.
        case refused(socket: String, clientKey: String, address: String)
        /// Refused: the socket already has its maximum of open connections.
        case tooManyPeers(socket: String, address: String, limit: Int)
        /// The handshake failed before any key could be checked; `reason` says how.
        case handshakeFailed(endpoint: String, reason: String)
        /// The peer closed the connection before finishing a handshake (a port probe, or a peer that gave up).
        case closedDuringHandshake(endpoint: String)
        /// libzmq closed a connection while its peer was still sending: a frame over ZMQ_MAXMSGSIZE, or a malformed one.
        /// libzmq's monitor reports only "disconnected"; the gate tells this apart from a peer that closed (or an
        /// owner's cut) by peeking at a duplicate of the descriptor for bytes libzmq left unread.
        case droppedByProtocol(socket: String, address: String)
    }

    public static let endpoint = "inproc://zeromq.zap.01"
    /// Each guarded socket's ZAP domain is this prefix and its name.
    static let domainPrefix = "ddpg."
    /// nil: no CURVE, every client may connect (subject to the cap).
    private let allowedKeys: Set<String>?
    public let maxPeers: Int
    private let onEvent: @Sendable (Event) -> Void
    private let handler: ZMQSocket
    private var monitors: [(reader: ZMQSocket, socket: String)] = []
    private let context: ZMQContext
    private let lock = NSLock()
    private var stopping = false
    /// Per guarded socket: open TCP connections, by file descriptor, with the peer's address and a duplicate of the
    /// descriptor, which keeps the TCP connection readable after libzmq closes its own to tell how it ended.
    private var open: [String: [Int32: (address: String, duplicate: Int32)]] = [:]
    /// Descriptors already shut down by ``disconnect(address:socket:)``, until libzmq reports them closed.
    private var cutOff: Set<Int32> = []
    /// Connections libzmq closed that the owner did not cut, kept open (by a duplicate descriptor) until it is
    /// known how they ended (``settle()``); only the gate's thread uses it.
    private var unsettled: [(socket: String, address: String, duplicate: Int32, deadline: Date)] = []
    static let verdictSeconds = 0.2
    /// Disconnections whose descriptor still held the recorded socket, looked at again (``resolveDoubtful()``).
    private var doubtful: [(socket: String, descriptor: Int32, deadline: Date)] = []
    static let staleEventSeconds = 0.05
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)

    /// Binds the ZAP endpoint of `context`. `allowedKeys` are Z85 CURVE public keys, or nil when the sockets do not use CURVE.
    public init(context: ZMQContext, allowedKeys: Set<String>?, maxPeers: Int, onEvent: @escaping @Sendable (Event) -> Void) throws {
        self.context = context
        self.allowedKeys = allowedKeys
        self.maxPeers = max(maxPeers, 1)
        self.onEvent = onEvent
        handler = try ZMQSocket(context, type: .rep)
        try handler.setLinger(milliseconds: 0)
        try handler.bind(Self.endpoint)
    }

    /// Puts `socket` behind the gate: its connections go through ZAP (domain `ddpg.NAME`) and are watched. Call before it binds.
    public func `guard`(_ socket: ZMQSocket, name: String) throws {
        try socket.setOption(ZMQ_ZAP_DOMAIN, bytes: Array((Self.domainPrefix + name).utf8), "ZMQ_ZAP_DOMAIN")
        let endpoint = "inproc://ddpg.monitor.\(name)"
        let events = ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
            | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
        try check(zmq_socket_monitor(socket.handle, endpoint, events), "monitor \(endpoint)")
        let reader = try ZMQSocket(context, type: .pair)
        try reader.setLinger(milliseconds: 0)
        try reader.connect(endpoint)
        monitors.append((reader, name))
        lock.withLock { open[name] = [:] }
    }

    public func start() {
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.name = "ddpg-zap"
        self.thread = thread
        thread.start()
    }

    /// Stops the thread and closes its sockets (before the context terminates).
    public func stop() {
        lock.withLock { stopping = true }
        if thread != nil { finished.wait() }
        thread = nil
    }

    /// Open connections of a guarded socket, as far as its monitor has told.
    public func openConnections(socket: String) -> Int { lock.withLock { open[socket]?.count ?? 0 } }

    /// Shuts down every open connection of `socket` from `address` (an IP address, as ZeroMQ's
    /// `Peer-Address` gives it); libzmq then closes them as if the peers had left. Returns how many
    /// were cut off now (connections already cut off and not yet closed are not counted again).
    @discardableResult
    public func disconnect(address: String, socket: String) -> Int {
        let descriptors = lock.withLock {
            let found = open[socket, default: [:]].filter { $0.value.address == address && !cutOff.contains($0.key) }.map(\.key)
            cutOff.formUnion(found)
            return found
        }
        for descriptor in descriptors { Foundation.shutdown(descriptor, Int32(SHUT_RDWR)) }
        return descriptors.count
    }

    /// Cuts off the one connection on `socket` with file descriptor `descriptor`, if it is open; returns whether it was.
    @discardableResult
    public func disconnect(descriptor: Int32, socket: String) -> Bool {
        let found = lock.withLock {
            guard open[socket]?[descriptor] != nil, !cutOff.contains(descriptor) else { return false }
            cutOff.insert(descriptor)
            return true
        }
        if found { Foundation.shutdown(descriptor, Int32(SHUT_RDWR)) }
        return found
    }

    private var shouldStop: Bool { lock.withLock { stopping } }

    private func run() {
        let sockets = [handler] + monitors.map(\.reader)
        while !shouldStop {
            guard let ready = try? ZMQPoller.poll(sockets, timeoutMilliseconds: unsettled.isEmpty && doubtful.isEmpty ? 100 : 10) else { continue }
            // Monitors first: the connection a ZAP request is about was accepted (and counted) before it.
            drainMonitors()
            settle()
            if ready[0], let request = try? handler.receiveFrames(blocking: false) { answer(request) }
        }
        handler.close()
        monitors.forEach { $0.reader.close() }
        unsettled.forEach { close($0.duplicate) }
        lock.withLock {
            for connections in open.values { for connection in connections.values where connection.duplicate >= 0 { close(connection.duplicate) } }
            open = [:]
        }
    }

    private func drainMonitors() {
        for (reader, socket) in monitors {
            while let frames = try? reader.receiveFrames(blocking: false) { report(frames, socket: socket) }
        }
    }

    /// Request: version, request id, domain, address, identity, mechanism, credentials…
    /// Reply: version, request id, status code, status text, user id, metadata.
    private func answer(_ request: [[UInt8]]) {
        guard request.count >= 6 else { return }
        let version = request[0], requestId = request[1]
        let domain = String(decoding: request[2], as: UTF8.self)
        let socket = domain.hasPrefix(Self.domainPrefix) ? String(domain.dropFirst(Self.domainPrefix.count)) : domain
        let address = String(decoding: request[3], as: UTF8.self)
        let mechanism = String(decoding: request[5], as: UTF8.self)
        var status = "400", text = "not authorized", user = ""
        // The connection being decided is among the open ones.
        if openConnections(socket: socket) > maxPeers {
            text = "too many peers"
            onEvent(.tooManyPeers(socket: socket, address: address, limit: maxPeers))
        } else if let allowedKeys {
            if mechanism == "CURVE", request.count >= 7, let key = Curve.z85(request[6]) {
                if allowedKeys.contains(key) {
                    (status, text, user) = ("200", "OK", key)
                    onEvent(.accepted(socket: socket, clientKey: key, address: address))
                } else {
                    onEvent(.refused(socket: socket, clientKey: key, address: address))
                }
            } else {
                onEvent(.handshakeFailed(endpoint: address, reason: "mechanism \(mechanism), not CURVE"))
            }
        } else {
            (status, text) = ("200", "OK")
            onEvent(.accepted(socket: socket, clientKey: nil, address: address))
        }
        try? handler.send(frames: [version, requestId, Array(status.utf8), Array(text.utf8), Array(user.utf8), []])
    }

    /// Monitor event: frame 1 is event (u16) and value (u32), frame 2 the endpoint.
    private func report(_ frames: [[UInt8]], socket: String) {
        guard frames.count >= 2, frames[0].count >= 6 else { return }
        let event = UInt16(frames[0][0]) | UInt16(frames[0][1]) << 8
        let value = frames[0][2...5].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
        let endpoint = String(decoding: frames[1], as: UTF8.self)
        let reason: String
        switch (Int32(event), value) {
        case (ZMQ_EVENT_ACCEPTED, _):
            let descriptor = Int32(bitPattern: value)
            let peer = Self.peerAddress(descriptor) ?? "unknown"
            let duplicate = dup(descriptor)
            lock.withLock {
                if let stale = open[socket]?[descriptor], stale.duplicate >= 0 { close(stale.duplicate) }
                open[socket, default: [:]][descriptor] = (peer, duplicate)
                cutOff.remove(descriptor)
            }
            return
        case (ZMQ_EVENT_DISCONNECTED, _):
            let descriptor = Int32(bitPattern: value)
            // Monitor events of two connections can arrive out of order: one that closed at once (the launcher's probe) may
            // report its end after the next was accepted on the same descriptor number. libzmq closes a connection's
            // descriptor just after reporting it: one that still holds the socket the gate recorded is looked at again.
            if let live = lock.withLock({ open[socket]?[descriptor] }), live.duplicate >= 0, Self.sameSocket(descriptor, live.duplicate) {
                doubtful.append((socket, descriptor, Date().addingTimeInterval(Self.staleEventSeconds)))
                return
            }
            disconnected(socket: socket, descriptor: descriptor)
            return
        case (ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, UInt32(ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)):
            reason = "security mechanism mismatch (a peer without CURVE keys?)"
        case (ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, UInt32(ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)):
            reason = "cryptographic error (a peer using the wrong server key?)"
        case (ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, _):
            reason = "protocol error 0x\(String(value, radix: 16))"
        case (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, _):
            return  // already reported by the ZAP handler
        case (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, UInt32(EPIPE)), (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, UInt32(ECONNRESET)),
             (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, 0):
            onEvent(.closedDuringHandshake(endpoint: endpoint))
            return
        default:
            reason = "handshake failed (\(String(cString: strerror(Int32(bitPattern: value)))))"
        }
        onEvent(.handshakeFailed(endpoint: endpoint, reason: reason))
    }

    /// The connection on `descriptor` ended: a cut by the owner was counted where it happened; any other end is settled.
    private func disconnected(socket: String, descriptor: Int32) {
        let (connection, wasCut) = lock.withLock { (open[socket]?.removeValue(forKey: descriptor), cutOff.remove(descriptor) != nil) }
        guard let connection, connection.duplicate >= 0 else { return }
        if wasCut {
            close(connection.duplicate)
        } else {
            unsettled.append((socket, connection.address, connection.duplicate, Date().addingTimeInterval(Self.verdictSeconds)))
        }
    }

    /// Disconnections reported while their descriptor still held the recorded socket: libzmq's close that follows
    /// makes one real; a socket still open after ``staleEventSeconds`` is a later connection's, and the event was not its own.
    private func resolveDoubtful() {
        let now = Date()
        doubtful.removeAll { event in
            guard let live = lock.withLock({ open[event.socket]?[event.descriptor] }), live.duplicate >= 0 else { return true }
            if !Self.sameSocket(event.descriptor, live.duplicate) {
                disconnected(socket: event.socket, descriptor: event.descriptor)
                return true
            }
            return now >= event.deadline
        }
    }

    /// Decides how each unsettled connection ended, from its TCP socket, which libzmq has let go of but the gate still
    /// holds: bytes the peer sent wait unread (it was still sending when libzmq closed it: a frame over the limit, or
    /// after a malformed one), or an end of stream (the peer closed). Nothing within ``verdictSeconds`` (a peer refused
    /// at its handshake, waiting): not counted.
    private func settle() {
        resolveDoubtful()
        let now = Date()
        unsettled.removeAll { connection in
            var byte: UInt8 = 0
            let peeked = recv(connection.duplicate, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
            let waiting = peeked < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
            guard !waiting || now >= connection.deadline else { return false }
            close(connection.duplicate)
            if peeked > 0 { onEvent(.droppedByProtocol(socket: connection.socket, address: connection.address)) }
            return true
        }
    }

    /// Whether two descriptors refer to one open socket (one is the gate's duplicate of the other).
    static func sameSocket(_ a: Int32, _ b: Int32) -> Bool {
        var first = stat(), second = stat()
        guard fstat(a, &first) == 0, fstat(b, &second) == 0 else { return false }
        return first.st_dev == second.st_dev && first.st_ino == second.st_ino
    }

    /// The IP address of a connected TCP socket's peer, in ZeroMQ's `Peer-Address` form.
    static func peerAddress(_ descriptor: Int32) -> String? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(descriptor, $0, &length) }
        }
        guard result == 0 else { return nil }
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let named = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, length, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST)
            }
        }
        guard named == 0 else { return nil }
        return String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
