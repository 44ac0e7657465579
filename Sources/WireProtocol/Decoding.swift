/// What the receiving side expects, so that a decode can reject messages built
/// for another environment, and values no such environment can produce.
public struct ExpectedShapes: Sendable, Equatable {
    public var environmentId: String
    public var observationSize: Int
    public var actionSize: Int
    /// Every action component must lie in [−actionBound, actionBound], exactly.
    public var actionBound: Float
    /// Per-dimension bounds of observations (and next observations), inclusive.
    public var observationLow: [Float]
    public var observationHigh: [Float]
    /// Bounds of one reward, inclusive.
    public var rewardLow: Float
    public var rewardHigh: Float
    /// The longest episode the environment runs (its time limit).
    public var maxEpisodeSteps: Int

    /// Shapes whose value bounds are unknown: ±``WireFormat/magnitudeCap`` for observations and rewards.
    public init(environmentId: String, observationSize: Int, actionSize: Int, actionBound: Float,
                observationLow: [Float]? = nil, observationHigh: [Float]? = nil,
                rewardLow: Float = -WireFormat.magnitudeCap, rewardHigh: Float = WireFormat.magnitudeCap,
                maxEpisodeSteps: Int = Int(UInt32.max)) {
        self.environmentId = environmentId
        self.observationSize = observationSize
        self.actionSize = actionSize
        self.actionBound = actionBound
        self.observationLow = observationLow ?? Array(repeating: -WireFormat.magnitudeCap, count: observationSize)
        self.observationHigh = observationHigh ?? Array(repeating: WireFormat.magnitudeCap, count: observationSize)
        precondition(self.observationLow.count == observationSize && self.observationHigh.count == observationSize,
                     "observation bounds must have one entry per dimension")
        self.rewardLow = rewardLow
        self.rewardHigh = rewardHigh
        self.maxEpisodeSteps = maxEpisodeSteps
    }
}

/// Validates and decodes messages. Checks magic, version, that the kind belongs
/// to the socket's direction, every length, the dimensions against
/// ``ExpectedShapes``, flag bytes, and every value against its bounds, and
/// throws a ``ProtocolError`` for anything else, whatever the bytes.
public struct MessageDecoder: Sendable {
    public let expected: ExpectedShapes
    /// The kinds this side accepts; any other kind is rejected before its body is read.
    public let direction: MessageDirection
    private let observationBounds: ValueBounds
    private let actionBounds: ValueBounds
    private let rewardBounds: ValueBounds

    public init(expected: ExpectedShapes, accepting direction: MessageDirection) {
        self.expected = expected
        self.direction = direction
        observationBounds = ValueBounds(low: expected.observationLow, high: expected.observationHigh)
        actionBounds = ValueBounds(repeating: -expected.actionBound, expected.actionBound)
        rewardBounds = ValueBounds(repeating: expected.rewardLow, expected.rewardHigh)
    }

    /// Decodes one message. Views in the result point into `bytes`.
    public func decode(_ bytes: UnsafeRawBufferPointer) throws(ProtocolError) -> DecodedMessage {
        var reader = ByteReader(bytes)
        let kind = try readHeader(&reader)
        guard kind.direction == direction else { throw .unexpectedKind(kind.rawValue) }
        switch kind {
        case .hello: return .hello(try decodeHello(&reader))
        case .transitions: return .transitions(try decodeTransitions(&reader))
        case .episode: return .episode(try decodeEpisode(&reader))
        case .workerStatus: return .workerStatus(try decodeStatus(&reader))
        case .weights: return .weights(try decodeWeights(&reader))
        case .shutdown:
            try expectEnd(&reader, bodyLength: 4, field: "shutdown")
            guard try reader.read(UInt32.self, field: "reserved") == 0 else { throw .reservedBitsSet(field: "shutdown reserved") }
            return .shutdown
        case .announce: return .announce(try decodeAnnounce(&reader))
        }
    }

