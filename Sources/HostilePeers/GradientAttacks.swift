import Environments
import Foundation
import Specs
import Telemetry
import WireProtocol
import ZeroMQ

/// Forged gradients against an A3C learner (protocol 7, kind 7): NaN, infinity, 1e30, the wrong shape, stale,
/// replayed, and gradients at the norm limit. None may reach the weights but the last, clipped as every gradient is.
enum GradientAttacks {
    static let cartPole = CartPole().spec

    /// The sizes of the policy's and the value network's parameters, from the learner's own broadcast.
    static func shapes(_ target: Target, timeout: Double) -> (policy: Int, value: Int)? {
        guard let context = try? ZMQContext(), let subscriber = try? ZMQSocket(context, type: .sub) else { return nil }
        try? subscriber.subscribe()
        try? subscriber.connect("tcp://127.0.0.1:\(target.ports.weights)")
        let decoder = MessageDecoder(expected: ExpectedShapes(spec: cartPole), accepting: .learnerToWorker)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard (try? subscriber.waitForInput(timeoutMilliseconds: 100)) == true, let message = try? subscriber.receive(blocking: false) else { continue }
            let sizes: (Int, Int)? = message.withUnsafeBytes { bytes in
                guard case let .weights(view)? = try? decoder.decode(bytes), let value = view.valueNetwork else { return nil }
                return (view.shape.parameterCount, value.parameterCount)
            }
            if let sizes { return sizes }
        }
        return nil
    }

    static func gradient(_ peer: Peer, sequence: UInt64, version: UInt64, policy: [Float], value: [Float], rows: Int = 20,
                         entropy: Float = 0.69) -> [UInt8] {
        let header = GradientHeader(workerId: peer.workerId, session: peer.session, sequence: sequence, weightsVersion: version, rows: rows,
                                    policyParameters: policy.count, valueParameters: value.count, policyLoss: 0.1, valueLoss: 1, entropy: entropy)
        return (policy + value).withUnsafeBufferPointer { peer.encoder.encodeGradient(header, values: $0) }
    }

    static func forgedGradients(_ target: Target, seconds: Double) -> [Outcome] {
        let name = "forged gradients"
        guard let (p, v) = shapes(target, timeout: 30), let current = target.waitForStatus(timeout: 60, { $0.weightsVersion > 40 }),
              let peer = try? Peer(port: target.ports.transitions, workerId: 900, spec: cartPole),
              let context = try? ZMQContext(), let subscriber = try? ZMQSocket(context, type: .sub) else {
            return [Outcome(attack: name, check: "set up", observed: "no weights with a value network, or no status past version 40", passed: false)]
        }
        let before = current, version = current.weightsVersion
        let policy = [Float](repeating: 1e-3, count: p), value = [Float](repeating: 1e-3, count: v)
        func with(_ values: [Float], at index: Int, _ x: Float) -> [Float] { var copy = values; copy[index] = x; return copy }
        peer.send(peer.hello())
        // Refused by the decoder, before the ledger: each leaves sequence 0 unused.
        peer.send(gradient(peer, sequence: 0, version: version, policy: with(policy, at: p / 2, .nan), value: value))
        peer.send(gradient(peer, sequence: 0, version: version, policy: policy, value: with(value, at: 0, .infinity)))
        peer.send(gradient(peer, sequence: 0, version: version, policy: policy, value: value, entropy: .nan))
        peer.send(gradient(peer, sequence: 0, version: version, policy: with(policy, at: 0, 1e30), value: value))
        peer.send(gradient(peer, sequence: 0, version: version, policy: policy + [0], value: value))
        peer.send(gradient(peer, sequence: 0, version: version, policy: policy, value: Array(value.dropLast())))
        peer.send(gradient(peer, sequence: 0, version: version, policy: policy, value: value, rows: WireFormat.maxTransitionsPerMessage + 1))
        // Far behind the learner's weights: refused before the ledger.
        peer.send(gradient(peer, sequence: 0, version: 1, policy: policy, value: value))
        // Valid, then replayed.
        peer.send(gradient(peer, sequence: 0, version: version, policy: policy, value: value))
        peer.send(gradient(peer, sequence: 0, version: version, policy: policy, value: value))
        // Just under --gradient-norm-limit (1e7): accepted, and clipped to --max-grad-norm like every gradient.
        let huge = (9e6 / Double(p + v).squareRoot())
        for sequence: UInt64 in 1...10 {
            peer.send(gradient(peer, sequence: sequence, version: version, policy: [Float](repeating: Float(huge), count: p),
                               value: [Float](repeating: -Float(huge), count: v)))
        }
        let flushed = peer.flushThrough(target, since: before)
        try? subscriber.subscribe()
        try? subscriber.connect("tcp://127.0.0.1:\(target.ports.weights)")
        let (weights, nonFinite) = Attacks.broadcasts(on: subscriber, spec: cartPole, seconds: seconds)
        let after = target.status
        func more(_ reason: String) -> Int { TrustAttacks.rejected(after, reason) - TrustAttacks.rejected(before, reason) }
        let accepted: Int = after?.workers.first { $0.workerId == 900 }?.transitionsReceived ?? -1
        return [
            Outcome(attack: name, check: "NaN, infinity and non-finite statistics refused", observed: "\(more("non_finite")) more non_finite",
                    passed: flushed && more("non_finite") >= 3),
            Outcome(attack: name, check: "1e30 and 4,097 rows refused by their bounds", observed: "\(more("out_of_range")) more out_of_range",
                    passed: more("out_of_range") >= 2),
            Outcome(attack: name, check: "a network of another shape refused", observed: "\(more("dimension_mismatch")) more dimension_mismatch",
                    passed: more("dimension_mismatch") >= 2),
            Outcome(attack: name, check: "stale and replayed gradients refused",
                    observed: "\(more("stale_gradient")) more stale_gradient, \(more("bad_sequence")) more bad_sequence",
                    passed: more("stale_gradient") >= 1 && more("bad_sequence") >= 1),
            Outcome(attack: name, check: "only the valid gradients accepted (11 × 20 rows)", observed: "\(accepted) rows accepted from the forger",
                    passed: accepted == 220),
            Outcome(attack: name, check: "every broadcast finite, learning goes on",
                    observed: "\(weights) weights messages, \(nonFinite) not finite; v\(version) → v\(after?.weightsVersion ?? 0)",
                    passed: weights > 0 && nonFinite == 0 && (after?.weightsVersion ?? 0) > version),
            Outcome(attack: name, check: "no rollback needed", observed: "\(after?.rollbacks ?? -1) rollbacks", passed: after?.rollbacks == 0),
        ]
    }
}
