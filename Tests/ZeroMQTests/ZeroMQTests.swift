import Foundation
import Testing
@testable import ZeroMQ

@Suite("ZeroMQ wrapper")
struct ZeroMQTests {
    @Test("PUSH/PULL delivers bytes unchanged over inproc and loopback TCP")
    func pushPull() throws {
        let context = try ZMQContext()
        for endpoint in ["inproc://push-pull", "tcp://127.0.0.1:0"] {
            let pull = try ZMQSocket(context, type: .pull)
            try pull.bind(endpoint)
            let push = try ZMQSocket(context, type: .push)
            try push.connect(pull.lastEndpoint)
            let payload: [UInt8] = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            try payload.withUnsafeBytes { (bytes) throws in _ = try push.send(bytes) }
            #expect(try pull.waitForInput(timeoutMilliseconds: 2_000))
            let message = try #require(try pull.receive())
            #expect(message.withUnsafeBytes { Array($0) } == payload)
            #expect(try pull.receive(blocking: false) == nil, "nothing else is queued")
        }
    }

    @Test("CONFLATE keeps only the newest published message")
    func conflate() throws {
        let context = try ZMQContext()
        let pub = try ZMQSocket(context, type: .pub)
        try pub.bind("tcp://127.0.0.1:0")
        let sub = try ZMQSocket(context, type: .sub)
        try sub.setConflate(true)
        try sub.subscribe()
        try sub.connect(pub.lastEndpoint)
        // PUB drops messages until the subscription arrives; publish until one gets through.
        var received: ZMQMessage?
        for attempt in 0..<200 where received == nil {
            try [UInt8(attempt % 256)].withUnsafeBytes { (bytes) throws in _ = try pub.send(bytes) }
            received = try sub.waitForInput(timeoutMilliseconds: 10) ? try sub.receive(blocking: false) : nil
        }
        #expect(received != nil)
        for value in UInt8(1)...5 {
            try [value].withUnsafeBytes { (bytes) throws in _ = try pub.send(bytes) }
        }
        Thread.sleep(forTimeInterval: 0.2)
        let newest = try #require(try sub.receive(blocking: false))
        #expect(newest.withUnsafeBytes { Array($0) } == [5])
        #expect(try sub.receive(blocking: false) == nil)
    }

    @Test("errors carry zmq_strerror and the operation")
    func errors() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context, type: .pull)
        #expect(throws: ZMQError.self) { try socket.bind("tcp://not-an-address:x") }
        let error = #expect(throws: ZMQError.self) { try socket.bind("bogus://x") }
        #expect(error?.description.contains("bind bogus://x") == true)
        #expect(error?.message.isEmpty == false)
        #expect(ZMQContext.version.major == 4)
    }

    @Test("a full PUSH queue blocks a non-blocking send instead of dropping")
    func backpressure() throws {
        let context = try ZMQContext()
        let pull = try ZMQSocket(context, type: .pull)
        try pull.setReceiveHighWaterMark(1)
        try pull.setKernelBuffers(send: 4_096, receive: 4_096)
        try pull.bind("tcp://127.0.0.1:0")
        let push = try ZMQSocket(context, type: .push)
        try push.setSendHighWaterMark(1)
        try push.setKernelBuffers(send: 4_096, receive: 4_096)
        try push.setImmediate(true)
        try push.connect(pull.lastEndpoint)
        let chunk = [UInt8](repeating: 1, count: 65_536)
        var queued = 0
        for _ in 0..<1_000 {
            let sent = try chunk.withUnsafeBytes { (bytes) throws in try push.send(bytes, blocking: false) }
            if sent { queued += 1 } else if queued > 0 { break }
            if !sent { Thread.sleep(forTimeInterval: 0.005) }
        }
        #expect(queued > 0 && queued < 1_000, "sends should stop being accepted once the queues fill (\(queued))")
        var drained = 0
        while try pull.waitForInput(timeoutMilliseconds: 500), try pull.receive(blocking: false) != nil { drained += 1 }
        #expect(drained == queued, "every accepted message is delivered")
    }
}

@Suite("Connection gate")
struct ConnectionGateTests {
    final class Events: @unchecked Sendable {
        private let lock = NSLock()
        private var events: [ConnectionGate.Event] = []
        func append(_ event: ConnectionGate.Event) { lock.withLock { events.append(event) } }
        var dropped: Int { lock.withLock { events.filter { if case .droppedByProtocol = $0 { return true } else { return false } }.count } }
    }

    /// libzmq's monitor says only "disconnected" when it drops a connection for a frame over ZMQ_MAXMSGSIZE; the gate
    /// tells that apart from a peer that closed, so the drop can be counted.
    @Test("a frame over ZMQ_MAXMSGSIZE is reported as a drop; a peer that closes, or a connection the owner cuts, is not")
    func oversizeFrameIsReported() throws {
        let context = try ZMQContext()
        let events = Events()
        let gate = try ConnectionGate(context: context, allowedKeys: nil, maxPeers: 8) { events.append($0) }
        let router = try ZMQSocket(context, type: .router)
        try router.setMaximumMessageSize(1_000)
        try router.setLinger(milliseconds: 0)
        try gate.guard(router, name: "transitions")
        gate.start()
        defer { gate.stop() }
        try router.bind("tcp://127.0.0.1:0")

        func dealer() throws -> ZMQSocket {
            let dealer = try ZMQSocket(context, type: .dealer)
            try dealer.setLinger(milliseconds: 0)
            try dealer.setReconnectInterval(milliseconds: 10_000)
            try dealer.connect(router.lastEndpoint)
            return dealer
        }
        func waitFor(_ condition: () -> Bool) { for _ in 0..<300 where !condition() { usleep(10_000) } }

        // A peer that sends a legal frame and closes.
        let polite = try dealer()
        try [UInt8](repeating: 1, count: 100).withUnsafeBytes { (bytes) throws in _ = try polite.send(bytes) }
        #expect(try router.waitForInput(timeoutMilliseconds: 2_000))
        let frames = try #require(try router.receiveFrames(blocking: false))
        #expect(frames.last?.count == 100)
        polite.close()
        waitFor { gate.openConnections(socket: "transitions") == 0 }
        #expect(gate.openConnections(socket: "transitions") == 0)

        // A connection the owner cuts.
        let cut = try dealer()
        try [UInt8](repeating: 2, count: 100).withUnsafeBytes { (bytes) throws in _ = try cut.send(bytes) }
        #expect(try router.waitForInput(timeoutMilliseconds: 2_000))
        _ = try router.receive(blocking: false)  // the routing id
        let message = try #require(try router.receive(blocking: false))
        let descriptor = try #require(message.sourceDescriptor)
        waitFor { gate.openConnections(socket: "transitions") == 1 }
        #expect(gate.disconnect(descriptor: descriptor, socket: "transitions"))
        waitFor { gate.openConnections(socket: "transitions") == 0 }
        #expect(events.dropped == 0, "neither a close nor a cut is a drop")

        // A peer that sends a frame over the limit, and stays.
        let oversize = try dealer()
        try [UInt8](repeating: 3, count: 200_000).withUnsafeBytes { (bytes) throws in _ = try oversize.send(bytes) }
        waitFor { events.dropped == 1 }
        #expect(events.dropped == 1)
        #expect(try router.receive(blocking: false) == nil, "the oversize frame never arrives")
        cut.close()
        oversize.close()
    }
}
