import Foundation
import PluginChannel

/// Everything a run did and found. It is the source of every report (console, JSON, JUnit, Markdown)
/// and never holds a secret: secret values are generated and used inside the deployer only.
public struct RunRecord: Sendable, Codable, Equatable {
    public enum Trigger: String, Sendable, Codable { case manual, sweep, webhook }

    /// A version deployed by the run.
    public struct Ref: Sendable, Codable, Equatable {
        /// As given: a release tag, a branch, a commit.
        public var ref: String
        public var commit: String
        /// The release version when `ref` is a release tag.
        public var version: String?
    }

    public struct CheckRecord: Sendable, Codable, Equatable {
        /// The plugin that owns the check (`generic` for the generic suite).
        public var plugin: String
        public var name: String
        public var verdict: Verdict
        public var detail: String
        /// Why an `unverified` check did not give a verdict.
        public var cause: String?
        public var seconds: Double
    }

    public struct TierRecord: Sendable, Codable, Equatable {
        public var tier: Tier
        public var verdict: Verdict
        /// The op the host ran for the tier (deploy, chaos redeploy, backup, restore), once.
        public var op: String
        public var opVerdict: Verdict
        public var opDetail: String
        public var checks: [CheckRecord]
        public var seconds: Double
        /// Set when the tier is `n/a` for this recipe (a skip), with whether the recipe declared it.
        public var notApplicable: String?
        public var notApplicableExpected: Bool?
    }

    public var id: String
    public var trigger: Trigger
    public var recipe: String
    public var repository: String
    public var backend: String
    public var domain: String
    public var base: Ref?
    public var head: Ref
    public var stages: [Tier]
    public var startedAt: Date
    public var finishedAt: Date?
    public var tiers: [TierRecord]
    /// Fresh deploys of the app in this run: must be exactly 1 when any deploy tier ran.
    public var deployCount: Int
    public var generic: String
    public var teardown: TeardownResult?
    public var artifacts: [String]
    /// Where the app's data came from: fresh volumes (cold), or a copy of the canonical's (warm, quick).
    public var start: Start = .cold
    /// For warm and quick runs: the canonical whose data the run started from.
    public var startedFrom: CanonicalStart?
    /// The run's volumes kept after it (`warm-<recipe>-<run>_<volume>`), when the run was asked to
    /// retain its data and passed every tier: what a promotion makes the canonical's data.
    public var retainedVolumes: [String]?
    /// Why the data could not be retained, when it could not; such a run is never promoted.
    public var retentionProblem: String?

    public enum Start: String, Sendable, Codable { case cold, warm, quick }

    public struct CanonicalStart: Sendable, Codable, Equatable {
        public var version: String
        public var commit: String
        /// The run that earned the canonical (its volumes are the data copied).
        public var runID: String
        public var volumes: [String]
    }
    public var verdict: Verdict
    /// Why the run stopped early, when it did.
    public var aborted: String?

    public var isGreen: Bool { verdict == .pass || verdict == .skip }

    /// A run is green when no tier failed or went unverified and teardown left nothing behind.
    public mutating func judge() {
        var verdicts = tiers.map(\.verdict)
        if aborted != nil { verdicts.append(.unverified) }
        if let teardown, !teardown.isClean { verdicts.append(.fail) }
        if verdicts.contains(.fail) { verdict = .fail }
        else if verdicts.contains(.unverified) { verdict = .unverified }
        else if verdicts.allSatisfy({ $0 == .skip }) { verdict = .skip }
        else { verdict = .pass }
    }

    /// A tier's verdict from its op and checks: the worst of them (fail > unverified > pass > skip).
    public static func tierVerdict(op: Verdict, checks: [Verdict]) -> Verdict {
        let all = [op] + checks
        if all.contains(.fail) { return .fail }
        if all.contains(.unverified) { return .unverified }
        if all.contains(.pass) { return .pass }
        return .skip
    }
}
