import Specs

/// What the receiving side expects, so that a decode can reject messages built
/// for another environment, and values no such environment can produce.
public struct ExpectedShapes: Sendable, Equatable {
    /// The environment both sides run; a hello must announce exactly this.
    public let spec: EnvironmentSpec
    /// The spec's observation bounds, with unbounded dimensions capped at ±``WireFormat/magnitudeCap``.
    public let observationLow: [Float]
    public let observationHigh: [Float]
    /// The spec's reward range, capped the same way.
    public let rewardLow: Float
    public let rewardHigh: Float
    /// The most transitions one message may carry for this spec.
    public let maxTransitionsPerMessage: Int
    /// The n of the n-step returns workers send, and the discount γ they compute them with.
    public let nStep: Int
    public let gamma: Float
    /// The discounts a transition may carry: 0 after a termination, γ^k (1 ≤ k ≤ n) otherwise.
    public let discounts: [Float]

    /// `spec` must be valid (``EnvironmentSpec/problem`` nil). An n-step reward sums up to n
    /// discounted rewards, so its bounds are the one-step range times Σ_{k<n} γ^k.
    /// The data messages this side accepts: transitions (off-policy) or segments (on-policy); the other is `wrong_data_kind`.
    public let dataKind: MessageKind

    /// The steps every segment must have (the learner's `--rollout-steps`); nil: any.
    public let segmentSteps: Int?
    /// A3C: the sizes of the policy's and the value network's gradients, the largest L2 norm accepted over
    /// both, and the most versions a gradient may be behind the learner's newest (nil: no gradients taken).
    public let gradients: GradientLimits?

    public init(spec: EnvironmentSpec, nStep: Int = 1, gamma: Float = 0.99, dataKind: MessageKind = .transitions, segmentSteps: Int? = nil,
                gradients: GradientLimits? = nil) {
        precondition(spec.problem == nil, "invalid spec: \(spec.problem ?? "")")
        precondition(nStep >= 1 && gamma >= 0 && gamma <= 1)
        precondition([.transitions, .segment, .gradient].contains(dataKind) && (dataKind == .gradient) == (gradients != nil))
        self.dataKind = dataKind
        self.segmentSteps = segmentSteps
        self.gradients = gradients
        self.spec = spec
        self.nStep = nStep
        self.gamma = gamma
        let powers = (0...nStep).map { k in (0..<k).reduce(1.0) { product, _ in product * Double(gamma) } }
        discounts = [0] + powers.dropFirst().map { Float($0) }
        let horizon = Float(powers.dropLast().reduce(0, +))
        let cap = WireFormat.magnitudeCap
        observationLow = spec.observationLow.map { max($0, -cap) }
        observationHigh = spec.observationHigh.map { min($0, cap) }
        rewardLow = max(min(spec.rewardLow, horizon * spec.rewardLow), -cap)
        rewardHigh = min(max(spec.rewardHigh, horizon * spec.rewardHigh), cap)
        maxTransitionsPerMessage = WireFormat.maxTransitionsPerMessage(observationSize: spec.observationSize, actionSize: spec.actionSize)
    }

    public var environmentId: String { spec.id }
    public var observationSize: Int { spec.observationSize }
    public var actionSize: Int { spec.actionSize }
    public var maxEpisodeSteps: Int { spec.maxEpisodeSteps }
}

/// What an A3C learner accepts of a gradient.
public struct GradientLimits: Sendable, Equatable {
    public var policyParameters: Int
    public var valueParameters: Int
    /// The largest L2 norm over both networks: far beyond what a loss on valid data gives, and far below what poisons RMSprop's statistics.
    public var maxNorm: Double
    /// Versions a gradient may be behind the newest publication (`--max-staleness`).
    public var maxStaleness: Int

