import Clocks
import CoreDoubles
import Testing
import Transport
import WireProtocol
@testable import Acting

/// A learner played by the test: it publishes what the test says, and reads what the worker sent.
final class ScriptedLearner {
    let transport: InMemoryLearnerTransport
    let id: UInt64
    private var encoder = MessageEncoder()
    private let decoder = MessageDecoder(expected: ExpectedShapes(spec: CountingEnvironment().spec), accepting: .workerToLearner)
    static let shape = ActorShape(layerSizes: [2, 4, 1], actionLow: [-1], actionHigh: [1])

    init(_ network: InMemoryNetwork, id: UInt64) {
        transport = network.bindLearner()
        self.id = id
        while transport.receiveSubscriptionEvent() != nil { transport.acceptSubscription() }
    }

    func acceptSubscriptions() {
        while let event = transport.receiveSubscriptionEvent() { if event == .subscribe { transport.acceptSubscription() } }
    }

    /// Announces to all, and acknowledges each listed session on its own connection (as the learner does).
    func announce(credit: Int = 0, acknowledging: [(session: UInt32, next: UInt64)] = []) throws {
        acceptSubscriptions()
        try transport.publish(encoder.encode(Announce(learnerId: id, weightsVersion: 0, credit: credit)))
        try absorb()
        for (session, next) in acknowledging {
            let connection = try #require(connections[session], "session \(session) said nothing yet")
            let acknowledgement = Acknowledgement(learnerId: id, workerId: 0, session: session, nextSequence: next, credit: credit)
            #expect(transport.send(encoder.encode(acknowledgement), to: connection) == .sent)
        }
    }

    /// Gives `session` (an evaluator) the ticket of the request at `mark`, on its own connection.
    func ticket(session: UInt32, mark: UInt64, nonce: UInt64) throws {
        try absorb()
        let connection = try #require(connections[session], "session \(session) said nothing yet")
        let ticket = EvaluationTicket(mark: mark, isFinal: false, nonce: nonce)
        #expect(transport.send(encoder.encode(Acknowledgement(learnerId: id, workerId: 0, session: session, nextSequence: 0, credit: 0,
                                                               ticket: ticket)), to: connection) == .sent)
    }

    /// The nonces of the evaluation reports read, in order.
    private(set) var nonces: [UInt64] = []

    /// Each session's connection, as its messages came in.
    private var connections: [UInt32: PeerConnection] = [:]
    private var buffered: [Received] = []

    func publishWeights(version: UInt64, request: EvaluationRequest? = nil) throws {
        acceptSubscriptions()
        let parameters = [Float](repeating: 0.01, count: Self.shape.parameterCount)
        let bytes = parameters.withUnsafeBufferPointer {
            encoder.encodeWeights(Publication(version: version, updates: version * 10, envSteps: version * 100), learnerId: id,
                                  publishedAtNanoseconds: ManualClock().wallNanoseconds, shape: Self.shape, evaluationRequest: request, parameters: $0)
        }
        try transport.publish(bytes)
    }

    func shutdown() throws { try transport.publish(encoder.encodeShutdown()) }

    /// What the worker sent since the last call, in order.
    enum Received: Equatable {
        case hello(nextSequence: UInt64)
        case transitions(sequence: UInt64, version: UInt64, count: Int)
        case episode(version: UInt64)
        case status(final: Bool, sent: UInt64)
        case evaluation(mark: UInt64, episodes: Int)
    }

    func read() throws -> [Received] {
        try absorb()
        defer { buffered.removeAll() }
        return buffered
    }

    private func absorb() throws {
        while let message = try transport.receive() {
            if let session = message.withUnsafeBytes({ MessageDecoder.claimedSession($0)?.session }), let connection = message.connection {
                connections[session] = connection
            }
            let decoded = try message.withUnsafeBytes { bytes throws(ProtocolError) -> Received? in
                switch try decoder.decode(bytes) {
                case let .hello(hello): .hello(nextSequence: hello.nextSequence)
                case let .transitions(view): .transitions(sequence: view.header.sequence, version: view.header.weightsVersion, count: view.header.count)
                case let .episode(report): .episode(version: report.weightsVersion)
                case let .workerStatus(status): .status(final: status.isFinal, sent: status.transitionsSent)
                case let .evaluation(report):
                    { nonces.append(report.nonce); return .evaluation(mark: report.publication.envSteps, episodes: report.returns.count) }()
                default: nil
                }
            }
            if let decoded { buffered.append(decoded) }
        }
    }
}

