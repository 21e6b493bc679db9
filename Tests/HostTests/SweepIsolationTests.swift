import Foundation
@testable import HostBase
@testable import HostRuns
@testable import HostState
import Synchronization
import Testing

/// `cchost sweep` runs each recipe's run in a process of its own: one run's crash is that recipe's
/// unverified run, torn down and never promoted, while the others finish; a signal to the sweep
/// reaches every run process, which tears down before the sweep exits; and only the sweep holds
/// locks and promotes.
@Suite("A sweep's runs, each in a process of its own")
struct SweepIsolationTests {
    static let environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]

    @Test("a run process that crashes is its recipe's unverified run, torn down and not promoted; the other runs finish green and nothing is left",
          .requiresDocker)
    func crashedRunIsolated() throws {
        let sweep = try IsolatedSweep(recipes: ["site-a", "site-b", "site-c"])
        var environment = Self.environment
        environment["CCHOST_TEST_CRASH_RECIPE"] = "site-b"
        let result = try run(TestPaths.cli, ["sweep", "--config", sweep.config], environment: environment)
        #expect(result.status == 1, "a failed recipe: \(result.stdout)\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        for recipe in ["site-a", "site-c"] {
            let line = try #require(lines.first { $0.hasPrefix("\(recipe):") }, "\(result.stdout)")
            #expect(line.contains(" green; not promoted: the run did not plan every tier"), "\(line)")
        }
        let crashed = try #require(lines.first { $0.hasPrefix("site-b:") })
        #expect(crashed.contains("unverified; error: its run process was killed by signal 11 (SIGSEGV) before its run finished"), "\(crashed)")
        // Its progress was relayed with its name, and the sweep tore its app down.
        #expect(result.stderr.contains("cchost: [site-b] [install] pass"), "\(result.stderr)")
        #expect(result.stderr.contains("cchost: [site-b] tore down "), "\(result.stderr)")

        let store = try sweep.store
        let runs = try ["site-a", "site-b", "site-c"].flatMap { try store.runs(recipe: $0) }
        #expect(runs.map(\.verdict) == ["pass", "unverified", "pass"], "\(runs.map(\.verdict))")
        let record = try RunReport.decode(Data(try #require(runs.first { $0.recipe == "site-b" }).record.utf8))
        #expect(record.finishedAt != nil && record.aborted?.hasPrefix("interrupted: its run process (pid ") == true, "\(record.aborted ?? "-")")
        #expect(try store.canonicals().isEmpty)
        #expect(try sweep.leftovers(of: runs).isEmpty)
    }

    @Test("SIGTERM to a sweep reaches every run process, which tears down and records itself before the sweep exits 143; only the sweep holds locks",
          .requiresDocker)
    func signalReachesEveryRun() throws {
        // Every tier, so that the signal surely comes while the runs have tiers ahead (they stop after install).
        let sweep = try IsolatedSweep(recipes: ["site-d", "site-e"], stages: "[install, upgrade, backup, restore]")
        let parent = try ChildProcess(executable: TestPaths.cli, arguments: ["sweep", "--config", sweep.config], environment: Self.environment)
        let output = PrintedLines()
        let finished = DispatchSemaphore(value: 0)
        let (stdout, stderr) = (parent.output, parent.errors)
        Thread.detachNewThread {
            ChildSweepRuns.readLines(stdout, stderr) { _, line in output.lines.withLock { $0.append(line) } }
            finished.signal()
        }
        // Both runs registered, by processes of their own.
        let deadline = Date().addingTimeInterval(120)
        var entries: [ActiveRuns.Entry] = []
        while entries.count < 2 && Date() < deadline {
            usleep(100_000)
            entries = try sweep.registry.entries()
        }
        try #require(entries.count == 2, "\(output.lines.withLock { $0 })")
        let runProcesses = Set(entries.map(\.pid))
        #expect(runProcesses.count == 2 && !runProcesses.contains(parent.pid))
        // The sweep (the parent) holds every lock: the sweep's and each recipe's; the run processes none.
        let held = try sweep.locks()
        #expect(held.map(\.0) == ["recipe:site-d", "recipe:site-e", "sweep"] && held.allSatisfy { $0.1 == parent.pid }, "\(held)")

        kill(parent.pid, SIGTERM)
        #expect(parent.wait() == .exited(143), "\(output.lines.withLock { $0 })")
        finished.wait()
        for pid in runProcesses { #expect(kill(pid, 0) == -1 && errno == ESRCH, "run process \(pid) outlived the sweep") }
        let store = try sweep.store
        let runs = try ["site-d", "site-e"].flatMap { try store.runs(recipe: $0) }
        #expect(runs.count == 2)
        for stored in runs {
            let record = try RunReport.decode(Data(stored.record.utf8))
            #expect(stored.finishedAt != nil && record.aborted == "cancelled: SIGTERM received", "\(record.aborted ?? "-")")
        }
        #expect(try store.canonicals().isEmpty)
        #expect(try sweep.leftovers(of: runs).isEmpty)
    }
}

/// What a process printed, line by line, as it comes.
final class PrintedLines: Sendable { let lines = Mutex<[String]>([]) }

/// A sweep's state folder and configuration for `cchost sweep`.
final class IsolatedSweep {
    let state: TemporaryDirectory
    let repositories: TemporaryDirectory
    let config: String

    /// A sweep of `recipes`, each the static-site fixture under its own name, all at once, by default
    /// install only (the cheapest run there is; an install-only run is never promoted, so nothing is kept).
    init(recipes: [String], stages: String = "[install]") throws {
        state = try TemporaryDirectory("isolation-state")
        // The static-site fixture under each recipe's name (its TYPE is the recipe the deploy labels).
        repositories = try SwarmRuns.repositories("isolation-repos") { source in
            for recipe in recipes {
                let copy = source.appendingPathComponent(recipe)
                try FileManager.default.copyItem(at: source.appendingPathComponent("static-site"), to: copy)
                try FileManager.default.copyItem(at: source.appendingPathComponent("static-site.releases"),
                                                 to: source.appendingPathComponent("\(recipe).releases"))
                let env = copy.appendingPathComponent(".env.sample")
                try String(contentsOf: env, encoding: .utf8).replacingOccurrences(of: "TYPE=static-site", with: "TYPE=\(recipe)")
                    .write(to: env, atomically: true, encoding: .utf8)
            }
        }
        config = state.file("cchost.yml")
        try """
            state_dir: \(state.path)
            allowlist: \(state.file("allowlist"))
            concurrency: \(recipes.count)
            recipes:
            \(recipes.map { "  - {name: \($0), upstream: \(repositories.file($0)), stages: \(stages)}" }.joined(separator: "\n"))
            """.write(toFile: config, atomically: true, encoding: .utf8)
    }

    var store: StateStore { get throws { try StateStore(stateDirectory: state.path, readOnly: true) } }
    var registry: ActiveRuns { ActiveRuns(directory: state.url.appendingPathComponent("runs/active")) }

    /// `(name, pid)` of every lock row.
    func locks() throws -> [(String, Int32)] {
        try run("/usr/bin/sqlite3", [state.file("cchost.sqlite"), "SELECT name, pid FROM lock ORDER BY name"]).stdout
            .split(separator: "\n").map { row in
                let fields = row.split(separator: "|")
                return (String(fields[0]), Int32(fields[1]) ?? -1)
            }
    }

    /// What the sweep's runs left on the engine and in the state folder.
    func leftovers(of runs: [StoredRun]) throws -> [String] {
        var left: [String] = []
        for stored in runs {
            let record = try RunReport.decode(Data(stored.record.utf8))
            left += SwarmRuns.leftovers(AppNaming.stackName(forDomain: record.domain))
        }
        left += try registry.entries().map { "registered run \($0.runID)" }
        left += try RetainedVolumes(stateDirectory: state.path).list().map(\.name)
        left += try locks().map { "lock \($0.0) of pid \($0.1)" }
        return left
    }
}
