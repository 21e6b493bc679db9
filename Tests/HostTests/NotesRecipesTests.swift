import Foundation
@testable import HostBase
@testable import HostDocker
@testable import HostRuns
import PluginChannel
import Testing

/// The fixture recipes shaped like real Co-op Cloud recipes (Tests/Fixtures/recipes/notes-*): the
/// notes app on PostgreSQL and on MariaDB through COMPOSE_FILE chains, secrets read from files,
/// versioned configs and backupbot hooks that dump and load SQL, and three variants of
/// notes-postgres, each run on the real swarm and judged by the real generic suite (and, on the
/// two databases, by the notes overlay, which seeds a row and reads it back). Serialized: the runs
/// share one engine. Each prints its seconds.
@Suite("NotesRecipes: fixture recipes shaped like real ones on the swarm", .serialized)
struct NotesRecipesTests {
    private static let repositories: TemporaryDirectory = {
        // A failure here fails every test that uses it, with the message.
        try! SwarmRuns.repositories("notes-fixture-repos")
    }()

    private static let overlay = "libcchost-overlay-notes-db.so"
    private static let plugin = "overlay-notes-db"

    /// A run's record, its seconds, and its state folder (the run's backup archives are in it).
    private struct Run {
        var record: RunRecord
        var seconds: Int
        var state: TemporaryDirectory

        /// The archive the backup made of `volume` of `service`.
        func archive(_ service: String, _ volume: String) -> String {
            state.url.appendingPathComponent("runs/\(record.id)/backup/\(service)/\(volume).tar").path
        }
    }

    /// Runs `recipe` with the generic suite (and the notes overlay when `overlay`); prints its seconds.
    private func run(_ recipe: String, stages: [Tier] = Tier.allCases, overlay: Bool = false) throws -> Run {
        let state = try TemporaryDirectory("state")
        var plugins = [try SwarmRuns.generic()]
        if overlay { plugins.append(try SwarmRuns.probe(Self.overlay, origin: .operatorFolder(TestPaths.products.path))) }
        let started = Date()
        let record = try SwarmRuns.engine(state, plugins: plugins)
            .run(RunRequest(recipe: recipe, repository: Self.repositories.file(recipe), stages: stages))
        let seconds = Int(Date().timeIntervalSince(started).rounded())
        print("\(recipe) run (\(stages.map(\.rawValue).joined(separator: ","))): \(seconds) s")
        return Run(record: record, seconds: seconds, state: state)
    }

    /// Torn down, and nothing of the stack left on the engine.
    private func expectNothingLeft(_ record: RunRecord) {
        let stack = AppNaming.stackName(forDomain: record.domain)
        #expect(record.teardown?.isClean == true, "\(String(describing: record.teardown))")
        #expect(SwarmRuns.leftovers(stack).isEmpty, "\(SwarmRuns.leftovers(stack))")
    }

    /// A full run of a notes recipe with its overlay: green, the upgrade moved to the head, and the
    /// seeded row there after install, upgrade and restore (deleted before the restore, so only the
    /// restore brought it back). That row is the data's proof: what these recipes back up is a dump
    /// and a folder their pre-hook makes, so the host has no folder to put its own marker in.
    private func expectFullRunGreen(_ recipe: String) throws -> Run {
        let outcome = try run(recipe, overlay: true)
        let record = outcome.record
        #expect(record.verdict == .pass, "\(RunReport.console(record))")
        #expect(record.base?.ref == "1.0.0+1.0.0" && record.head.ref == "1.1.0+1.1.0")
        #expect(record.deployCount == 1)
        #expect(try record.tier(.upgrade).opDetail.contains("chaos-version matches the head"))
        let expected: [String: Verdict] = [
            "install/step:seed-note": .pass, "install/seed-note-present": .pass, "upgrade/seed-note-present": .pass,
            "restore/hook:drop-seed-note": .pass, "restore/seed-note-present": .pass, "restore/row-count-at-least": .pass,
        ]
        #expect(record.verdicts(plugin: Self.plugin) == expected, "\(RunReport.console(record))")
        #expect(try record.check(.install, "readiness", plugin: "generic").verdict == .pass)
        // Restored into fresh volumes, the dump holds the seeded row again: the data is proven.
        let proof = try record.check(.restore, "data-proof", plugin: "cchost")
        #expect(proof.verdict == .pass, "\(proof.detail)")
        #expect((record.level ?? 0) >= 3, "\(record.levelReason ?? "")")
        expectNothingLeft(record)
        return outcome
    }

