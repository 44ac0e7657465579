import CBLAS
import Foundation

extension BLAS {
    /// The OpenBLAS kernel family in use, e.g. "Haswell" or "SkylakeX".
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// OpenBLAS 0.3.21 (Debian 12) predates AVX-512 support on AMD Zen 4 and 5
    /// and runs them with its AVX2 "Haswell" kernels, at about half the sgemm
    /// speed the hardware has (measured here: 104 vs 188 GFLOP/s). OpenBLAS picks
    /// its kernels once, when the library loads, from `OPENBLAS_CORETYPE` (which
    /// it also fills in itself). So when OpenBLAS chose Haswell or Zen kernels on
    /// a CPU that reports the AVX-512 subset its SkylakeX kernels need, this
    /// re-executes the current program with `OPENBLAS_CORETYPE=SKYLAKEX`. In every
    /// other case, or if the re-execution would repeat, it returns normally.
    /// Set `DDPG_KEEP_OPENBLAS_CORE=1` to opt out.
    public static func preferAVX512KernelsIfSupported() {
        let environment = ProcessInfo.processInfo.environment
        guard environment["DDPG_KEEP_OPENBLAS_CORE"] == nil, environment[reexecMarker] == nil else { return }
        let core = coreName.lowercased()
        guard core == "haswell" || core.hasPrefix("zen"), cpuSupportsSkylakeXKernels() else { return }
        setenv("OPENBLAS_CORETYPE", "SKYLAKEX", 1)
        setenv(reexecMarker, "1", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // exec failed (no /proc?): carry on with the kernels already loaded.
        unsetenv(reexecMarker)
    }

    /// Set across the re-execution so that it happens at most once.
    private static let reexecMarker = "DDPG_OPENBLAS_CORE_SELECTED"

    /// Whether the kernel reports the AVX-512 F, CD, BW, DQ and VL extensions
    /// (it lists them only when the OS saves their registers).
    static func cpuSupportsSkylakeXKernels() -> Bool {
        // /proc files report size 0, so read to end of file rather than by size.
        guard let data = FileHandle(forReadingAtPath: "/proc/cpuinfo")?.readDataToEndOfFile(),
              let flagsLine = String(decoding: data, as: UTF8.self).split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return false }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        return ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains)
    }
}
