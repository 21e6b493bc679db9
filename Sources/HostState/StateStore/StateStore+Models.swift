import Foundation
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
