import CZeroMQ

/// The socket patterns ddpg uses.
public enum ZMQSocketType: Int32, Sendable {
    case push, pull, pub, sub
    /// The worker's side of its connection to the learner: sends, and receives what the learner addresses to it.
    case dealer
    /// The learner's transitions endpoint: every message arrives with its connection's routing id.
    case router
    /// A publisher that hands subscriptions to the application (with ``ZMQSocket/setManualSubscriptions(_:)``).
    case xpub
    /// The ZAP handler's socket.
    case rep
    /// The reading end of a socket monitor.
    case pair

    var rawType: Int32 {
        switch self {
        case .dealer: ZMQ_DEALER
        case .router: ZMQ_ROUTER
        case .push: ZMQ_PUSH
        case .pull: ZMQ_PULL
        case .pub: ZMQ_PUB
        case .sub: ZMQ_SUB
        case .xpub: ZMQ_XPUB
        case .rep: ZMQ_REP
        case .pair: ZMQ_PAIR
        }
    }
}

/// A libzmq socket. Not thread-safe: use each socket from one thread, as libzmq requires.
public final class ZMQSocket {
    let handle: UnsafeMutableRawPointer
    public let type: ZMQSocketType
    /// Keeps the context alive while the socket exists (a context blocks in term until its sockets close).
    private let context: ZMQContext
    private var closed = false

    public init(_ context: ZMQContext, type: ZMQSocketType) throws {
        guard let handle = zmq_socket(context.handle, type.rawType) else {
            throw ZMQError(operation: "zmq_socket(\(type))")
        }
        self.handle = handle
        self.type = type
        self.context = context
    }

    deinit { close() }

    /// Closes the socket; pending outgoing messages are kept for at most the linger period.
    public func close() {
        guard !closed else { return }
        closed = true
        zmq_close(handle)
    }

    public func bind(_ endpoint: String) throws {
        try check(zmq_bind(handle, endpoint), "bind \(endpoint)")
    }

    public func connect(_ endpoint: String) throws {
        try check(zmq_connect(handle, endpoint), "connect \(endpoint)")
    }

    /// The endpoint actually bound, e.g. after binding port 0 or `*`.
    public var lastEndpoint: String {
        var buffer = [CChar](repeating: 0, count: 512)
        var size = buffer.count
        guard zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size) == 0 else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: Options

    public func setOption(_ option: Int32, _ value: Int32, _ name: String) throws {
        var value = value
        try check(zmq_setsockopt(handle, option, &value, MemoryLayout<Int32>.size), "set \(name)")
    }

    public func setOption64(_ option: Int32, _ value: Int64, _ name: String) throws {
        var value = value
        try check(zmq_setsockopt(handle, option, &value, MemoryLayout<Int64>.size), "set \(name)")
    }

