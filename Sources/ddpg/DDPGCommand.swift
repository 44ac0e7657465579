import ArgumentParser
import NeuralNetwork

@main
struct DDPGCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ddpg",
        abstract: "Distributed DDPG for continuous control.",
        discussion: "Start with `ddpg train` to learn Pendulum-v1 in one process.",
        version: "0.1.0",
        subcommands: [Train.self]
    )

    static func main() {
        BLAS.preferAVX512KernelsIfSupported()
        Self.main(nil)
    }
}
