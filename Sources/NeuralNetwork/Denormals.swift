import CKernels

/// Denormal floats (magnitudes below 2⁻¹²⁶) cost a microcode assist on x86 whenever a vector instruction
/// meets one, and training makes them steadily: a ReLU unit that stops firing leaves its weights without
/// gradient, and Adam's first moments then decay through the denormal range (by β1 = 0.9 per update). A SAC
/// learner on Hopper-v5 held 5–8% of its first moments denormal at 12,000 updates, and Adam took 17% of its
/// time under IEEE 754's gradual underflow, 2% flushed (`ddpg-bench --only adam_denormal` measures the step
/// both ways). XLA's CPU runtime flushes them for the same reason.
public enum Denormals {
    /// Makes the calling thread treat denormal operands and results as 0 (x86-64's FTZ and DAZ, ARM's FZ).
    /// Each process calls it once on the thread that trains or acts. Threads inherit the mode from the
    /// thread that creates them; OpenBLAS's helper threads start before this call, and a learner pinned
    /// to one BLAS thread does not use them. `flushToZero(false)` restores IEEE 754's gradual underflow.
    /// Returns false where the architecture has no such mode.
    @discardableResult
    public static func flushToZero(_ flush: Bool = true) -> Bool { ddpg_flush_denormals_to_zero(flush ? 1 : 0) != 0 }
}
