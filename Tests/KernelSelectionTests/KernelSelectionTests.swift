import Testing
@testable import KernelSelection

@Suite("OpenBLAS kernels chosen by CPU features")
struct KernelSelectionTests {
    @Test("OpenBLAS core names rank by the widest vectors their kernels use")
    func tiers() {
        #expect(KernelSelection.tier(ofCore: "Prescott") == .sse)
        #expect(KernelSelection.tier(ofCore: "Nehalem") == .sse)
        #expect(KernelSelection.tier(ofCore: "Sandybridge") == .avx)
        #expect(KernelSelection.tier(ofCore: "Haswell") == .avx2 && KernelSelection.tier(ofCore: "Zen") == .avx2)
        #expect(KernelSelection.tier(ofCore: "SkylakeX") == .avx512 && KernelSelection.tier(ofCore: "Cooperlake") == .avx512)
        #expect(KernelSelection.Tier.sse < .avx2 && .avx2 < .avx512)
    }

    @Test("the flags decide: AVX-512 F/CD/BW/DQ/VL → SkylakeX, AVX2 with FMA → Haswell, less → OpenBLAS's choice")
    func bestCore() {
        let avx512 = KernelSelection.CPU(model: "x", flags: ["sse3", "avx", "avx2", "fma", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"])
        #expect(KernelSelection.bestCore(for: avx512)?.coreType == "SKYLAKEX")
        var partial = avx512
        partial.flags.remove("avx512vl")
        #expect(KernelSelection.bestCore(for: partial)?.coreType == "HASWELL", "AVX-512 without VL cannot run the SkylakeX kernels")
        let noFMA = KernelSelection.CPU(model: "x", flags: ["avx", "avx2"])
        #expect(KernelSelection.bestCore(for: noFMA) == nil)
        #expect(avx512.relevantFlags == ["sse3", "avx", "avx2", "fma", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"])
    }
}
