import Foundation
internal import GRDB
import HostRuns

/// One tier of a stored run, with its checks, as rows of `run_tier` and `run_check`.
public struct StoredTier: Sendable, Equatable, Codable {
    public var tier: String
    public var verdict: String
    public var op: String
    /// The ref a `deploy` or `chaos_redeploy` deployed.
    public var opRef: String?
    public var opVerdict: String
    public var opDetail: String
    public var seconds: Double
    /// Why the tier was `n/a`, when it was.
    public var notApplicable: String?
    public var checks: [StoredCheck]
}

public struct StoredCheck: Sendable, Equatable, Codable {
    public var plugin: String
    public var name: String
    public var verdict: String
    public var detail: String
    /// Why an `unverified` check gave no verdict.
    public var cause: String?
    public var seconds: Double
}

/// One result of a check in one run: what `checkHistory` answers.
public struct CheckResult: Sendable, Equatable, Codable {
    public var runID: String
    public var startedAt: Date
    public var headRef: String
    public var tier: String
    public var verdict: String
    public var detail: String
}

extension StateStore {
    /// A run's tiers in the order they ran, each with its checks in the order they were judged.
    public func results(run id: String) throws(StateStoreError) -> [StoredTier] {
        try Self.attempt(path, "read the results of run \(id)") {
            try pool.read { db in
                let checks = try Row.fetchAll(db, sql: """
                    SELECT tier, plugin, name, verdict, detail, cause, seconds FROM run_check
                    WHERE run_id = ? ORDER BY tier, position
                    """, arguments: [id])
                var byTier: [String: [StoredCheck]] = [:]
                for row in checks {
                    byTier[row["tier"], default: []].append(StoredCheck(
                        plugin: row["plugin"], name: row["name"], verdict: row["verdict"], detail: row["detail"],
                        cause: row["cause"], seconds: row["seconds"]))
                }
                return try Row.fetchAll(db, sql: """
                    SELECT tier, verdict, op, op_ref, op_verdict, op_detail, seconds, not_applicable FROM run_tier
                    WHERE run_id = ? ORDER BY position
                    """, arguments: [id]).map { row in
                    StoredTier(tier: row["tier"], verdict: row["verdict"], op: row["op"], opRef: row["op_ref"], opVerdict: row["op_verdict"],
                               opDetail: row["op_detail"], seconds: row["seconds"], notApplicable: row["not_applicable"],
                               checks: byTier[row["tier"]] ?? [])
                }
            }
        }
    }

    /// Every result of one check across a recipe's runs, oldest first: when did it last fail, and
    /// since which run does it pass.
    public func checkHistory(recipe: String, plugin: String, name: String) throws(StateStoreError) -> [CheckResult] {
        try Self.attempt(path, "read the history of check \(plugin)/\(name) of \(recipe)") {
            try pool.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT run.id, run.started_at, run.head_ref, run_check.tier, run_check.verdict, run_check.detail
                    FROM run_check JOIN run ON run.id = run_check.run_id
                    WHERE run.recipe = ? AND run_check.plugin = ? AND run_check.name = ?
                    ORDER BY run.started_at, run.id, run_check.tier, run_check.position
                    """, arguments: [recipe, plugin, name]).map { row in
                    CheckResult(runID: row[0], startedAt: try StoredDate.date(row[1]), headRef: row[2], tier: row[3],
                                verdict: row[4], detail: row[5])
                }
            }
        }
    }
}

/// Fills `run_tier` and `run_check` from one run's record (the JSON of RunReport.json) as it is
/// recorded. One statement per table, so the rows always say what the record says. (The migrations
/// that filled them for every stored run have their own frozen copies of this SQL.)
enum RunResultRows {
    static func fill(_ db: Database, run id: String) throws {
        let arguments: StatementArguments = ["run": id]
        try db.execute(sql: "DELETE FROM run_check WHERE run_id = :run", arguments: arguments)
        try db.execute(sql: "DELETE FROM run_tier WHERE run_id = :run", arguments: arguments)
        try db.execute(sql: """
            INSERT INTO run_tier (run_id, position, tier, verdict, op, op_ref, op_verdict, op_detail, seconds, not_applicable)
            SELECT run.id, t.key, json_extract(t.value, '$.tier'), json_extract(t.value, '$.verdict'),
                   COALESCE(json_extract(t.value, '$.op'), ''), json_extract(t.value, '$.op_ref'), COALESCE(json_extract(t.value, '$.op_verdict'), ''),
                   COALESCE(json_extract(t.value, '$.op_detail'), ''), COALESCE(json_extract(t.value, '$.seconds'), 0),
                   json_extract(t.value, '$.not_applicable')
            FROM run, json_each(run.record, '$.tiers') AS t WHERE run.id = :run
            """, arguments: arguments)
        try db.execute(sql: """
            INSERT INTO run_check (run_id, tier, position, plugin, name, verdict, detail, cause, seconds)
            SELECT run.id, json_extract(t.value, '$.tier'), c.key, json_extract(c.value, '$.plugin'),
                   json_extract(c.value, '$.name'), json_extract(c.value, '$.verdict'),
                   COALESCE(json_extract(c.value, '$.detail'), ''), json_extract(c.value, '$.cause'),
                   COALESCE(json_extract(c.value, '$.seconds'), 0)
            FROM run, json_each(run.record, '$.tiers') AS t, json_each(t.value, '$.checks') AS c WHERE run.id = :run
            """, arguments: arguments)
    }
}

/// The state database records each run as it starts (so a run killed outright is there, unfinished
/// and unverified) and again as it finishes, replacing the first row.
extension StateStore: RunRecorder {
    public func started(_ record: RunRecord) throws { try self.record(run: try StoredRun(record)) }
    public func finished(_ record: RunRecord) throws { try self.record(run: try StoredRun(record)) }

    public func interrupted(runID: String, reason: String) throws {
        guard let stored = try run(id: runID), stored.finishedAt == nil else { return }
        var record = try RunReport.decode(Data(stored.record.utf8))
        record.aborted = record.aborted ?? reason
        record.finishedAt = Date()
        try self.record(run: try StoredRun(record))
    }
}