    private func readHeader(_ reader: inout ByteReader) throws(ProtocolError) -> MessageKind {
        let bytes = reader.bytes
        guard bytes.count >= WireFormat.headerSize else { throw .tooShort(needed: WireFormat.headerSize, got: bytes.count) }
        guard bytes[0] == WireFormat.magic[0], bytes[1] == WireFormat.magic[1], bytes[2] == WireFormat.magic[2], bytes[3] == WireFormat.magic[3] else {
            throw .badMagic
        }
        _ = try reader.take(4, field: "magic")
        let version = try reader.read(UInt16.self, field: "version")
        guard version == WireFormat.version else { throw .unsupportedVersion(version) }
        let rawKind = try reader.read(UInt8.self, field: "kind")
        guard let kind = MessageKind(rawValue: rawKind) else { throw .unknownKind(rawKind) }
        guard try reader.read(UInt8.self, field: "flags") == 0 else { throw .reservedBitsSet(field: "header flags") }
        let bodyLength = Int(try reader.read(UInt32.self, field: "body length"))
        guard bodyLength == bytes.count - WireFormat.headerSize else {
            throw .lengthMismatch(field: "body length", expected: bodyLength, actual: bytes.count - WireFormat.headerSize)
        }
        return kind
    }

    private func expectEnd(_ reader: inout ByteReader, bodyLength: Int, field: String) throws(ProtocolError) {
        let actual = reader.bytes.count - WireFormat.headerSize
        guard actual == bodyLength else { throw .lengthMismatch(field: field, expected: bodyLength, actual: actual) }
    }

    private func checkDimensions(observation: Int, action: Int) throws(ProtocolError) {
        guard observation == expected.observationSize else {
            throw .dimensionMismatch(field: "observation size", expected: expected.observationSize, actual: observation)
        }
        guard action == expected.actionSize else {
            throw .dimensionMismatch(field: "action size", expected: expected.actionSize, actual: action)
        }
    }

    private func readSession(_ reader: inout ByteReader) throws(ProtocolError) -> UInt32 {
        let session = try reader.read(UInt32.self, field: "session")
        guard session != 0 else { throw .outOfRange(field: "session", value: "0") }
        return session
    }

    private func decodeHello(_ reader: inout ByteReader) throws(ProtocolError) -> Hello {
        let workerId = try reader.read(UInt32.self, field: "worker id")
        let session = try readSession(&reader)
        let observation = Int(try reader.read(UInt16.self, field: "observation size"))
        let action = Int(try reader.read(UInt16.self, field: "action size"))
        let environments = Int(try reader.read(UInt16.self, field: "environment count"))
        guard try reader.read(UInt16.self, field: "reserved") == 0 else { throw .reservedBitsSet(field: "hello reserved") }
        let seed = try reader.read(UInt64.self, field: "seed")
        let nextSequence = try reader.read(UInt64.self, field: "next sequence")
        let idLength = Int(try reader.read(UInt16.self, field: "environment id length"))
        guard idLength <= WireFormat.maxEnvironmentIdLength else { throw .outOfRange(field: "environment id length", value: "\(idLength)") }
        try expectEnd(&reader, bodyLength: WireFormat.helloFixedBody + idLength, field: "hello")
        let start = try reader.take(idLength, field: "environment id")
        guard let id = String(validating: reader.bytes[start..<(start + idLength)], as: UTF8.self) else {
            throw .outOfRange(field: "environment id", value: "invalid UTF-8")
        }
        guard id == expected.environmentId else { throw .invalidEnvironment(id) }
        try checkDimensions(observation: observation, action: action)
        guard environments >= 1 else { throw .outOfRange(field: "environment count", value: "0") }
        return Hello(workerId: workerId, session: session, observationSize: observation, actionSize: action, environmentCount: environments,
                     seed: seed, nextSequence: nextSequence, environmentId: id)
    }

    private func decodeTransitions(_ reader: inout ByteReader) throws(ProtocolError) -> TransitionsView {
        let workerId = try reader.read(UInt32.self, field: "worker id")
        let session = try readSession(&reader)
        let o = Int(try reader.read(UInt16.self, field: "observation size"))
        let a = Int(try reader.read(UInt16.self, field: "action size"))
        let sequence = try reader.read(UInt64.self, field: "sequence")
        let version = try reader.read(UInt64.self, field: "weights version")
        let count = Int(try reader.read(UInt32.self, field: "count"))
        try checkDimensions(observation: o, action: a)
        guard count >= 1, count <= WireFormat.maxTransitionsPerMessage else { throw .outOfRange(field: "count", value: "\(count)") }
        try expectEnd(&reader, bodyLength: WireFormat.transitionsMessageSize(count: count, observationSize: o, actionSize: a) - WireFormat.headerSize,
                      field: "transitions")
        let base = reader.bytes.baseAddress!
        let observations = try reader.take(4 * count * o, field: "observations")
        let actions = try reader.take(4 * count * a, field: "actions")
        let rewards = try reader.take(4 * count, field: "rewards")
        let next = try reader.take(4 * count * o, field: "next observations")
        let terminated = try reader.take(count, field: "terminated")
        let truncated = try reader.take(count, field: "truncated")
        func check(_ bounds: ValueBounds, _ start: Int, _ values: Int, _ field: String) throws(ProtocolError) {
            guard bounds.contains(base + start, count: values) else { throw bounds.violation(in: base + start, count: values, field: field) }
        }
        try check(observationBounds, observations, count * o, "observation")
        try check(observationBounds, next, count * o, "next observation")
        try check(actionBounds, actions, count * a, "action")
        try check(rewardBounds, rewards, count, "reward")
        try checkFlags(reader.bytes, offset: terminated, count: count, field: "terminated")
        try checkFlags(reader.bytes, offset: truncated, count: count, field: "truncated")
        let header = TransitionsHeader(workerId: workerId, session: session, observationSize: o, actionSize: a, sequence: sequence,
                                       weightsVersion: version, count: count)
        return TransitionsView(
            header: header, observations: base + observations, actions: base + actions, rewards: base + rewards,
            nextObservations: base + next,
            terminated: (base + terminated).assumingMemoryBound(to: UInt8.self),
            truncated: (base + truncated).assumingMemoryBound(to: UInt8.self))
    }

