import Foundation
internal import GRDB
import HostBase
import HostRuns

/// A recipe's canonical: the last release that passed a cold, full run and whose volumes are kept
/// as the starting point of warm and quick runs.
public struct Canonical: Sendable, Equatable {
    public var recipe: String
    /// The tested release tag.
    public var version: String
    /// The tag's own commit, never a re-derived "latest".
    public var commit: String
    public var promotedAt: Date
    /// `promoted` for a canonical written by the promote gate.
    public var status: String
    /// The run that earned the promotion.
    public var runID: String
    /// Names of the volumes retained from that run.
    public var volumes: [String]

    public init(recipe: String, version: String, commit: String, promotedAt: Date,
                status: String = "promoted", runID: String, volumes: [String]) {
        self.recipe = recipe
        self.version = version
        self.commit = commit
        self.promotedAt = promotedAt
        self.status = status
        self.runID = runID
        self.volumes = volumes
    }
}

extension RunRecord.CanonicalStart {
    /// Where a warm run from `canonical` starts.
    public init(_ canonical: Canonical) {
        self.init(version: canonical.version, commit: canonical.commit, runID: canonical.runID, volumes: canonical.volumes)
    }
}

/// One row of a recipe's promotion history. The history is append-only.
public struct Promotion: Sendable, Equatable {
    /// Increases with every promotion, across recipes.
    public var id: Int64
    public var recipe: String
    public var version: String
    public var commit: String
    public var promotedAt: Date
    public var runID: String
    /// The canonical's version before this promotion; nil for a recipe's first.
    public var previousVersion: String?
    public var volumes: [String]
}

/// A run as the state store keeps it: the columns the host queries, plus the full run record.
/// Encoded (for `cchost runs`), it is the columns only.
public struct StoredRun: Sendable, Equatable, Encodable {
    public var id: String
    public var recipe: String
    /// What started the run: `sweep`, `cli`, `webhook`…
    public var trigger: String
    public var headRef: String
    public var headCommit: String
    public var headVersion: String?
    public var baseVersion: String?
    public var verdict: String
    public var startedAt: Date
    public var finishedAt: Date?
    public var quick: Bool
    /// The judgement's level (0–5; nil for warm and quick runs) and why.
    public var level: Int?
    public var levelReason: String?
    /// The full run record as JSON text, stored as given.
    public var record: String

    private enum CodingKeys: String, CodingKey {
        case id, recipe, trigger, headRef, headCommit, headVersion, baseVersion, verdict, startedAt, finishedAt, quick
        case level, levelReason
    }

    public init(id: String, recipe: String, trigger: String, headRef: String, headCommit: String,
                headVersion: String? = nil, baseVersion: String? = nil, verdict: String,
                startedAt: Date, finishedAt: Date? = nil, quick: Bool, level: Int? = nil, levelReason: String? = nil,
                record: String) {
        self.id = id
        self.recipe = recipe
        self.trigger = trigger
        self.headRef = headRef
        self.headCommit = headCommit
        self.headVersion = headVersion
        self.baseVersion = baseVersion
        self.verdict = verdict
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.quick = quick
        self.level = level
        self.levelReason = levelReason
        self.record = record
    }

    /// A run as the store keeps it (its whole record as JSON, judged; a warm start counts as quick).
    public init(_ run: RunRecord) throws {
        let judgement = run.judgement
        self.init(id: run.id, recipe: run.recipe, trigger: run.trigger.rawValue, headRef: run.head.ref,
                  headCommit: run.head.commit, headVersion: run.head.version, baseVersion: run.base?.version,
                  verdict: judgement.verdict.rawValue, startedAt: run.startedAt, finishedAt: run.finishedAt,
                  quick: run.start != .cold, level: judgement.level, levelReason: judgement.levelReason,
                  record: String(decoding: try RunReport.json(run), as: UTF8.self))
    }
}

