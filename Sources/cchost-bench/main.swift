// cchost-bench: the measurements scripts/bench cannot take from the command line. Prints one line a
// measurement, "NAME MEDIAN_US P90_US", for scripts/bench to tabulate.
//
//   cchost-bench sandbox WORKER PLUGIN HOST_CALLS_PLUGIN ITERATIONS
//   cchost-bench mirrors FOLDER ITERATIONS
//   cchost-bench canonicals CONFIG
//
// sandbox: PLUGIN is any loadable plugin (the handshake); HOST_CALLS_PLUGIN is the test fixture with
// the config-loop check (one host-table round trip a config lookup).
// mirrors: every *.git in FOLDER is a bare mirror with an `origin`; one sample fetches all of them,
// lists their tags and picks each one's latest release, in-process through libgit2.
// canonicals: setup, not a measurement. Promotes every enrolled recipe of the configuration CONFIG (as
// cchost reads it, environment overrides included) to its upstream's latest release and that tag's
// commit, so that a sweep decides `skip no-new-version` for each. Prints "canonicals-seeded N".
import Foundation
import HostBase
import HostState
import Logging
import PluginChannel

LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = .error
    return handler
}

let arguments = Array(CommandLine.arguments.dropFirst())
func usage() -> Never {
    FileHandle.standardError.write(Data("usage: cchost-bench sandbox WORKER PLUGIN HOST_CALLS_PLUGIN ITERATIONS | mirrors FOLDER ITERATIONS | canonicals CONFIG\n".utf8))
    exit(2)
}

if arguments.first == "canonicals" {
    guard arguments.count == 2 else { usage() }
    do {
        let file = arguments[1]
        let configuration = try Configuration(parsing: try String(contentsOfFile: file, encoding: .utf8), source: file,
                                              environment: ProcessInfo.processInfo.environment)
        let store = try StateStore(stateDirectory: configuration.stateDirectory)
        let recipes = configuration.recipes.filter(\.enrolled)
        for recipe in recipes {
            let listing = try ReleaseListing(source: recipe.upstream, repository: try GitRepository.open(recipe.upstream))
            guard let latest = listing.latest, let release = listing.releases.first(where: { $0.tag == latest }) else {
                throw SweepError("recipe \(recipe.name): \(recipe.upstream) has no release to seed a canonical with")
            }
            let previous = try store.canonical(recipe: recipe.name)?.version
            guard previous != latest else { continue }
            try store.promote(Canonical(recipe: recipe.name, version: latest, commit: release.commit, promotedAt: Date(),
                                        runID: "bench-seed", volumes: []), previous: previous)
        }
        print("canonicals-seeded", recipes.count)
    } catch {
        FileHandle.standardError.write(Data("cchost-bench: \(error)\n".utf8))
        exit(1)
    }
    exit(0)
}
guard let mode = arguments.first, let iterations = arguments.last.flatMap(Int.init), iterations > 0 else { usage() }

func measure(_ name: String, divisor: Double = 1, _ body: () throws -> Void) rethrows {
    var samples: [Double] = []
    for _ in 0..<iterations {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1000 / divisor)
    }
    samples.sort()
    let median = samples[(samples.count - 1) / 2]
    let p90 = samples[min(samples.count - 1, (samples.count * 9 + 9) / 10 - 1)]
    print(name, String(format: "%.2f", median), String(format: "%.2f", p90))
}

if mode == "mirrors" {
    guard arguments.count == 3 else { usage() }
    let folder = arguments[1]
    let entries: [String]
    do { entries = try FileManager.default.contentsOfDirectory(atPath: folder) } catch {
        // Never a measurement of no mirrors.
        FileHandle.standardError.write(Data("cchost-bench: cannot list \(folder): \(error)\n".utf8))
        exit(2)
    }
    let mirrors = entries.filter { $0.hasSuffix(".git") }.sorted().map { "\(folder)/\($0)" }
    let width = ProcessInfo.processInfo.activeProcessorCount * 2
    var found = 0
    do {
        try measure("mirrors-\(mirrors.count)") {
            found = try awaitResult { try await Mirrors.refresh(mirrors, width: width).values.filter { $0 != nil }.count }
        }
    } catch {
        FileHandle.standardError.write(Data("cchost-bench: \(error)\n".utf8))
        exit(1)
    }
    print("mirrors-with-latest", found, found)
    exit(0)
}

/// Runs async work to completion from this synchronous program.
func awaitResult<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    nonisolated(unsafe) var result: Result<T, Error>?
    let done = DispatchSemaphore(value: 0)
    Task {
        do { result = .success(try await body()) } catch { result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try result!.get()
}

guard mode == "sandbox", arguments.count == 5 else { usage() }
let (worker, plugin, hostCalls) = (arguments[1], arguments[2], arguments[3])

do {
    let sandboxed = WorkerLauncher(workerPath: worker, sandbox: try Sandbox.locate(worker: worker))
    let unsandboxed = WorkerLauncher(workerPath: worker, sandbox: nil)

    try measure("spawn-floor") {
        let child = try ChildProcess(executable: "/bin/true", arguments: [], environment: [:])
        child.wait()
    }
    for (label, launcher) in [("unsandboxed", unsandboxed), ("sandboxed", sandboxed)] {
        try measure("handshake-\(label)") {
            let session = try WorkerSession(plugin: plugin, launcher: launcher, services: HostServices())
            session.close()
        }
    }
    let calls = 2000
    for (label, launcher) in [("unsandboxed", unsandboxed), ("sandboxed", sandboxed)] {
        var limits = HostServices.Limits()
        limits.maximumCalls = Int.max
        let session = try WorkerSession(plugin: hostCalls, launcher: launcher,
                                        services: HostServices(configuration: ["calls": String(calls)], limits: limits))
        defer { session.close() }
        try measure("roundtrip-\(label)", divisor: Double(calls)) {
            _ = try session.invoke(Invocation(kind: .check, name: "config-loop", tier: "install"), timeout: 60).get()
        }
    }
} catch {
    FileHandle.standardError.write(Data("cchost-bench: \(error)\n".utf8))
    exit(1)
}
