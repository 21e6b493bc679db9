import Foundation
internal import GRDB

/// Run records become `cchost.run/2`: `op` an enum with its ref in `op_ref`, and the level the
/// judgement gives. Every stored record is read (old ones decode), judged and written back, and its
/// rows refilled; a record that cannot be read is kept as it is, with why.
///
/// Frozen: reading, judging and writing the record go through private copies (MigrationV6+Record,
/// MigrationV6+Judgement) of RunRecord, RunReport.decode/json and Judgement as they were when v6
/// shipped, never through today's, so this migration writes the same rows whatever those become.
enum MigrationV6 {
    static let identifier = "v6 run record 2"

    static func migrate(_ db: Database) throws {
        try db.execute(sql: """
            ALTER TABLE run ADD COLUMN level INTEGER;
            ALTER TABLE run ADD COLUMN level_reason TEXT;
            ALTER TABLE run_tier ADD COLUMN op_ref TEXT;
            """)
        for row in try Row.fetchAll(db, sql: "SELECT id, record FROM run") {
            let id: String = row["id"], text: String = row["record"]
            do {
                var record = try Record.decode(Data(text.utf8))
                record.judge()
                try db.execute(sql: "UPDATE run SET record = ?, verdict = ?, level = ?, level_reason = ? WHERE id = ?",
                               arguments: [String(decoding: try record.json(), as: UTF8.self),
                                           record.verdict.rawValue, record.level, record.levelReason, id])
            } catch {
                try db.execute(sql: "UPDATE run SET level_reason = ? WHERE id = ?",
                               arguments: ["the run's record could not be read: \(error)", id])
            }
        }
        // The rows again, from the records as they now are (op_ref included): a frozen copy of how
        // RunResultRows filled them when v6 shipped.
        try db.execute(sql: """
            DELETE FROM run_check;
            DELETE FROM run_tier;
            INSERT INTO run_tier (run_id, position, tier, verdict, op, op_ref, op_verdict, op_detail, seconds, not_applicable)
            SELECT run.id, t.key, json_extract(t.value, '$.tier'), json_extract(t.value, '$.verdict'),
                   COALESCE(json_extract(t.value, '$.op'), ''), json_extract(t.value, '$.op_ref'),
                   COALESCE(json_extract(t.value, '$.op_verdict'), ''),
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