    public func setOption(_ option: Int32, bytes: [UInt8], _ name: String) throws {
        let result = bytes.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, $0.count) }
        try check(result, "set \(name)")
    }

    /// Queue limit, in messages, for outgoing messages; at the limit PUSH blocks (backpressure) and PUB drops.
    public func setSendHighWaterMark(_ messages: Int32) throws { try setOption(ZMQ_SNDHWM, messages, "ZMQ_SNDHWM") }
    /// Queue limit, in messages, for incoming messages.
    public func setReceiveHighWaterMark(_ messages: Int32) throws { try setOption(ZMQ_RCVHWM, messages, "ZMQ_RCVHWM") }
    /// How long close() keeps unsent messages, in milliseconds (-1: forever, 0: drop at once).
    public func setLinger(milliseconds: Int32) throws { try setOption(ZMQ_LINGER, milliseconds, "ZMQ_LINGER") }
    /// Delay before reconnecting after a lost connection, in milliseconds.
    public func setReconnectInterval(milliseconds: Int32) throws { try setOption(ZMQ_RECONNECT_IVL, milliseconds, "ZMQ_RECONNECT_IVL") }
    /// Upper bound of the exponential reconnect back-off, in milliseconds.
    public func setReconnectIntervalMax(milliseconds: Int32) throws { try setOption(ZMQ_RECONNECT_IVL_MAX, milliseconds, "ZMQ_RECONNECT_IVL_MAX") }
    /// Keep only the newest incoming (or outgoing) message; single-frame messages only.
    public func setConflate(_ on: Bool) throws { try setOption(ZMQ_CONFLATE, Int32(on ? 1 : 0), "ZMQ_CONFLATE") }
    /// Queue messages only to completed connections, so a send to nobody blocks instead of queueing.
    public func setImmediate(_ on: Bool) throws { try setOption(ZMQ_IMMEDIATE, Int32(on ? 1 : 0), "ZMQ_IMMEDIATE") }
    /// (ROUTER) a send to a routing id with no connection fails (EHOSTUNREACH) instead of vanishing.
    public func setRouterMandatory(_ on: Bool) throws { try setOption(ZMQ_ROUTER_MANDATORY, Int32(on ? 1 : 0), "ZMQ_ROUTER_MANDATORY") }
    /// (ROUTER) a new connection with the routing id of an open one takes its place (a peer that reconnected).
    public func setRouterHandover(_ on: Bool) throws { try setOption(ZMQ_ROUTER_HANDOVER, Int32(on ? 1 : 0), "ZMQ_ROUTER_HANDOVER") }
    /// (DEALER) the routing id this socket presents to a ROUTER: 1 to 255 bytes, the first not zero.
    public func setRoutingId(_ id: [UInt8]) throws { try setOption(ZMQ_ROUTING_ID, bytes: id, "ZMQ_ROUTING_ID") }
    /// Lets the socket bind and connect IPv6 addresses too (libzmq's default is IPv4 only).
    public func enableIPv6() throws { try setOption(ZMQ_IPV6, 1, "ZMQ_IPV6") }
    /// Kernel socket buffer sizes, in bytes; small buffers keep backpressure tight.
    public func setKernelBuffers(send: Int32, receive: Int32) throws {
        try setOption(ZMQ_SNDBUF, send, "ZMQ_SNDBUF")
        try setOption(ZMQ_RCVBUF, receive, "ZMQ_RCVBUF")
    }
    /// Peers that send a larger message are disconnected by libzmq before it is delivered.
    public func setMaximumMessageSize(_ bytes: Int64) throws { try setOption64(ZMQ_MAXMSGSIZE, bytes, "ZMQ_MAXMSGSIZE") }
    /// Send and receive timeouts for blocking calls, in milliseconds (-1: forever).
    public func setSendTimeout(milliseconds: Int32) throws { try setOption(ZMQ_SNDTIMEO, milliseconds, "ZMQ_SNDTIMEO") }
    public func setReceiveTimeout(milliseconds: Int32) throws { try setOption(ZMQ_RCVTIMEO, milliseconds, "ZMQ_RCVTIMEO") }
    /// Time allowed for a new connection's ZMTP handshake before libzmq drops it.
    public func setHandshakeInterval(milliseconds: Int32) throws { try setOption(ZMQ_HANDSHAKE_IVL, milliseconds, "ZMQ_HANDSHAKE_IVL") }
    /// On an XPUB: subscriptions are only passed to the application, which applies
    /// the ones it accepts with ``subscribe(_:)`` (to the peer whose subscription it read last).
    public func setManualSubscriptions(_ on: Bool) throws { try setOption(ZMQ_XPUB_MANUAL, Int32(on ? 1 : 0), "ZMQ_XPUB_MANUAL") }
    /// Subscribes a SUB socket to messages starting with `prefix` (empty: everything).
    public func subscribe(_ prefix: [UInt8] = []) throws { try setOption(ZMQ_SUBSCRIBE, bytes: prefix, "ZMQ_SUBSCRIBE") }

    // MARK: Messages

    /// Sends `bytes` as one single-frame message. libzmq copies them once into its message.
    /// - Returns: false if `blocking` is false and the message could not be queued now.
    @discardableResult
    public func send(_ bytes: UnsafeRawBufferPointer, blocking: Bool = true) throws -> Bool {
        let result = zmq_send(handle, bytes.baseAddress, bytes.count, blocking ? 0 : ZMQ_DONTWAIT)
        if result == -1 {
            let error = ZMQError(operation: "send")
            if error.wouldBlock { return false }
            throw error
        }
        return true
    }

    /// Sends the frames of one multipart message (the ZAP protocol's replies are multipart).
    public func send(frames: [[UInt8]]) throws {
        for (index, frame) in frames.enumerated() {
            let flags = index < frames.count - 1 ? ZMQ_SNDMORE : 0
            let result = frame.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, flags) }
            if result == -1 { throw ZMQError(operation: "send frame \(index)") }
        }
    }

    /// (ROUTER) sends `bytes` to the connection with routing id `id`, without waiting; false when its queue
    /// is full. Throws EHOSTUNREACH when that connection is gone (with ``setRouterMandatory(_:)``).
    public func send(_ bytes: [UInt8], toRoutingId id: [UInt8]) throws -> Bool {
        let head = id.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, ZMQ_SNDMORE | ZMQ_DONTWAIT) }
        if head == -1 {
            let error = ZMQError(operation: "send to a routing id")
            if error.wouldBlock { return false }
            throw error
        }
        // Once the routing frame is taken, libzmq takes the rest of the message.
        let body = bytes.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, ZMQ_DONTWAIT) }
        if body == -1 { throw ZMQError(operation: "send a routed message") }
        return true
    }

    /// Receives every frame of one multipart message, or nil if `blocking` is false and nothing is queued.
    public func receiveFrames(blocking: Bool = true) throws -> [[UInt8]]? {
        guard let first = try receive(blocking: blocking) else { return nil }
        var frames = [first.withUnsafeBytes { Array($0) }]
        var more = first.hasMoreFrames
        while more, let next = try receive(blocking: true) {
            frames.append(next.withUnsafeBytes { Array($0) })
            more = next.hasMoreFrames
        }
        return frames
    }

    /// Receives one frame into `message` (reused: libzmq releases what it held), without waiting; false when nothing is queued.
    public func receive(into message: ZMQMessage) throws -> Bool {
        if zmq_msg_recv(message.message, handle, ZMQ_DONTWAIT) == -1 {
            let error = ZMQError(operation: "receive")
            if error.wouldBlock { return false }
            throw error
        }
        return true
    }

    /// Receives one message without copying it out of libzmq.
    /// - Returns: nil if `blocking` is false and nothing is queued (or a receive timeout passed).
    public func receive(blocking: Bool = true) throws -> ZMQMessage? {
        let message = ZMQMessage()
        let result = zmq_msg_recv(message.message, handle, blocking ? 0 : ZMQ_DONTWAIT)
        if result == -1 {
            let error = ZMQError(operation: "receive")
            if error.wouldBlock { return nil }
            throw error
        }
        return message
    }

    /// Whether a message can be received now, from `ZMQ_EVENTS`. Reading that
    /// option makes libzmq process its pending commands; a CONFLATE socket needs
    /// it, or a non-blocking receive can keep missing newly arrived messages
    /// (libzmq issues 3171 and 4398).
    public var hasInput: Bool {
        var events: Int32 = 0
        var size = MemoryLayout<Int32>.size
        guard zmq_getsockopt(handle, ZMQ_EVENTS, &events, &size) == 0 else { return false }
        return events & Int32(ZMQ_POLLIN) != 0
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever) until a message can be received.
    /// Returns false on timeout or when interrupted by a signal.
    public func waitForInput(timeoutMilliseconds: Int) throws -> Bool {
        try ZMQPoller.poll([self], timeoutMilliseconds: timeoutMilliseconds).first ?? false
    }
}

