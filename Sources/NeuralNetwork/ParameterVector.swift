import Tensors
/// All of a network's parameters, or their gradients, in one contiguous buffer.
///
/// One flat buffer makes the whole-network operations single loops over memory:
/// Adam, Polyak averaging, gradient-norm clipping and hard target copies; and the
/// weights message and checkpoints are one copy each. Layers address it by offset.
public final class ParameterVector {
    public let count: Int
    public let values: UnsafeMutablePointer<Float>

    public init(count: Int) {
        self.count = count
        values = allocateFloats(max(count, 1))
        values.initialize(repeating: 0, count: max(count, 1))
    }

    deinit { values.deallocate() }

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: values, count: count) }

    public func copy(from other: ParameterVector) {
        precondition(other.count == count, "parameter counts differ: \(other.count) vs \(count)")
        values.update(from: other.values, count: count)
    }

    public func zero() { values.update(repeating: 0, count: count) }

    public func toArray() -> [Float] { Array(buffer) }

    public func assign(_ array: [Float]) {
        precondition(array.count == count, "expected \(count) parameters, got \(array.count)")
        array.withUnsafeBufferPointer { values.update(from: $0.baseAddress!, count: count) }
    }

    /// `self ← τ·source + (1 − τ)·self`, the soft target update of DDPG.
    public func blend(towards source: ParameterVector, rate tau: Float) {
        precondition(source.count == count, "parameter counts differ")
        VectorKernels.blend(values, towards: source.values, rate: tau, count: count)
    }

    /// Whether every value is finite.
    public var isFinite: Bool { VectorKernels.allFinite(values, count: count) }

    /// The Euclidean norm of the whole vector.
    public var norm: Float { BLAS.norm(values, count: count) }

    /// Rescales the vector so its norm is at most `maxNorm`; returns the norm before clipping.
    @discardableResult
    public func clipNorm(to maxNorm: Float) -> Float {
        let current = norm
        if current > maxNorm, current.isFinite { scale(by: maxNorm / (current + 1e-6)) }
        return current
    }

    /// Multiplies every value by `factor` (several vectors clipped to one joint norm share a factor).
    public func scale(by factor: Float) {
        for i in 0..<count { values[i] *= factor }
    }
}
