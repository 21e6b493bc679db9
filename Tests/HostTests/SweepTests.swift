import Foundation
@testable import Host
import PluginChannel
import Testing

/// The main job on the real swarm: sweeps over fixture repositories, promotions, skips, a red release.
@Suite("Sweeps and promotions on the swarm", .serialized)
struct SweepTests {
    struct Setup {
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

    @Test("a sweep promotes the newest release with its tag's commit; a second sweep skips and changes nothing")
    func promoteThenSkip() throws {
        let setup = try Setup()
        let first = try setup.sweep()
        #expect(first.item.decision == .run(version: "2.0.0+2.0.0"))
        #expect(first.promotion?.hasPrefix("promoted 2.0.0+2.0.0") == true, "\(first)")
        let canonical = try #require(try setup.store.canonical(recipe: "static-site"))
        let tagCommit = try run("/usr/bin/git", ["-C", setup.repositories.file("static-site"), "rev-parse", "2.0.0+2.0.0^{commit}"])
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(canonical.commit == tagCommit)
        #expect(canonical.volumes.count == 1 && FileManager.default.fileExists(atPath: canonical.volumes[0]))
        let history = try setup.store.history(recipe: "static-site")

        let second = try setup.sweep()
        #expect(second.item.decision == .skipNoNewVersion(latest: "2.0.0+2.0.0", canonical: "2.0.0+2.0.0"))
        #expect(second.run == nil)
        #expect(try setup.store.canonical(recipe: "static-site") == canonical)
        #expect(try setup.store.history(recipe: "static-site") == history)
    }

    @Test("a red run of a new release is not promoted, and the old canonical stays")
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
        #expect(FileManager.default.fileExists(atPath: canonical.volumes[0]))
    }

    @Test("a second sweep while one runs is refused, naming the holder")
    func secondSweepRefused() throws {
        let setup = try Setup()
        let held = try SweepLock(path: setup.state.file("locks/sweep.lock"))
        #expect(throws: SweepLock.Busy.self) { _ = try setup.runner.sweep(recipes: [setup.recipe], dryRun: true) }
        withExtendedLifetime(held) {}
    }

    @Test("a promotion stopped after any step leaves the old canonical or the new one, whole", arguments: Promoter.Step.allCases)
    func promotionCrashSafety(step: Promoter.Step) throws {
        let state = try TemporaryDirectory("promote-state")
        let store = try StateStore(stateDirectory: state.path)
        let data = try TemporaryDirectory("run-data")
        func record(_ id: String, _ version: String) throws -> RunRecord {
            let archive = data.file("\(id).tar")
            try Data("archive of \(id)".utf8).write(to: URL(fileURLWithPath: archive))
            return RunRecord(id: id, trigger: .sweep, recipe: "r", repository: "/r", backend: "swarm", domain: "d.ci.example",
                             base: nil, head: .init(ref: version, commit: String(repeating: String(id.prefix(1)), count: 40), version: version),
                             stages: [.install], startedAt: Date(), finishedAt: Date(), tiers: [], deployCount: 1, generic: "ran",
                             teardown: nil, artifacts: [], backupArchives: [archive], verdict: .pass, aborted: nil)
        }
        let old = try Promoter(store: store, stateDirectory: state.path).promote(try record("aaaa", "1.0.0+1"), version: "1.0.0+1")
        struct Crash: Error {}
        var crashing = Promoter(store: store, stateDirectory: state.path)
        crashing.afterStep = { if $0 == step { throw Crash() } }
        #expect(throws: Crash.self) { _ = try crashing.promote(try record("bbbb", "1.1.0+1"), version: "1.1.0+1") }

        let current = try #require(try store.canonical(recipe: "r"))
        let expectNew = step == .databaseCommitted
        #expect(current.version == (expectNew ? "1.1.0+1" : old.version))
        #expect(current.volumes.allSatisfy { FileManager.default.fileExists(atPath: $0) }, "the canonical's data is missing")
        #expect(try store.history(recipe: "r").count == (expectNew ? 2 : 1))
        // The next promotion removes whatever the stopped one left.
        Promoter(store: store, stateDirectory: state.path).collectGarbage(recipe: "r")
        let folders = try FileManager.default.contentsOfDirectory(atPath: state.file("canon/r"))
        #expect(folders == [current.runID])
    }
}
