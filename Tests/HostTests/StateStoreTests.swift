import Foundation
@testable import HostRuns
@testable import HostState
import Testing

@Suite("StateStore")
struct StateStoreTests {
    /// A fresh, uniquely named state folder, removed by the caller's `defer`.
    static func stateFolder() -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("cchost-state-\(UUID().uuidString)").path
        return path
    }

    static func canonical(_ recipe: String, _ version: String, run: String, at seconds: TimeInterval = 1_700_000_000) -> Canonical {
        Canonical(recipe: recipe, version: version, commit: "c0ffee\(version)", promotedAt: Date(timeIntervalSince1970: seconds),
                  runID: run, volumes: ["\(recipe)_data", "\(recipe)_db"])
    }

    static func storedRun(_ id: String, recipe: String, at seconds: TimeInterval) -> StoredRun {
        StoredRun(id: id, recipe: recipe, trigger: "sweep", headRef: "refs/tags/1.0.0+2.0", headCommit: "abc\(id)",
                  headVersion: "1.0.0+2.0", verdict: "green", startedAt: Date(timeIntervalSince1970: seconds),
                  finishedAt: Date(timeIntervalSince1970: seconds + 90.5), quick: false,
                  record: #"{"id":"\#(id)","tiers":[]}"#)
    }

    /// Runs `sqlite3` on the database and returns its output.
    static func sqlite(_ path: String, _ sql: String) throws -> String {
        try run("/usr/bin/sqlite3", [path, sql]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("migrations create the schema in a new folder and reopening an existing one keeps the data")
    func migrationsCreateAndReopen() throws {
        let folder = Self.stateFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try StateStore(stateDirectory: folder + "/nested")
        #expect(store.path == folder + "/nested/cchost.sqlite")
        let tables = try Self.sqlite(store.path, "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        #expect(tables.split(separator: "\n").contains("canonical"))
        #expect(tables.split(separator: "\n").contains("promotion"))
        #expect(tables.split(separator: "\n").contains("run"))
        #expect(try Self.sqlite(store.path, "SELECT identifier FROM grdb_migrations ORDER BY identifier")
                == "v1\nv2\nv3 run results\nv4 locks\nv5 plugin cache\nv6 run record 2")
        #expect(try Self.sqlite(store.path, "PRAGMA journal_mode") == "wal")
        try store.promote(Self.canonical("notes", "1.0.0+1.0", run: "r1"), previous: nil)

        let reopened = try StateStore(stateDirectory: folder + "/nested")
        #expect(try reopened.canonical(recipe: "notes")?.version == "1.0.0+1.0")
        #expect(try Self.sqlite(store.path, "SELECT count(*) FROM grdb_migrations") == "6")
    }

    @Test("a promotion reads back as the canonical and as a history row with the previous version")
    func promoteThenReadBack() throws {
        let folder = Self.stateFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try StateStore(stateDirectory: folder)
        #expect(try store.canonical(recipe: "notes") == nil)
        let first = Self.canonical("notes", "1.0.0+1.0", run: "r1")
        try store.promote(first, previous: nil)

        #expect(try store.canonical(recipe: "notes") == first)
        #expect(try store.canonicals() == [first])
        let history = try store.history(recipe: "notes")
        try #require(history.count == 1)
        #expect(history[0].version == "1.0.0+1.0")
        #expect(history[0].commit == "c0ffee1.0.0+1.0")
        #expect(history[0].runID == "r1")
        #expect(history[0].previousVersion == nil)
        #expect(history[0].volumes == ["notes_data", "notes_db"])
        #expect(history[0].promotedAt == first.promotedAt)
        // Dates are ISO-8601 UTC text.
        #expect(try Self.sqlite(store.path, "SELECT promoted_at FROM canonical") == "2023-11-14T22:13:20.000Z")
    }

    @Test("promoting twice keeps both history rows oldest first and the second as the canonical")
    func promoteTwice() throws {
        let folder = Self.stateFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try StateStore(stateDirectory: folder)
        try store.promote(Self.canonical("notes", "1.0.0+1.0", run: "r1"), previous: nil)
        try store.promote(Self.canonical("other", "3.0.0+1.0", run: "r9"), previous: nil)
        let second = Self.canonical("notes", "1.1.0+1.0", run: "r2", at: 1_700_100_000)
        try store.promote(second, previous: "1.0.0+1.0")

        #expect(try store.canonical(recipe: "notes") == second)
        let history = try store.history(recipe: "notes")
        #expect(history.map(\.version) == ["1.0.0+1.0", "1.1.0+1.0"])
        #expect(history.map(\.previousVersion) == [nil, "1.0.0+1.0"])
        #expect(history[0].id < history[1].id)
        #expect(try store.canonicals().map(\.recipe) == ["notes", "other"])
    }

    @Test("the history rows stay unchanged by later promotions and refuse UPDATE and DELETE from any writer")
    func historyIsAppendOnly() throws {
        let folder = Self.stateFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try StateStore(stateDirectory: folder)
        try store.promote(Self.canonical("notes", "1.0.0+1.0", run: "r1"), previous: nil)
        let before = try store.history(recipe: "notes")
        try store.promote(Self.canonical("notes", "1.1.0+1.0", run: "r2", at: 1_700_100_000), previous: "1.0.0+1.0")
        #expect(Array(try store.history(recipe: "notes").prefix(1)) == before)

        let update = try run("/usr/bin/sqlite3", [store.path, "UPDATE promotion SET version = 'forged'"])
        let delete = try run("/usr/bin/sqlite3", [store.path, "DELETE FROM promotion"])
        #expect(update.status != 0 && update.stderr.contains("append-only"))
        #expect(delete.status != 0 && delete.stderr.contains("append-only"))
        #expect(try store.history(recipe: "notes").map(\.version) == ["1.0.0+1.0", "1.1.0+1.0"])
    }

    @Test("a promotion based on a stale previous version writes nothing and names the current canonical")
    func stalePromotionIsRefused() throws {
        let folder = Self.stateFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try StateStore(stateDirectory: folder)
        try store.promote(Self.canonical("notes", "1.0.0+1.0", run: "r1"), previous: nil)
        let error = #expect(throws: StateStoreError.self) {
            try store.promote(Self.canonical("notes", "0.9.0+1.0", run: "r0"), previous: nil)
        }
        #expect(error?.description.contains(store.path) == true)
        #expect(error?.description.contains("is now 1.0.0+1.0") == true)
        #expect(try store.canonical(recipe: "notes")?.version == "1.0.0+1.0")
        #expect(try store.history(recipe: "notes").count == 1)
    }

    @Test("runs are recorded, replaced by id, and listed per recipe oldest first")
    func runsRecordedAndListed() throws {
        let folder = Self.stateFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try StateStore(stateDirectory: folder)
        let later = Self.storedRun("run-2", recipe: "notes", at: 1_700_000_500)
        var earlier = Self.storedRun("run-1", recipe: "notes", at: 1_700_000_000)
        earlier.verdict = "running"
        earlier.finishedAt = nil
        try store.record(run: later)
        try store.record(run: earlier)
        try store.record(run: Self.storedRun("run-3", recipe: "other", at: 1_700_000_100))
        #expect(try store.runs(recipe: "notes") == [earlier, later])

        earlier.verdict = "red"
        earlier.finishedAt = Date(timeIntervalSince1970: 1_700_000_200.25)
        earlier.quick = true
        earlier.baseVersion = "0.9.0+1.0"
        try store.record(run: earlier)
        #expect(try store.runs(recipe: "notes") == [earlier, later])
        #expect(try store.runs(recipe: "other").map(\.id) == ["run-3"])
        #expect(try store.runs(recipe: "absent").isEmpty)
    }

    /// A finished run with two tiers: install (a passing generic check, a failing overlay check)
    /// and upgrade (n/a).
    static func runRecord(_ id: String, at seconds: TimeInterval, overlayVerdict: Verdict = .fail) -> RunRecord {
        let install = RunRecord.TierRecord(
            tier: .install, verdict: overlayVerdict == .pass ? .pass : .fail, op: .deploy, opVerdict: .pass, opDetail: "converged in 3 s",
            checks: [RunRecord.CheckRecord(plugin: "generic", name: "readiness", verdict: .pass, detail: "200 from /", cause: nil, seconds: 0.5),
                     RunRecord.CheckRecord(plugin: "overlay-x", name: "index-served", verdict: overlayVerdict, detail: "text missing",
                                           cause: nil, seconds: 0.25)],
            seconds: 4, notApplicable: nil, notApplicableExpected: nil)
        let upgrade = RunRecord.TierRecord(tier: .upgrade, verdict: .skip, op: .none, opVerdict: .skip, opDetail: "", checks: [], seconds: 0,
                                           notApplicable: "only one release", notApplicableExpected: true)
        return RunRecord(id: id, trigger: .sweep, recipe: "notes", repository: "/r", backend: "swarm", domain: "d.ci.example", base: nil,
                         head: .init(ref: "1.0.0+1", commit: String(repeating: "a", count: 40), version: "1.0.0+1"),
                         stages: [.install, .upgrade], startedAt: Date(timeIntervalSince1970: seconds),
                         finishedAt: Date(timeIntervalSince1970: seconds + 10), tiers: [install, upgrade], deployCount: 1, generic: "ran",
                         teardown: nil, artifacts: [], verdict: overlayVerdict == .pass ? .pass : .fail, aborted: nil)
    }

    static let expectedInstallChecks = [
        StoredCheck(plugin: "generic", name: "readiness", verdict: "pass", detail: "200 from /", cause: nil, seconds: 0.5),
        StoredCheck(plugin: "overlay-x", name: "index-served", verdict: "fail", detail: "text missing", cause: nil, seconds: 0.25),
    ]

    @Test("a run's tiers and checks are rows, replaced when the run is recorded again; a check's history spans runs")
    func runResultsAreRows() throws {
        let folder = Self.stateFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try StateStore(stateDirectory: folder)
        try store.record(run: StoredRun(Self.runRecord("run-1", at: 1_700_000_000)))
        let results = try store.results(run: "run-1")
        #expect(results.map(\.tier) == ["install", "upgrade"])
        #expect(results.first?.checks == Self.expectedInstallChecks)
        #expect(results.first?.opDetail == "converged in 3 s" && results.first?.verdict == "fail")
        #expect(results.last?.notApplicable == "only one release" && results.last?.checks == [])

        // Recorded again (the same id): the rows are the new record's, none doubled.
        try store.record(run: StoredRun(Self.runRecord("run-1", at: 1_700_000_000, overlayVerdict: .pass)))
        #expect(try store.results(run: "run-1").first?.checks.map(\.verdict) == ["pass", "pass"])
        #expect(try Self.sqlite(store.path, "SELECT count(*) FROM run_check") == "2")

        try store.record(run: StoredRun(Self.runRecord("run-2", at: 1_700_000_900)))
        let history = try store.checkHistory(recipe: "notes", plugin: "overlay-x", name: "index-served")
        #expect(history.map(\.runID) == ["run-1", "run-2"] && history.map(\.verdict) == ["pass", "fail"])
        #expect(try store.checkHistory(recipe: "other", plugin: "overlay-x", name: "index-served").isEmpty)
        #expect(try store.results(run: "absent").isEmpty)
    }

    @Test("a database from before the run-result tables gets them filled from its runs' records when it is opened")
    func runResultsMigrationFillsOldRuns() throws {
        let folder = Self.stateFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = folder + "/cchost.sqlite"
        // The schema as the first two migrations left it, with one run recorded.
        _ = try StateStore(stateDirectory: folder, migratingUpTo: "v2")
        let json = String(decoding: try RunReport.json(Self.runRecord("old-run", at: 1_700_000_000)), as: UTF8.self)
        let insert = """
            INSERT INTO run (id, recipe, "trigger", head_ref, head_commit, verdict, started_at, quick, record)
            VALUES ('old-run', 'notes', 'sweep', '1.0.0+1', 'aaaa', 'fail', '2023-11-14T22:13:20.000Z', 0, '\(json.replacingOccurrences(of: "'", with: "''"))');
            """
        #expect(try run("/usr/bin/sqlite3", [path, insert]).status == 0)
        #expect(try Self.sqlite(path, "SELECT count(*) FROM sqlite_master WHERE name = 'run_check'") == "0")

        let store = try StateStore(stateDirectory: folder)
        #expect(try store.results(run: "old-run").first?.checks == Self.expectedInstallChecks)
        #expect(try store.results(run: "old-run").map(\.tier) == ["install", "upgrade"])
    }

    /// A run record as `cchost.run/1` wrote it: `op` free text with the ref in it, no level.
    static let recordV1 = """
        {"schema": "cchost.run/1", "id": "v1-run", "trigger": "sweep", "recipe": "notes", "repository": "/r",
         "backend": "swarm", "domain": "d.ci.example", "stages": ["lint", "install", "upgrade", "custom"],
         "head": {"ref": "1.1.0+1", "commit": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "version": "1.1.0+1"},
         "base": {"ref": "1.0.0+1", "commit": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "version": "1.0.0+1"},
         "started_at": "2025-06-15T12:00:00Z", "finished_at": "2025-06-15T12:01:00Z", "deploy_count": 1,
         "generic": "ran", "artifacts": [], "start": "cold", "verdict": "pass",
         "teardown": {"removed": ["notes_app"], "leftovers": [], "seconds": 1.0},
         "tiers": [
          {"tier": "lint", "verdict": "pass", "op": "lint", "op_verdict": "pass", "op_detail": "0 error(s), 2 warning(s)", "checks": [], "seconds": 0.1},
          {"tier": "install", "verdict": "pass", "op": "deploy 1.0.0+1", "op_verdict": "pass", "op_detail": "converged", "checks": [], "seconds": 9},
          {"tier": "upgrade", "verdict": "pass", "op": "chaos redeploy to 1.1.0+1", "op_verdict": "pass", "op_detail": "converged", "checks": [], "seconds": 9},
          {"tier": "custom", "verdict": "pass", "op": "none (custom checks only)", "op_verdict": "pass", "op_detail": "", "checks": [], "seconds": 0}
         ]}
        """

    @Test("runs recorded as cchost.run/1 are rewritten as cchost.run/2 with a level; a record that cannot be read is kept, with why")
    func recordTwoMigrationRewritesOldRuns() throws {
        let folder = Self.stateFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/cchost.sqlite"
        _ = try StateStore(stateDirectory: folder, migratingUpTo: "v5 plugin cache")
        func insert(_ id: String, _ record: String) throws {
            let sql = """
                INSERT INTO run (id, recipe, "trigger", head_ref, head_commit, verdict, started_at, quick, record)
                VALUES ('\(id)', 'notes', 'sweep', '1.1.0+1', 'bbbb', 'pass', '2025-06-15T12:00:00.000Z', 0, '\(record)');
                """
            #expect(try run("/usr/bin/sqlite3", [path, sql]).status == 0)
        }
        try insert("v1-run", Self.recordV1)
        try insert("odd-run", #"{"schema": "cchost.run/1", "id": "odd-run"}"#)

        let store = try StateStore(stateDirectory: folder)
        let tiers = try store.results(run: "v1-run")
        #expect(tiers.map(\.op) == ["lint", "deploy", "chaos_redeploy", "none"])
        #expect(tiers.map(\.opRef) == [nil, "1.0.0+1", "1.1.0+1", nil])
        let stored = try #require(try store.run(id: "v1-run"))
        #expect(stored.verdict == "pass")
        // Backup and restore were not selected: the ladder stops below L3.
        #expect(stored.level == 2 && stored.levelReason?.contains("backup tier was not selected") == true, "\(stored)")
        let record = try RunReport.decode(Data(stored.record.utf8))
        #expect(record.tiers[1].op == .deploy && record.tiers[1].opRef == "1.0.0+1" && record.tiers[0].lintWarnings == 2)
        #expect(stored.record.contains("\"schema\" : \"cchost.run/2\""))

        let odd = try #require(try store.run(id: "odd-run"))
        #expect(odd.record == #"{"schema": "cchost.run/1", "id": "odd-run"}"# && odd.level == nil)
        #expect(odd.levelReason?.hasPrefix("the run's record could not be read") == true, "\(odd)")
    }

    @Test("an error between the canonical's upsert and the history's insert rolls back both")
    func failureInsidePromotionRollsBackBoth() throws {
        struct Interrupted: Error {}
        let folder = Self.stateFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try StateStore(stateDirectory: folder)
        let old = Self.canonical("notes", "1.0.0+1.0", run: "r1")
        try store.promote(old, previous: nil)

        #expect(throws: StateStoreError.self) {
            try store.promote(Self.canonical("notes", "1.1.0+1.0", run: "r2"), previous: "1.0.0+1.0",
                              betweenWrites: { throw Interrupted() })
        }
        #expect(try store.canonical(recipe: "notes") == old)
        #expect(try store.history(recipe: "notes").map(\.version) == ["1.0.0+1.0"])
    }

    @Test("a writer killed with SIGKILL before COMMIT leaves the old canonical and a sound database")
    func killedWriterLeavesOldCanonical() throws {
        let folder = Self.stateFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try StateStore(stateDirectory: folder)
        let old = Self.canonical("notes", "1.0.0+1.0", run: "r1")
        try store.promote(old, previous: nil)
        let marker = folder + "/writer-ready"

        // A separate process: a tiny page cache forces uncommitted pages of a large transaction into
        // the WAL; the canonical's replacement is written; then the process waits, mid-transaction.
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        writer.arguments = [store.path]
        let input = Pipe()
        writer.standardInput = input
        writer.standardOutput = FileHandle.nullDevice
        writer.standardError = FileHandle.nullDevice
        try writer.run()
        let script = """
            PRAGMA cache_size = 10;
            BEGIN IMMEDIATE;
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
              INSERT INTO run SELECT 'bulk-' || i, 'notes', 'sweep', 'main', 'abc', NULL, NULL, 'green',
                '2024-01-01T00:00:00.000Z', NULL, 0, json_object('pad', hex(randomblob(500))) FROM n;
            UPDATE canonical SET version = '9.9.9+9.9', "commit" = 'forged' WHERE recipe = 'notes';
            INSERT INTO promotion (recipe, version, "commit", promoted_at, run_id, volumes)
              VALUES ('notes', '9.9.9+9.9', 'forged', '2024-01-01T00:00:00.000Z', 'rX', '[]');
            .system touch \(marker)

            """
        input.fileHandleForWriting.write(Data(script.utf8))
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: marker) && Date() < deadline && writer.isRunning {
            Thread.sleep(forTimeInterval: 0.02)
        }
        try #require(FileManager.default.fileExists(atPath: marker), "sqlite3 never reached the middle of its transaction")
        let walSize = (try FileManager.default.attributesOfItem(atPath: store.path + "-wal")[.size] as? Int) ?? 0
        #expect(walSize > 100_000, "the uncommitted transaction should have spilled into the WAL")
        kill(writer.processIdentifier, SIGKILL)
        writer.waitUntilExit()
        #expect(writer.terminationReason == .uncaughtSignal)

        #expect(try store.canonical(recipe: "notes") == old)
        #expect(try store.history(recipe: "notes").map(\.version) == ["1.0.0+1.0"])
        #expect(try store.runs(recipe: "notes").isEmpty)
        #expect(try store.integrityCheck() == ["ok"])
        // The dead writer's lock is gone: the store writes again.
        try store.promote(Self.canonical("notes", "1.1.0+1.0", run: "r2"), previous: "1.0.0+1.0")
        #expect(try StateStore(stateDirectory: folder).canonical(recipe: "notes")?.version == "1.1.0+1.0")
    }

    @Test("two stores on the same folder read and write concurrently without losing or corrupting rows")
    func twoStoresShareTheDatabase() async throws {
        let folder = Self.stateFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let first = try StateStore(stateDirectory: folder)
        let second = try StateStore(stateDirectory: folder)
        let perStore = 100
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (name, store) in [("a", first), ("b", second)] {
                group.addTask {
                    for index in 0..<perStore {
                        try store.record(run: Self.storedRun("\(name)-\(index)", recipe: "shared",
                                                             at: 1_700_000_000 + Double(index)))
                        try store.promote(Self.canonical("recipe-\(name)-\(index)", "1.0.0+1.0", run: "\(name)-\(index)"),
                                          previous: nil)
                        _ = try store.runs(recipe: "shared")
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try first.runs(recipe: "shared").count == 2 * perStore)
        #expect(try second.canonicals().count == 2 * perStore)
        #expect(try first.integrityCheck() == ["ok"])
    }

    /// A corruption mark that is there but cannot be read, each as it could happen.
    enum UnreadableMark: String, CaseIterable, Sendable {
        case folder, notUTF8 = "not UTF-8"

        func make(at path: String) throws {
            switch self {
            case .folder: try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            case .notUTF8: try Data([0xFF, 0xFE, 0xC0, 0x80, 0x0A]).write(to: URL(fileURLWithPath: path))
            }
        }
    }

    @Test("a corruption mark that exists but cannot be read marks the database corrupt to every writer",
          arguments: UnreadableMark.allCases)
    func unreadableMarkMeansCorrupt(_ kind: UnreadableMark) throws {
        let folder = Self.stateFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = try StateStore(stateDirectory: folder).path
        try kind.make(at: StateStore.corruptionMark(path))

        let error = #expect(throws: StateStoreError.self) { try StateStore(stateDirectory: folder) }
        #expect(error?.description.contains("it is corrupt (it is marked so, and the mark \(path).corrupt could not be read") == true,
                "\(String(describing: error))")
        #expect(throws: StateStoreError.self) { try StateStore.toWrite(stateDirectory: folder) }
        // Readers still read it.
        #expect(try StateStore(stateDirectory: folder, readOnly: true).canonicals().isEmpty)
    }
}

