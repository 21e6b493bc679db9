import Foundation
internal import GRDB

// MARK: - Rows: the tables' shape, kept out of the public types so GRDB stays behind the store.

/// Dates as ISO-8601 UTC text with milliseconds, e.g. `2025-01-02T03:04:05.678Z`.
enum StoredDate {
    static let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)
    static func text(_ date: Date) -> String { style.format(date) }
    static func date(_ text: String) throws -> Date { try style.parse(text) }
}

enum StoredJSON {
    static func text(_ names: [String]) throws -> String {
        String(decoding: try JSONEncoder().encode(names), as: UTF8.self)
    }
    static func names(_ text: String) throws -> [String] {
        try JSONDecoder().decode([String].self, from: Data(text.utf8))
    }
}

struct CanonicalRow: Codable, FetchableRecord, PersistableRecord {
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

struct PromotionRow: Codable, FetchableRecord, PersistableRecord {
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

struct RunRow: Codable, FetchableRecord, PersistableRecord {
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