    @Test("notes-postgres goes green through every tier: the seeded row survives the upgrade of app and PostgreSQL, and comes back with the restore", .requiresDocker)
    func notesPostgresGreen() throws {
        let record = try expectFullRunGreen("notes-postgres").record
        #expect(try record.tier(.backup).opDetail.hasPrefix("1 archive(s)"))
        let restored = try record.check(.restore, "seed-note-present", plugin: Self.plugin)
        #expect(restored.detail == "the note 'cchost-seed' is in PostgreSQL database notes once")
    }

    @Test("notes-mariadb goes green through every tier: two paths of one volume backed up, the tmp volume left out, the seeded row back after the restore", .requiresDocker)
    func notesMariaDBGreen() throws {
        let outcome = try expectFullRunGreen("notes-mariadb")
        let restored = try outcome.record.check(.restore, "seed-note-present", plugin: Self.plugin)
        #expect(restored.detail == "the note 'cchost-seed' is in MariaDB database notes once")
        // One archive, of the mariadb volume, with both paths of its label; none of tmp.
        #expect(try outcome.record.tier(.backup).opDetail.hasPrefix("1 archive(s)"))
        let members = try TarListing(file: URL(fileURLWithPath: outcome.archive("db", "mariadb"))).members.map(\.path)
        #expect(Set(members) == ["backup.sql", "backup-info", "backup-info/server-version"], "\(members)")
    }

    @Test("notes-restarts converges after the app restarted while its database started late, and the install says how often", .requiresDocker)
    func notesRestartsGreen() throws {
        let record = try run("notes-restarts", stages: [.install]).record
        #expect(record.verdict == .pass, "\(RunReport.console(record))")
        let install = try record.tier(.install)
        // The db waits 20 s; the app exits at once without it and swarm restarts it every 5 s: at least
        // twice even on a loaded machine, where the app takes longer to start and fail.
        let restarts = try #require(install.opDetail.firstMatch(of: /restarts: app (\d+)/), "\(install.opDetail)")
        #expect(Int(restarts.1) ?? 0 >= 2, "\(install.opDetail)")
        expectNothingLeft(record)
    }

    @Test("notes-db-never-starts is red at install within its 20 s timeout, saying the database keeps failing", .requiresDocker)
    func notesDatabaseNeverStartsIsRed() throws {
        let outcome = try run("notes-db-never-starts", stages: [.install, .upgrade])
        let (record, seconds) = (outcome.record, outcome.seconds)
        #expect(record.verdict == .fail, "\(RunReport.console(record))")
        let install = try record.tier(.install)
        #expect(install.opVerdict == .fail)
        #expect(install.opDetail.contains("did not converge") && install.opDetail.contains("_db: 0/1 replicas running"), "\(install.opDetail)")
        #expect(try record.tier(.upgrade).verdict == .unverified)
        // The timeout label (20 s) bounds the wait; deploy, diagnostics and teardown come on top.
        #expect(seconds < 45, "the run took \(seconds) s")
        expectNothingLeft(record)
    }

    @Test("notes-big-backup goes green with an archive larger than 16 MiB, restored whole", .requiresDocker)
    func notesBigBackupGreen() throws {
        let outcome = try run("notes-big-backup", stages: [.install, .backup, .restore])
        let record = outcome.record
        #expect(record.verdict == .pass, "\(RunReport.console(record))")
        #expect(try record.tier(.backup).opDetail.hasPrefix("2 archive(s)"))
        let blobs = try FileManager.default.attributesOfItem(atPath: outcome.archive("db", "blobs"))[.size] as? Int ?? 0
        #expect(blobs > 16 << 20, "the blobs archive has \(blobs) bytes")
        // The host's marker went into the blobs volume when the app came up: back after the restore
        // into fresh volumes, it came through that archive whole.
        let proof = try record.check(.restore, "data-proof", plugin: "cchost")
        #expect(proof.verdict == .pass, "\(proof.detail)")
        expectNothingLeft(record)
    }

