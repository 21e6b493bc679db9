// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "cchost",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "cchost", targets: ["cchost"]),
        .executable(name: "cchost-worker", targets: ["cchost-worker"]),
        .library(name: "PluginKit", targets: ["PluginKit"]),
        // Plugins: each a shared library speaking the C ABI in Sources/PluginABI.
        .library(name: "cchost-generic", type: .dynamic, targets: ["GenericSuite"]),
        .library(name: "cchost-example-swift", type: .dynamic, targets: ["ExampleSwift"]),
        .library(name: "cchost-example-c", type: .dynamic, targets: ["ExampleC"]),
        .library(name: "cchost-overlay-static-site", type: .dynamic, targets: ["OverlayStaticSite"]),
        .library(name: "cchost-overlay-notes-db", type: .dynamic, targets: ["OverlayNotesDB"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
    ],
    targets: [
        // The whole plugin ABI: one header.
        .target(name: "PluginABI", path: "Sources/PluginABI"),
        // System libraries through pkg-config (scripts/setup installs their -dev packages).
        .systemLibrary(name: "CLibFFI", path: "Sources/CLibFFI", pkgConfig: "libffi",
                       providers: [.apt(["libffi-dev"])]),
        .systemLibrary(name: "CLibGit2", path: "Sources/CLibGit2", pkgConfig: "libgit2",
                       providers: [.apt(["libgit2-dev"])]),
        .systemLibrary(name: "CWorkerSystem", path: "Sources/CWorkerSystem", pkgConfig: "libseccomp",
                       providers: [.apt(["libseccomp-dev"])]),
        // SHA-256 from the system's OpenSSL: a cryptography package would be compiled on every fresh build.
        .systemLibrary(name: "CLibCrypto", path: "Sources/CLibCrypto", pkgConfig: "libcrypto",
                       providers: [.apt(["libssl-dev"])]),
        // Frames and messages spoken between the host and cchost-worker.
        .target(name: "PluginChannel"),
        // The engine, in layers along the data flow: each target sees only the ones below it, so the
        // compiler refuses a back-edge. A lower layer that needs something above owns a protocol for it.
        // Support, git, recipes, configuration, the sandbox, plugins.
        .target(
            name: "HostBase",
            dependencies: [
                "PluginChannel",
                "CLibGit2", "CLibCrypto",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]),
        // The Docker seam and the deployers.
        .target(
            name: "HostDocker",
            dependencies: [
                "HostBase", "PluginChannel",
                .product(name: "Logging", package: "swift-log"),
            ]),
        // The run engine, its ops, the judgement, reports.
        .target(
            name: "HostRuns",
            dependencies: ["HostBase", "HostDocker", "PluginChannel", .product(name: "Logging", package: "swift-log")]),
        // The state database (canonicals, runs, locks, the plugin cache), the promote gate, retained volumes, the sweep.
        .target(
            name: "HostState",
            dependencies: [
                "HostBase", "HostDocker", "HostRuns", "PluginChannel",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]),
        .executableTarget(
            name: "cchost",
            dependencies: ["HostBase", "HostDocker", "HostRuns", "HostState", "PluginChannel",
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // Measurements for scripts/bench that need the library (worker handshakes, host-call round trips).
        .executableTarget(name: "cchost-bench", dependencies: ["HostBase", "HostState", "PluginChannel", .product(name: "Logging", package: "swift-log")]),
        .executableTarget(name: "cchost-worker", dependencies: ["PluginChannel", "PluginABI", "CLibFFI", "CWorkerSystem"]),
        // Authoring kit for Swift plugins: conform to `Plugin`, export one function.
        .target(name: "PluginKit", dependencies: ["PluginABI"]),
        .target(name: "GenericSuite", dependencies: ["PluginKit"], path: "Plugins/generic"),
        .target(name: "ExampleSwift", dependencies: ["PluginKit"], path: "Plugins/example-swift"),
        .target(name: "ExampleC", dependencies: ["PluginABI"], path: "Plugins/example-c", publicHeadersPath: "."),
        .target(name: "OverlayStaticSite", dependencies: ["PluginKit"], path: "Plugins/overlay-static-site"),
        .target(name: "OverlayNotesDB", dependencies: ["PluginABI"], path: "Plugins/overlay-notes-db", publicHeadersPath: "."),
        .testTarget(
            name: "HostTests",
            dependencies: ["HostBase", "HostDocker", "HostRuns", "HostState", "PluginChannel",
                           .product(name: "Yams", package: "Yams")],
            exclude: ["Fixtures"]),
    ]
)
