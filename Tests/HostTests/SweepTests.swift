import Foundation
@testable import HostBase
@testable import HostRuns
@testable import HostState
import PluginChannel
import Testing

/// The main job on the real swarm: sweeps over fixture repositories, promotions, skips, a red release.
@Suite("Sweeps and promotions on the swarm", .serialized)
struct SweepTests {
    final class Setup {
        let state: TemporaryDirectory
        let repositories: TemporaryDirectory
        let store: StateStore
        let runner: SweepRunner
        let recipe: RecipeSettings

        init(recipe name: String = "static-site") throws {
            state = try TemporaryDirectory("sweep-state")
            repositories = try SwarmRuns.repositories("sweep-repos")
            store = try StateStore(stateDirectory: state.path)
            var configuration = Configuration(stateDirectory: state.path, pluginPaths: [], allowlistPath: "/nonexistent")
            recipe = RecipeSettings(name: name, upstream: repositories.file(name), stages: [.install, .upgrade, .backup, .restore])
            configuration.recipes = [recipe]
            let generic = try SwarmRuns.generic()
            let state = state
            runner = SweepRunner(configuration: configuration, store: store, makeEngine: { _ in
                SwarmRuns.engine(state, plugins: [generic])
            })
        }

        /// The canonicals' data of this state folder are Docker volumes: they go with the test.
        deinit { try? retained.remove(((try? retained.list()) ?? []).map(\.name)) }

        var retained: RetainedVolumes { RetainedVolumes(stateDirectory: state.path) }

        func sweep() throws -> SweepOutcome { try #require(try runner.sweep(recipes: [recipe], dryRun: false).first) }

        /// A new release of the fixture, made by its maintainer.
        func tag(_ version: String, breaking: Bool = false) throws {
            let repository = repositories.file(recipe.name)
            let compose = "\(repository)/compose.yml"
            var text = try String(contentsOfFile: compose, encoding: .utf8)
            if breaking { text = text.replacingOccurrences(of: "[\"CMD\", \"/bin/wget\"", with: "[\"CMD\", \"false\", \"/bin/wget\"") }
            text += "# \(version)\n"
            try text.write(toFile: compose, atomically: true, encoding: .utf8)
            for arguments in [["commit", "-qam", "release \(version)"], ["tag", "-a", version, "-m", "release \(version)"]] {
                let result = try run("/usr/bin/git", ["-C", repository, "-c", "user.name=m", "-c", "user.email=m@example.org"] + arguments)
                guard result.status == 0 else { throw GitFixtureError(description: result.stderr) }
            }
        }
    }

    @Test("a sweep promotes the newest release with its tag's commit; a second sweep skips and changes nothing", .requiresDocker)
    func promoteThenSkip() throws {
        let setup = try Setup()
        let first = try setup.sweep()
        #expect(first.item.decision == .run(version: "2.0.0+2.0.0"))
        #expect(first.promotion?.hasPrefix("promoted 2.0.0+2.0.0") == true, "\(first)")
        let canonical = try #require(try setup.store.canonical(recipe: "static-site"))
        let tagCommit = try run("/usr/bin/git", ["-C", setup.repositories.file("static-site"), "rev-parse", "2.0.0+2.0.0^{commit}"])
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(canonical.commit == tagCommit)
        #expect(canonical.volumes == ["warm-static-site-\(canonical.runID)_content"])
        #expect(try setup.retained.list().map(\.name) == canonical.volumes, "the canonical's data is a retained volume")
        let history = try setup.store.history(recipe: "static-site")

        let second = try setup.sweep()
        #expect(second.item.decision == .skipNoNewVersion(latest: "2.0.0+2.0.0", canonical: "2.0.0+2.0.0"))
        #expect(second.run == nil)
        #expect(try setup.store.canonical(recipe: "static-site") == canonical)
        #expect(try setup.store.history(recipe: "static-site") == history)
    }

    @Test("a red run of a new release is not promoted, and the old canonical stays", .requiresDocker)
    func redReleaseIsNotPromoted() throws {
        let setup = try Setup()
        _ = try setup.sweep()
        let canonical = try #require(try setup.store.canonical(recipe: "static-site"))
        try setup.tag("2.1.0+2.0.0", breaking: true)
        let outcome = try setup.sweep()
        #expect(outcome.item.decision == .run(version: "2.1.0+2.0.0"))
        #expect(outcome.run?.isGreen == false)
        #expect(outcome.promotion == "not promoted: the run is not green")
        #expect(try setup.store.canonical(recipe: "static-site") == canonical)
        #expect(try setup.store.history(recipe: "static-site").count == 1)
        #expect(outcome.run?.retainedVolumes == nil, "a red run keeps no data")
        #expect(try setup.retained.list().map(\.name) == canonical.volumes, "the canonical's data stays, nothing else is kept")
    }

