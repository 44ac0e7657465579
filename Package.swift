// swift-tools-version:6.0
import PackageDescription

// The module graph is the architecture; dependencies only point down. Every module a target
// imports is declared here (scripts/tools/check-imports.py checks it in CI). docs/ARCHITECTURE.md
// has the picture and each module's job:
//
//   ddpg (CLI) ──▶ Learner, Worker, Training, Checkpoint, MetricsServer, Plotting, KernelSelection
//   Learner ──▶ Ingest ──▶ WireProtocol ──▶ Specs;  Learner, Worker ──▶ ZeroMQ ──▶ CZeroMQ (libzmq)
//   Learner ──▶ Checkpoint ──▶ RunRecords ──▶ DDPG ──▶ Replay ──▶ NeuralNetwork ──▶ CBLAS (OpenBLAS), CKernels
//   Training, Worker ──▶ Evaluation ──▶ Environments ──▶ Specs, CShims, Randomness;  Evaluation ──▶ RunRecords
//   Training, Worker ──▶ Replay (the n-step adder: returns are made where the data is)
//   The learner knows no environment: it learns the spec from --env (resolved by the CLI) or a worker's hello.
//   Learner, Training, Plotting ──▶ Telemetry ──▶ Checksum;  ProcessSupport ──▶ CShims
//   KernelSelection ──▶ NeuralNetwork;  MetricsServer ──▶ Hummingbird, swift-prometheus
//   DDPGBench (ddpg-bench), HostilePeers (ddpg-hostile): executables over the modules above
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
        .target(name: "NeuralNetwork", dependencies: ["CBLAS", "CKernels", "Randomness"]),
        // Process start-up: re-executes with the OpenBLAS kernels the CPU supports best.
        .target(name: "KernelSelection", dependencies: ["NeuralNetwork"]),
        .target(name: "CShims", linkerSettings: [.linkedLibrary("m")]),
        .systemLibrary(name: "CZeroMQ", providers: [.apt(["libzmq3-dev"])]),
        .target(name: "ZeroMQ", dependencies: ["CZeroMQ"]),
        .target(name: "WireProtocol", dependencies: ["Specs"]),
        .target(name: "Ingest", dependencies: ["WireProtocol"]),
        .target(name: "ProcessSupport", dependencies: ["CShims"]),
        .target(name: "Checksum"),
        .target(name: "Telemetry", dependencies: ["Checksum", .product(name: "Logging", package: "swift-log")]),
        .target(name: "Checkpoint", dependencies: ["Checksum", "DDPG", "NeuralNetwork", "Randomness", "Replay", "Specs", "RunRecords"]),
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
        .target(
            name: "Worker",
            dependencies: [
                "DDPG", "Environments", "Evaluation", "NeuralNetwork", "Randomness", "Replay", "Specs", "WireProtocol", "ZeroMQ", "ProcessSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Learner",
            dependencies: [
                "DDPG", "Replay", "RunRecords", "Specs", "NeuralNetwork", "Randomness", "WireProtocol", "Ingest", "ZeroMQ", "ProcessSupport",
                "Telemetry", "Checkpoint",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // The one type every layer may carry: an environment's spaces and limits.
        .target(name: "Specs"),
        .target(name: "Environments", dependencies: ["CShims", "Randomness", "Specs"]),
        // Replay knows transitions and sampling, not the algorithm that learns from them.
        .target(name: "Replay", dependencies: ["NeuralNetwork", "Randomness"]),
        .target(name: "DDPG", dependencies: ["NeuralNetwork", "Randomness", "Replay", "Specs"]),
        // What a run records (its configuration, evaluations, summary): shared by the trainer and the learner.
        .target(name: "RunRecords", dependencies: ["DDPG", "NeuralNetwork", "Replay", "Specs"]),
        // Deterministic evaluation episodes, for the trainer and for evaluator workers.
        .target(name: "Evaluation", dependencies: ["DDPG", "Environments", "Randomness", "RunRecords"]),
        .target(
            name: "Training",
            dependencies: [
                "DDPG", "Replay", "Environments", "Evaluation", "RunRecords", "Specs", "NeuralNetwork", "Randomness", "Telemetry", "ProcessSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "ddpg",
            dependencies: [
                "Training", "RunRecords", "Evaluation", "DDPG", "Environments", "Specs", "NeuralNetwork", "Randomness", "Replay", "Learner", "Worker",
                "ZeroMQ", "ProcessSupport", "Telemetry", "MetricsServer", "Plotting", "Checkpoint", "KernelSelection", "WireProtocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "DDPGBench",
            dependencies: ["Training", "RunRecords", "DDPG", "Replay", "Environments", "Specs", "NeuralNetwork", "Randomness", "CBLAS", "ZeroMQ", "WireProtocol", "ProcessSupport", "Telemetry", "Checkpoint", "KernelSelection"]
        ),
        .executableTarget(name: "HostilePeers", dependencies: ["Environments", "WireProtocol", "Specs", "ZeroMQ", "Telemetry"]),
        .testTarget(name: "NeuralNetworkTests", dependencies: ["NeuralNetwork", "Randomness"]),
        .testTarget(name: "EnvironmentsTests", dependencies: ["Environments", "Randomness", "Specs"]),
        .testTarget(name: "DDPGTests", dependencies: ["DDPG", "NeuralNetwork", "Randomness", "Replay", "Specs"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "RunRecords", "Evaluation", "DDPG", "Environments"]),
        .target(name: "DDPGTestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "CLITests", dependencies: ["ddpg", "DDPGTestSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ"]),
        // DDPG and NeuralNetwork: the golden weights of a normalized actor carry the actions the Swift actor takes.
        .testTarget(name: "WireProtocolTests", dependencies: ["WireProtocol", "Specs", "DDPG", "NeuralNetwork"]),
        .testTarget(name: "LearnerTests", dependencies: ["Learner", "Ingest", "WireProtocol", "Specs", "Telemetry"]),
        .testTarget(name: "IngestTests", dependencies: ["Ingest", "WireProtocol", "Specs"]),
        .testTarget(name: "KernelSelectionTests", dependencies: ["KernelSelection"]),
        .testTarget(name: "WorkerTests", dependencies: ["Worker"]),
        .testTarget(name: "TelemetryTests", dependencies: ["Telemetry", "Checksum"]),
        // Fixtures/: checkpoints written by earlier versions, which must still load.
        .testTarget(name: "CheckpointTests", dependencies: ["Checkpoint", "DDPG", "Environments", "NeuralNetwork", "Randomness", "Replay", "Specs", "RunRecords", "Training"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "PlottingTests", dependencies: ["Plotting"]),
        .testTarget(name: "DistributedTests", dependencies: ["ddpg", "Environments", "ZeroMQ", "WireProtocol", "Specs", "Telemetry", "Learner", "Checkpoint", "RunRecords", "DDPGTestSupport"]),
    ]
)