/// A state database operation that failed, with the database's path and SQLite's own message.
public struct StateStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    /// What the store was doing, as a verb phrase ("promote recipe-a 1.2.0+1.0.0").
    public var operation: String
    public var message: String

    public init(path: String, operation: String, message: String) {
        self.path = path
        self.operation = operation
        self.message = message
    }

    public var description: String { "Could not \(operation) in the state database \(path): \(message)." }
}

/// The host's state: canonicals, their append-only promotion history, runs with their per-tier and
/// per-check results (StateStore+RunResults), locks (StateLock) and the plugin metadata cache, in an
/// embedded SQLite database (`<stateDirectory>/cchost.sqlite`, WAL, versioned migrations).
///
/// Several stores — in this process or in others — may open the same database: every write is one
/// transaction and waits for the others' locks, so nothing here assumes one process owns it.
public final class StateStore: Sendable {
    public let path: String
    /// Internal so that the store's other files (locks, plugin cache) use the same connections.
    let pool: DatabasePool

    /// Opens (creating it and its folder if needed) and migrates the database in `stateDirectory`.
    /// `readOnly`: opens an existing database only to read it, creating and migrating nothing, so
    /// that commands that only show state work on a read-only state folder. A database a check found
    /// corrupt (see `checkIntegrity`) is refused to every writer until it is recovered.
    public convenience init(stateDirectory: String, readOnly: Bool = false) throws(StateStoreError) {
        try self.init(stateDirectory: stateDirectory, migratingUpTo: nil, readOnly: readOnly)
        if readOnly {
            let current = try Self.attempt(path, "read") { try pool.read { db in try Self.migrator.hasCompletedMigrations(db) } }
            guard current else {
                throw StateStoreError(path: path, operation: "read", message: "its schema is older than this cchost's; any command that writes (a run, a sweep) migrates it")
            }
        }
    }

