// swift-tools-version:6.0
import PackageDescription

// libFuzzer harnesses, built and run by scripts/fuzz-ingest.sh.
// A package of their own: libFuzzer supplies `main`, so the harness is compiled as a library.
let package = Package(
    name: "ddpg-fuzz",
    dependencies: [.package(name: "ddpg", path: "..")],
    targets: [
        .executableTarget(
            name: "FuzzIngest",
            dependencies: [.product(name: "DDPGIngest", package: "ddpg")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ]
)
