import Foundation
import Randomness
import Tensors

/// A categorical distribution over n logits z: π_k = softmax(z)_k.
public enum Categorical {
    /// The index of the largest logit (the first, on ties): the greedy action.
    public static func mostLikely(_ logits: UnsafePointer<Float>, count n: Int) -> Int {
        var best = 0
        for k in 1..<n where logits[k] > logits[best] { best = k }
        return best
    }

    /// log softmax(z) into `logProbabilities`, shifted by the largest logit so that exp never overflows.
    public static func logSoftmax(_ logits: UnsafePointer<Float>, count n: Int, into logProbabilities: UnsafeMutablePointer<Float>) {
        var largest = logits[0]
        for k in 1..<n { largest = max(largest, logits[k]) }
        var sum: Float = 0
        for k in 0..<n { sum += expf(logits[k] - largest) }
        let logSum = largest + logf(sum)
        for k in 0..<n { logProbabilities[k] = logits[k] - logSum }
    }

    /// An index drawn with probabilities exp(`logProbabilities`), by inverting the cumulative sum at a uniform draw.
    public static func sample<G: RandomNumberGenerator>(_ logProbabilities: UnsafePointer<Float>, count n: Int, using generator: inout G) -> Int {
        let u = Float(generator.nextUniform(0.0, 1.0))
        var cumulative: Float = 0
        for k in 0..<(n - 1) {
            cumulative += expf(logProbabilities[k])
            if u < cumulative { return k }
        }
        return n - 1
    }
}

/// The Gaussian head's constant per dimension in log N(a; m, σ²) = −½((a − m)/σ)² − log σ − ½ log 2π.
let halfLogTwoPi = Float(0.5 * log(2 * Double.pi))

/// What the on-policy loss of a batch came to: the terms of SB3's A2C loss, averaged over the rows.
public struct PolicyLossTerms: Sendable, Equatable {
    /// −mean(Â · log π(a | s)).
    public var policyLoss: Float = 0
    /// mean(H(π(· | s))).
    public var entropy: Float = 0

    public init() {}
}

extension Actor {
    /// Draws an action from π(· | s) for each of `count` observations with an on-policy head, and writes
    /// log π(a | s): the categorical head's index, or the Gaussian's m + σ·ε unclipped (the log-probability
    /// is the unclipped draw's, as SB3 keeps it; ``clipToBounds(_:count:)`` makes it an action to step).
    public func sample<G: RandomNumberGenerator>(observations: UnsafePointer<Float>, count: Int, actions: UnsafeMutablePointer<Float>,
                                                 logProbabilities: UnsafeMutablePointer<Float>, using generator: inout G) {
        precondition(!head.isSquashed, "sample(…logProbabilities:…) is for the on-policy heads; a \(head) head samples with sample(observations:count:actions:using:)")
        let width = network.architecture.outputSize
        withUnsafeTemporaryAllocation(of: Float.self, capacity: width) { buffer in
            let scratch = buffer.baseAddress!
            forEachBatch(observations, count: count) { out, n, done in
                for row in 0..<n {
                    let z = out + row * width, i = done + row
                    switch head {
                    case .categorical:
                        Categorical.logSoftmax(z, count: width, into: scratch)
                        let k = Categorical.sample(scratch, count: width, using: &generator)
                        actions[i] = Float(k)
                        logProbabilities[i] = scratch[k]
                    default:
                        var logProbability: Float = 0
                        for j in 0..<actionSize {
                            let logStd = z[actionSize + j], epsilon = Float(generator.nextGaussian())
                            actions[i * actionSize + j] = z[j] + expf(logStd) * epsilon
                            logProbability += -0.5 * epsilon * epsilon - logStd - halfLogTwoPi
                        }
                        logProbabilities[i] = logProbability
                    }
                }
            }
        }
    }

