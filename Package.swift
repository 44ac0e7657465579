// swift-tools-version:6.0
import PackageDescription

// The module graph is the architecture; dependencies only point down. Every module a target
// imports is declared here, and scripts/tools/check-imports.py (run in CI) checks it, and that no
// socket-free module (Learning, Acting, Agents, Policy and everything below them) reaches a socket,
// a process or a shell. docs/ARCHITECTURE.md draws the graph and gives each module's job. In short:
// the executables' shells (Learner, Worker over ZeroMQ) drive the cores (Learning's LearnerCore,
// Acting's WorkerCore) through Transport and Clocks; the cores hold Agents (one file per algorithm),
// which hold Policy and Replay, over NeuralNetwork and OpenBLAS. The learner knows no environment:
// it learns the spec from --env (resolved by the CLI), a checkpoint or a worker's hello.
//
// Linux only: the code uses /proc, prctl, glibc's sincos and Debian's OpenBLAS and libzmq.
// `platforms` is not a SwiftPM filter for Linux, so it names no Apple platform it would be false for.
let package = Package(
    name: "ddpg",
    products: [
        .executable(name: "ddpg", targets: ["ddpg"]),
        .executable(name: "ddpg-bench", targets: ["DDPGBench"]),
        .executable(name: "ddpg-hostile", targets: ["HostilePeers"]),
        // For the libFuzzer harness in Fuzz/, a package of its own so that its flags stay out of this one.
        .library(name: "DDPGIngest", targets: ["Ingest", "WireProtocol", "Specs"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.1.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .target(name: "Randomness"),
        // Without -fno-math-errno, sqrtf in a loop keeps it scalar (it may set errno).
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3", "-fno-math-errno"])]),
        // Row-major matrices and views: the storage networks, replay batches and agents share.
        .target(name: "Tensors"),
        .target(name: "NeuralNetwork", dependencies: ["CBLAS", "CKernels", "Randomness", "Tensors"]),
        // Process start-up: re-executes with the OpenBLAS kernels the CPU supports best.
        .target(name: "KernelSelection", dependencies: ["NeuralNetwork"]),
        .target(name: "CShims", linkerSettings: [.linkedLibrary("m")]),
        .systemLibrary(name: "CZeroMQ", providers: [.apt(["libzmq3-dev"])]),
        .target(name: "ZeroMQ", dependencies: ["CZeroMQ"]),
        .target(name: "WireProtocol", dependencies: ["Specs"]),
        .target(name: "Ingest", dependencies: ["WireProtocol"]),
        .target(name: "ProcessSupport", dependencies: ["CShims"]),
        // The time the cores read (injected: a manual clock in tests), and wall-clock timestamps.
        .target(name: "Clocks"),
        // A setting out of range, named; records read with defaults for settings they lack.
        .target(name: "Settings"),
        .target(name: "Checksum"),
        .target(name: "Telemetry", dependencies: ["Checksum", .product(name: "Logging", package: "swift-log")]),
        .target(name: "Checkpoint", dependencies: ["Checksum", "Agents", "NeuralNetwork", "Randomness", "Replay", "Settings", "Specs", "RunConfiguration", "RunRecords"]),
        .target(
            name: "MetricsServer",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "Plotting", dependencies: ["Telemetry"]),
        // Transport seams of the two cores, and an in-memory network that implements both for tests.
        .target(name: "Transport"),
        // The worker's decisions without sockets: WorkerCore (session, hello, credit, batching, stop) and the acting and evaluating loops.
        .target(
            name: "Acting",
            dependencies: [
                "Adders", "Agents", "Clocks", "Environments", "Evaluation", "NeuralNetwork", "Policy", "Randomness", "Settings", "Specs", "Transport",
                "WireProtocol", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // `ddpg worker`: the Acting core over ZeroMQ.
        .target(
            name: "Worker",
            dependencies: [
                "Acting", "Clocks", "Environments", "NeuralNetwork", "ProcessSupport", "Specs", "Transport", "WireProtocol", "ZeroMQ",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The learner's decisions without sockets: LearnerCore, the training-loop seam and the replay loop.
        .target(
            name: "Learning",
            dependencies: [
                "Agents", "Checkpoint", "Clocks", "Ingest", "NeuralNetwork", "Policy", "Randomness", "Replay", "RunConfiguration", "RunRecords",
                "Settings", "Specs", "Telemetry", "Transport", "WireProtocol",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // `ddpg learner`: the Learning core over ZeroMQ.
        .target(
            name: "Learner",
            dependencies: [
                "Checkpoint", "Clocks", "Ingest", "Learning", "NeuralNetwork", "ProcessSupport", "Transport", "WireProtocol", "ZeroMQ",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The one type every layer may carry: an environment's spaces and limits.
        .target(name: "Specs"),
        .target(name: "Environments", dependencies: ["CShims", "Randomness", "Specs"]),
        // Replay knows transitions and sampling, not the algorithm that learns from them.
        .target(name: "Replay", dependencies: ["Randomness", "Settings", "Tensors"]),
        // Acme's adders: an environment's steps turned into what is sent (n-step transitions).
        .target(name: "Adders"),
        // The policy that acts: the actor and its head, exploration noise, the explore-and-clip step, the wire's actor shape.
        .target(name: "Policy", dependencies: ["NeuralNetwork", "Randomness", "Specs", "Settings", "Tensors", "WireProtocol"]),
        // The algorithms (one file each, listed in Algorithms.all) behind the Agent seam.
        .target(name: "Agents", dependencies: ["Adders", "NeuralNetwork", "Policy", "Randomness", "Replay", "Settings", "Specs", "Tensors"]),
        // What a run records that knows no algorithm: evaluations, the moment it was solved, the JSON layout.
        .target(name: "RunRecords", dependencies: ["Settings"]),
        // A run's configuration and summary: the agent, replay and acting settings beside the schedule.
        .target(name: "RunConfiguration", dependencies: ["Adders", "Agents", "NeuralNetwork", "Policy", "Replay", "RunRecords", "Settings", "Specs"]),
        // Deterministic evaluation episodes, for the trainer and for evaluator workers.
        .target(name: "Evaluation", dependencies: ["Environments", "Policy", "Randomness", "RunRecords"]),
        .target(
            name: "Training",
            dependencies: [
                "Adders", "Agents", "Clocks", "Policy", "Replay", "Environments", "Evaluation", "RunConfiguration", "RunRecords", "Specs",
                "NeuralNetwork", "Randomness", "Telemetry", "ProcessSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "ddpg",
            dependencies: [
                "Training", "RunConfiguration", "RunRecords", "Evaluation", "Agents", "Policy", "Settings", "Clocks", "Environments", "Specs", "NeuralNetwork", "Randomness", "Replay", "Learner", "Learning", "Worker", "Acting", "Transport", "Ingest",
                "ZeroMQ", "ProcessSupport", "Telemetry", "MetricsServer", "Plotting", "Checkpoint", "KernelSelection", "WireProtocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "DDPGBench",
            dependencies: ["Training", "RunConfiguration", "RunRecords", "Agents", "Policy", "Clocks", "Tensors", "Replay", "Environments", "Specs", "NeuralNetwork", "Randomness", "CBLAS", "ZeroMQ", "WireProtocol", "ProcessSupport", "Telemetry", "Checkpoint", "KernelSelection"]
        ),
        .executableTarget(name: "HostilePeers", dependencies: ["Environments", "WireProtocol", "Specs", "ZeroMQ", "Telemetry"]),
        .testTarget(name: "NeuralNetworkTests", dependencies: ["NeuralNetwork", "Randomness", "Tensors"]),
        .testTarget(name: "EnvironmentsTests", dependencies: ["Environments", "Randomness", "Specs"]),
        .testTarget(name: "AgentsTests", dependencies: ["Agents", "NeuralNetwork", "Policy", "Randomness", "Replay", "Settings", "Specs", "Tensors"]),
        .testTarget(name: "AddersTests", dependencies: ["Adders"]),
        .testTarget(name: "PolicyTests", dependencies: ["Policy", "NeuralNetwork", "Randomness", "Tensors", "WireProtocol"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "RunConfiguration", "RunRecords", "Evaluation", "Agents", "Environments", "Policy", "Settings"]),
        .target(name: "DDPGTestSupport", path: "Tests/TestSupport"),
        // Test doubles for the cores: a fake agent, a counting environment, and a simulation of a learner and its workers in memory.
        .target(name: "CoreDoubles", dependencies: ["Acting", "Agents", "Clocks", "Environments", "Learning", "NeuralNetwork", "Policy", "Randomness",
                                                    "Replay", "Specs", "Transport", "Ingest", "WireProtocol", .product(name: "Logging", package: "swift-log")],
                path: "Tests/CoreDoubles"),
        .testTarget(name: "CLITests", dependencies: ["ddpg", "DDPGTestSupport", "Agents", "NeuralNetwork", "Policy", "Randomness", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ"]),
        // Policy and NeuralNetwork: the golden weights of a normalized actor carry the actions the Swift actor takes.
        .testTarget(name: "WireProtocolTests", dependencies: ["WireProtocol", "Randomness", "Specs", "Policy", "NeuralNetwork"]),
        .testTarget(name: "LearningTests", dependencies: ["Learning", "Acting", "CoreDoubles", "Agents", "Clocks", "Environments", "Ingest", "NeuralNetwork", "Policy", "Randomness", "Replay", "RunConfiguration", "Settings", "Specs", "Telemetry", "Transport", "WireProtocol"]),
        .testTarget(name: "IngestTests", dependencies: ["Ingest", "WireProtocol", "Specs"]),
        .testTarget(name: "KernelSelectionTests", dependencies: ["KernelSelection"]),
        .testTarget(name: "ActingTests", dependencies: ["Acting", "Clocks", "CoreDoubles", "Environments", "Specs", "Transport", "WireProtocol"]),
        .testTarget(name: "TelemetryTests", dependencies: ["Telemetry", "Checksum"]),
        // Fixtures/: checkpoints written by earlier versions, which must still load.
        .testTarget(name: "CheckpointTests", dependencies: ["Checkpoint", "Agents", "Environments", "NeuralNetwork", "Randomness", "Replay", "Specs", "RunConfiguration", "RunRecords", "Training"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "PlottingTests", dependencies: ["Plotting"]),
        .testTarget(name: "DistributedTests", dependencies: ["ddpg", "Environments", "ZeroMQ", "WireProtocol", "Specs", "Telemetry", "Learning", "Checkpoint", "RunRecords", "DDPGTestSupport"]),
    ]
)
