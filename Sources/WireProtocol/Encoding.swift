/// Builds messages into a reusable buffer. Each `encode…` call returns the bytes
/// of one complete message, valid until the next call.
public struct MessageEncoder {
    private var writer: ByteWriter

    public init(capacity: Int = 64 * 1024) { writer = ByteWriter(capacity: capacity) }

    private mutating func begin(_ kind: MessageKind) {
        writer.reset()
        WireFormat.magic.withUnsafeBytes { writer.write(bytes: $0) }
        writer.write(WireFormat.version)
        writer.write(kind.rawValue)
        writer.write(UInt8(0))
        writer.write(UInt32(0))  // body length, patched in finish()
    }

    private mutating func finish() -> [UInt8] {
        writer.patch(UInt32(writer.bytes.count - WireFormat.headerSize), at: 8)
        return writer.bytes
    }

    public mutating func encode(_ hello: Hello) -> [UInt8] {
        let spec = hello.spec
        begin(.hello)
        writer.write(hello.workerId)
        writer.write(hello.session)
        writer.write(UInt16(clamping: spec.observationSize))
        writer.write(UInt16(clamping: spec.actionSize))
        writer.write(UInt16(clamping: hello.environmentCount))
        writer.write(hello.role.rawValue)
        writer.write(UInt8(0))
        writer.write(hello.seed)
        writer.write(hello.nextSequence)
        writer.write(UInt32(clamping: spec.maxEpisodeSteps))
        writer.write(spec.rewardLow)
        writer.write(spec.rewardHigh)
        let id = Array(spec.id.utf8.prefix(WireFormat.maxEnvironmentIdLength))
        writer.write(UInt16(id.count))
        writer.write(UInt16(clamping: spec.discreteActions ?? 0))  // 0: a Box
        hello.token.bytes.withUnsafeBytes { writer.write(bytes: $0) }
        for column in [spec.observationLow, spec.observationHigh, spec.actionLow, spec.actionHigh] {
            column.withUnsafeBufferPointer { writer.write(floats: $0) }
        }
        id.withUnsafeBytes { writer.write(bytes: $0) }
        return finish()
    }

    /// A transition batch from structure-of-arrays columns holding `header.count` rows each.
    public mutating func encodeTransitions(
        _ header: TransitionsHeader,
        observations: UnsafeBufferPointer<Float>, actions: UnsafeBufferPointer<Float>, rewards: UnsafeBufferPointer<Float>,
        nextObservations: UnsafeBufferPointer<Float>, terminated: UnsafeBufferPointer<UInt8>, truncated: UnsafeBufferPointer<UInt8>,
        discounts: UnsafeBufferPointer<Float>
    ) -> [UInt8] {
        let n = header.count
        precondition(observations.count == n * header.observationSize && nextObservations.count == n * header.observationSize
                     && actions.count == n * header.actionSize && rewards.count == n && terminated.count == n && truncated.count == n
                     && discounts.count == n,
                     "column sizes do not match the header")
        begin(.transitions)
        writer.write(header.workerId)
        writer.write(header.session)
        writer.write(UInt16(header.observationSize))
        writer.write(UInt16(header.actionSize))
        writer.write(header.sequence)
        writer.write(header.weightsVersion)
        writer.write(UInt32(n))
        writer.write(header.receipt)
        writer.write(floats: observations)
        writer.write(floats: actions)
        writer.write(floats: rewards)
        writer.write(floats: discounts)
        writer.write(floats: nextObservations)
        writer.write(bytes: UnsafeRawBufferPointer(terminated))
        writer.write(bytes: UnsafeRawBufferPointer(truncated))
        return finish()
    }

    /// One-step rows with discount `gamma`, 0 where terminated (for tools and tests; workers give each row its own).
    public mutating func encodeTransitions(
        _ header: TransitionsHeader,
        observations: UnsafeBufferPointer<Float>, actions: UnsafeBufferPointer<Float>, rewards: UnsafeBufferPointer<Float>,
        nextObservations: UnsafeBufferPointer<Float>, terminated: UnsafeBufferPointer<UInt8>, truncated: UnsafeBufferPointer<UInt8>,
        gamma: Float
    ) -> [UInt8] {
        let discounts = terminated.map { $0 != 0 ? Float(0) : gamma }
        return discounts.withUnsafeBufferPointer {
            encodeTransitions(header, observations: observations, actions: actions, rewards: rewards, nextObservations: nextObservations,
                              terminated: terminated, truncated: truncated, discounts: $0)
        }
    }