    private func decodeEpisode(_ reader: inout ByteReader) throws(ProtocolError) -> EpisodeReport {
        try expectEnd(&reader, bodyLength: WireFormat.episodeBody, field: "episode")
        let workerId = try reader.read(UInt32.self, field: "worker id")
        let session = try readSession(&reader)
        let length = try reader.read(UInt32.self, field: "length")
        guard try reader.read(UInt32.self, field: "reserved") == 0 else { throw .reservedBitsSet(field: "episode reserved") }
        let value = try reader.readDouble(field: "return")
        let version = try reader.read(UInt64.self, field: "weights version")
        guard length >= 1, Int(length) <= expected.maxEpisodeSteps else {
            throw .outOfRange(field: "episode length", value: "\(length) (1...\(expected.maxEpisodeSteps))")
        }
        guard value.isFinite else { throw .nonFinite(field: "episode return") }
        // A return is a sum of `length` rewards, each within the reward bounds.
        let steps = Double(length)
        let low = steps * Double(expected.rewardLow), high = steps * Double(expected.rewardHigh)
        let slack = 1e-9 * Swift.max(abs(low), abs(high), 1)
        guard value >= low - slack, value <= high + slack else {
            throw .outOfRange(field: "episode return", value: "\(value) for \(length) steps (\(low)...\(high))")
        }
        return EpisodeReport(workerId: workerId, session: session, length: length, episodeReturn: value, weightsVersion: version)
    }

    private func decodeStatus(_ reader: inout ByteReader) throws(ProtocolError) -> WorkerStatus {
        try expectEnd(&reader, bodyLength: WireFormat.statusBody, field: "worker status")
        let workerId = try reader.read(UInt32.self, field: "worker id")
        let session = try readSession(&reader)
        let flags = try reader.read(UInt8.self, field: "flags")
        guard flags <= 1 else { throw .reservedBitsSet(field: "worker status flags") }
        guard try reader.read(UInt8.self, field: "reserved") == 0, try reader.read(UInt16.self, field: "reserved") == 0 else {
            throw .reservedBitsSet(field: "worker status reserved")
        }
        return WorkerStatus(
            workerId: workerId, session: session, isFinal: flags == 1,
            transitionsSent: try reader.read(UInt64.self, field: "transitions sent"),
            episodes: try reader.read(UInt64.self, field: "episodes"),
            messagesSent: try reader.read(UInt64.self, field: "messages sent"))
    }

    private func decodeAnnounce(_ reader: inout ByteReader) throws(ProtocolError) -> Announce {
        let learnerId = try reader.read(UInt64.self, field: "learner id")
        let version = try reader.read(UInt64.self, field: "weights version")
        let maxCount = Int(try reader.read(UInt32.self, field: "max transitions per message"))
        let credit = Int(try reader.read(UInt32.self, field: "credit"))
        let count = Int(try reader.read(UInt32.self, field: "acknowledgement count"))
        guard maxCount >= 1 else { throw .outOfRange(field: "max transitions per message", value: "0") }
        guard count <= WireFormat.maxAcknowledgements else { throw .outOfRange(field: "acknowledgement count", value: "\(count)") }
        try expectEnd(&reader, bodyLength: WireFormat.announceFixedBody + 16 * count, field: "announce")
        var acknowledgements: [Announce.Acknowledgement] = []
        acknowledgements.reserveCapacity(count)
        for _ in 0..<count {
            acknowledgements.append(Announce.Acknowledgement(
                workerId: try reader.read(UInt32.self, field: "worker id"), session: try reader.read(UInt32.self, field: "session"),
                nextSequence: try reader.read(UInt64.self, field: "next sequence")))
        }
        return Announce(learnerId: learnerId, weightsVersion: version, maxTransitionsPerMessage: maxCount, credit: credit,
                        acknowledgements: acknowledgements)
    }