    @Test("cchost janitor removes retained volumes no canonical uses, keeps the canonical's, and leaves them all to a running sweep", .requiresDocker)
    func janitorCollectsUnusedRetainedVolumes() throws {
        let state = try TemporaryDirectory("janitor-state")
        let store = try StateStore(stateDirectory: state.path)
        let volumes = RetainedVolumes(stateDirectory: state.path)
        // Retained volumes are named by recipe and run: names of this test's own, as other tests run beside it.
        let unique = UUID().uuidString.prefix(8).lowercased()
        let (recipe, gone) = ("r\(unique)", "gone\(unique)")
        defer { try? volumes.remove(((try? volumes.list()) ?? []).map(\.name)) }
        func retain(_ recipe: String, _ runID: String) throws -> String {
            let name = RetainedVolumes.name(recipe: recipe, runID: runID, volume: "data")
            try volumes.create(name, labels: [RetainedVolumes.Label.state: state.path, RetainedVolumes.Label.recipe: recipe,
                                              RetainedVolumes.Label.run: runID, RetainedVolumes.Label.volume: "data"])
            return name
        }
        let kept = try retain(recipe, "aaaa")
        let stale = try retain(recipe, "bbbb") // left by a sweep killed before its garbage collection
        let orphan = try retain(gone, "cccc") // a recipe no longer enrolled: no sweep collects it
        try store.promote(Canonical(recipe: recipe, version: "1.0.0+1", commit: String(repeating: "a", count: 40), promotedAt: Date(),
                                    status: "promoted", runID: "aaaa", volumes: [kept]), previous: nil)
        let environment = ["CCHOST_STATE_DIR": state.path, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        func janitor(_ extra: String...) throws -> CommandResult {
            try run(TestPaths.cli, ["janitor", "--older-than", "1000"] + extra, environment: environment)
        }

        // A sweep holds the lock (released at the end of this scope).
        let busy = try { () throws -> CommandResult in
            let held = try StateLock(StateLock.sweep, store: store)
            defer { withExtendedLifetime(held) {} }
            return try janitor()
        }()
        #expect(busy.status == 0 && busy.stdout.contains("retained volumes left to the running sweep"), "\(busy.stdout)\(busy.stderr)")
        #expect(Set(try volumes.list().map(\.name)) == [kept, stale, orphan])

        let dry = try janitor("--dry-run")
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("would remove retained volume \(stale)") && dry.stdout.contains("would remove retained volume \(orphan)")
                && !dry.stdout.contains(kept), "\(dry.stdout)")
        #expect(Set(try volumes.list().map(\.name)) == [kept, stale, orphan])

        let result = try janitor()
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("removed retained volume \(orphan): no canonical uses it"), "\(result.stdout)")
        #expect(try volumes.list().map(\.name) == [kept])
    }

    @Test("a second sweep while one runs is refused, naming the holder")
    func secondSweepRefused() throws {
        let setup = try Setup()
        let held = try StateLock(StateLock.sweep, store: setup.store)
        #expect(throws: StateLock.Busy.self) { _ = try setup.runner.sweep(recipes: [setup.recipe], dryRun: true) }
        withExtendedLifetime(held) {}
    }

    /// A finished green sweep run of `version` that kept `volume` (its commit: the id's first letter, repeated).
    static func retainedRun(_ id: String, of recipe: String, version: String, volume: String) -> RunRecord {
        var record = RunRecord(id: id, trigger: .sweep, recipe: recipe, repository: "/r", backend: "swarm", domain: "d.ci.example",
                               base: nil, head: .init(ref: version, commit: String(repeating: String(id.prefix(1)), count: 40), version: version),
                               stages: [.install], startedAt: Date(), finishedAt: Date(), tiers: [], deployCount: 1, generic: "ran",
                               teardown: nil, artifacts: [], verdict: .pass, aborted: nil)
        record.retainedVolumes = [volume]
        return record
    }

