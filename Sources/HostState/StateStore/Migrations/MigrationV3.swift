internal import GRDB

/// Per-tier and per-check results as rows, so they can be queried across runs; filled from each
/// run's record, the runs recorded before this migration included.
enum MigrationV3 {
    static let identifier = "v3 run results"

    static func migrate(_ db: Database) throws {
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
        // The rows of every stored record (`cchost.run/1`), read with SQLite's JSON functions: a
        // frozen copy of how RunResultRows filled them when v3 shipped (its tables had no op_ref).
        try db.execute(sql: """
            INSERT INTO run_tier (run_id, position, tier, verdict, op, op_verdict, op_detail, seconds, not_applicable)
            SELECT run.id, t.key, json_extract(t.value, '$.tier'), json_extract(t.value, '$.verdict'),
                   COALESCE(json_extract(t.value, '$.op'), ''), COALESCE(json_extract(t.value, '$.op_verdict'), ''),
                   COALESCE(json_extract(t.value, '$.op_detail'), ''), COALESCE(json_extract(t.value, '$.seconds'), 0),
                   json_extract(t.value, '$.not_applicable')
            FROM run, json_each(run.record, '$.tiers') AS t;
            INSERT INTO run_check (run_id, tier, position, plugin, name, verdict, detail, cause, seconds)
            SELECT run.id, json_extract(t.value, '$.tier'), c.key, json_extract(c.value, '$.plugin'),
                   json_extract(c.value, '$.name'), json_extract(c.value, '$.verdict'),
                   COALESCE(json_extract(c.value, '$.detail'), ''), json_extract(c.value, '$.cause'),
                   COALESCE(json_extract(c.value, '$.seconds'), 0)
            FROM run, json_each(run.record, '$.tiers') AS t, json_each(t.value, '$.checks') AS c;
            """)
    }
}