/// A worker on the counting environment, turned by hand on a manual clock.
final class HandTurnedWorker {
    let clock = ManualClock()
    let network: InMemoryNetwork
    let core: WorkerCore
    let loop: any WorkerLoop
    private(set) var report: WorkerReport?
    var stopRequested = false

    init(_ network: InMemoryNetwork, role: WorkerRole = .actor, session: UInt32 = 0x7, configure: (inout WorkerConfiguration) -> Void = { _ in }) {
        self.network = network
        var c = WorkerConfiguration()
        c.workerId = 0
        c.role = role
        c.transitionsPerMessage = 8
        configure(&c)
        let transport = network.connectWorker()
        var stop: () -> Bool = { false }
        core = WorkerCore(configuration: c, spec: CountingEnvironment().spec, transport: transport, clock: clock, session: session,
                          stopRequested: { stop() })
        loop = role == .evaluator ? EvaluatingLoop<CountingEnvironment>(core: core, transport: transport)
                                  : ActingLoop<CountingEnvironment>(core: core, transport: transport)
        stop = { [unowned self] in stopRequested }
    }

    /// Turns `count` times (or until it stops), moving the clock `step` seconds each turn.
    @discardableResult
    func turn(_ count: Int = 1, step: Double = 0) throws -> [WorkerTurn] {
        var turns: [WorkerTurn] = []
        for _ in 0..<count where report == nil {
            let turn = try loop.turn()
            if case let .stopped(report) = turn { self.report = report }
            turns.append(turn)
            clock.advance(by: step)
        }
        return turns
    }
}