    /// A segment from environment-major columns of `header.count` rows, `header.environments` bootstrap
    /// observations and `header.truncations` truncation observations.
    public mutating func encodeSegment(
        _ header: SegmentHeader,
        observations: UnsafeBufferPointer<Float>, actions: UnsafeBufferPointer<Float>, rewards: UnsafeBufferPointer<Float>,
        logProbabilities: UnsafeBufferPointer<Float>, bootstrapObservations: UnsafeBufferPointer<Float>,
        truncationObservations: UnsafeBufferPointer<Float>, terminated: UnsafeBufferPointer<UInt8>, truncated: UnsafeBufferPointer<UInt8>
    ) -> [UInt8] {
        let n = header.count, o = header.observationSize
        precondition(observations.count == n * o && actions.count == n * header.actionSize && rewards.count == n && logProbabilities.count == n
                     && bootstrapObservations.count == header.environments * o && truncationObservations.count == header.truncations * o
                     && terminated.count == n && truncated.count == n,
                     "column sizes do not match the segment header")
        begin(.segment)
        writer.write(header.workerId)
        writer.write(header.session)
        writer.write(UInt16(o))
        writer.write(UInt16(header.actionSize))
        writer.write(UInt16(header.environments))
        writer.write(UInt16(header.steps))
        writer.write(header.sequence)
        writer.write(header.weightsVersion)
        writer.write(UInt32(header.truncations))
        writer.write(UInt32(0))
        writer.write(header.receipt)
        for column in [observations, actions, rewards, logProbabilities, bootstrapObservations, truncationObservations] {
            writer.write(floats: column)
        }
        writer.write(bytes: UnsafeRawBufferPointer(terminated))
        writer.write(bytes: UnsafeRawBufferPointer(truncated))
        return finish()
    }

    /// A3C's gradient: `values` holds the policy's `header.policyParameters` then the value network's `header.valueParameters`.
    public mutating func encodeGradient(_ header: GradientHeader, values: UnsafeBufferPointer<Float>) -> [UInt8] {
        precondition(values.count == header.policyParameters + header.valueParameters, "the gradient's size does not match its header")
        begin(.gradient)
        writer.write(header.workerId)
        writer.write(header.session)
        writer.write(header.sequence)
        writer.write(header.weightsVersion)
        writer.write(UInt32(header.rows))
        writer.write(UInt32(header.policyParameters))
        writer.write(UInt32(header.valueParameters))
        writer.write(UInt32(0))
        writer.write(header.receipt)
        writer.write(header.policyLoss)
        writer.write(header.valueLoss)
        writer.write(header.entropy)
        writer.write(header.explainedVariance)
        writer.write(floats: values)
        return finish()
    }

    public mutating func encode(_ episode: EpisodeReport) -> [UInt8] {
        begin(.episode)
        writer.write(episode.workerId)
        writer.write(episode.session)
        writer.write(episode.length)
        writer.write(UInt32(0))
        writer.write(episode.episodeReturn)
        writer.write(episode.weightsVersion)
        return finish()
    }

    public mutating func encode(_ status: WorkerStatus) -> [UInt8] {
        begin(.workerStatus)
        writer.write(status.workerId)
        writer.write(status.session)
        writer.write(UInt8(status.isFinal ? 1 : 0))
        writer.write(UInt8(0))
        writer.write(UInt16(0))
        writer.write(status.transitionsSent)
        writer.write(status.episodes)
        writer.write(status.messagesSent)
        return finish()
    }

    public mutating func encode(_ report: EvaluationReport) -> [UInt8] {
        precondition(report.returns.count == report.lengths.count, "one length per return")
        begin(.evaluation)
        writer.write(report.workerId)
        writer.write(report.session)
        writer.write(UInt8(report.isFinal ? 1 : 0))
        writer.write(UInt8(0))
        writer.write(UInt16(clamping: report.returns.count))
        writer.write(UInt32(0))
        writer.write(report.nonce)
        writer.write(report.publication.version)
        writer.write(report.publication.updates)
        writer.write(report.publication.envSteps)
        for value in report.returns.prefix(Int(UInt16.max)) { writer.write(value) }
        for length in report.lengths.prefix(Int(UInt16.max)) { writer.write(length) }
        return finish()
    }

