// The weights message's decoding, the longest of the learner's messages: the actor's shape checked against
// the environment, its parameters, and what may follow them (the observation normalization, A3C's value network).

extension MessageDecoder {
    func decodeWeights(_ reader: inout ByteReader) throws(ProtocolError) -> WeightsView {
        let version = try reader.read(UInt64.self, field: "version")
        let learnerId = try reader.read(UInt64.self, field: "learner id")
        let published = try reader.read(UInt64.self, field: "published at")
        let updates = try reader.read(UInt64.self, field: "updates")
        let envSteps = try reader.read(UInt64.self, field: "env steps")
        let mark = try reader.read(UInt64.self, field: "evaluation mark")
        let evaluationSeed = try reader.read(UInt64.self, field: "evaluation seed")
        let episodes = Int(try reader.read(UInt16.self, field: "evaluation episodes"))
        let flags = try reader.read(UInt8.self, field: "evaluation flags")
        guard flags <= 7 else { throw .reservedBitsSet(field: "evaluation flags") }
        let carriesValueNetwork = flags & 2 != 0, carriesScaling = flags & 4 != 0
        let activationCode = try reader.read(UInt8.self, field: "hidden activation")
        guard let hiddenActivation = ActorShape.HiddenActivation(rawValue: activationCode) else {
            throw .outOfRange(field: "hidden activation", value: "\(activationCode) (1 ReLU, 2 tanh)")
        }
        let headCode = try reader.read(UInt8.self, field: "output activation")
        guard let head = ActorShape.Head(rawValue: headCode) else {
            throw .outOfRange(field: "output activation", value: "\(headCode) (2 tanh, 3 squashed Gaussian, 4 categorical, 5 Gaussian)")
        }
        let normalizationCode = try reader.read(UInt8.self, field: "normalization")
        guard let normalization = ActorShape.Normalization(rawValue: normalizationCode) else {
            throw .outOfRange(field: "normalization", value: "\(normalizationCode) (0 none, 1 layer, 2 batch)")
        }
        let layers = Int(try reader.read(UInt16.self, field: "layer count"))
        let sizes = try Self.readLayerSizes(&reader, layers: layers, field: "layer")
        // The action space is the environment's; the head must be one that acts in it, with its width of outputs.
        let spec = expected.spec, actionSize = spec.actionSize
        guard spec.isDiscrete == (head == .categorical) else {
            throw .outOfRange(field: "output activation", value: "a \(head) head for \(spec.id)'s \(spec.actionSpaceName) action space")
        }
        let outputs = head.outputCount(actionSize: actionSize, firstHigh: spec.actionHigh[0])
        guard sizes[layers] == outputs else { throw .dimensionMismatch(field: "output layer", expected: outputs, actual: sizes[layers]) }
        try checkDimensions(observation: sizes[0], action: actionSize)
        let actionLow = try reader.readFloats(actionSize, field: "action low")
        let actionHigh = try reader.readFloats(actionSize, field: "action high")
        guard actionLow == spec.actionLow, actionHigh == spec.actionHigh else {
            throw .outOfRange(field: "action bounds", value: "low \(actionLow), high \(actionHigh) where the environment has low \(spec.actionLow), high \(spec.actionHigh)")
        }
        let shape = ActorShape(layerSizes: sizes, actionLow: actionLow, actionHigh: actionHigh, normalization: normalization,
                               hiddenActivation: hiddenActivation, head: head)
        let count = Int(try reader.read(UInt32.self, field: "parameter count"))
        guard count == shape.parameterCount else {
            throw .dimensionMismatch(field: "parameter count", expected: shape.parameterCount, actual: count)
        }
        let observations = sizes[0]
        let body = WireFormat.weightsFixedBody + 4 * sizes.count + 8 * actionSize + 4 + 4 * count + (carriesScaling ? 4 + 8 * observations : 0)
        let actual = reader.bytes.count - WireFormat.headerSize
        if !carriesValueNetwork { try Self.expectEnd(&reader, bodyLength: body, field: "weights") }
        guard actual >= body else { throw .lengthMismatch(field: "weights", expected: body, actual: actual) }
        let start = try reader.take(4 * count, field: "parameters")
        try checkFinite(reader.bytes, offset: start, count: count, field: "parameters")
        try checkVariances(reader.bytes, offset: start, shape: shape)
        let scaling = carriesScaling ? try Self.readObservationScaling(&reader, observations: observations) : nil
        var valueNetwork: ValueNetworkView?
        if carriesValueNetwork {
            let valueLayers = Int(try reader.read(UInt16.self, field: "value layer count"))
            guard try reader.read(UInt16.self, field: "reserved") == 0 else { throw .reservedBitsSet(field: "value network reserved") }
            let valueSizes = try Self.readLayerSizes(&reader, layers: valueLayers, field: "value layer")
            guard valueSizes.first == sizes[0], valueSizes.last == 1 else {
                throw .dimensionMismatch(field: "value network", expected: sizes[0], actual: valueSizes[0])
            }
            let valueCount = Int(try reader.read(UInt32.self, field: "value parameter count"))
            let valueView = ValueNetworkView(layerSizes: valueSizes, parameters: reader.bytes.baseAddress!)
            guard valueCount == valueView.parameterCount else {
                throw .dimensionMismatch(field: "value parameter count", expected: valueView.parameterCount, actual: valueCount)
            }
            try Self.expectEnd(&reader, bodyLength: body + 4 + 4 * valueSizes.count + 4 + 4 * valueCount, field: "weights")
            let valueStart = try reader.take(4 * valueCount, field: "value parameters")
            try checkFinite(reader.bytes, offset: valueStart, count: valueCount, field: "value parameters")
            valueNetwork = ValueNetworkView(layerSizes: valueSizes, parameters: reader.bytes.baseAddress! + valueStart)
        }
        var request: EvaluationRequest?
        if episodes > 0 {
            guard episodes <= EvaluationReport.maxEpisodes else { throw .outOfRange(field: "evaluation episodes", value: "\(episodes)") }
            request = EvaluationRequest(mark: mark, episodes: episodes, seed: evaluationSeed, isFinal: flags & 1 == 1)
        } else if mark != 0 || evaluationSeed != 0 || flags & 1 != 0 {
            throw .reservedBitsSet(field: "evaluation request without episodes")
        }
        return WeightsView(publication: Publication(version: version, updates: updates, envSteps: envSteps), learnerId: learnerId,
                           publishedAtNanoseconds: published, shape: shape, evaluationRequest: request,
                           parameters: reader.bytes.baseAddress! + start, valueNetwork: valueNetwork, observationScaling: scaling)
    }

