import CZeroMQ
import Foundation

/// A ZeroMQ Authentication Protocol (ZAP, RFC 27) handler that lets in only CURVE
/// clients whose public key is on an allow-list, and watches the handshakes that
/// fail before ZAP is asked (a client without CURVE, or with the wrong server key).
///
/// It runs on its own thread, with its own sockets, in the context of the sockets
/// it guards; create it before those sockets bind.
public final class ZAPAuthenticator: @unchecked Sendable {
    /// What happened to one connection attempt.
    public enum Event: Sendable, Equatable {
        /// ZAP let this client key in (once per connection).
        case accepted(clientKey: String, address: String)
        /// ZAP refused this client key: it is not on the allow-list.
        case refused(clientKey: String, address: String)
        /// The handshake failed before any key could be checked; `reason` says how.
        case handshakeFailed(endpoint: String, reason: String)
        /// The peer closed the connection before finishing a handshake (a port probe, or a peer that gave up).
        case closedDuringHandshake(endpoint: String)
    }

    public static let endpoint = "inproc://zeromq.zap.01"
    private let allowed: Set<String>
    private let onEvent: @Sendable (Event) -> Void
    private let handler: ZMQSocket
    private var monitors: [ZMQSocket] = []
    private let context: ZMQContext
    private let lock = NSLock()
    private var stopping = false
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)

    /// `allowedKeys` are Z85 public keys. Binds the ZAP endpoint of `context`.
    public init(context: ZMQContext, allowedKeys: Set<String>, onEvent: @escaping @Sendable (Event) -> Void) throws {
        self.context = context
        self.allowed = allowedKeys
        self.onEvent = onEvent
        handler = try ZMQSocket(context, type: .rep)
        try handler.setLinger(milliseconds: 0)
        try handler.bind(Self.endpoint)
    }

    /// Also reports `socket`'s failed handshakes (call before it binds).
    public func watch(_ socket: ZMQSocket, name: String) throws {
        let endpoint = "inproc://ddpg.monitor.\(name)"
        try socket.monitorHandshakeFailures(endpoint: endpoint)
        let reader = try ZMQSocket(context, type: .pair)
        try reader.setLinger(milliseconds: 0)
        try reader.connect(endpoint)
        monitors.append(reader)
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

    private var shouldStop: Bool { lock.withLock { stopping } }

    private func run() {
        let sockets = [handler] + monitors
        while !shouldStop {
            guard let ready = try? ZMQPoller.poll(sockets, timeoutMilliseconds: 100) else { continue }
            if ready[0], let request = try? handler.receiveFrames(blocking: false) { answer(request) }
            for (index, monitor) in monitors.enumerated() where ready[index + 1] {
                while let frames = try? monitor.receiveFrames(blocking: false) { report(frames) }
            }
        }
        handler.close()
        monitors.forEach { $0.close() }
    }

    /// Request: version, request id, domain, address, identity, mechanism, credentials…
    /// Reply: version, request id, status code, status text, user id, metadata.
    private func answer(_ request: [[UInt8]]) {
        guard request.count >= 6 else { return }
        let version = request[0], requestId = request[1]
        let address = String(decoding: request[3], as: UTF8.self)
        let mechanism = String(decoding: request[5], as: UTF8.self)
        var status = "400", text = "not authorized", user = ""
        if mechanism == "CURVE", request.count >= 7, let key = Curve.z85(request[6]) {
            if allowed.contains(key) {
                (status, text, user) = ("200", "OK", key)
                onEvent(.accepted(clientKey: key, address: address))
            } else {
                onEvent(.refused(clientKey: key, address: address))
            }
        } else {
            onEvent(.handshakeFailed(endpoint: address, reason: "mechanism \(mechanism), not CURVE"))
        }
        try? handler.send(frames: [version, requestId, Array(status.utf8), Array(text.utf8), Array(user.utf8), []])
    }

    /// Monitor event: frame 1 is event (u16) and value (u32), frame 2 the endpoint.
    private func report(_ frames: [[UInt8]]) {
        guard frames.count >= 2, frames[0].count >= 6 else { return }
        let event = UInt16(frames[0][0]) | UInt16(frames[0][1]) << 8
        let value = frames[0][2...5].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
        let endpoint = String(decoding: frames[1], as: UTF8.self)
        let reason: String
        switch (Int32(event), value) {
        case (ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, UInt32(ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)):
            reason = "security mechanism mismatch (a peer without CURVE keys?)"
        case (ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, UInt32(ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)):
            reason = "cryptographic error (a peer using the wrong server key?)"
        case (ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, _):
            reason = "protocol error 0x\(String(value, radix: 16))"
        case (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, _):
            return  // already reported by the ZAP handler with the key
        case (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, UInt32(EPIPE)), (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, UInt32(ECONNRESET)):
            onEvent(.closedDuringHandshake(endpoint: endpoint))
            return
        default:
            reason = "handshake failed (\(String(cString: strerror(Int32(bitPattern: value)))))"
        }
        onEvent(.handshakeFailed(endpoint: endpoint, reason: reason))
    }
}
