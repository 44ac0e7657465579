/// One connection to the learner's transitions endpoint, as its transport names it: unique among the
/// open connections (a ZeroMQ routing id; in memory, a counter). A worker session belongs to the
/// connection it said hello on, and nothing for it is accepted from any other.
public struct PeerConnection: Hashable, Sendable, CustomStringConvertible {
    public let id: UInt64

    public init(id: UInt64) { self.id = id }

    public var description: String { String(id, radix: 16) }
}

/// A message as a transport hands it over: its bytes, valid as long as the message is kept.
public struct ReceivedMessage {
    /// The libzmq message or in-memory copy that holds the bytes.
    public let owner: AnyObject
    private let bytes: UnsafeRawBufferPointer
    /// (The learner's side) the connection it came in on.
    public let connection: PeerConnection?

    /// `bytes` stay valid while `owner` lives (a libzmq message, or an in-memory copy).
    public init(owner: AnyObject, bytes: UnsafeRawBufferPointer, connection: PeerConnection? = nil) {
        self.owner = owner
        self.bytes = bytes
        self.connection = connection
    }

    public var count: Int { bytes.count }

    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        defer { withExtendedLifetime(owner) {} }
        return try body(bytes)
    }
}

/// What a peer did on the learner's publishing side.
public enum SubscriptionEvent: Equatable, Sendable {
    /// A subscriber asked for everything: what every worker does when it connects.
    case subscribe
    /// A subscriber left.
    case unsubscribe
    /// Anything else a peer sent there (no worker does): what it sent and from where.
    case other(address: String, byteCount: Int)
}

/// What a wait found ready.
public struct Readiness: Equatable, Sendable {
    /// A message can be received.
    public var canReceive: Bool
    /// (Learner) a subscription event is waiting; (worker) a send would go through.
    public var other: Bool

    public init(canReceive: Bool, other: Bool) {
        self.canReceive = canReceive
        self.other = other
    }

    public static let nothing = Readiness(canReceive: false, other: false)
}

/// What became of a message sent to one connection.
public enum Delivery: Equatable, Sendable {
    case sent
    /// The connection's queue is full: worth trying again soon.
    case queueFull
    /// No such connection now (it closed, or has not come back yet): trying again at once only spends time.
    case connectionGone
}

/// The learner's two endpoints as its core sees them: messages from workers in (each with its
/// connection), replies to one connection, and publications to all. ZeroMQ's ROUTER and XPUB sockets in
/// production (the Learner module); ``InMemoryNetwork`` in tests.
public protocol LearnerTransport: AnyObject {
    /// The next message a worker sent, with its ``ReceivedMessage/connection``, without waiting; nil when none is queued.
    func receive() throws -> ReceivedMessage?
    /// Sends `bytes` to `connection` alone, without waiting.
    func send(_ bytes: [UInt8], to connection: PeerConnection) -> Delivery
    /// Closes `connection` now: nothing more is read from it. Returns whether it was open.
    func cut(_ connection: PeerConnection) -> Bool
    /// The CURVE public key (Z85) that `message`'s connection authenticated with; nil without CURVE.
    func peerKey(of message: ReceivedMessage) -> String?
    /// The address `message`'s connection comes from (an IP address, as ZeroMQ's `Peer-Address` gives it).
    func peerAddress(of message: ReceivedMessage) -> String?
    /// The next event on the publishing side, without waiting. (libzmq takes in new subscriptions only
    /// during calls on its socket, a bounded number each, so a core calls this every few milliseconds.)
    func receiveSubscriptionEvent() -> SubscriptionEvent?
    /// Lets the subscriber whose ``SubscriptionEvent/subscribe`` was just received have publications.
    func acceptSubscription()
    /// Sends to every subscriber without waiting; one whose queue is full misses it.
    func publish(_ bytes: [UInt8]) throws
    /// Cuts off every connection from `address` on the publishing side, and frees what was kept for
    /// them; returns how many there were. A peer that unsubscribes is forgotten by the transport itself.
    func disconnect(address: String) -> Int
    /// Open connections on the publishing side.
    var subscriberCount: Int { get }
    /// Waits at most `seconds` for a worker's message (`canReceive`) or a subscription event (`other`).
    func wait(seconds: Double) throws -> Readiness
}

/// A worker's two connections to the learner as its core sees them.
public protocol WorkerTransport: AnyObject {
    /// Hands `bytes` over without waiting; false while the learner cannot take them (its queue is
    /// full, or no learner is connected): nothing is dropped, the caller tries again.
    func send(_ bytes: UnsafeRawBufferPointer) throws -> Bool
    /// The next message from the learner, without waiting: addressed to this worker's connection, or published to all.
    func receive() throws -> ReceivedMessage?
    /// Waits at most `seconds` for a publication (`canReceive`) or, when `sending`, for room to send (`other`).
    func wait(seconds: Double, sending: Bool) throws -> Readiness
}