    /// `migratingUpTo`: stop after that migration (tests build older databases with it).
    init(stateDirectory: String, migratingUpTo lastMigration: String?, readOnly: Bool = false) throws(StateStoreError) {
        let path = URL(fileURLWithPath: stateDirectory).appendingPathComponent("cchost.sqlite").path
        self.path = path
        if !readOnly, let problems = try? String(contentsOfFile: Self.corruptionMark(path), encoding: .utf8) {
            throw Self.corrupt(path, problems: problems.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        var configuration = GRDB.Configuration()
        configuration.foreignKeysEnabled = true
        // Other stores (other processes, other hosts' jobs) may hold the write lock: wait for it.
        configuration.busyMode = .timeout(30)
        configuration.label = "cchost.state"
        // A state folder nothing has run with yet gets its (empty) database as before.
        if readOnly && FileManager.default.fileExists(atPath: path) {
            configuration.readonly = true
            pool = try Self.attempt(path, "open to read") { try DatabasePool(path: path, configuration: configuration) }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        } catch {
            throw StateStoreError(path: path, operation: "create the state folder", message: "\(error)")
        }
        pool = try Self.attempt(path, "open and migrate") {
            let pool = try DatabasePool(path: path, configuration: configuration)
            if let lastMigration { try Self.migrator.migrate(pool, upTo: lastMigration) } else { try Self.migrator.migrate(pool) }
            return pool
        }
    }

    /// The schema, one migration per version. Never edit a shipped migration: append a new one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE canonical (
                    recipe TEXT PRIMARY KEY NOT NULL,
                    version TEXT NOT NULL,
                    "commit" TEXT NOT NULL,
                    promoted_at DATETIME NOT NULL,
                    status TEXT NOT NULL,
                    run_id TEXT NOT NULL,
                    volumes TEXT NOT NULL CHECK (json_valid(volumes) AND json_type(volumes) = 'array')
                );
                CREATE TABLE promotion (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    recipe TEXT NOT NULL REFERENCES canonical(recipe),
                    version TEXT NOT NULL,
                    "commit" TEXT NOT NULL,
                    promoted_at DATETIME NOT NULL,
                    run_id TEXT NOT NULL,
                    previous_version TEXT,
                    volumes TEXT NOT NULL CHECK (json_valid(volumes) AND json_type(volumes) = 'array')
                );
                CREATE INDEX promotion_by_recipe ON promotion(recipe, id);
                CREATE TABLE run (
                    id TEXT PRIMARY KEY NOT NULL,
                    recipe TEXT NOT NULL,
                    "trigger" TEXT NOT NULL,
                    head_ref TEXT NOT NULL,
                    head_commit TEXT NOT NULL,
                    head_version TEXT,
                    base_version TEXT,
                    verdict TEXT NOT NULL,
                    started_at DATETIME NOT NULL,
                    finished_at DATETIME,
                    quick BOOLEAN NOT NULL,
                    record TEXT NOT NULL CHECK (json_valid(record))
                );
                CREATE INDEX run_by_recipe ON run(recipe, started_at);
                """)
        }
        // The history is append-only for every writer, not only for this API.
        migrator.registerMigration("v2") { db in
            try db.execute(sql: """
                CREATE TRIGGER promotion_no_update BEFORE UPDATE ON promotion
                BEGIN SELECT RAISE(ABORT, 'the promotion history is append-only'); END;
                CREATE TRIGGER promotion_no_delete BEFORE DELETE ON promotion
                BEGIN SELECT RAISE(ABORT, 'the promotion history is append-only'); END;
                """)
        }
        // Per-tier and per-check results as rows, so they can be queried across runs; filled from
        // each run's record, the runs recorded before this migration included.
        migrator.registerMigration("v3 run results") { db in
            try db.execute(sql: """
                CREATE TABLE run_tier (
                    run_id TEXT NOT NULL REFERENCES run(id) ON DELETE CASCADE,
                    position INTEGER NOT NULL,
                    tier TEXT NOT NULL,
                    verdict TEXT NOT NULL,
                    op TEXT NOT NULL,
                    op_verdict TEXT NOT NULL,
                    op_detail TEXT NOT NULL,
                    seconds REAL NOT NULL,
                    not_applicable TEXT,
                    PRIMARY KEY (run_id, position)
                );
                CREATE TABLE run_check (
                    run_id TEXT NOT NULL REFERENCES run(id) ON DELETE CASCADE,
                    tier TEXT NOT NULL,
                    position INTEGER NOT NULL,
                    plugin TEXT NOT NULL,
                    name TEXT NOT NULL,
                    verdict TEXT NOT NULL,
                    detail TEXT NOT NULL,
                    cause TEXT,
                    seconds REAL NOT NULL,
                    PRIMARY KEY (run_id, tier, position)
                );
                CREATE INDEX run_check_by_check ON run_check(plugin, name, verdict);
                """)
            try RunResultRows.fill(db, run: nil, opRef: false)
        }
        // Locks any cchost process sharing this database respects (see StateLock).
        migrator.registerMigration("v4 locks") { db in
            try db.execute(sql: """
                CREATE TABLE lock (
                    name TEXT PRIMARY KEY NOT NULL,
                    token TEXT NOT NULL,
                    host TEXT NOT NULL,
                    boot_id TEXT NOT NULL,
                    pid INTEGER NOT NULL,
                    process_start TEXT NOT NULL,
                    acquired_at DATETIME NOT NULL,
                    expires_at DATETIME NOT NULL
                );
                """)
        }
        // What each plugin library is, keyed by path + size + mtime + sha256 (see PluginCatalog).
        migrator.registerMigration("v5 plugin cache") { db in
            try db.execute(sql: """
                CREATE TABLE plugin_cache (
                    path TEXT PRIMARY KEY NOT NULL,
                    size INTEGER NOT NULL,
                    modified_ns INTEGER NOT NULL,
                    sha256 TEXT NOT NULL,
                    probed_at DATETIME NOT NULL,
                    state TEXT NOT NULL CHECK (json_valid(state))
                );
                """)
        }
        // Run records become `cchost.run/2`: `op` an enum with its ref in `op_ref`, and the level
        // the judgement gives. Every stored record is read (old ones decode), judged and written
        // back, and its rows refilled; a record that cannot be read is kept as it is, with why.
        migrator.registerMigration("v6 run record 2") { db in
            try db.execute(sql: """
                ALTER TABLE run ADD COLUMN level INTEGER;
                ALTER TABLE run ADD COLUMN level_reason TEXT;
                ALTER TABLE run_tier ADD COLUMN op_ref TEXT;
                """)
            for row in try Row.fetchAll(db, sql: "SELECT id, record FROM run") {
                let id: String = row["id"], text: String = row["record"]
                do {
                    let record = try RunReport.decode(Data(text.utf8))
                    let judgement = record.judgement
                    try db.execute(sql: "UPDATE run SET record = ?, verdict = ?, level = ?, level_reason = ? WHERE id = ?",
                                   arguments: [String(decoding: try RunReport.json(record), as: UTF8.self),
                                               judgement.verdict.rawValue, judgement.level, judgement.levelReason, id])
                } catch {
                    try db.execute(sql: "UPDATE run SET level_reason = ? WHERE id = ?",
                                   arguments: ["the run's record could not be read: \(error)", id])
                }
            }
            try db.execute(sql: "DELETE FROM run_check; DELETE FROM run_tier;")
            try RunResultRows.fill(db, run: nil)
        }
        return migrator
    }

    public func canonical(recipe: String) throws(StateStoreError) -> Canonical? {
        try Self.attempt(path, "read the canonical of \(recipe)") {
            try pool.read { db in try CanonicalRow.fetchOne(db, key: recipe) }.map { try $0.canonical() }
        }
    }

    public func canonicals() throws(StateStoreError) -> [Canonical] {
        try Self.attempt(path, "read the canonicals") {
            try pool.read { db in try CanonicalRow.order(CanonicalRow.Columns.recipe).fetchAll(db) }
                .map { try $0.canonical() }
        }
    }

    /// A recipe's promotions, oldest first.
    public func history(recipe: String) throws(StateStoreError) -> [Promotion] {
        try Self.attempt(path, "read the promotion history of \(recipe)") {
            try pool.read { db in
                try PromotionRow.filter(PromotionRow.Columns.recipe == recipe)
                    .order(PromotionRow.Columns.id).fetchAll(db)
            }.map { try $0.promotion() }
        }
    }

    /// Inserts the run, or replaces the one with the same id (a run recorded again as it finishes).
    public func record(run: StoredRun) throws(StateStoreError) {
        try Self.attempt(path, "record run \(run.id) of \(run.recipe)") {
            let row = RunRow(run)
            try pool.write { db in
                try row.upsert(db)
                try RunResultRows.fill(db, run: run.id)
            }
        }
    }

    /// A recipe's runs, oldest first.
    public func runs(recipe: String) throws(StateStoreError) -> [StoredRun] {
        try Self.attempt(path, "read the runs of \(recipe)") {
            try pool.read { db in
                try RunRow.filter(RunRow.Columns.recipe == recipe)
                    .order(RunRow.Columns.startedAt, RunRow.Columns.id).fetchAll(db)
            }.map { try $0.storedRun() }
        }
    }

    /// The newest runs first, of one recipe or of all, at most `limit`.
    public func latestRuns(recipe: String?, limit: Int) throws(StateStoreError) -> [StoredRun] {
        try Self.attempt(path, "read the latest runs") {
            try pool.read { db in
                var request = RunRow.all()
                if let recipe { request = request.filter(RunRow.Columns.recipe == recipe) }
                return try request.order(RunRow.Columns.startedAt.desc, RunRow.Columns.id.desc).limit(limit).fetchAll(db)
            }.map { try $0.storedRun() }
        }
    }

    /// One run by its id (or a unique prefix of it, as reports abbreviate ids).
    public func run(id: String) throws(StateStoreError) -> StoredRun? {
        try Self.attempt(path, "read run \(id)") {
            let rows = try pool.read { db in
                try RunRow.fetchAll(db, sql: "SELECT * FROM run WHERE substr(id, 1, length(:id)) = :id LIMIT 2", arguments: ["id": id])
            }
            if let exact = rows.first(where: { $0.id == id }) { return try exact.storedRun() }
            return rows.count == 1 ? try rows[0].storedRun() : nil
        }
    }

    /// Replaces the canonical and appends to the history in ONE transaction: after a crash at any
    /// point the database holds either the old canonical or the new one, whole.
    ///
    /// `previous` is the canonical version the caller decided against (nil: none). If another
    /// writer promoted the recipe in between, nothing is written and the error says so.
    public func promote(_ canonical: Canonical, previous: String?) throws(StateStoreError) {
        try promote(canonical, previous: previous, betweenWrites: {})
    }

    /// `betweenWrites` runs inside the transaction, after the canonical's upsert and before the
    /// history's insert: tests throw there to prove both roll back.
    func promote(_ canonical: Canonical, previous: String?,
                 betweenWrites: () throws -> Void) throws(StateStoreError) {
        try Self.attempt(path, "promote \(canonical.recipe) \(canonical.version)") {
            let row = try CanonicalRow(canonical)
            let history = try PromotionRow(canonical, previous: previous)
            try pool.writeWithoutTransaction { db in
                // IMMEDIATE: take the write lock before reading the current canonical, so the
                // comparison below and the writes see the same state.
                try db.inTransaction(.immediate) {
                    let current = try CanonicalRow.fetchOne(db, key: canonical.recipe)?.version
                    guard current == previous else {
                        throw StaleCanonical(recipe: canonical.recipe, current: current, expected: previous)
                    }
                    try row.upsert(db)
                    try betweenWrites()
                    try history.insert(db)
                    return .commit
                }
            }
        }
    }

    /// `PRAGMA integrity_check`'s lines: `["ok"]` for a sound database.
    func integrityCheck() throws(StateStoreError) -> [String] {
        try Self.attempt(path, "check integrity") {
            try pool.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
        }
    }

    /// Runs `body`, turning any failure into a `StateStoreError` carrying SQLite's message.
    static func attempt<T>(_ path: String, _ operation: String,
                                   _ body: () throws -> T) throws(StateStoreError) -> T {
        do {
            return try body()
        } catch let error as StateStoreError {
            throw error
        } catch let error as DatabaseError {
            throw StateStoreError(path: path, operation: operation,
                                  message: error.message ?? "SQLite error \(error.resultCode.rawValue)")
        } catch {
            throw StateStoreError(path: path, operation: operation, message: "\(error)")
        }
    }
}

/// Another writer promoted the recipe after the caller read its canonical.
private struct StaleCanonical: Error, CustomStringConvertible {
    var recipe: String
    var current: String?
    var expected: String?
    var description: String {
        "the canonical of \(recipe) is now \(current ?? "absent"), not \(expected ?? "absent") as this promotion expected"
    }
}

// MARK: - Rows: the tables' shape, kept out of the public types so GRDB stays behind the store.

/// Dates as ISO-8601 UTC text with milliseconds, e.g. `2025-01-02T03:04:05.678Z`.
enum StoredDate {
    static let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)
    static func text(_ date: Date) -> String { style.format(date) }
    static func date(_ text: String) throws -> Date { try style.parse(text) }
}

private enum StoredJSON {
    static func text(_ names: [String]) throws -> String {
        String(decoding: try JSONEncoder().encode(names), as: UTF8.self)
    }
    static func names(_ text: String) throws -> [String] {
        try JSONDecoder().decode([String].self, from: Data(text.utf8))
    }
}

private struct CanonicalRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "canonical"
    enum CodingKeys: String, CodingKey, ColumnExpression {
        case recipe, version, commit, promotedAt = "promoted_at", status, runID = "run_id", volumes
    }
    typealias Columns = CodingKeys

    var recipe: String
    var version: String
    var commit: String
    var promotedAt: String
    var status: String
    var runID: String
    var volumes: String

    init(_ canonical: Canonical) throws {
        recipe = canonical.recipe
        version = canonical.version
        commit = canonical.commit
        promotedAt = StoredDate.text(canonical.promotedAt)
        status = canonical.status
        runID = canonical.runID
        volumes = try StoredJSON.text(canonical.volumes)
    }

    func canonical() throws -> Canonical {
        Canonical(recipe: recipe, version: version, commit: commit, promotedAt: try StoredDate.date(promotedAt),
                  status: status, runID: runID, volumes: try StoredJSON.names(volumes))
    }
}

private struct PromotionRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "promotion"
    enum CodingKeys: String, CodingKey, ColumnExpression {
        case id, recipe, version, commit, promotedAt = "promoted_at", runID = "run_id"
        case previousVersion = "previous_version", volumes
    }
    typealias Columns = CodingKeys

    /// nil until inserted: SQLite assigns it.
    var id: Int64?
    var recipe: String
    var version: String
    var commit: String
    var promotedAt: String
    var runID: String
    var previousVersion: String?
    var volumes: String

    init(_ canonical: Canonical, previous: String?) throws {
        recipe = canonical.recipe
        version = canonical.version
        commit = canonical.commit
        promotedAt = StoredDate.text(canonical.promotedAt)
        runID = canonical.runID
        previousVersion = previous
        volumes = try StoredJSON.text(canonical.volumes)
    }

    func promotion() throws -> Promotion {
        Promotion(id: id ?? 0, recipe: recipe, version: version, commit: commit,
                  promotedAt: try StoredDate.date(promotedAt), runID: runID,
                  previousVersion: previousVersion, volumes: try StoredJSON.names(volumes))
    }
}

private struct RunRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "run"
    enum CodingKeys: String, CodingKey, ColumnExpression {
        case id, recipe, trigger, headRef = "head_ref", headCommit = "head_commit"
        case headVersion = "head_version", baseVersion = "base_version", verdict
        case startedAt = "started_at", finishedAt = "finished_at", quick, record
        case level, levelReason = "level_reason"
    }
    typealias Columns = CodingKeys

    var id: String
    var recipe: String
    var trigger: String
    var headRef: String
    var headCommit: String
    var headVersion: String?
    var baseVersion: String?
    var verdict: String
    var startedAt: String
    var finishedAt: String?
    var quick: Bool
    var record: String
    var level: Int?
    var levelReason: String?

    init(_ run: StoredRun) {
        id = run.id
        recipe = run.recipe
        trigger = run.trigger
        headRef = run.headRef
        headCommit = run.headCommit
        headVersion = run.headVersion
        baseVersion = run.baseVersion
        verdict = run.verdict
        startedAt = StoredDate.text(run.startedAt)
        finishedAt = run.finishedAt.map(StoredDate.text)
        quick = run.quick
        record = run.record
        level = run.level
        levelReason = run.levelReason
    }

    func storedRun() throws -> StoredRun {
        StoredRun(id: id, recipe: recipe, trigger: trigger, headRef: headRef, headCommit: headCommit,
                  headVersion: headVersion, baseVersion: baseVersion, verdict: verdict,
                  startedAt: try StoredDate.date(startedAt), finishedAt: try finishedAt.map(StoredDate.date),
                  quick: quick, level: level, levelReason: levelReason, record: record)
    }
}