    @Test("a promotion stopped after any step leaves the old canonical or the new one, whole", .requiresDocker, arguments: Promoter.Step.allCases)
    func promotionCrashSafety(step: Promoter.Step) throws {
        let state = try TemporaryDirectory("promote-state")
        let store = try StateStore(stateDirectory: state.path)
        let volumes = RetainedVolumes(stateDirectory: state.path)
        // Retained volumes are named by recipe and run: a name of this test's own, as other tests run beside it.
        let recipe = "r\(UUID().uuidString.prefix(8).lowercased())"
        defer { try? volumes.remove(((try? volumes.list()) ?? []).map(\.name)) }
        /// A finished run that kept one volume, as a sweep's run does.
        func record(_ id: String, _ version: String) throws -> RunRecord {
            let name = RetainedVolumes.name(recipe: recipe, runID: id, volume: "data")
            try volumes.create(name, labels: [RetainedVolumes.Label.state: state.path, RetainedVolumes.Label.recipe: recipe,
                                              RetainedVolumes.Label.run: id, RetainedVolumes.Label.volume: "data"])
            return Self.retainedRun(id, of: recipe, version: version, volume: name)
        }
        let lock = try StateLock(StateLock.recipe(recipe), store: store)
        let old = try Promoter(store: store, volumes: volumes).promote(try record("aaaa", "1.0.0+1"), version: "1.0.0+1", holding: lock)
        struct Crash: Error {}
        var crashing = Promoter(store: store, volumes: volumes)
        crashing.afterStep = { if $0 == step { throw Crash() } }
        #expect(throws: Crash.self) { _ = try crashing.promote(try record("bbbb", "1.1.0+1"), version: "1.1.0+1", holding: lock) }

        let current = try #require(try store.canonical(recipe: recipe))
        let expectNew = step == .databaseCommitted
        #expect(current.version == (expectNew ? "1.1.0+1" : old.version))
        let present = Set(try volumes.list().map(\.name))
        #expect(current.volumes.allSatisfy(present.contains), "the canonical's data is missing")
        #expect(try store.history(recipe: recipe).count == (expectNew ? 2 : 1))
        // The next sweep or promotion removes whatever the stopped one left.
        try volumes.collectGarbage(recipes: [recipe], keep: [current.runID])
        #expect(try volumes.list().map(\.name) == current.volumes)
    }

    @Test("cchost sweep killed -9 after any promotion step leaves the old canonical or the new one, whole; the next sweep finishes the job", .requiresDocker,
          arguments: Promoter.Step.allCases)
    func sweepKilledMidPromotion(step: Promoter.Step) throws {
        let setup = try Setup()
        let config = setup.state.file("cchost.yml")
        try """
            state_dir: \(setup.state.path)
            allowlist: \(setup.state.file("allowlist"))
            recipes:
              - name: static-site
                upstream: \(setup.repositories.file("static-site"))
                stages: [install, upgrade, backup, restore]
            """.write(toFile: config, atomically: true, encoding: .utf8)
        func sweep(killAfter step: Promoter.Step? = nil) throws -> CommandResult {
            var environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
            environment["CCHOST_TEST_KILL_AFTER_PROMOTE_STEP"] = step?.rawValue
            return try run(TestPaths.cli, ["sweep", "--config", config], environment: environment)
        }
        let first = try sweep()
        #expect(first.status == 0 && first.stdout.contains("promoted 2.0.0+2.0.0"), "\(first.stdout)\(first.stderr)")
        let old = try #require(try setup.store.canonical(recipe: "static-site"))
        try setup.tag("2.1.0+2.0.0")

        let killed = try sweep(killAfter: step)
        #expect(killed.status == SIGKILL, "\(killed.stdout)\(killed.stderr)")
        let current = try #require(try setup.store.canonical(recipe: "static-site"))
        let committed = step == .databaseCommitted
        #expect(committed ? current.version == "2.1.0+2.0.0" : current == old)
        #expect(try setup.store.history(recipe: "static-site").count == (committed ? 2 : 1))
        #expect(try setup.store.integrityCheck() == ["ok"])
        let present = Set(try setup.retained.list().map(\.name))
        #expect(current.volumes.allSatisfy(present.contains), "the canonical's data is missing")

        // The next sweep removes what the killed one left and finishes the job.
        let next = try sweep()
        #expect(next.status == 0, "\(next.stderr)")
        #expect(next.stdout.contains(committed ? "skip no-new-version" : "promoted 2.1.0+2.0.0"), "\(next.stdout)")
        let final = try #require(try setup.store.canonical(recipe: "static-site"))
        #expect(final.version == "2.1.0+2.0.0")
        #expect(try setup.retained.list().map(\.name) == final.volumes, "only the canonical's data is kept")
    }

    @Test("a promotion refuses a run whose retained volumes are gone, and the old canonical stays", .requiresDocker)
    func promotionNeedsTheRetainedData() throws {
        let state = try TemporaryDirectory("promote-state")
        let store = try StateStore(stateDirectory: state.path)
        var record = Self.retainedRun("cccc", of: "r", version: "1.0.0+1", volume: "warm-r-cccc_data")
        let promoter = Promoter(store: store, volumes: RetainedVolumes(stateDirectory: state.path))
        let lock = try StateLock(StateLock.recipe("r"), store: store)
        #expect { try promoter.promote(record, version: "1.0.0+1", holding: lock) } throws: { "\($0)".contains("warm-r-cccc_data") }
        record.retainedVolumes = nil
        record.retentionProblem = "its containers did not stop within 120 s"
        #expect { try promoter.promote(record, version: "1.0.0+1", holding: lock) } throws: { "\($0)".contains("did not stop") }
        #expect(try store.canonical(recipe: "r") == nil)
    }

