import ArgumentParser
import Foundation
import KernelSelection
import NeuralNetwork
import ZeroMQ

/// `ddpg info`: what this binary runs with on this machine.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print the BLAS library and kernels in use, the CPU features that chose them, and libzmq's version.")

    @Flag(help: "Print a JSON document instead of text.")
    var json = false

    func run() throws {
        BLAS.setThreadCount(1)
        let blas = KernelSelection.report
        let cpu = KernelSelection.CPU.current()
        let zmq = ZMQContext.version
        let best = KernelSelection.bestCore(for: cpu)
        if json {
            let document: [String: Any] = [
                "blas": ["library": blas.library, "kernels": blas.kernels, "openblas_choice": blas.openblasChoice as Any,
                         "reason": blas.reason, "threads": blas.threads, "configuration": BLAS.configuration],
                "cpu": ["model": cpu.model, "flags": cpu.relevantFlags, "best_kernels": best?.coreType as Any],
                "zeromq": ["version": "\(zmq.major).\(zmq.minor).\(zmq.patch)", "curve": Curve.isAvailable],
            ]
            let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("""
            BLAS        \(blas.line)
                        \(BLAS.configuration)
            CPU         \(cpu.model)
            CPU flags   \(cpu.relevantFlags.joined(separator: " "))
            best        \(best.map { "\($0.coreType) (\($0.reason))" } ?? "OpenBLAS's own choice (no AVX2 with FMA)")
            ZeroMQ      libzmq \(zmq.major).\(zmq.minor).\(zmq.patch), CURVE \(Curve.isAvailable ? "available" : "not available")
            """)
    }
}
