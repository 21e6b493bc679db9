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

    /// Runs `recipe` with the generic suite (and the notes overlay when `overlay`); prints its seconds.
    private func run(_ recipe: String, stages: [Tier] = Tier.allCases, overlay: Bool = false) throws -> (RunRecord, seconds: Int) {
        let state = try TemporaryDirectory("state")
        var plugins = [try SwarmRuns.generic()]
        if overlay { plugins.append(try SwarmRuns.probe(Self.overlay, origin: .operatorFolder(TestPaths.products.path))) }
        let started = Date()
        let record = try SwarmRuns.engine(state, plugins: plugins)
            .run(RunRequest(recipe: recipe, repository: Self.repositories.file(recipe), stages: stages))
        let seconds = Int(Date().timeIntervalSince(started).rounded())
        print("\(recipe) run (\(stages.map(\.rawValue).joined(separator: ","))): \(seconds) s")
        return (record, seconds)
    }

    /// Torn down, and nothing of the stack left on the engine.
    private func expectNothingLeft(_ record: RunRecord) {
        let stack = AppNaming.stackName(forDomain: record.domain)
        #expect(record.teardown?.isClean == true, "\(String(describing: record.teardown))")
        #expect(SwarmRuns.leftovers(stack).isEmpty, "\(SwarmRuns.leftovers(stack))")
    }

    /// A full run of a notes recipe with its overlay: green, the upgrade moved to the head, the seeded
    /// row there after install, upgrade and restore (deleted before the restore, so only the restore
    /// brought it back), and the host's marker back.
    private func expectFullRunGreen(_ recipe: String) throws -> RunRecord {
        let (record, _) = try run(recipe, overlay: true)
        #expect(record.verdict == .pass, "\(RunReport.console(record))")
        #expect(record.base?.ref == "1.0.0+1.0.0" && record.head.ref == "1.1.0+1.1.0")
        #expect(record.deployCount == 1)
        #expect(try record.tier(.upgrade).opDetail.contains("chaos-version matches the head"))
        let expected: [String: Verdict] = [
            "install/step:seed-note": .pass, "install/seed-note-present": .pass, "upgrade/seed-note-present": .pass,
            "restore/hook:drop-seed-note": .pass, "restore/seed-note-present": .pass, "restore/row-count-at-least": .pass,
        ]
        #expect(record.verdicts(plugin: Self.plugin) == expected, "\(RunReport.console(record))")
        #expect(try record.check(.restore, "data-continuity", plugin: "generic").verdict == .pass)
        #expect(try record.check(.install, "readiness", plugin: "generic").verdict == .pass)
        expectNothingLeft(record)
        return record
    }

    @Test("notes-postgres goes green through every tier: the seeded row survives the upgrade of app and PostgreSQL, and comes back with the restore", .requiresDocker)
    func notesPostgresGreen() throws {
        let record = try expectFullRunGreen("notes-postgres")
        let restored = try record.check(.restore, "seed-note-present", plugin: Self.plugin)
        #expect(restored.detail == "the note 'cchost-seed' is in PostgreSQL database notes once")
    }

    @Test("notes-mariadb goes green through every tier: two paths of one volume backed up, the tmp volume left out, the seeded row back after the restore", .requiresDocker)
    func notesMariaDBGreen() throws {
        let record = try expectFullRunGreen("notes-mariadb")
        let restored = try record.check(.restore, "seed-note-present", plugin: Self.plugin)
        #expect(restored.detail == "the note 'cchost-seed' is in MariaDB database notes once")
        // backup.sql and backup-info/ of the mariadb volume; nothing of tmp.
        let backup = try record.tier(.backup).opDetail
        #expect(backup.hasPrefix("1 archive(s)") || backup.hasPrefix("2 archive(s)"), "\(backup)")
    }

    @Test("notes-restarts converges after the app restarted while its database started late, and the install says how often", .requiresDocker)
    func notesRestartsGreen() throws {
        let (record, _) = try run("notes-restarts", stages: [.install])
        #expect(record.verdict == .pass, "\(RunReport.console(record))")
        let install = try record.tier(.install)
        // The db waits 12 s; the app exits at once without it and swarm restarts it every 5 s.
        let restarts = try #require(install.opDetail.firstMatch(of: /restarts: app (\d+)/), "\(install.opDetail)")
        #expect(Int(restarts.1) ?? 0 >= 2, "\(install.opDetail)")
        expectNothingLeft(record)
    }

    @Test("notes-db-never-starts is red at install within its 20 s timeout, saying the database keeps failing", .requiresDocker)
    func notesDatabaseNeverStartsIsRed() throws {
        let (record, seconds) = try run("notes-db-never-starts", stages: [.install, .upgrade])
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
        let (record, _) = try run("notes-big-backup", stages: [.install, .backup, .restore])
        #expect(record.verdict == .pass, "\(RunReport.console(record))")
        let backup = try record.tier(.backup).opDetail
        let bytes = try #require(backup.firstMatch(of: /(\d+) bytes/), "\(backup)")
        #expect(Int(bytes.1) ?? 0 > 16 << 20, "\(backup)")
        #expect(try record.check(.restore, "data-continuity", plugin: "generic").verdict == .pass)
        expectNothingLeft(record)
    }
}
