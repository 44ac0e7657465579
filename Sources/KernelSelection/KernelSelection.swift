import Foundation
import NeuralNetwork

/// Chooses OpenBLAS's kernels by what the CPU can do, not by the name OpenBLAS
/// gives it: Debian's OpenBLAS 0.3.21 predates AMD Zen 4/5 and recent Intel Xeons,
/// and runs them with Haswell (AVX2) or even Prescott (SSE3) kernels, at a half or
/// a fifth of the speed the hardware has.
///
/// OpenBLAS picks its kernels once, when the library loads, from the environment
/// variable `OPENBLAS_CORETYPE` if set. So this is a process concern: an
/// executable calls ``selectAtStartup()`` first thing, and when the CPU supports
/// a better family than the one loaded, the process re-executes itself with
/// `OPENBLAS_CORETYPE` set. `DDPG_KEEP_OPENBLAS_CORE=1` keeps OpenBLAS's choice.
public enum KernelSelection {
    /// Kernel families by the widest vector instructions they use.
    public enum Tier: Int, Comparable, Sendable {
        case sse, avx, avx2, avx512

        public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    }

    /// The CPU as Linux describes it.
    public struct CPU: Sendable {
        public var model: String
        public var flags: Set<String>

        public static func current() -> CPU {
            // /proc files report size 0: read to end of file rather than by size.
            let text = FileHandle(forReadingAtPath: "/proc/cpuinfo").map { String(decoding: $0.readDataToEndOfFile(), as: UTF8.self) } ?? ""
            func field(_ name: String) -> String? {
                text.split(separator: "\n").first { $0.hasPrefix(name) }?.split(separator: ":", maxSplits: 1).last
                    .map { $0.trimmingCharacters(in: .whitespaces) }
            }
            return CPU(model: field("model name") ?? "unknown", flags: Set((field("flags") ?? "").split(separator: " ").map(String.init)))
        }

        /// The AVX-512 subset OpenBLAS's SkylakeX kernels use.
        public static let avx512Flags = ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]
        public static let avx2Flags = ["avx2", "fma"]

        /// The flags that decide the kernel family, those this CPU has.
        public var relevantFlags: [String] {
            (["sse3", "avx"] + Self.avx2Flags + Self.avx512Flags).filter(flags.contains)
        }
    }

    /// The tier of an OpenBLAS core name (as `openblas_get_corename` prints it).
    public static func tier(ofCore name: String) -> Tier {
        switch name.lowercased() {
        case "skylakex", "cooperlake", "sapphirerapids": .avx512
        case "haswell", "zen", "skylake", "excavator": .avx2
        case "sandybridge", "bulldozer", "piledriver", "steamroller": .avx
        default: .sse
        }
    }

    /// The best family the CPU supports, as `OPENBLAS_CORETYPE` names it, and why.
    public static func bestCore(for cpu: CPU) -> (coreType: String, tier: Tier, reason: String)? {
        if CPU.avx512Flags.allSatisfy(cpu.flags.contains) { return ("SKYLAKEX", .avx512, "for AVX-512 F/CD/BW/DQ/VL") }
        if CPU.avx2Flags.allSatisfy(cpu.flags.contains) { return ("HASWELL", .avx2, "for AVX2 and FMA") }
        return nil
    }

    /// Set across the re-execution: what OpenBLAS had chosen by itself.
    static let openblasChoiceVariable = "DDPG_OPENBLAS_CHOICE"

    /// Re-executes the process with better kernels when the CPU supports them, at most once.
    /// Returns normally when the kernels loaded are the best available, when asked to keep
    /// them, or when the re-execution fails.
    public static func selectAtStartup() {
        let environment = ProcessInfo.processInfo.environment
        guard environment["DDPG_KEEP_OPENBLAS_CORE"] == nil, environment[openblasChoiceVariable] == nil else { return }
        let loaded = BLAS.coreName
        guard let best = bestCore(for: CPU.current()), tier(ofCore: loaded) < best.tier else { return }
        setenv("OPENBLAS_CORETYPE", best.coreType, 1)
        setenv(openblasChoiceVariable, loaded, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // exec failed (no /proc?): carry on with the kernels already loaded.
        unsetenv(openblasChoiceVariable)
    }

    /// What this process runs with.
    public static var report: BLASReport {
        let environment = ProcessInfo.processInfo.environment
        let choice = environment[openblasChoiceVariable]
        let kept = environment["DDPG_KEEP_OPENBLAS_CORE"] != nil
        let reason: String
        if choice != nil, let best = bestCore(for: CPU.current()) {
            reason = best.reason
        } else {
            reason = kept ? "kept by DDPG_KEEP_OPENBLAS_CORE" : "OpenBLAS's own choice"
        }
        return BLASReport(library: BLAS.library, kernels: BLAS.coreName, openblasChoice: choice, reason: reason, threads: BLAS.threadCount)
    }
}
