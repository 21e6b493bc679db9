import Foundation
@testable import HostState
import Testing

/// Databases as every earlier schema made them (Tests/Fixtures/state-schemas/vN.sql: that version's
/// own SQL and `cchost.run/1` records), opened by today's store and read back. The expected rows are
/// literals: a migration that starts to write something else, because the code around it changed,
/// turns these red.
@Suite("StateStore upgrades")
struct StateStoreUpgradeTests {
    /// A state folder holding the database `v<version>.sql` builds, with the sqlite3 CLI.
    static func folder(schema version: Int) throws -> String {
        let folder = StateStoreTests.stateFolder()
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let script = TestPaths.packageRoot.appendingPathComponent("Tests/Fixtures/state-schemas/v\(version).sql").path
        let built = try run("/usr/bin/sqlite3", [folder + "/cchost.sqlite", ".read \(script)"])
        #expect(built.status == 0, "\(built.stderr)")
        return folder
    }

    /// A run as it reads back: its columns, its record's schema, and its rows, one line each
    /// (`tier verdict op op_ref op_verdict`, `tier plugin/name verdict: detail`; `-` for NULL).
    struct Expected: Sendable, Equatable {
        var id: String
        var verdict: String
        var level: Int?
        var levelReason: String?
        var schema: String
        var tiers: [String]
        var checks: [String]
    }

    static let readiness = "200 from https://notes.ci.example/"
    /// The rows of a full `cchost.run/1` run that v6 could not read: kept as v3 filled them, op as free text.
    static let unreadTiers = ["lint pass lint - pass", "install pass deploy 1.0.0+2.0 - pass",
                              "upgrade pass chaos redeploy to 1.1.0+2.0 - pass", "backup pass backup - pass",
                              "restore pass restore - pass", "custom pass none (custom checks only) - pass"]
    /// The same run's rows once v6 rewrote its record: op an enum, its ref in op_ref.
    static func rewrittenTiers(custom: String) -> [String] {
        ["lint pass lint - pass", "install pass deploy 1.0.0+2.0 pass", "upgrade pass chaos_redeploy 1.1.0+2.0 pass",
         "backup pass backup - pass", "restore pass restore - pass", "custom \(custom) none - pass"]
    }
    static func fullChecks(custom: String) -> [String] {
        ["lint lint/R001 pass: compose.yml exists", "install generic/readiness pass: \(readiness)",
         "upgrade generic/readiness pass: \(readiness)", "restore generic/data-continuity pass: dump matches the backup",
         custom == "pass" ? "custom notes-overlay/index-served pass: found 'Notes'"
             : "custom notes-overlay/index-served fail: 'Notes' not in the page"]
    }
    static let notProven = "L3 (data proven through backup and restore) not reached: the data was not proven (cchost/data-proof did not run)"

    /// Written before warm runs (no `start`): v6's reader required it, so the record is kept as it was.
    static let earlyGreen = Expected(
        id: "early-green", verdict: "pass", level: nil,
        levelReason: #"the run's record could not be read: DecodingError.keyNotFound: Key 'start' not found in keyed decoding container. Debug description: No value associated with key CodingKeys(stringValue: "start", intValue: nil) ("start")."#,
        schema: "cchost.run/1", tiers: unreadTiers, checks: fullChecks(custom: "pass"))
    /// Lint warnings came from the lint detail; the level stops at L2: no cchost/data-proof then.
    static let green = Expected(id: "green-run", verdict: "pass", level: 2, levelReason: notProven, schema: "cchost.run/2",
                                tiers: rewrittenTiers(custom: "pass"), checks: fullChecks(custom: "pass"))
    static let red = Expected(id: "red-run", verdict: "fail", level: 2, levelReason: notProven, schema: "cchost.run/2",
                              tiers: rewrittenTiers(custom: "fail"), checks: fullChecks(custom: "fail"))
    /// `started_from.run_id` did not decode (the key reads back as `runId`): kept as it was.
    static let quick = Expected(
        id: "quick-run", verdict: "pass", level: nil,
        levelReason: #"the run's record could not be read: DecodingError.keyNotFound: Key 'runID' not found in keyed decoding container. Path: startedFrom. Debug description: No value associated with key CodingKeys(stringValue: "runID", intValue: nil) ("runID")."#,
        schema: "cchost.run/1", tiers: ["install pass deploy 1.1.0+2.0 - pass", "custom pass none (custom checks only) - pass"],
        checks: ["install generic/readiness pass: \(readiness)", "custom notes-overlay/index-served pass: found 'Notes'"])
    static let aborted = Expected(
        id: "aborted-run", verdict: "unverified", level: 0,
        levelReason: "L1 (installs healthy) not reached: teardown: teardown did not run: what the run deployed may still be there",
        schema: "cchost.run/2",
        tiers: ["install pass deploy 1.0.0+2.0 pass", "upgrade skip none - skip", "backup unverified backup - unverified"],
        checks: [])
    static let odd = Expected(
        id: "odd-run", verdict: "pass", level: nil,
        levelReason: "the run's record could not be read: DecodingError.dataCorrupted: Data was corrupted. Path: tiers[0].op. Debug description: 'frobnicate 1.0.0+2.0' is not an op (none, lint, deploy, chaos_redeploy, backup, restore)",
        schema: "cchost.run/1", tiers: ["install pass frobnicate 1.0.0+2.0 - pass"], checks: [])

