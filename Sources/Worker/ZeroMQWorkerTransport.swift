import Transport
import ZeroMQ

/// A worker's two ZeroMQ sockets as its core's transport: a DEALER to the learner's transitions
/// endpoint (which also brings what the learner addresses to this worker alone), and a SUB to
/// everything it publishes.
final class ZeroMQWorkerTransport: WorkerTransport {
    private let context: ZMQContext
    private let transitions: ZMQSocket
    private let weights: ZMQSocket

    init(transitionsEndpoint: String, weightsEndpoint: String, security: WorkerSecurity?) throws {
        context = try ZMQContext()
        transitions = try ZMQSocket(context, type: .dealer)
        try transitions.enableIPv6()
        // The learner binds this worker's session to its connection's routing id. A random one of its own
        // (never told to anyone) stays the same when the connection is re-established, so the session
        // survives a reconnect; the first byte is not zero, which libzmq keeps for the ids it makes up.
        try transitions.setRoutingId([UInt8.random(in: 1...255)] + (0..<6).map { _ in UInt8.random(in: 0...255) })
        try transitions.setReceiveHighWaterMark(64)
        try transitions.setMaximumMessageSize(1 << 16)
        // Everything queued between the worker and the learner's replay was acted with weights that
        // are getting older. The learner's credit bounds that; ZeroMQ's queue holds one message more.
        // Kernel buffers smaller than a message (a few KiB) stalled loopback TCP in delayed ACKs.
        try transitions.setSendHighWaterMark(1)
        try transitions.setKernelBuffers(send: 64 << 10, receive: 2 << 10)
        // Queue only to a live connection, so a send waits for the learner instead of piling up.
        try transitions.setImmediate(true)
        // A worker started alongside its learner connects within milliseconds of the learner's bind;
        // one whose learner is away backs off exponentially to half a second.
        try transitions.setReconnectInterval(milliseconds: 2)
        try transitions.setReconnectIntervalMax(milliseconds: 500)
        try transitions.setLinger(milliseconds: 2_000)
        if let security { try transitions.makeCurveClient(keys: security.keys, serverKey: security.learnerPublicKey) }
        try transitions.connect(transitionsEndpoint)
        weights = try ZMQSocket(context, type: .sub)
        try weights.enableIPv6()
        // Not CONFLATE: with libzmq 4.3.4 a conflating SUB read without blocking missed most updates
        // here (2 of 24 versions applied). The worker drains the queue instead and keeps only the
        // newest message, which is what CONFLATE promises; the queue is bounded so a stalled worker
        // cannot hoard weights.
        try weights.setReceiveHighWaterMark(16)
        try weights.setReconnectInterval(milliseconds: 2)
        try weights.setReconnectIntervalMax(milliseconds: 500)
        try weights.setLinger(milliseconds: 0)
        try weights.subscribe()
        if let security { try weights.makeCurveClient(keys: security.keys, serverKey: security.learnerPublicKey) }
        try weights.connect(weightsEndpoint)
    }

    func send(_ bytes: UnsafeRawBufferPointer) throws -> Bool { try transitions.send(bytes, blocking: false) }

    func receive() throws -> ReceivedMessage? {
        // What the learner addressed to this worker first (acknowledgements), then what it published.
        // hasInput (ZMQ_EVENTS) makes libzmq process pending commands, which a non-blocking receive
        // only does once a millisecond or so.
        for socket in [transitions, weights] where socket.hasInput {
            if let message = try socket.receive(blocking: false) { return ReceivedMessage(owner: message, bytes: message.withUnsafeBytes { $0 }) }
        }
        return nil
    }

    func wait(seconds: Double, sending: Bool) throws -> Readiness {
        let milliseconds = Int((max(seconds, 0) * 1_000).rounded(.up))
        var items: [(ZMQSocket, ZMQPoller.Interest)] = [(weights, .readable), (transitions, .readable)]
        if sending { items.append((transitions, .writable)) }
        let ready = try ZMQPoller.poll(items, timeoutMilliseconds: milliseconds)
        return Readiness(canReceive: ready[0] || ready[1], other: sending && ready[2])
    }
}