    @Test("only the holder of a recipe's lock promotes: a lock of another name, or one another process took over, is refused and the canonical stays")
    func promotionNeedsTheRecipeLock() throws {
        let state = try TemporaryDirectory("promote-state")
        let store = try StateStore(stateDirectory: state.path)
        let record = Self.retainedRun("dddd", of: "r", version: "1.0.0+1", volume: "warm-r-dddd_data")
        let promoter = Promoter(store: store, volumes: RetainedVolumes(stateDirectory: state.path))
        // A sweep's run process holds no recipe lock (the sweep does, so it cannot take one): any other lock is refused.
        let other = try StateLock(StateLock.sweep, store: store)
        #expect { try promoter.promote(record, version: "1.0.0+1", holding: other) } throws: { "\($0)".contains("only under the lock recipe:r") }
        let lock = try StateLock(StateLock.recipe("r"), store: store)
        #expect(try lock.isHeld())
        let takeOver = try run("/usr/bin/sqlite3", [store.path, "UPDATE lock SET token = 'another' WHERE name = 'recipe:r'"])
        #expect(takeOver.status == 0, "\(takeOver.stderr)")
        #expect { try promoter.promote(record, version: "1.0.0+1", holding: lock) } throws: { "\($0)".contains("no longer this process's") }
        #expect(try store.canonical(recipe: "r") == nil)
        withExtendedLifetime(other) {}
    }

    @Test("a quick run starts from a copy of the canonical's data, is never promoted, and leaves that data byte-for-byte as it was", .requiresDocker)
    func quickRunLeavesTheCanonicalUntouched() throws {
        let setup = try Setup()
        _ = try setup.sweep()
        let canonical = try #require(try setup.store.canonical(recipe: "static-site"))
        let before = try canonical.volumes.map(setup.retained.checksum)
        try setup.tag("2.1.0+2.0.0")

        // Backup and restore write a new marker into the copy, mutate it and restore it: all of it
        // must happen to the copy only.
        let engine = SwarmRuns.engine(setup.state, plugins: [try SwarmRuns.generic()])
        let record = try engine.run(RunRequest(
            recipe: "static-site", repository: setup.repositories.file("static-site"), headRef: "2.1.0+2.0.0",
            stages: [.install, .upgrade, .backup, .restore], warmFrom: .init(canonical), quick: true))
        #expect(record.isGreen, "\(RunReport.console(record))")
        #expect(record.start == .quick && record.startedFrom?.runID == canonical.runID)
        #expect(record.base?.ref == canonical.version, "a warm run's base is the canonical's version")
        // The canonical run's own backups against a backup of the warm app; after the upgrade, the
        // canonical's marker is still in what the recipe backs up.
        let canonicalData = try record.check(.install, "canonical-data", plugin: "cchost")
        #expect(canonicalData.verdict == .pass && canonicalData.detail.contains("run \(canonical.runID)"), "\(canonicalData.detail)")
        let intact = try record.check(.upgrade, "data-intact", plugin: "cchost")
        #expect(intact.verdict == .pass && intact.detail.hasPrefix("all 1 marker(s)"), "\(intact.detail)")
        #expect(PromoteGate.decide(PromotionCandidate(record, fromPullRequest: false))
                == .refuse(reasons: ["the run was quick (it started from the canonical's data)"]))
        #expect(try setup.store.canonical(recipe: "static-site") == canonical)
        #expect(try canonical.volumes.map(setup.retained.checksum) == before, "the canonical's data changed")
        #expect(SwarmRuns.leftovers(AppNaming.stackName(forDomain: record.domain)).isEmpty)
    }

    @Test("a warm run cannot take a base other than the canonical's version")
    func warmRunKeepsTheCanonicalBase() throws {
        let setup = try Setup()
        let canonical = Canonical(recipe: "static-site", version: "2.0.0+2.0.0", commit: String(repeating: "a", count: 40),
                                  promotedAt: Date(), status: "promoted", runID: "aaaa", volumes: [])
        let engine = SwarmRuns.engine(setup.state, plugins: [])
        #expect { try engine.run(RunRequest(recipe: "static-site", repository: setup.repositories.file("static-site"),
                                            base: "1.0.0+1.0.0", warmFrom: .init(canonical))) }
            throws: { "\($0)".contains("starts from the canonical's data, which is at 2.0.0+2.0.0") }
    }
}
