import ArgumentParser
import KernelSelection
import NeuralNetwork

@main
struct DDPGCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ddpg",
        abstract: "Distributed DDPG for continuous control.",
        discussion: "`ddpg launch --workers N` runs a learner and N workers on this machine; `ddpg train` learns in one process.",
        version: "0.1.0",
        subcommands: [LaunchCommand.self, Train.self, LearnerCommand.self, WorkerCommand.self, TopCommand.self, PlotCommand.self, EvalCommand.self, ActCommand.self, ExportCommand.self, RenderCommand.self, KeysCommand.self, InfoCommand.self]
    )

    static func main() {
        KernelSelection.selectAtStartup()
        // Every subcommand trains or acts on this thread.
        Denormals.flushToZero()
        Self.main(nil)
    }
}