/// A received message, owning libzmq's buffer until it is deinitialized.
public final class ZMQMessage {
    /// Heap-allocated so its address is stable: libzmq keeps small messages inside the struct itself.
    let message: UnsafeMutablePointer<zmq_msg_t>

    public init() {
        message = .allocate(capacity: 1)
        zmq_msg_init(message)
    }

    deinit {
        zmq_msg_close(message)
        message.deallocate()
    }

    public var count: Int { zmq_msg_size(message) }

    /// The message bytes, valid only inside `body`.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: zmq_msg_data(message), count: zmq_msg_size(message)))
    }

    /// Whether more frames of the same message follow (multipart messages are not part of ddpg's protocol).
    public var hasMoreFrames: Bool { zmq_msg_more(message) == 1 }

    /// The file descriptor of the connection the message came in on (libzmq's ZMQ_SRCFD), or nil.
    public var sourceDescriptor: Int32? {
        let descriptor = zmq_msg_get(message, ZMQ_SRCFD)
        return descriptor >= 0 ? descriptor : nil
    }

    /// A metadata property of the connection the message came from, such as `Peer-Address` or `User-Id`.
    public func property(_ name: String) -> String? {
        zmq_msg_gets(message, name).map { String(cString: $0) }
    }
}

/// `zmq_poll` over several sockets.
public enum ZMQPoller {
    /// What to wait for on one socket.
    public enum Interest { case readable, writable }

    /// For each (socket, interest), whether it is ready. All false on timeout or signal interruption.
    public static func poll(_ items: [(ZMQSocket, Interest)], timeoutMilliseconds: Int) throws -> [Bool] {
        var raw = items.map { socket, interest in
            zmq_pollitem_t(socket: socket.handle, fd: 0, events: Int16(interest == .readable ? ZMQ_POLLIN : ZMQ_POLLOUT), revents: 0)
        }
        if zmq_poll(&raw, Int32(raw.count), timeoutMilliseconds) == -1 {
            let error = ZMQError(operation: "poll")
            if error.interrupted { return items.map { _ in false } }
            throw error
        }
        return raw.map { $0.revents != 0 }
    }

    /// For each socket, whether it is readable. Returns all false on timeout or signal interruption.
    public static func poll(_ sockets: [ZMQSocket], timeoutMilliseconds: Int) throws -> [Bool] {
        var items = sockets.map { zmq_pollitem_t(socket: $0.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0) }
        let result = zmq_poll(&items, Int32(items.count), timeoutMilliseconds)
        if result == -1 {
            let error = ZMQError(operation: "poll")
            if error.interrupted { return sockets.map { _ in false } }
            throw error
        }
        return items.map { ($0.revents & Int16(ZMQ_POLLIN)) != 0 }
    }
}
