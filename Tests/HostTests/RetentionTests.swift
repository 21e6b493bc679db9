import Foundation
@testable import HostBase
@testable import HostRuns
@testable import HostState
import Testing

/// Which past run folders go: the pure decision (truth table), then `cchost gc` on a real state folder.
@Suite("Retention of run folders")
struct RetentionTests {
    static let now = Date(timeIntervalSince1970: 2_000_000_000)

    /// A finished run of `recipe`, `hoursAgo` old, holding `megabytes`.
    static func folder(_ id: String, _ recipe: String?, hoursAgo: Double, megabytes: UInt64 = 1, finished: Bool = true) -> Retention.Folder {
        Retention.Folder(runID: id, recipe: recipe, startedAt: now.addingTimeInterval(-hoursAgo * 3600), bytes: megabytes << 20,
                         finished: finished)
    }

    static func removed(_ folders: [Retention.Folder], keep: Int = 2, maxMegabytes: UInt64 = 1000, perRecipe: [String: Int] = [:],
                        canonical: Set<String> = [], live: Set<String> = []) -> [String] {
        Retention.removals(folders, policy: RetentionPolicy(keepRuns: keep, maxBytes: maxMegabytes << 20, keepRunsByRecipe: perRecipe),
                           canonicalRuns: canonical, liveRuns: live, now: now).map(\.folder.runID)
    }

    static let fourOfA = [folder("a1", "a", hoursAgo: 40), folder("a2", "a", hoursAgo: 30), folder("a3", "a", hoursAgo: 20),
                          folder("a4", "a", hoursAgo: 10)]

    @Test("the newest keep_runs folders of each recipe stay; older ones go, oldest first")
    func keepLastN() {
        #expect(Self.removed(Self.fourOfA + [Self.folder("b1", "b", hoursAgo: 50)]) == ["a1", "a2"])
        #expect(Self.removed(Self.fourOfA, keep: 4).isEmpty)
    }