    public init(policyParameters: Int, valueParameters: Int, maxNorm: Double, maxStaleness: Int) {
        self.policyParameters = policyParameters
        self.valueParameters = valueParameters
        self.maxNorm = maxNorm
        self.maxStaleness = maxStaleness
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
    /// A segment's Gaussian draws and log-probabilities: finite and within the magnitude cap.
    private let drawBounds = ValueBounds(repeating: -WireFormat.magnitudeCap, WireFormat.magnitudeCap)
    /// A segment's rewards are one step's each, whatever n-step returns transitions may sum.
    private let stepRewardBounds: ValueBounds
    private let logProbabilityBounds = ValueBounds(repeating: -WireFormat.magnitudeCap, WireFormat.magnitudeCap)

    public init(expected: ExpectedShapes, accepting direction: MessageDirection) {
        self.expected = expected
        self.direction = direction
        observationBounds = ValueBounds(low: expected.observationLow, high: expected.observationHigh)
        actionBounds = ValueBounds(low: expected.spec.actionLow, high: expected.spec.actionHigh)
        rewardBounds = ValueBounds(repeating: expected.rewardLow, expected.rewardHigh)
        let cap = WireFormat.magnitudeCap
        stepRewardBounds = ValueBounds(repeating: max(expected.spec.rewardLow, -cap), min(expected.spec.rewardHigh, cap))
    }

    /// Decodes one message. Views in the result point into `bytes`.
    public func decode(_ bytes: UnsafeRawBufferPointer) throws(ProtocolError) -> DecodedMessage {
        var reader = ByteReader(bytes)
        let kind = try Self.readHeader(&reader)
        guard kind.direction == direction else { throw .unexpectedKind(kind.rawValue) }
        if [.transitions, .segment, .gradient].contains(kind), kind != expected.dataKind {
            throw .wrongDataKind(sent: kind, accepted: expected.dataKind)
        }
        switch kind {
        case .hello: return .hello(try decodeHello(&reader))
        case .transitions: return .transitions(try decodeTransitions(&reader))
        case .segment: return .segment(try decodeSegment(&reader))
        case .gradient: return .gradient(try decodeGradient(&reader))
        case .episode: return .episode(try decodeEpisode(&reader))
        case .workerStatus: return .workerStatus(try decodeStatus(&reader))
        case .evaluation: return .evaluation(try decodeEvaluation(&reader))
        case .weights: return .weights(try decodeWeights(&reader))
        case .shutdown:
            try Self.expectEnd(&reader, bodyLength: 4, field: "shutdown")
            guard try reader.read(UInt32.self, field: "reserved") == 0 else { throw .reservedBitsSet(field: "shutdown reserved") }
            return .shutdown
        case .announce: return .announce(try decodeAnnounce(&reader))
        case .acknowledgement: return .acknowledgement(try decodeAcknowledgement(&reader))
        }
    }

    private static func readHeader(_ reader: inout ByteReader) throws(ProtocolError) -> MessageKind {
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

    static func expectEnd(_ reader: inout ByteReader, bodyLength: Int, field: String) throws(ProtocolError) {
        let actual = reader.bytes.count - WireFormat.headerSize
        guard actual == bodyLength else { throw .lengthMismatch(field: field, expected: bodyLength, actual: actual) }
    }

    func checkDimensions(observation: Int, action: Int) throws(ProtocolError) {
        guard observation == expected.observationSize else {
            throw .dimensionMismatch(field: "observation size", expected: expected.observationSize, actual: observation)
        }
        guard action == expected.actionSize else {
            throw .dimensionMismatch(field: "action size", expected: expected.actionSize, actual: action)
        }
    }

    private static func readSession(_ reader: inout ByteReader) throws(ProtocolError) -> UInt32 {
        let session = try reader.read(UInt32.self, field: "session")
        guard session != 0 else { throw .outOfRange(field: "session", value: "0") }
        return session
    }

    private func decodeHello(_ reader: inout ByteReader) throws(ProtocolError) -> Hello {
        let hello = try Self.readHello(&reader)
        guard expected.spec.isSameEnvironment(as: hello.spec) else {
            throw .specMismatch(expected: expected.spec.description, announced: hello.spec.description,
                                difference: expected.spec.firstDifference(from: hello.spec))
        }
        return hello
    }

    /// A hello's fields, checked on their own: a learner that has not learned its environment yet
    /// learns it from the first one (``decodeHello(_:)``).
    static func readHello(_ reader: inout ByteReader) throws(ProtocolError) -> Hello {
        let workerId = try reader.read(UInt32.self, field: "worker id")
        let session = try Self.readSession(&reader)
        let observation = Int(try reader.read(UInt16.self, field: "observation size"))
        let action = Int(try reader.read(UInt16.self, field: "action size"))
        let environments = Int(try reader.read(UInt16.self, field: "environment count"))
        let rawRole = try reader.read(UInt8.self, field: "role")
        guard let role = WorkerRole(rawValue: rawRole) else { throw .outOfRange(field: "role", value: "\(rawRole)") }
        guard try reader.read(UInt8.self, field: "reserved") == 0 else { throw .reservedBitsSet(field: "hello reserved") }
        let seed = try reader.read(UInt64.self, field: "seed")
        let nextSequence = try reader.read(UInt64.self, field: "next sequence")
        let maxEpisodeSteps = Int(try reader.read(UInt32.self, field: "episode limit"))
        let rewardLow = try reader.readFloat(field: "reward low"), rewardHigh = try reader.readFloat(field: "reward high")
        let idLength = Int(try reader.read(UInt16.self, field: "environment id length"))
        let discreteActions = Int(try reader.read(UInt16.self, field: "discrete actions"))
        guard (1...WireFormat.maxDimension).contains(observation) else { throw .outOfRange(field: "observation size", value: "\(observation)") }
        guard (1...WireFormat.maxDimension).contains(action) else { throw .outOfRange(field: "action size", value: "\(action)") }
        guard idLength <= WireFormat.maxEnvironmentIdLength else { throw .outOfRange(field: "environment id length", value: "\(idLength)") }
        try Self.expectEnd(&reader, bodyLength: WireFormat.helloBody(observationSize: observation, actionSize: action, idLength: idLength), field: "hello")
        let tokenStart = try reader.take(EvaluatorToken.byteCount, field: "evaluator token")
        let token = EvaluatorToken(bytes: Array(reader.bytes[tokenStart..<(tokenStart + EvaluatorToken.byteCount)]))!
        guard role == .evaluator || token.isNone else { throw .reservedBitsSet(field: "an actor's evaluator token") }
        let observationLow = try reader.readFloats(observation, field: "observation low")
        let observationHigh = try reader.readFloats(observation, field: "observation high")
        let actionLow = try reader.readFloats(action, field: "action low")
        let actionHigh = try reader.readFloats(action, field: "action high")
        let start = try reader.take(idLength, field: "environment id")
        guard let id = String(validating: reader.bytes[start..<(start + idLength)], as: UTF8.self) else {
            throw .outOfRange(field: "environment id", value: "invalid UTF-8")
        }
        guard environments >= 1 else { throw .outOfRange(field: "environment count", value: "0") }
        var spec = EnvironmentSpec(id: id, observationLow: observationLow, observationHigh: observationHigh, actionLow: actionLow,
                                   actionHigh: actionHigh, rewardLow: rewardLow, rewardHigh: rewardHigh, maxEpisodeSteps: maxEpisodeSteps)
        if discreteActions > 0 { spec.discreteActions = discreteActions }
        if let problem = spec.problem { throw .outOfRange(field: "environment spec", value: problem) }
        return Hello(workerId: workerId, session: session, role: role, environmentCount: environments, seed: seed,
                     nextSequence: nextSequence, spec: spec, token: token)
    }

    /// Decodes a worker's hello without knowing the environment: its spec is checked for
    /// consistency only. Throws for anything that is not a valid hello of this protocol version.
    public static func decodeHello(_ bytes: UnsafeRawBufferPointer) throws(ProtocolError) -> Hello {
        var reader = ByteReader(bytes)
        let kind = try readHeader(&reader)
        guard kind == .hello else { throw .unexpectedKind(kind.rawValue) }
        return try readHello(&reader)
    }

    private func decodeTransitions(_ reader: inout ByteReader) throws(ProtocolError) -> TransitionsView {
        let workerId = try reader.read(UInt32.self, field: "worker id")
        let session = try Self.readSession(&reader)
        let o = Int(try reader.read(UInt16.self, field: "observation size"))
        let a = Int(try reader.read(UInt16.self, field: "action size"))
        let sequence = try reader.read(UInt64.self, field: "sequence")
        let version = try reader.read(UInt64.self, field: "weights version")
        let count = Int(try reader.read(UInt32.self, field: "count"))
        let receipt = try reader.read(UInt64.self, field: "receipt")
        try checkDimensions(observation: o, action: a)
        guard count >= 1, count <= expected.maxTransitionsPerMessage else {
            throw .outOfRange(field: "count", value: "\(count) (1...\(expected.maxTransitionsPerMessage))")
        }
        try Self.expectEnd(&reader, bodyLength: WireFormat.transitionsMessageSize(count: count, observationSize: o, actionSize: a) - WireFormat.headerSize,
                      field: "transitions")
        let base = reader.bytes.baseAddress!
        let observations = try reader.take(4 * count * o, field: "observations")
        let actions = try reader.take(4 * count * a, field: "actions")
        let rewards = try reader.take(4 * count, field: "rewards")
        let discounts = try reader.take(4 * count, field: "discounts")
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
        try checkDiscounts(base + discounts, terminated: base + terminated, count: count)
        let header = TransitionsHeader(workerId: workerId, session: session, observationSize: o, actionSize: a, sequence: sequence,
                                       weightsVersion: version, count: count, receipt: receipt)
        return TransitionsView(
            header: header, observations: base + observations, actions: base + actions, rewards: base + rewards,
            discounts: base + discounts, nextObservations: base + next,
            terminated: (base + terminated).assumingMemoryBound(to: UInt8.self),
            truncated: (base + truncated).assumingMemoryBound(to: UInt8.self))
    }

    private func decodeSegment(_ reader: inout ByteReader) throws(ProtocolError) -> SegmentView {
        let workerId = try reader.read(UInt32.self, field: "worker id")
        let session = try Self.readSession(&reader)
        let o = Int(try reader.read(UInt16.self, field: "observation size"))
        let a = Int(try reader.read(UInt16.self, field: "action size"))
        let environments = Int(try reader.read(UInt16.self, field: "environment count"))
        let steps = Int(try reader.read(UInt16.self, field: "steps"))
        let sequence = try reader.read(UInt64.self, field: "sequence")
        let version = try reader.read(UInt64.self, field: "weights version")
        let truncations = Int(try reader.read(UInt32.self, field: "truncations"))
        guard try reader.read(UInt32.self, field: "reserved") == 0 else { throw .reservedBitsSet(field: "segment reserved") }
        let receipt = try reader.read(UInt64.self, field: "receipt")
        try checkDimensions(observation: o, action: a)
        let count = environments * steps
        guard environments >= 1, steps >= 1, count <= expected.maxTransitionsPerMessage else {
            throw .outOfRange(field: "segment rows", value: "\(environments) environments × \(steps) steps (1...\(expected.maxTransitionsPerMessage) rows)")
        }
        if let required = expected.segmentSteps, steps != required {
            throw .outOfRange(field: "steps", value: "\(steps) per segment where the learner's --rollout-steps is \(required) (workers need the same)")
        }
        guard truncations <= count else { throw .outOfRange(field: "truncations", value: "\(truncations) of \(count) rows") }
        let size = WireFormat.segmentMessageSize(environments: environments, steps: steps, truncations: truncations, observationSize: o, actionSize: a)
        guard size <= WireFormat.maxWorkerMessageBytes else {
            throw .outOfRange(field: "segment size", value: "\(size) bytes (at most \(WireFormat.maxWorkerMessageBytes))")
        }
        try Self.expectEnd(&reader, bodyLength: size - WireFormat.headerSize, field: "segment")
        let base = reader.bytes.baseAddress!
        let observations = try reader.take(4 * count * o, field: "observations")
        let actions = try reader.take(4 * count * a, field: "actions")
        let rewards = try reader.take(4 * count, field: "rewards")
        let logProbabilities = try reader.take(4 * count, field: "log-probabilities")
        let bootstrap = try reader.take(4 * environments * o, field: "bootstrap observations")
        let truncationObservations = try reader.take(4 * truncations * o, field: "truncation observations")
        let terminated = try reader.take(count, field: "terminated")
        let truncated = try reader.take(count, field: "truncated")
        func check(_ bounds: ValueBounds, _ start: Int, _ values: Int, _ field: String) throws(ProtocolError) {
            guard bounds.contains(base + start, count: values) else { throw bounds.violation(in: base + start, count: values, field: field) }
        }
        try check(observationBounds, observations, count * o, "observation")
        try check(observationBounds, bootstrap, environments * o, "bootstrap observation")
        try check(observationBounds, truncationObservations, truncations * o, "truncation observation")
        try check(stepRewardBounds, rewards, count, "reward")
        // A Gaussian's draw is sent before clipping (its log-probability is of that draw), so only a Discrete
        // space's actions are held to the action bounds, and to whole numbers.
        if expected.spec.isDiscrete {
            try check(actionBounds, actions, count, "action")
            for i in 0..<count where ValueBounds.float(base + actions, i).rounded() != ValueBounds.float(base + actions, i) {
                throw .outOfRange(field: "action", value: "\(ValueBounds.float(base + actions, i)) at \(i), not a whole number for \(expected.spec.actionSpaceName)")
            }
        } else {
            try check(drawBounds, actions, count * a, "action")
        }
        try check(logProbabilityBounds, logProbabilities, count, "log-probability")
        try checkFlags(reader.bytes, offset: terminated, count: count, field: "terminated")
        try checkFlags(reader.bytes, offset: truncated, count: count, field: "truncated")
        var cut = 0
        for i in 0..<count where reader.bytes[truncated + i] == 1 && reader.bytes[terminated + i] == 0 { cut += 1 }
        guard cut == truncations else {
            throw .lengthMismatch(field: "truncation observations", expected: cut, actual: truncations)
        }
        let header = SegmentHeader(workerId: workerId, session: session, observationSize: o, actionSize: a, environments: environments,
                                   steps: steps, sequence: sequence, weightsVersion: version, truncations: truncations, receipt: receipt)
        return SegmentView(
            header: header, observations: base + observations, actions: base + actions, rewards: base + rewards,
            logProbabilities: base + logProbabilities, bootstrapObservations: base + bootstrap,
            truncationObservations: base + truncationObservations,
            terminated: (base + terminated).assumingMemoryBound(to: UInt8.self),
            truncated: (base + truncated).assumingMemoryBound(to: UInt8.self))
    }

    private func decodeGradient(_ reader: inout ByteReader) throws(ProtocolError) -> GradientView {
        let workerId = try reader.read(UInt32.self, field: "worker id")
        let session = try Self.readSession(&reader)
        let sequence = try reader.read(UInt64.self, field: "sequence")
        let version = try reader.read(UInt64.self, field: "weights version")
        let rows = Int(try reader.read(UInt32.self, field: "rows"))
        let policy = Int(try reader.read(UInt32.self, field: "policy parameters"))
        let value = Int(try reader.read(UInt32.self, field: "value parameters"))
        guard try reader.read(UInt32.self, field: "reserved") == 0 else { throw .reservedBitsSet(field: "gradient reserved") }
        let receipt = try reader.read(UInt64.self, field: "receipt")
        let statistics = (try reader.readFloat(field: "policy loss"), try reader.readFloat(field: "value loss"), try reader.readFloat(field: "entropy"),
                          try reader.readFloat(field: "explained variance"))
        guard let limits = expected.gradients else { throw .unexpectedKind(MessageKind.gradient.rawValue) }
        guard policy == limits.policyParameters else { throw .dimensionMismatch(field: "policy gradient", expected: limits.policyParameters, actual: policy) }
        guard value == limits.valueParameters else { throw .dimensionMismatch(field: "value gradient", expected: limits.valueParameters, actual: value) }
        guard (1...expected.maxTransitionsPerMessage).contains(rows) else {
            throw .outOfRange(field: "rows", value: "\(rows) (1...\(expected.maxTransitionsPerMessage))")
        }
        try Self.expectEnd(&reader, bodyLength: WireFormat.gradientMessageSize(parameters: policy + value) - WireFormat.headerSize, field: "gradient")
        guard [statistics.0, statistics.1, statistics.2, statistics.3].allSatisfy(\.isFinite) else { throw .nonFinite(field: "gradient statistics") }
        let start = try reader.take(4 * (policy + value), field: "gradient values")
        let base = reader.bytes.baseAddress! + start
        var sum = 0.0
        for i in 0..<(policy + value) {
            let x = Double(ValueBounds.float(base, i))
            sum += x * x
        }
        // NaN or infinity anywhere makes the sum so; a finite flood of 1e30s overflows nothing in Double.
        guard sum.isFinite else { throw .nonFinite(field: "gradient values") }
        let norm = sum.squareRoot()
        guard norm <= limits.maxNorm else {
            throw .outOfRange(field: "gradient norm", value: "\(norm), beyond \(limits.maxNorm) (--gradient-norm-limit)")
        }
        let header = GradientHeader(workerId: workerId, session: session, sequence: sequence, weightsVersion: version, rows: rows,
                                    policyParameters: policy, valueParameters: value, receipt: receipt, policyLoss: statistics.0,
                                    valueLoss: statistics.1, entropy: statistics.2, explainedVariance: statistics.3)
        return GradientView(header: header, values: base, norm: norm)
    }

    private func decodeEpisode(_ reader: inout ByteReader) throws(ProtocolError) -> EpisodeReport {
        try Self.expectEnd(&reader, bodyLength: WireFormat.episodeBody, field: "episode")
        let workerId = try reader.read(UInt32.self, field: "worker id")
        let session = try Self.readSession(&reader)
        let length = try reader.read(UInt32.self, field: "length")
        guard try reader.read(UInt32.self, field: "reserved") == 0 else { throw .reservedBitsSet(field: "episode reserved") }
        let value = try reader.readDouble(field: "return")
        let version = try reader.read(UInt64.self, field: "weights version")
        try checkReturn(value, length: length, field: "episode return")
        return EpisodeReport(workerId: workerId, session: session, length: length, episodeReturn: value, weightsVersion: version)
    }

    private func decodeStatus(_ reader: inout ByteReader) throws(ProtocolError) -> WorkerStatus {
        try Self.expectEnd(&reader, bodyLength: WireFormat.statusBody, field: "worker status")
        let workerId = try reader.read(UInt32.self, field: "worker id")
        let session = try Self.readSession(&reader)
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
        try Self.expectEnd(&reader, bodyLength: WireFormat.announceBody, field: "announce")
        let learnerId = try reader.read(UInt64.self, field: "learner id")
        let version = try reader.read(UInt64.self, field: "weights version")
        let maxCount = Int(try reader.read(UInt32.self, field: "max transitions per message"))
        let credit = Int(try reader.read(UInt32.self, field: "credit"))
        guard maxCount >= 1 else { throw .outOfRange(field: "max transitions per message", value: "0") }
        return Announce(learnerId: learnerId, weightsVersion: version, maxTransitionsPerMessage: maxCount, credit: credit)
    }

    private func decodeAcknowledgement(_ reader: inout ByteReader) throws(ProtocolError) -> Acknowledgement {
        try Self.expectEnd(&reader, bodyLength: WireFormat.acknowledgementBody, field: "acknowledgement")
        let learnerId = try reader.read(UInt64.self, field: "learner id")
        let workerId = try reader.read(UInt32.self, field: "worker id")
        let session = try Self.readSession(&reader)
        let nextSequence = try reader.read(UInt64.self, field: "next sequence")
        let credit = Int(try reader.read(UInt32.self, field: "credit"))
        let flags = try reader.read(UInt32.self, field: "ticket flags")
        let mark = try reader.read(UInt64.self, field: "ticket mark"), nonce = try reader.read(UInt64.self, field: "ticket nonce")
        let receipt = try reader.read(UInt64.self, field: "receipt")
        guard flags == 0 || flags == 1 || flags == 3 else { throw .reservedBitsSet(field: "ticket flags") }
        guard flags != 0 || (mark == 0 && nonce == 0) else { throw .reservedBitsSet(field: "ticket without its flag") }
        let ticket = flags == 0 ? nil : EvaluationTicket(mark: mark, isFinal: flags == 3, nonce: nonce)
        return Acknowledgement(learnerId: learnerId, workerId: workerId, session: session, nextSequence: nextSequence, credit: credit,
                               ticket: ticket, receipt: receipt)
    }

    private func decodeEvaluation(_ reader: inout ByteReader) throws(ProtocolError) -> EvaluationReport {
        let workerId = try reader.read(UInt32.self, field: "worker id")
        let session = try Self.readSession(&reader)
        let flags = try reader.read(UInt8.self, field: "flags")
        guard flags <= 1 else { throw .reservedBitsSet(field: "evaluation flags") }
        guard try reader.read(UInt8.self, field: "reserved") == 0 else { throw .reservedBitsSet(field: "evaluation reserved") }
        let count = Int(try reader.read(UInt16.self, field: "episode count"))
        guard try reader.read(UInt32.self, field: "reserved") == 0 else { throw .reservedBitsSet(field: "evaluation reserved") }
        guard (1...EvaluationReport.maxEpisodes).contains(count) else { throw .outOfRange(field: "episode count", value: "\(count)") }
        try Self.expectEnd(&reader, bodyLength: WireFormat.evaluationFixedBody + 12 * count, field: "evaluation")
        let nonce = try reader.read(UInt64.self, field: "nonce")
        let publication = Publication(version: try reader.read(UInt64.self, field: "weights version"),
                                      updates: try reader.read(UInt64.self, field: "updates"),
                                      envSteps: try reader.read(UInt64.self, field: "env steps"))
        var returns: [Double] = [], lengths: [UInt32] = []
        returns.reserveCapacity(count)
        lengths.reserveCapacity(count)
        for _ in 0..<count { returns.append(try reader.readDouble(field: "return")) }
        for _ in 0..<count { lengths.append(try reader.read(UInt32.self, field: "length")) }
        for (value, length) in zip(returns, lengths) { try checkReturn(value, length: length, field: "evaluation return") }
        return EvaluationReport(workerId: workerId, session: session, isFinal: flags == 1, nonce: nonce, publication: publication,
                                returns: returns, lengths: lengths)
    }

    /// An episode's length must be within the environment's limit, and its return a finite sum
    /// of that many rewards, each within the reward bounds.
    private func checkReturn(_ value: Double, length: UInt32, field: String) throws(ProtocolError) {
        guard length >= 1, Int(length) <= expected.maxEpisodeSteps else {
            throw .outOfRange(field: "episode length", value: "\(length) (1...\(expected.maxEpisodeSteps))")
        }
        guard value.isFinite else { throw .nonFinite(field: field) }
        let steps = Double(length)
        let low = steps * Double(expected.rewardLow), high = steps * Double(expected.rewardHigh)
        let slack = 1e-9 * Swift.max(abs(low), abs(high), 1)
        guard value >= low - slack, value <= high + slack else {
            throw .outOfRange(field: field, value: "\(value) for \(length) steps (\(low)...\(high))")
        }
    }

    /// Rejects NaN and ±infinity (all-ones exponent) among `count` little-endian floats.
    func checkFinite(_ bytes: UnsafeRawBufferPointer, offset: Int, count: Int, field: String) throws(ProtocolError) {
        var bad = false
        for i in 0..<count {
            let bits = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 4 * i, as: UInt32.self))
            bad = bad || (bits & 0x7F80_0000) == 0x7F80_0000
        }
        if bad { throw .nonFinite(field: field) }
    }