@Suite("WorkerCore against a scripted learner")
struct WorkerCoreTests {
    @Test("says hello before anything else; to a restarted learner, says it again first and sends what it had not sent as version 0")
    func helloAndRestart() throws {
        let network = InMemoryNetwork()
        var learner = ScriptedLearner(network, id: 0xA)
        let worker = HandTurnedWorker(network)
        try worker.turn()
        try learner.announce()
        try worker.turn(20)
        var received = try learner.read()
        #expect(received.first == .hello(nextSequence: 0) && received[1] == .hello(nextSequence: 0),
                "a hello at start and one on greeting the learner: \(received.prefix(3))")
        #expect(received.dropFirst(2).allSatisfy { if case let .transitions(_, version, _) = $0 { version == 0 } else { true } })
        try learner.publishWeights(version: 3)
        try worker.turn(40)
        received = try learner.read()
        #expect(received.contains { if case .transitions(_, 3, _) = $0 { true } else { false } }, "acts with the weights it applied")
        // The learner stops reading: the network's queue fills, then the worker's own.
        try worker.turn(200)
        learner = ScriptedLearner(network, id: 0xB)
        try learner.announce()
        try worker.turn(5)
        received = try learner.read()
        guard case let .hello(next)? = received.first, case let .transitions(sequence, version, _)? = received.dropFirst().first else {
            Issue.record("a hello and then transitions: \(received.prefix(3))")
            return
        }
        #expect(sequence == next && version == 0, "the new learner expects the oldest unsent message, relabeled as acted without its weights")
        #expect(worker.core.weightsVersion == 0)
    }

    @Test("the credit: sends up to it, then waits while the learner consumes, and gives up after a second of silence")
    func credit() throws {
        let network = InMemoryNetwork(queueLimit: 1_000)
        let learner = ScriptedLearner(network, id: 0xA)
        let worker = HandTurnedWorker(network)
        try learner.announce(credit: 32)
        try worker.turn(100, step: 0.000_1)
        var sent = try learner.read().reduce(0) { if case let .transitions(_, _, count) = $1 { $0 + count } else { $0 } }
        #expect(sent == 32, "exactly the credit, then it waits: \(sent)")
        #expect(worker.core.envSteps == 32)
        try worker.turn(100, step: 0.009)
        #expect(worker.core.envSteps == 32, "still waiting after 0.9 s")
        try worker.turn(20, step: 0.01)
        sent = try learner.read().reduce(0) { if case let .transitions(_, _, count) = $1 { $0 + count } else { $0 } }
        #expect(sent > 0 && worker.core.envSteps > 32, "after a second with nothing acknowledged it sends anyway")
        #expect(worker.core.report(stopReason: "test").creditStalls == 1)
        let stepped = worker.core.envSteps
        try learner.announce(credit: 32, acknowledging: [(0x7, 1_000)])
        try worker.turn(10)
        #expect(worker.core.envSteps > stepped, "an acknowledgement lets it act again at once")
    }

    @Test("batches by count, and by age with --flush-ms")
    func batching() throws {
        let network = InMemoryNetwork(queueLimit: 1_000)
        let learner = ScriptedLearner(network, id: 0xA)
        let counted = HandTurnedWorker(network) { $0.transitionsPerMessage = 8 }
        try learner.announce()
        try counted.turn(41)
        let counts = try learner.read().compactMap { if case let .transitions(_, _, count) = $0 { count } else { nil } }
        #expect(counts == [8, 8, 8, 8, 8], "five full messages of eight: \(counts)")
        let aged = HandTurnedWorker(network, session: 0x8) { $0.transitionsPerMessage = 64; $0.flushMilliseconds = 5 }
        try learner.announce()
        try aged.turn(40, step: 0.002)
        let sizes = try learner.read().compactMap { if case let .transitions(_, _, count) = $0 { count } else { nil } }
        #expect(!sizes.isEmpty && sizes.allSatisfy { $0 <= 4 }, "a message once its oldest row is 5 ms old: \(sizes)")
    }

    @Test("an actor that reads the final evaluation's request and the shutdown in one poll stops for the request (learner_stopping)")
    func finalRequestThenShutdown() throws {
        let network = InMemoryNetwork(queueLimit: 1_000)
        let learner = ScriptedLearner(network, id: 0xA)
        let worker = HandTurnedWorker(network)
        try learner.announce()
        try worker.turn(13)
        try learner.publishWeights(version: 1, request: EvaluationRequest(mark: 1, episodes: 1, seed: 1, isFinal: true))
        try learner.shutdown()
        try worker.turn(20)
        #expect(worker.report?.stopReason == "learner_stopping")
    }

    @Test("a stop sends what is buffered and a final status claiming exactly what was sent; a learner that reads nothing costs 3 s")
    func stopping() throws {
        let network = InMemoryNetwork(queueLimit: 1_000)
        let learner = ScriptedLearner(network, id: 0xA)
        let worker = HandTurnedWorker(network)
        try learner.announce()
        try worker.turn(13)
        worker.stopRequested = true
        try worker.turn(5)
        let received = try learner.read()
        let rows = received.reduce(0) { if case let .transitions(_, _, count) = $1 { $0 + count } else { $0 } }
        #expect(received.last == .status(final: true, sent: UInt64(rows)) && rows == 13, "\(received.suffix(2))")
        #expect(worker.report?.stopReason == "signal" && worker.report?.transitionsSent == 13)

        let stuck = InMemoryNetwork(queueLimit: 2)
        let silent = ScriptedLearner(stuck, id: 0xB)
        let blocked = HandTurnedWorker(stuck)
        try silent.announce()
        try blocked.turn(60, step: 0.001)
        blocked.stopRequested = true
        try blocked.turn(2_000, step: 0.01)
        #expect(blocked.report?.stopReason == "signal", "it gives up on the outbox at its deadline")
        #expect(blocked.clock.now < 0.06 + 3.2, "within 3 s of the stop: \(blocked.clock.now)")
        #expect((blocked.report?.transitionsSent ?? 0) < blocked.core.envSteps, "what never left is not reported as sent")
    }

    @Test("an evaluator plays each request once, once it has the request's ticket, with the weights that carried it, and reports the returns and the nonce")
    func evaluator() throws {
        let network = InMemoryNetwork(queueLimit: 1_000)
        let learner = ScriptedLearner(network, id: 0xA)
        let worker = HandTurnedWorker(network, role: .evaluator)
        try learner.announce()
        try learner.publishWeights(version: 1, request: EvaluationRequest(mark: 500, episodes: 3, seed: 1))
        try worker.turn(3)
        #expect(worker.core.envSteps == 0, "no ticket yet (it comes on the evaluator's own connection, which may lag the weights): it waits")
        try learner.ticket(session: 0x7, mark: 500, nonce: 0xAB)
        try worker.turn(3)
        try learner.publishWeights(version: 2, request: EvaluationRequest(mark: 500, episodes: 3, seed: 1))
        try worker.turn(3)
        try learner.publishWeights(version: 3, request: EvaluationRequest(mark: 1_000, episodes: 2, seed: 1))
        try learner.ticket(session: 0x7, mark: 1_000, nonce: 0xCD)
        try worker.turn(3)
        let evaluations = try learner.read().filter { if case .evaluation = $0 { true } else { false } }
        #expect(evaluations == [.evaluation(mark: 100, episodes: 3), .evaluation(mark: 300, episodes: 2)],
                "the request of mark 500 once, with version 1's weights; then mark 1000: \(evaluations)")
        #expect(learner.nonces == [0xAB, 0xCD], "each report carries its request's nonce")
        #expect(worker.core.envSteps == 50, "five episodes of ten steps")
    }
}