    /// The `layers` + 1 sizes of a network (its input, hidden and output widths), each within the width limit, after a
    /// layer count checked against the depth limit.
    static func readLayerSizes(_ reader: inout ByteReader, layers: Int, field: String) throws(ProtocolError) -> [Int] {
        guard layers >= 1, layers <= WireFormat.maxLayers else { throw .outOfRange(field: "\(field) count", value: "\(layers)") }
        var sizes: [Int] = []
        for _ in 0...layers {
            let size = Int(try reader.read(UInt32.self, field: "\(field) size"))
            guard size >= 1, size <= WireFormat.maxLayerWidth else { throw .outOfRange(field: "\(field) size", value: "\(size)") }
            sizes.append(size)
        }
        return sizes
    }


    /// Batch normalization's running variances (the second half of each hidden layer's statistics) must not be negative.
    private func checkVariances(_ bytes: UnsafeRawBufferPointer, offset: Int, shape: ActorShape) throws(ProtocolError) {
        guard shape.normalization == .batch else { return }
        var position = offset + 4 * shape.trainedCount
        for width in shape.layerSizes.dropFirst().dropLast() {
            position += 4 * width
            for i in 0..<width where Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position + 4 * i, as: UInt32.self))) < 0 {
                throw .outOfRange(field: "running variance", value: "negative")
            }
            position += 4 * width
        }
    }

    /// The observation normalization after the actor's parameters (protocol 8): a positive clip, finite means, positive σs.
    static func readObservationScaling(_ reader: inout ByteReader, observations: Int) throws(ProtocolError) -> ObservationScaling {
        let clip = Float(bitPattern: try reader.read(UInt32.self, field: "observation clip"))
        guard clip.isFinite, clip > 0 else { throw .outOfRange(field: "observation clip", value: "\(clip)") }
        let mean = try reader.readFloats(observations, field: "observation mean")
        let deviation = try reader.readFloats(observations, field: "observation σ")
        guard mean.allSatisfy(\.isFinite) else { throw .nonFinite(field: "observation mean") }
        guard deviation.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw .outOfRange(field: "observation σ", value: "\(deviation.first { !($0.isFinite && $0 > 0) }!) (each must be positive and finite)")
        }
        return ObservationScaling(mean: mean, standardDeviation: deviation, clip: clip)
    }
}