    /// A terminated row's discount is 0; any other's is γ^k for some 1 ≤ k ≤ n of this learner: a worker
    /// with another --gamma or --n-step is told so rather than training the critic toward another target.
    private func checkDiscounts(_ discounts: UnsafeRawPointer, terminated: UnsafeRawPointer, count: Int) throws(ProtocolError) {
        let allowed = expected.discounts
        for i in 0..<count {
            let value = Float(bitPattern: UInt32(littleEndian: discounts.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            guard value.isFinite else { throw .nonFinite(field: "discount") }
            let isTerminal = terminated.load(fromByteOffset: i, as: UInt8.self) != 0
            let fits = isTerminal ? value == 0 : allowed.dropFirst().contains { abs($0 - value) <= 1e-6 * max($0, 1e-3) }
            guard fits else {
                let expectation = isTerminal ? "0 for a terminated transition"
                    : "γ^k for γ \(expected.gamma) and 1 ≤ k ≤ \(expected.nStep) (the learner's --gamma and --n-step; workers need the same)"
                throw .outOfRange(field: "discount", value: "\(value), expected \(expectation)")
            }
        }
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
    /// The worker id and session a worker → learner message's header names, without validating the rest; nil
    /// unless it starts with the magic and this version. For accounting a rejection, never for trust.
    public static func claimedSession(_ bytes: UnsafeRawBufferPointer) -> (workerId: UInt32, session: UInt32)? {
        guard bytes.count >= WireFormat.headerSize + 8, Array(bytes[0..<4]) == WireFormat.magic,
              UInt16(bytes[4]) | UInt16(bytes[5]) << 8 == WireFormat.version,
              MessageKind(rawValue: bytes[WireFormat.kindOffset])?.direction == .workerToLearner else { return nil }
        return (UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: WireFormat.headerSize, as: UInt32.self)),
                UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: WireFormat.headerSize + 4, as: UInt32.self)))
    }

    public static func claimedTransitionCount(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= WireFormat.headerSize + WireFormat.transitionsFixedBody, Array(bytes[0..<4]) == WireFormat.magic,
              UInt16(bytes[4]) | UInt16(bytes[5]) << 8 == WireFormat.version else { return nil }
        let count: Int
        switch MessageKind(rawValue: bytes[WireFormat.kindOffset]) {
        case .transitions:
            count = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: WireFormat.headerSize + 28, as: UInt32.self)))
        case .gradient:
            count = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: WireFormat.headerSize + 24, as: UInt32.self)))
        case .segment:
            // A segment's rows are its environments times its steps.
            count = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: WireFormat.headerSize + 12, as: UInt16.self)))
                * Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: WireFormat.headerSize + 14, as: UInt16.self)))
        default:
            return nil
        }
        return count <= WireFormat.maxTransitionsPerMessage ? count : nil
    }
}