    /// Clips each of `count` rows of actions into [low, high], per dimension: what an environment is stepped with.
    public func clipToBounds(_ actions: UnsafeMutablePointer<Float>, count: Int) {
        for row in 0..<count {
            for j in 0..<actionSize { actions[row * actionSize + j] = min(max(actions[row * actionSize + j], actionLow[j]), actionHigh[j]) }
        }
    }

    /// log π(a | s) of each row's action under the head's distribution whose parameters are the rows of
    /// `outputs` (the network's outputs for the rows' observations).
    public func logProbabilities(outputs: MatrixView, actions: UnsafePointer<Float>, into result: UnsafeMutablePointer<Float>) {
        policyTerms(outputs: outputs, actions: actions, logProbabilities: result, advantages: nil, entropyCoefficient: 0, gradient: nil)
    }

    /// The policy part of the actor–critic loss over a batch of rows, and its gradient with respect to the outputs:
    ///
    ///     L = −(1/N) Σᵢ Âᵢ · log π(aᵢ | sᵢ) − β · (1/N) Σᵢ H(π(· | sᵢ))
    ///
    /// Categorical, with p = softmax(z): ∂log π(a)/∂z_k = [k = a] − p_k and ∂H/∂z_k = −p_k(log p_k + H).
    /// Gaussian, per dimension: ∂log π/∂m = (a − m)/σ², ∂log π/∂log σ = ((a − m)/σ)² − 1, ∂H/∂log σ = 1, with
    /// H = Σ_j (½ + ½ log 2π + log σ_j). `gradient` (rows × outputs), when given, is overwritten with ∂L/∂z.
    @discardableResult
    public func policyTerms(outputs: MatrixView, actions: UnsafePointer<Float>, logProbabilities: UnsafeMutablePointer<Float>? = nil,
                            advantages: UnsafePointer<Float>?, entropyCoefficient beta: Float, gradient: MatrixView?) -> PolicyLossTerms {
        precondition(!head.isSquashed, "policyTerms is the on-policy heads' loss")
        let rows = outputs.rows, width = outputs.columns, scale = 1 / Float(max(rows, 1))
        precondition(width == network.architecture.outputSize && (gradient.map { $0.rows == rows && $0.columns == width } ?? true))
        var policyLoss = 0.0, entropySum = 0.0
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: width) { buffer in
            let logP = buffer.baseAddress!
            for i in 0..<rows {
                let z = outputs.base + i * outputs.stride, g = gradient.map { $0.base + i * $0.stride }
                let advantage = advantages?[i] ?? 0
                var logProbability: Float = 0, entropy: Float = 0
                if head == .categorical {
                    let a = Int(actions[i])
                    Categorical.logSoftmax(z, count: width, into: logP)
                    logProbability = logP[a]
                    for k in 0..<width { entropy -= expf(logP[k]) * logP[k] }
                    if let g {
                        for k in 0..<width {
                            let p = expf(logP[k])
                            let dLogProbability = (k == a ? 1 : 0) - p, dEntropy = -p * (logP[k] + entropy)
                            g[k] = scale * (-advantage * dLogProbability - beta * dEntropy)
                        }
                    }
                } else {
                    let a = actionSize
                    for j in 0..<a {
                        let mean = z[j], logStd = z[a + j], std = expf(logStd)
                        let standardized = (actions[i * a + j] - mean) / std
                        logProbability += -0.5 * standardized * standardized - logStd - halfLogTwoPi
                        entropy += 0.5 + halfLogTwoPi + logStd
                        if let g {
                            g[j] = scale * (-advantage * standardized / std)
                            g[a + j] = scale * (-advantage * (standardized * standardized - 1) - beta)
                        }
                    }
                }
                logProbabilities?[i] = logProbability
                policyLoss -= Double(advantage * logProbability)
                entropySum += Double(entropy)
            }
            var terms = PolicyLossTerms()
            terms.policyLoss = Float(policyLoss) * scale
            terms.entropy = Float(entropySum) * scale
            return terms
        }
    }
}