    /// Repositories in which notes-postgres's compose.postgres.yml went through `change`.
    private static func postgresVariant(_ label: String, _ change: @escaping (String) -> String) -> TemporaryDirectory {
        try! SwarmRuns.repositories(label) { source in
            let compose = source.appendingPathComponent("notes-postgres/compose.postgres.yml")
            let text = try String(contentsOf: compose, encoding: .utf8)
            try FileManager.default.removeItem(at: compose)  // other fixtures link to it: replaced, never written through
            try change(text).write(to: compose, atomically: true, encoding: .utf8)
        }
    }

    /// notes-postgres with its restore post-hook (the one that loads the dump) taken out.
    private static let withoutLoad = postgresVariant("notes-no-load-repos") { text in
        text.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.contains("backupbot.restore.post-hook") }
            .joined(separator: "\n")
    }

    /// notes-postgres whose restore post-hook loads an empty file instead of the dump.
    private static let emptyLoad = postgresVariant("notes-empty-load-repos") { text in
        text.replacingOccurrences(of: "-f /var/lib/postgresql/data/backup.sql >/dev/null", with: "-f /dev/null >/dev/null")
    }

    @Test("a restore that loads an empty dump is RED: the data proof and the seed's probe name the seeded note", .requiresDocker)
    func restoreOfEmptyDumpIsRed() throws {
        let state = try TemporaryDirectory("state")
        let started = Date()
        let record = try SwarmRuns.engine(state, plugins: [try SwarmRuns.generic()])
            .run(RunRequest(recipe: "notes-postgres", repository: Self.emptyLoad.file("notes-postgres"), stages: [.install, .backup, .restore],
                            dataSeed: DataSeed(path: "/notes", body: "text={marker}", probe: "/")))
        print("notes-postgres loading an empty dump (install,backup,restore): \(Int(Date().timeIntervalSince(started))) s")
        #expect(record.verdict == .fail)
        let proof = try record.check(.restore, "data-proof", plugin: "cchost")
        #expect(proof.verdict == .fail && proof.detail.contains("cchost-seed-"), "\(proof.detail)")
        let probe = try record.check(.restore, "data-seed", plugin: "cchost")
        #expect(probe.verdict == .fail && probe.detail.hasPrefix("the seeded data is gone after the restore"), "\(probe.detail)")
        expectNothingLeft(record)
    }

    @Test("a restore that does not load the dump is RED: the data proof names the seeded row it lost", .requiresDocker)
    func restoreWithoutLoadIsRed() throws {
        let state = try TemporaryDirectory("state")
        let plugins = [try SwarmRuns.generic(), try SwarmRuns.probe(Self.overlay, origin: .operatorFolder(TestPaths.products.path))]
        let started = Date()
        let record = try SwarmRuns.engine(state, plugins: plugins)
            .run(RunRequest(recipe: "notes-postgres", repository: Self.withoutLoad.file("notes-postgres"), stages: [.install, .backup, .restore]))
        print("notes-postgres without its restore post-hook (install,backup,restore): \(Int(Date().timeIntervalSince(started))) s")
        #expect(record.verdict == .fail)
        let proof = try record.check(.restore, "data-proof", plugin: "cchost")
        #expect(proof.verdict == .fail && proof.detail.contains("the restore lost") && proof.detail.contains("cchost-seed"), "\(proof.detail)")
        expectNothingLeft(record)
    }

    @Test("a database app with nothing seeded is unverified, never proven: nothing seeded", .requiresDocker)
    func nothingSeededIsUnverified() throws {
        let outcome = try run("notes-postgres", stages: [.install, .backup, .restore])
        let proof = try outcome.record.check(.restore, "data-proof", plugin: "cchost")
        #expect(proof.verdict == .unverified && proof.detail.hasPrefix("nothing seeded"), "\(proof.detail)")
        #expect(outcome.record.verdict == .unverified, "\(RunReport.console(outcome.record))")
        expectNothingLeft(outcome.record)
    }

    @Test("seeded through its configuration (data_seed), a database app is proven with no plugin: the note survives the upgrade and the restore into fresh volumes",
          .requiresDocker, arguments: ["notes-postgres", "notes-mariadb"])
    func seededThroughConfiguration(recipe: String) throws {
        let state = try TemporaryDirectory("state")
        let seed = DataSeed(method: "POST", path: "/notes", body: "text={marker}", probe: "/")
        let started = Date()
        let record = try SwarmRuns.engine(state, plugins: [try SwarmRuns.generic()])
            .run(RunRequest(recipe: recipe, repository: Self.repositories.file(recipe), dataSeed: seed))
        print("\(recipe) seeded through data_seed (every tier): \(Int(Date().timeIntervalSince(started))) s")
        #expect(record.verdict == .pass, "\(RunReport.console(record))")
        for tier in [Tier.install, .upgrade, .restore] {
            let seeded = try record.check(tier, "data-seed", plugin: "cchost")
            #expect(seeded.verdict == .pass && seeded.detail.contains("cchost-seed-"), "\(tier): \(seeded.detail)")
        }
        // The seed is in the database's dump after the upgrade of app and database.
        let intact = try record.check(.upgrade, "data-intact", plugin: "cchost")
        #expect(intact.verdict == .pass && intact.detail.hasPrefix("all 1 marker(s)"), "\(intact.detail)")
        let proof = try record.check(.restore, "data-proof", plugin: "cchost")
        #expect(proof.verdict == .pass && proof.detail.hasPrefix("all "), "\(proof.detail)")
        #expect((record.level ?? 0) >= 3, "\(record.levelReason ?? "")")
        expectNothingLeft(record)
    }

    /// notes-postgres with a release 1.2.0 whose database moved to a new volume: the upgrade starts
    /// PostgreSQL on an empty one, as a renamed volume in a real recipe would.
    private static let upgradeToNewVolume: TemporaryDirectory = {
        let repositories = try! SwarmRuns.repositories("notes-new-volume-repos")
        let repository = repositories.file("notes-postgres")
        let compose = "\(repository)/compose.postgres.yml"
        let text = try! String(contentsOfFile: compose, encoding: .utf8)
            .replacingOccurrences(of: "- postgres:/var/lib", with: "- pgdata:/var/lib")
            .replacingOccurrences(of: "backupbot.backup.volumes.postgres.path", with: "backupbot.backup.volumes.pgdata.path")
            .replacingOccurrences(of: "volumes:\n  postgres:\n", with: "volumes:\n  pgdata:\n")
        try! FileManager.default.removeItem(atPath: compose)
        try! text.write(toFile: compose, atomically: true, encoding: .utf8)
        for arguments in [["commit", "-qam", "release 1.2.0: the database moves to a new volume"], ["tag", "-a", "1.2.0+1.2.0", "-m", "release 1.2.0"]] {
            let result = try! HostTests.run("/usr/bin/git", ["-C", repository, "-c", "user.name=m", "-c", "user.email=m@example.org"] + arguments)
            precondition(result.status == 0, result.stderr)
        }
        return repositories
    }()

    @Test("an upgrade that loses the seeded data is RED at the upgrade: cchost/data-intact names the seed missing from the database's dump", .requiresDocker)
    func upgradeThatLosesDataIsRed() throws {
        let state = try TemporaryDirectory("state")
        let started = Date()
        let record = try SwarmRuns.engine(state, plugins: [try SwarmRuns.generic()])
            .run(RunRequest(recipe: "notes-postgres", repository: Self.upgradeToNewVolume.file("notes-postgres"), headRef: "1.2.0+1.2.0",
                            stages: [.install, .upgrade], dataSeed: DataSeed(path: "/notes", body: "text={marker}", probe: "/")))
        print("notes-postgres upgraded onto a new volume (install,upgrade): \(Int(Date().timeIntervalSince(started))) s")
        #expect(record.verdict == .fail, "\(RunReport.console(record))")
        #expect(try record.tier(.upgrade).opDetail.contains("chaos-version matches the head"))
        let intact = try record.check(.upgrade, "data-intact", plugin: "cchost")
        #expect(intact.verdict == .fail && intact.detail.contains("cchost-seed-") && intact.detail.contains("data_seed sent with POST /notes"),
                "\(intact.detail)")
        #expect(record.level == 1, "\(record.levelReason ?? "")")
        expectNothingLeft(record)
    }
}