    @Test("a recipe's own keep_runs goes over the global count")
    func perRecipeCount() {
        #expect(Self.removed(Self.fourOfA + [Self.folder("b1", "b", hoursAgo: 50), Self.folder("b2", "b", hoursAgo: 5)],
                             keep: 3, perRecipe: ["b": 1]) == ["b1", "a1"])
    }

    @Test("a canonical's run stays however old, and counts among the kept")
    func canonicalStays() {
        #expect(Self.removed(Self.fourOfA, canonical: ["a1"]) == ["a2"])
    }

    @Test("a live run stays however old")
    func liveStays() {
        #expect(Self.removed(Self.fourOfA, live: ["a2"]) == ["a1"])
    }

    @Test("an unfinished folder stays for a day (a run still planning), then is treated as any other")
    func unfinishedGrace() {
        let planning = Self.folder("x1", nil, hoursAgo: 2, finished: false)
        let killed = Self.folder("x0", nil, hoursAgo: 30, finished: false)
        #expect(Self.removed([killed, planning, Self.folder("x2", nil, hoursAgo: 1)], keep: 1) == ["x0"])
    }

    @Test("over max_size, the oldest go first until the rest fits; never a canonical's, a live run's or a recipe's newest")
    func sizeBudget() {
        let folders = [Self.folder("a1", "a", hoursAgo: 40, megabytes: 100), Self.folder("b1", "b", hoursAgo: 35, megabytes: 100),
                       Self.folder("a2", "a", hoursAgo: 30, megabytes: 100), Self.folder("a3", "a", hoursAgo: 20, megabytes: 100),
                       Self.folder("b2", "b", hoursAgo: 10, megabytes: 100)]
        #expect(Self.removed(folders, keep: 10, maxMegabytes: 300) == ["a1", "b1"])
        #expect(Self.removed(folders, keep: 10, maxMegabytes: 300, canonical: ["a1"]) == ["b1", "a2"])
        #expect(Self.removed(folders, keep: 10, maxMegabytes: 300, canonical: ["a1"], live: ["b1"]) == ["a2"],
                "a3 and b2 are their recipes' newest: the budget is left exceeded rather than removing them")
        #expect(Self.removed(folders, keep: 10, maxMegabytes: 500).isEmpty)
    }

    @Test("each removal says why")
    func reasons() {
        let removals = Retention.removals(Self.fourOfA + [Self.folder("b1", "b", hoursAgo: 50, megabytes: 900), Self.folder("b2", "b", hoursAgo: 1)],
                                          policy: RetentionPolicy(keepRuns: 3, maxBytes: 100 << 20, keepRunsByRecipe: [:]),
                                          canonicalRuns: [], liveRuns: [], now: Self.now)
        #expect(removals.map(\.folder.runID) == ["b1", "a1"])
        #expect(removals.map(\.reason) == ["the run folders hold more than 100 MiB (retention.max_size): oldest first",
                                           "older than the last 3 runs of a"],
                "\(removals)")
    }

    // MARK: cchost gc on a real state folder

    /// A state folder with five runs of notes recorded (one the canonical's, one live), their folders,
    /// a run folder nothing recorded, and the registry of active runs.
    static func stateFolder(keepRuns: Int) throws -> (TemporaryDirectory, [String: String]) {
        let state = try TemporaryDirectory("gc-state")
        let store = try StateStore(stateDirectory: state.path)
        let runs = state.url.appendingPathComponent("runs")
        for (index, id) in ["aaaa0001", "aaaa0002", "aaaa0003", "aaaa0004", "aaaa0005"].enumerated() {
            try store.record(run: StoredRun(StateStoreTests.runRecord(id, at: 1_700_000_000 + Double(index) * 3600)))
            let backup = runs.appendingPathComponent("\(id)/backup/app")
            try FileManager.default.createDirectory(at: backup, withIntermediateDirectories: true)
            try Data(repeating: 7, count: 64 << 10).write(to: backup.appendingPathComponent("content.tar"))
        }
        try store.promote(Canonical(recipe: "notes", version: "1.0.0+1", commit: String(repeating: "a", count: 40),
                                    promotedAt: Date(timeIntervalSince1970: 1_700_000_000), runID: "aaaa0001", volumes: []), previous: nil)
        try ActiveRuns(directory: runs.appendingPathComponent("active")).register(runID: "aaaa0002", stack: "x_ci_example")
        let config = state.url.appendingPathComponent("config.yml")
        try Data("state_dir: \(state.path)\nretention:\n  keep_runs: \(keepRuns)\n".utf8).write(to: config)
        return (state, ["CCHOST_CONFIG": config.path, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"])
    }

    static func folders(_ state: TemporaryDirectory) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: state.url.appendingPathComponent("runs").path).sorted()
    }

    @Test("cchost gc --dry-run lists what it would remove and why, and removes nothing")
    func dryRun() throws {
        let (state, environment) = try Self.stateFolder(keepRuns: 1)
        let before = try Self.folders(state)
        let result = try run(TestPaths.cli, ["gc", "--dry-run"], environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.split(separator: "\n").map { String($0.prefix(21)) } == ["would remove aaaa0003", "would remove aaaa0004"],
                "the canonical's aaaa0001, the live aaaa0002 and the newest aaaa0005 stay: \(result.stdout)")
        #expect(result.stdout.contains("notes") && result.stdout.contains("older than the last 1 runs of notes"), "\(result.stdout)")
        #expect(try Self.folders(state) == before)
    }

    @Test("cchost gc removes the folders, keeps the records; runs show says the folder is gone")
    func prune() throws {
        let (state, environment) = try Self.stateFolder(keepRuns: 1)
        let result = try run(TestPaths.cli, ["gc"], environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.split(separator: "\n").map { String($0.prefix(16)) } == ["removed aaaa0003", "removed aaaa0004"], "\(result.stdout)")
        #expect(try Self.folders(state) == ["aaaa0001", "aaaa0002", "aaaa0005", "active"])
        #expect(try StateStore(stateDirectory: state.path).runs(recipe: "notes").count == 5, "database rows stay")
        let shown = try run(TestPaths.cli, ["runs", "show", "aaaa0003"], environment: environment)
        #expect(shown.stdout.contains("folder  gone: \(state.path)/runs/aaaa0003 was pruned"), "\(shown.stdout)")
        let kept = try run(TestPaths.cli, ["runs", "show", "aaaa0001"], environment: environment)
        #expect(kept.stdout.contains("folder  \(state.path)/runs/aaaa0001\n"), "\(kept.stdout)")
        let again = try run(TestPaths.cli, ["gc"], environment: environment)
        #expect(again.stdout == "nothing to remove: every run folder is within the retention policy\n", "\(again.stdout)")
    }

    @Test("a sweep prunes run folders at its end, as cchost gc does")
    func sweepPrunes() throws {
        let (state, _) = try Self.stateFolder(keepRuns: 1)
        // An upstream with no release: the sweep decides never-released and runs nothing.
        let upstream = try TemporaryDirectory("gc-upstream")
        for arguments in [["init", "-q", "-b", "main", upstream.path],
                          ["-C", upstream.path, "-c", "user.name=m", "-c", "user.email=m@example.org", "commit", "-q", "--allow-empty", "-m", "start"]] {
            let result = try run("/usr/bin/git", arguments)
            #expect(result.status == 0, "\(result.stderr)")
        }
        var configuration = Configuration(stateDirectory: state.path, pluginPaths: [], allowlistPath: "/nonexistent")
        configuration.retention = RetentionPolicy(keepRuns: 1)
        let recipe = RecipeSettings(name: "notes", upstream: upstream.path)
        configuration.recipes = [recipe]
        let lines = ResultBox<[String]>()
        lines.result = .success([])
        let runner = SweepRunner(configuration: configuration, store: try StateStore(stateDirectory: state.path),
                                 makeEngine: { _ in throw PlanError(description: "no run expected") },
                                 progress: { line in lines.result = .success(((try? lines.result?.get()) ?? []) + [line]) })
        let outcomes = try runner.sweep(recipes: [recipe], dryRun: false)
        #expect(outcomes.map(\.item.decision) == [.skipNeverReleased])
        #expect(try Self.folders(state) == ["aaaa0001", "aaaa0002", "aaaa0005", "active"])
        let said = try #require(try lines.result?.get())
        #expect(said.contains { $0.hasPrefix("removed run folder aaaa0003  notes") }, "\(said)")
    }

    @Test("cchost gc with a bad retention value exits 2 naming the file, line and field")
    func badConfiguration() throws {
        let state = try TemporaryDirectory("gc-state")
        let config = state.url.appendingPathComponent("config.yml")
        try Data("state_dir: \(state.path)\nretention:\n  max_size: plenty\n".utf8).write(to: config)
        let result = try run(TestPaths.cli, ["gc", "--dry-run"], environment: ["CCHOST_CONFIG": config.path])
        #expect(result.status == 2)
        #expect(result.stderr.contains("\(config.path):3: retention.max_size must be a size"), "\(result.stderr)")
    }
}