    /// Weights and shapes in one frame, so that subscribers can CONFLATE to the newest.
    public mutating func encodeWeights(
        _ publication: Publication, learnerId: UInt64, publishedAtNanoseconds: UInt64, shape: ActorShape,
        evaluationRequest: EvaluationRequest? = nil, parameters: UnsafeBufferPointer<Float>,
        valueNetwork: (layerSizes: [Int], parameters: UnsafeBufferPointer<Float>)? = nil, observationScaling: ObservationScaling? = nil
    ) -> [UInt8] {
        precondition(parameters.count == shape.parameterCount, "parameter count does not match the shape")
        precondition(observationScaling.map { $0.mean.count == shape.layerSizes[0] } ?? true, "one mean and σ per observation dimension")
        begin(.weights)
        writer.write(publication.version)
        writer.write(learnerId)
        writer.write(publishedAtNanoseconds)
        writer.write(publication.updates)
        writer.write(publication.envSteps)
        writer.write(evaluationRequest?.mark ?? 0)
        writer.write(evaluationRequest?.seed ?? 0)
        writer.write(UInt16(clamping: evaluationRequest?.episodes ?? 0))
        // Bit 0: the request is the final one; bit 1: A3C's value network follows the actor (protocol 7);
        // bit 2: the observation normalization follows the actor's parameters (protocol 8).
        writer.write(UInt8(evaluationRequest?.isFinal == true ? 1 : 0) | (valueNetwork == nil ? 0 : 2) | (observationScaling == nil ? 0 : 4))
        writer.write(shape.hiddenActivation.rawValue)
        writer.write(shape.head.rawValue)  // the output activation: tanh onto [low, high], a distribution squashed onto them, or one clipped or indexed
        writer.write(shape.normalization.rawValue)
        writer.write(UInt16(shape.layerSizes.count - 1))
        for size in shape.layerSizes { writer.write(UInt32(size)) }
        shape.actionLow.withUnsafeBufferPointer { writer.write(floats: $0) }
        shape.actionHigh.withUnsafeBufferPointer { writer.write(floats: $0) }
        writer.write(UInt32(parameters.count))
        writer.write(floats: parameters)
        if let observationScaling {
            writer.write(observationScaling.clip)
            observationScaling.mean.withUnsafeBufferPointer { writer.write(floats: $0) }
            observationScaling.standardDeviation.withUnsafeBufferPointer { writer.write(floats: $0) }
        }
        if let valueNetwork {
            writer.write(UInt16(valueNetwork.layerSizes.count - 1))
            writer.write(UInt16(0))
            for size in valueNetwork.layerSizes { writer.write(UInt32(size)) }
            writer.write(UInt32(valueNetwork.parameters.count))
            writer.write(floats: valueNetwork.parameters)
        }
        return finish()
    }

    public mutating func encode(_ announce: Announce) -> [UInt8] {
        begin(.announce)
        writer.write(announce.learnerId)
        writer.write(announce.weightsVersion)
        writer.write(UInt32(clamping: announce.maxTransitionsPerMessage))
        writer.write(UInt32(clamping: announce.credit))
        return finish()
    }

    public mutating func encode(_ acknowledgement: Acknowledgement) -> [UInt8] {
        begin(.acknowledgement)
        writer.write(acknowledgement.learnerId)
        writer.write(acknowledgement.workerId)
        writer.write(acknowledgement.session)
        writer.write(acknowledgement.nextSequence)
        writer.write(UInt32(clamping: acknowledgement.credit))
        let ticket = acknowledgement.ticket
        writer.write(UInt32(ticket == nil ? 0 : ticket!.isFinal ? 3 : 1))
        writer.write(ticket?.mark ?? 0)
        writer.write(ticket?.nonce ?? 0)
        writer.write(acknowledgement.receipt)
        return finish()
    }

    public mutating func encodeShutdown() -> [UInt8] {
        begin(.shutdown)
        writer.write(UInt32(0))
        return finish()
    }
}
