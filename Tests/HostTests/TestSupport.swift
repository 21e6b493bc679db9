import Foundation
@testable import HostBase
@testable import HostDocker
@testable import HostRuns
@testable import HostState
import PluginChannel
import Testing

/// How the suite was started: `scripts/test --fast` sets CCHOST_TEST_FAST=1 and runs only what needs
/// no Docker engine.
enum TestEnvironment {
    static let fast = ProcessInfo.processInfo.environment["CCHOST_TEST_FAST"] == "1"
}

extension Trait where Self == ConditionTrait {
    /// For tests that need a Docker engine: the swarm, the Engine API, the docker CLI, the fixture
    /// images, or the abra shim (which drives docker). Skipped by `scripts/test --fast`.
    static var requiresDocker: Self { .enabled(if: !TestEnvironment.fast, "needs a Docker engine") }
}

/// Paths of the package and of what `swift build` produced (the test binary sits beside them).
enum TestPaths {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let products = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    static let fixtures = packageRoot.appendingPathComponent("Tests/HostTests/Fixtures")
    static let abiHeaders = packageRoot.appendingPathComponent("Sources/PluginABI/include")

    static func product(_ name: String) -> String { products.appendingPathComponent(name).path }
    static var worker: String { product("cchost-worker") }
    static var cli: String { product("cchost") }
}

struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a real command and collects its output.
@discardableResult
func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read both before waiting, so a chatty child cannot fill a pipe and stall.
    let stdoutBox = ResultBox<Data>()
    let finished = DispatchSemaphore(value: 0)
    let reader = out.fileHandleForReading
    DispatchQueue.global().async {
        stdoutBox.result = .success(reader.readDataToEndOfFile())
        finished.signal()
    }
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    finished.wait()
    process.waitUntilExit()
    let stdout = (try? stdoutBox.result?.get()) ?? Data()
    return CommandResult(status: process.terminationStatus,
                         stdout: String(decoding: stdout, as: UTF8.self),
                         stderr: String(decoding: stderr, as: UTF8.self))
}

final class ResultBox<T>: @unchecked Sendable { var result: Result<T, Error>? }

/// A fresh folder under the system temp folder, removed when the test is done with it.
final class TemporaryDirectory: Sendable {
    let url: URL
    var path: String { url.path }

    init(_ label: String = "cchost-test") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// Builds C fixture plugins with the system compiler, as a plugin author would.
enum Fixture {
    static let output = TestPaths.packageRoot.appendingPathComponent(".build/test-fixtures")

    struct CompileError: Error, CustomStringConvertible {
        var description: String
    }

    /// Compiles `Tests/HostTests/Fixtures/<source>.c` with `-D` defines into a shared library and
    /// returns its path. Each distinct set of defines gets its own library.
    static func compile(_ source: String, defines: [String] = []) throws -> String {
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        let tag = ([source] + defines).joined(separator: "_")
            .map { $0.isLetter || $0.isNumber || $0 == "_" ? $0 : "-" }
        let library = output.appendingPathComponent("lib\(String(tag)).so").path
        let staging = library + ".\(UUID().uuidString).tmp"
        let result = try run("/usr/bin/cc", ["-shared", "-fPIC", "-O0", "-Wall", "-I", TestPaths.abiHeaders.path,
                                             TestPaths.fixtures.appendingPathComponent("\(source).c").path,
                                             "-o", staging] + defines.map { "-D\($0)" })
        guard result.status == 0 else { throw CompileError(description: "cc failed for \(source) \(defines): \(result.stderr)") }
        // Rename over any earlier build: tests running in parallel never see a half-written library.
        guard rename(staging, library) == 0 else { throw CompileError(description: "cannot move \(staging) into place") }
        return library
    }
}

extension WorkerLauncher {
    /// The real sandbox: tests fail, not skip, when bubblewrap is missing (scripts/setup installs it).
    static func forTests() -> WorkerLauncher {
        do {
            return WorkerLauncher(workerPath: TestPaths.worker, sandbox: try Sandbox.locate(worker: TestPaths.worker))
        } catch {
            fatalError("the test suite needs the bubblewrap sandbox: \(error)")
        }
    }

    /// Without bubblewrap (the development-only --no-sandbox), for comparisons.
    static func unsandboxedForTests() -> WorkerLauncher { WorkerLauncher(workerPath: TestPaths.worker, sandbox: nil) }

