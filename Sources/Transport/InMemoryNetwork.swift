/// One learner and any number of workers in memory, with ZeroMQ's semantics where the cores can
/// tell the difference (in the spirit of swift-nio's `EmbeddedChannel`):
/// - a worker's sends queue to the bound learner, at most ``queueLimit`` deep (a DEALER's and a ROUTER's
///   high-water marks); a full queue, or no learner bound, refuses the send, and nothing is dropped;
/// - the learner reads the workers' queues in turn (fair queuing), each message with its worker's
///   connection, which is new after every (re)connection, as a ZeroMQ routing id is;
/// - a message the learner sends to one connection reaches that worker's inbox alone;
/// - a publication reaches every accepted subscriber whose inbox holds fewer than
///   ``subscriberQueueLimit`` messages, and is dropped for the others (PUB);
/// - a worker's connection shows up at the learner as a subscription, and binding a new learner
///   (a restart) drops what was queued for the old one and subscribes every worker again.
///
/// Nothing here blocks or starts a thread: a wait returns at once after calling ``onWait``, where a
/// test advances its clock or lets other peers act. Single-threaded use only.
public final class InMemoryNetwork {
    public let queueLimit: Int
    public let subscriberQueueLimit: Int
    /// Called with the timeout of every wait that found nothing ready.
    public var onWait: ((Double) -> Void)?
    private var learner: InMemoryLearnerTransport?
    private var workers: [InMemoryWorkerTransport] = []
    private var nextWorker = 0
    private var nextConnection: UInt64 = 1
    /// Messages the learner tried to send to each connection, delivered or not.
    public private(set) var sendAttempts: [PeerConnection: Int] = [:]

    fileprivate func newConnection() -> PeerConnection {
        defer { nextConnection += 1 }
        return PeerConnection(id: nextConnection)
    }

    public init(queueLimit: Int = 3, subscriberQueueLimit: Int = 16, onWait: ((Double) -> Void)? = nil) {
        self.queueLimit = queueLimit
        self.subscriberQueueLimit = subscriberQueueLimit
        self.onWait = onWait
    }

    /// A learner's endpoints; an earlier learner is gone (as after a crash), and every worker reconnects.
    public func bindLearner() -> InMemoryLearnerTransport {
        learner?.isBound = false
        let bound = InMemoryLearnerTransport(network: self)
        learner = bound
        for worker in workers where worker.isConnected {
            worker.outgoing.removeAll()
            worker.isSubscribed = false
            worker.connection = newConnection()
            bound.events.append((.subscribe, worker))
        }
        return bound
    }

    /// A worker's connection to whichever learner is bound, now or later.
    /// Each worker has an address of its own unless given one.
    public func connectWorker(key: String? = nil, address: String? = nil) -> InMemoryWorkerTransport {
        let worker = InMemoryWorkerTransport(network: self, address: address ?? "worker-\(nextWorker)", connection: newConnection(), key: key)
        nextWorker += 1
        workers.append(worker)
        learner?.events.append((.subscribe, worker))
        return worker
    }

    /// Closes `worker`'s connection as a process that exits does: what it sent still reaches the
    /// learner (ZeroMQ's linger), then the connection goes.
    public func close(_ worker: InMemoryWorkerTransport) {
        worker.isClosing = true
        worker.isSubscribed = false
        worker.inbox.removeAll()
        if worker.outgoing.isEmpty { disconnect(worker) }
    }

    /// Closes `worker`'s connection as a process that is killed does: what it queued is lost.
    public func disconnect(_ worker: InMemoryWorkerTransport) {
        guard worker.isConnected else { return }
        worker.isConnected = false
        worker.isSubscribed = false
        worker.outgoing.removeAll()
        worker.inbox.removeAll()
        learner?.events.append((.unsubscribe, worker))
    }

    fileprivate func deliver(_ bytes: UnsafeRawBufferPointer, from worker: InMemoryWorkerTransport) -> Bool {
        guard let learner, learner.isBound, worker.isConnected, !worker.isClosing, worker.outgoing.count < queueLimit else { return false }
        worker.outgoing.append(ByteStore(copying: bytes))
        return true
    }

    fileprivate func nextMessage() -> ReceivedMessage? {
        let count = workers.count
        guard count > 0 else { return nil }
        for offset in 0..<count {
            let worker = workers[(readCursor + offset) % count]
            guard !worker.outgoing.isEmpty else { continue }
            readCursor = (readCursor + offset + 1) % count
            let message = worker.outgoing.removeFirst().message(connection: worker.connection)
            if worker.isClosing, worker.outgoing.isEmpty { disconnect(worker) }
            return message
        }
        return nil
    }

    private var readCursor = 0

    fileprivate func publish(_ bytes: [UInt8]) {
        let store = bytes.withUnsafeBytes { ByteStore(copying: $0) }
        for worker in workers where worker.isSubscribed && worker.isConnected && worker.inbox.count < subscriberQueueLimit {
            worker.inbox.append(store)
        }
    }

    fileprivate func send(_ bytes: [UInt8], to connection: PeerConnection) -> Delivery {
        sendAttempts[connection, default: 0] += 1
        guard let worker = worker(on: connection) else { return .connectionGone }
        guard worker.inbox.count < subscriberQueueLimit else { return .queueFull }
        worker.inbox.append(bytes.withUnsafeBytes { ByteStore(copying: $0) })
        return .sent
    }

    fileprivate func worker(on connection: PeerConnection) -> InMemoryWorkerTransport? {
        workers.first { $0.connection == connection && $0.isConnected && !$0.isClosing }
    }