    private func decodeWeights(_ reader: inout ByteReader) throws(ProtocolError) -> WeightsView {
        let version = try reader.read(UInt64.self, field: "version")
        let learnerId = try reader.read(UInt64.self, field: "learner id")
        let published = try reader.read(UInt64.self, field: "published at")
        let bound = try reader.readFloat(field: "action bound")
        guard try reader.read(UInt8.self, field: "hidden activation") == 1 else { throw .outOfRange(field: "hidden activation", value: "not ReLU") }
        guard try reader.read(UInt8.self, field: "output activation") == 2 else { throw .outOfRange(field: "output activation", value: "not tanh") }
        let layers = Int(try reader.read(UInt16.self, field: "layer count"))
        guard layers >= 1, layers <= WireFormat.maxLayers else { throw .outOfRange(field: "layer count", value: "\(layers)") }
        var sizes: [Int] = []
        for _ in 0...layers {
            let size = Int(try reader.read(UInt32.self, field: "layer size"))
            guard size >= 1, size <= WireFormat.maxLayerWidth else { throw .outOfRange(field: "layer size", value: "\(size)") }
            sizes.append(size)
        }
        try checkDimensions(observation: sizes[0], action: sizes[layers])
        guard bound.isFinite, bound == expected.actionBound else { throw .outOfRange(field: "action bound", value: "\(bound)") }
        let shape = ActorShape(layerSizes: sizes, actionBound: bound)
        let count = Int(try reader.read(UInt32.self, field: "parameter count"))
        guard count == shape.parameterCount else {
            throw .dimensionMismatch(field: "parameter count", expected: shape.parameterCount, actual: count)
        }
        try expectEnd(&reader, bodyLength: 32 + 4 * sizes.count + 4 + 4 * count, field: "weights")
        let start = try reader.take(4 * count, field: "parameters")
        try checkFinite(reader.bytes, offset: start, count: count, field: "parameters")
        return WeightsView(version: version, learnerId: learnerId, publishedAtNanoseconds: published, shape: shape,
                           parameters: reader.bytes.baseAddress! + start)
    }

    /// Rejects NaN and ±infinity (all-ones exponent) among `count` little-endian floats.
    private func checkFinite(_ bytes: UnsafeRawBufferPointer, offset: Int, count: Int, field: String) throws(ProtocolError) {
        var bad = false
        for i in 0..<count {
            let bits = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 4 * i, as: UInt32.self))
            bad = bad || (bits & 0x7F80_0000) == 0x7F80_0000
        }
        if bad { throw .nonFinite(field: field) }
    }

    private func checkFlags(_ bytes: UnsafeRawBufferPointer, offset: Int, count: Int, field: String) throws(ProtocolError) {
        for i in 0..<count where bytes[offset + i] > 1 {
            throw .outOfRange(field: field, value: "\(bytes[offset + i])")
        }
    }
}

extension TransitionsView {
    /// Copies column `pointer` (little-endian Float32, possibly unaligned) into `destination`.
    public static func copyFloats(_ pointer: UnsafeRawPointer, count: Int, to destination: UnsafeMutablePointer<Float>) {
        #if _endian(little)
        UnsafeMutableRawPointer(destination).copyMemory(from: pointer, byteCount: 4 * count)
        #else
        for i in 0..<count {
            destination[i] = Float(bitPattern: UInt32(littleEndian: pointer.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
        }
        #endif
    }
}

extension MessageDecoder {
    /// The transition count a message claims in its header, if it looks like a
    /// transitions message of this protocol version at all; for accounting the transitions of rejected messages.
    public static func claimedTransitionCount(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= WireFormat.headerSize + WireFormat.transitionsFixedBody, Array(bytes[0..<4]) == WireFormat.magic,
              UInt16(bytes[4]) | UInt16(bytes[5]) << 8 == WireFormat.version, bytes[WireFormat.kindOffset] == MessageKind.transitions.rawValue else { return nil }
        let count = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: WireFormat.headerSize + 28, as: UInt32.self)))
        return count <= WireFormat.maxTransitionsPerMessage ? count : nil
    }
}