    /// The worker of a next minor, as far as loading goes: built by scripts/test with a field appended
    /// to its descriptor (CCHOST_ABI_TEST_APPENDED_FIELD in the header) and no minor bump.
    static func appendedFieldWorkerForTests() throws -> WorkerLauncher {
        let worker = TestPaths.packageRoot.appendingPathComponent(".build-abi-next/debug/cchost-worker").path
        guard FileManager.default.isExecutableFile(atPath: worker) else {
            throw MissingWorker(description: """
                no worker with an appended descriptor field at \(worker): scripts/test builds it; by hand, run \
                swift build --product cchost-worker --scratch-path .build-abi-next -Xcc -DCCHOST_ABI_TEST_APPENDED_FIELD
                """)
        }
        return WorkerLauncher(workerPath: worker, sandbox: try Sandbox.locate(worker: worker))
    }

    struct MissingWorker: Error, CustomStringConvertible { var description: String }
}

/// What the tests that run recipes on the swarm share: fixture repositories, plugins, an engine.
enum SwarmRuns {
    /// Folders to remove when the test process ends (statics are never deinitialised).
    nonisolated(unsafe) private static var removeAtExit: [String] = []
    private static let cleanup: Void = { atexit { SwarmRuns.removeAtExit.forEach { try? FileManager.default.removeItem(atPath: $0) } } }()

    /// The fixture recipes of Tests/Fixtures/`folder` (`recipes`, or `hostile-recipes`: the hostile-
    /// recipe corpus) as git repositories with annotated releases (scripts/example-recipes, which
    /// reads `<name>/` and `<name>.releases`). `prepare` may add or change recipes in the source copy first.
    static func repositories(_ label: String, fixtures folder: String = "recipes",
                             prepare: (URL) throws -> Void = { _ in }) throws -> TemporaryDirectory {
        let source = try TemporaryDirectory("\(label)-source")
        let destination = try TemporaryDirectory(label)
        let fixtures = TestPaths.packageRoot.appendingPathComponent("Tests/Fixtures/\(folder)")
        for name in try FileManager.default.contentsOfDirectory(atPath: fixtures.path) {
            try FileManager.default.copyItem(at: fixtures.appendingPathComponent(name), to: source.url.appendingPathComponent(name))
        }
        try prepare(source.url)
        let result = try run(TestPaths.packageRoot.appendingPathComponent("scripts/example-recipes").path, [source.path, destination.path])
        guard result.status == 0 else { throw GitFixtureError(description: "scripts/example-recipes failed: \(result.stderr)") }
        _ = cleanup
        removeAtExit.append(destination.path)
        return destination
    }

    /// A built plugin library probed in the sandbox, as discovery does.
    static func probe(_ library: String, origin: PluginOrigin) throws -> ResolvedPlugin {
        let path = library.hasPrefix("/") ? library : TestPaths.product(library)
        let state = try PluginProber(launcher: .forTests()).probe(path)
        guard case .loadable(let info) = state else {
            throw GitFixtureError(description: "\(library) did not load: \(state.problem ?? "?")")
        }
        return ResolvedPlugin(path: path, origin: origin, info: info, profile: .operatorDefault)
    }

    static func generic() throws -> ResolvedPlugin { try probe("libcchost-generic.so", origin: .builtin) }

    /// A run engine on the real swarm; `progress` gets each event's console line.
    static func engine(_ state: TemporaryDirectory, plugins: [ResolvedPlugin], deployer: any Deployer = SwarmDeployer(defaultTimeout: 90),
                       progress: @escaping @Sendable (String) -> Void = { _ in }) -> RunEngine {
        RunEngine(deployer: deployer, plugins: plugins, launcher: .forTests(), runsDirectory: state.url.appendingPathComponent("runs"),
                  retainedData: RetainedVolumes(docker: deployer.docker, stateDirectory: state.path), events: { progress($0.line) })
    }

    /// Everything of `stack` still on the engine, asked of docker directly.
    static func leftovers(_ stack: String) -> [String] { SwarmDeployer().leftovers(stack: stack) }
}

/// Reading a run's record in tests.
extension RunRecord {
    func tier(_ tier: Tier) throws -> TierRecord {
        try #require(tiers.first { $0.tier == tier }, "no \(tier) tier in \(tiers.map(\.tier))")
    }

    func check(_ tier: Tier, _ name: String, plugin: String) throws -> CheckRecord {
        try #require(try self.tier(tier).checks.first { $0.name == name && $0.plugin == plugin }, "no check \(plugin)/\(name) in \(tier)")
    }

    /// A plugin's checks of the run as "tier/name" → verdict.
    func verdicts(plugin: String) -> [String: Verdict] {
        var result: [String: Verdict] = [:]
        for tier in tiers { for check in tier.checks where check.plugin == plugin { result["\(tier.tier.rawValue)/\(check.name)"] = check.verdict } }
        return result
    }
}

/// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", 2014): a
/// tiny generator whose whole state is one seed, so a random test is reproduced from its seed.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