    fileprivate func key(of connection: PeerConnection) -> String? { workers.first { $0.connection == connection }?.key }

    fileprivate var hasQueuedMessages: Bool { workers.contains { !$0.outgoing.isEmpty } }
    fileprivate var subscriberCount: Int { workers.filter { $0.isConnected && $0.isSubscribed }.count }

    fileprivate func cutOff(address: String) -> Int {
        let cut = workers.filter { $0.address == address && $0.isConnected }
        for worker in cut { disconnect(worker) }
        return cut.count
    }
}

/// The learner's side of an ``InMemoryNetwork``.
public final class InMemoryLearnerTransport: LearnerTransport {
    private unowned let network: InMemoryNetwork
    fileprivate var isBound = true
    fileprivate var events: [(SubscriptionEvent, InMemoryWorkerTransport?)] = []
    private var lastSubscriber: InMemoryWorkerTransport?
    /// Every publication, in order (for tests that read what the learner said).
    public private(set) var publications: [[UInt8]] = []

    fileprivate init(network: InMemoryNetwork) { self.network = network }

    public func receive() throws -> ReceivedMessage? { isBound ? network.nextMessage() : nil }

    public func send(_ bytes: [UInt8], to connection: PeerConnection) -> Delivery { isBound ? network.send(bytes, to: connection) : .connectionGone }

    public func cut(_ connection: PeerConnection) -> Bool {
        guard isBound, let worker = network.worker(on: connection) else { return false }
        network.disconnect(worker)
        cutConnections.append(connection)
        return true
    }

    /// Connections the learner cut, in order (for tests).
    public private(set) var cutConnections: [PeerConnection] = []

    public func peerKey(of message: ReceivedMessage) -> String? { message.connection.flatMap { network.key(of: $0) } }

    public func peerAddress(of message: ReceivedMessage) -> String? { message.connection.flatMap { network.worker(on: $0)?.address } }

    public func receiveSubscriptionEvent() -> SubscriptionEvent? {
        guard isBound, !events.isEmpty else { return nil }
        let (event, worker) = events.removeFirst()
        lastSubscriber = event == .subscribe ? worker : nil
        return event
    }

    public func acceptSubscription() { lastSubscriber?.isSubscribed = true }

    public func publish(_ bytes: [UInt8]) throws {
        guard isBound else { return }
        publications.append(bytes)
        network.publish(bytes)
    }

    public func disconnect(address: String) -> Int { network.cutOff(address: address) }

    public var subscriberCount: Int { network.subscriberCount }

    /// What is ready now, without waiting.
    public var readiness: Readiness { Readiness(canReceive: isBound && network.hasQueuedMessages, other: isBound && !events.isEmpty) }

    public func wait(seconds: Double) throws -> Readiness {
        if readiness == .nothing { network.onWait?(seconds) }
        return readiness
    }

    /// A peer at `address` sends `count` bytes on the publishing side that are not a subscription.
    public func receiveStray(from address: String, count: Int) {
        events.append((.other(address: address, byteCount: count), nil))
    }
}

/// A worker's side of an ``InMemoryNetwork``.
public final class InMemoryWorkerTransport: WorkerTransport {
    private unowned let network: InMemoryNetwork
    public let address: String
    /// The connection the learner sees its messages on (new after a learner restart: a reconnection).
    public fileprivate(set) var connection: PeerConnection
    /// The CURVE key it authenticated with, if the test gives it one.
    public let key: String?
    fileprivate var isConnected = true
    fileprivate var isSubscribed = false
    fileprivate var isClosing = false
    fileprivate var outgoing: [ByteStore] = []
    fileprivate var inbox: [ByteStore] = []

    fileprivate init(network: InMemoryNetwork, address: String, connection: PeerConnection, key: String?) {
        self.network = network
        self.address = address
        self.connection = connection
        self.key = key
    }

    /// Whether the connection is still open (not killed, closed or cut by the learner).
    public var isOpen: Bool { isConnected }

    /// Messages sent and not yet read by the learner.
    public var queued: Int { outgoing.count }

    public func send(_ bytes: UnsafeRawBufferPointer) throws -> Bool { network.deliver(bytes, from: self) }

    public func receive() throws -> ReceivedMessage? {
        guard isConnected, !inbox.isEmpty else { return nil }
        return inbox.removeFirst().message
    }

    /// What is ready now, without waiting: a publication to read, room to send.
    public func readiness(sending: Bool) -> Readiness {
        Readiness(canReceive: isConnected && !inbox.isEmpty, other: sending && isConnected && outgoing.count < network.queueLimit)
    }

    public func wait(seconds: Double, sending: Bool) throws -> Readiness {
        if readiness(sending: sending) == .nothing { network.onWait?(seconds) }
        return readiness(sending: sending)
    }
}

/// Bytes copied out of a caller's buffer, kept for as long as a message refers to them.
private final class ByteStore {
    let buffer: UnsafeMutableRawBufferPointer

    init(copying bytes: UnsafeRawBufferPointer) {
        buffer = .allocate(byteCount: max(bytes.count, 1), alignment: 16)
        if bytes.count > 0 { buffer.copyMemory(from: bytes) }
        count = bytes.count
    }

    let count: Int

    deinit { buffer.deallocate() }

    var message: ReceivedMessage { message(connection: nil) }

    func message(connection: PeerConnection?) -> ReceivedMessage {
        ReceivedMessage(owner: self, bytes: UnsafeRawBufferPointer(start: buffer.baseAddress, count: count), connection: connection)
    }
}
