import Foundation
internal import GRDB
import HostRuns

extension StateStore {
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
}