    /// What each schema's database holds after the upgrade, oldest run first.
    static let upgrades: [(schema: Int, runs: [Expected])] = [
        (1, [earlyGreen]),
        (2, [earlyGreen, green]),
        (3, [earlyGreen, green, red, quick, aborted, odd]),
        (4, [earlyGreen, green, red, quick, aborted, odd]),
        (5, [earlyGreen, green, red, quick, aborted, odd]),
    ]

    @Test("a database made by every earlier schema upgrades to the current one and reads back these rows",
          arguments: upgrades)
    func upgradeReadsBack(schema: Int, runs expected: [Expected]) throws {
        let folder = try Self.folder(schema: schema)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try StateStore(stateDirectory: folder)

        #expect(try StateStoreTests.sqlite(store.path, "SELECT identifier FROM grdb_migrations ORDER BY identifier")
                == "v1\nv2\nv3 run results\nv4 locks\nv5 plugin cache\nv6 run record 2")
        let runs = try store.runs(recipe: "notes")
        #expect(runs.map(\.id) == expected.map(\.id))
        for (run, expected) in zip(runs, expected) {
            let schemaField = try StateStoreTests.sqlite(store.path, "SELECT json_extract(record, '$.schema') FROM run WHERE id = '\(run.id)'")
            let results = try store.results(run: run.id)
            let actual = Expected(
                id: run.id, verdict: run.verdict, level: run.level, levelReason: run.levelReason, schema: schemaField,
                tiers: results.map { "\($0.tier) \($0.verdict) \($0.op) \($0.opRef ?? "-") \($0.opVerdict)" },
                checks: results.flatMap { tier in tier.checks.map { "\(tier.tier) \($0.plugin)/\($0.name) \($0.verdict): \($0.detail)" } })
            #expect(actual == expected)
        }
        // What the upgrade does not touch reads back as it was written.
        #expect(try store.canonicals() == [Canonical(recipe: "notes", version: "1.0.0+2.0", commit: String(repeating: "a", count: 40),
                                                     promotedAt: Date(timeIntervalSince1970: 1_795_319_520), runID: "early-green",
                                                     volumes: ["notes_data"])])
        #expect(try store.history(recipe: "notes").map(\.version) == ["1.0.0+2.0"])
        if schema >= 4 { #expect(try StateStoreTests.sqlite(store.path, "SELECT name || ' ' || pid FROM lock") == "recipe:notes 4242") }
        if schema >= 5 { #expect(try StateStoreTests.sqlite(store.path, "SELECT size FROM plugin_cache") == "81920") }
        #expect(try store.integrityCheck() == ["ok"])
    }

    /// The copies aside in a state folder, by name.
    static func copies(_ folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasPrefix("cchost.sqlite.before-") }.sorted()
    }

    @Test("before migrating, the database is copied aside as it was, named after the first pending version",
          arguments: [(1, "v2"), (2, "v3"), (3, "v4"), (4, "v5"), (5, "v6")])
    func copiedAsideBeforeMigrating(schema: Int, firstPending: String) throws {
        let folder = try Self.folder(schema: schema)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        _ = try StateStore(stateDirectory: folder)
        #expect(try Self.copies(folder) == ["cchost.sqlite.before-\(firstPending)"])
        let copy = folder + "/cchost.sqlite.before-\(firstPending)"
        #expect(try StateStoreTests.sqlite(copy, "SELECT count(*) FROM grdb_migrations") == "\(schema)")
        #expect(try StateStoreTests.sqlite(copy, "SELECT json_extract(record, '$.schema') FROM run WHERE id = 'early-green'") == "cchost.run/1")
        #expect(try StateStoreTests.sqlite(copy, "SELECT count(*) FROM pragma_table_info('run') WHERE name = 'level'") == "0")

        // Opened again, nothing is pending: no other copy, and this one is not rewritten.
        let written = try FileManager.default.attributesOfItem(atPath: copy)[.modificationDate] as? Date
        _ = try StateStore(stateDirectory: folder)
        #expect(try Self.copies(folder) == ["cchost.sqlite.before-\(firstPending)"])
        #expect(try FileManager.default.attributesOfItem(atPath: copy)[.modificationDate] as? Date == written)
    }

    @Test("a new database is not copied aside, nor one a reader opens")
    func newDatabaseIsNotCopied() throws {
        let folder = StateStoreTests.stateFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        _ = try StateStore(stateDirectory: folder)
        _ = try StateStore(stateDirectory: folder)
        #expect(try Self.copies(folder).isEmpty)

        let older = try Self.folder(schema: 5)
        defer { try? FileManager.default.removeItem(atPath: older) }
        #expect(throws: StateStoreError.self) { try StateStore(stateDirectory: older, readOnly: true) }
        #expect(try Self.copies(older).isEmpty)
    }

    @Test("a database a newer cchost migrated is refused, naming what it does not know, and left untouched")
    func newerSchemaIsRefused() throws {
        let folder = StateStoreTests.stateFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = try StateStore(stateDirectory: folder).path
        #expect(try run("/usr/bin/sqlite3", [path, "INSERT INTO grdb_migrations VALUES ('v7 future'), ('v8 further')"]).status == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))

        for readOnly in [false, true] {
            let error = #expect(throws: StateStoreError.self) { try StateStore(stateDirectory: folder, readOnly: readOnly) }
            #expect(error?.description.contains("written by a newer cchost") == true, "\(String(describing: error))")
            #expect(error?.description.contains("(v7 future, v8 further)") == true, "\(String(describing: error))")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        #expect(try StateStoreTests.sqlite(path, "SELECT count(*) FROM grdb_migrations") == "8")
        #expect(try Self.copies(folder).isEmpty)
    }
}
