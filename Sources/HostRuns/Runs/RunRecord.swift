import Foundation
import HostDocker
import PluginChannel

/// Everything a run did and found: the facts (planned stages, each tier's op and checks, the deploy
/// count, teardown, an abort) and what the one judgement (`Judgement`) decided of them (verdict and
/// level). It is the source of every report (console, JSON, JUnit, Markdown) and never holds a
/// secret: secret values are generated and used inside the deployer only.
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

    /// What a tier did to the app, once, owned by the host.
    public enum Op: String, Sendable, Codable, CaseIterable {
        /// Nothing: an n/a tier, a tier that never started, or the custom tier (checks only).
        case none
        case lint
        /// The base deployed fresh (install).
        case deploy
        /// The head redeployed in place (upgrade).
        case chaosRedeploy = "chaos_redeploy"
        case backup
        case restore
    }

    public struct TierRecord: Sendable, Codable, Equatable {
        public var tier: Tier
        public var verdict: Verdict
        /// The op the host ran for the tier, once.
        public var op: Op
        /// The ref the op deployed (`deploy`: the base, `chaos_redeploy`: the head).
        public var opRef: String?
        public var opVerdict: Verdict
        public var opDetail: String
        public var checks: [CheckRecord]
        public var seconds: Double
        /// Set when the tier is `n/a` for this recipe (a skip), with whether the recipe declared it.
        public var notApplicable: String?
        public var notApplicableExpected: Bool?
        /// The lint tier's warnings (they cost the top rung of the level, not the verdict).
        public var lintWarnings: Int?

        public init(tier: Tier, verdict: Verdict, op: Op, opRef: String? = nil, opVerdict: Verdict, opDetail: String,
                    checks: [CheckRecord], seconds: Double, notApplicable: String? = nil,
                    notApplicableExpected: Bool? = nil, lintWarnings: Int? = nil) {
            self.tier = tier
            self.verdict = verdict
            self.op = op
            self.opRef = opRef
            self.opVerdict = opVerdict
            self.opDetail = opDetail
            self.checks = checks
            self.seconds = seconds
            self.notApplicable = notApplicable
            self.notApplicableExpected = notApplicableExpected
            self.lintWarnings = lintWarnings
        }

        enum CodingKeys: String, CodingKey {
            case tier, verdict, op, opRef, opVerdict, opDetail, checks, seconds, notApplicable, notApplicableExpected, lintWarnings
        }

        /// Reads `cchost.run/2` and the records written before it (`cchost.run/1`: `op` was free
        /// text such as `deploy 1.0.0` or `none (custom checks only)`, lint warnings only in the detail).
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            tier = try container.decode(Tier.self, forKey: .tier)
            verdict = try container.decode(Verdict.self, forKey: .verdict)
            opVerdict = try container.decode(Verdict.self, forKey: .opVerdict)
            opDetail = try container.decode(String.self, forKey: .opDetail)
            checks = try container.decode([CheckRecord].self, forKey: .checks)
            seconds = try container.decode(Double.self, forKey: .seconds)
            notApplicable = try container.decodeIfPresent(String.self, forKey: .notApplicable)
            notApplicableExpected = try container.decodeIfPresent(Bool.self, forKey: .notApplicableExpected)
            lintWarnings = try container.decodeIfPresent(Int.self, forKey: .lintWarnings)
            let text = try container.decode(String.self, forKey: .op)
            if let op = Op(rawValue: text) {
                self.op = op
                opRef = try container.decodeIfPresent(String.self, forKey: .opRef)
            } else if let legacy = Self.legacyOp(text) {
                (op, opRef) = legacy
            } else {
                throw DecodingError.dataCorruptedError(forKey: .op, in: container,
                                                       debugDescription: "'\(text)' is not an op (\(Op.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            if tier == .lint, lintWarnings == nil { lintWarnings = Self.legacyLintWarnings(opDetail) }
        }

        /// A `cchost.run/1` op: `deploy REF`, `chaos redeploy to REF`, `chaos redeploy`, `none (…)`, or empty.
        static func legacyOp(_ text: String) -> (Op, String?)? {
            if text.isEmpty || text.hasPrefix("none") { return (.none, nil) }
            if text.hasPrefix("chaos redeploy") {
                let ref = text.dropFirst("chaos redeploy".count).trimmingCharacters(in: .whitespaces)
                let bare = ref.hasPrefix("to ") ? String(ref.dropFirst(3)) : ref
                return (.chaosRedeploy, bare.isEmpty ? nil : bare)
            }
            if text.hasPrefix("deploy") {
                let ref = text.dropFirst("deploy".count).trimmingCharacters(in: .whitespaces)
                return (.deploy, ref.isEmpty ? nil : ref)
            }
            return nil
        }

        /// The warnings of a `cchost.run/1` lint tier, from its detail `N error(s), M warning(s)`.
        static func legacyLintWarnings(_ detail: String) -> Int? {
            guard let range = detail.range(of: " warning(s)") else { return nil }
            return Int(detail[..<range.lowerBound].split(separator: " ").last ?? "")
        }

        /// The op as people read it: `deploy 1.2.0`, `chaos redeploy to main`, `backup`.
        public var opDescription: String {
            switch op {
            case .deploy: opRef.map { "deploy \($0)" } ?? "deploy"
            case .chaosRedeploy: opRef.map { "chaos redeploy to \($0)" } ?? "chaos redeploy"
            case .none, .lint, .backup, .restore: op.rawValue
            }
        }
    }

    public var id: String
    public var trigger: Trigger
    public var recipe: String
    public var repository: String
    public var backend: String
    /// The version of the tool the backend drives (abra's), when it drives one.
    public var backendVersion: String? = nil
    public var domain: String
    public var base: Ref?
    public var head: Ref
    public var stages: [Tier]
    public var startedAt: Date
    public var finishedAt: Date?
    public var tiers: [TierRecord]
    /// Fresh deploys of the app in this run: must be exactly 1 when any deploy tier ran.
    public var deployCount: Int
    /// The generic suite's status: `ran`, `skipped: <why>`, or `missing: <why>` (the run is then
    /// unverified: nothing checked what every recipe must pass).
    public var generic: String
    public static let genericMissing = "missing"
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
    /// What the operator's allowance let the recipe do that the content policy refuses, each
    /// `option: finding (file:line)`; nil when it let nothing through. Shown in every report.
    public var allowances: [String]?
    /// Each deploy's rendered stack: its file in the run's folder (`deploys/1/rendered.yml`), its
    /// digest and the digests of the recipe files copied beside it. nil before any deploy.
    public var renderedStacks: [RenderedDeploy]?

    public enum Start: String, Sendable, Codable { case cold, warm, quick }

    public struct CanonicalStart: Sendable, Codable, Equatable {
        public var version: String
        public var commit: String
        /// The run that earned the canonical (its volumes are the data copied).
        public var runID: String
        public var volumes: [String]

        public init(version: String, commit: String, runID: String, volumes: [String]) {
            (self.version, self.commit, self.runID, self.volumes) = (version, commit, runID, volumes)
        }

        // The record's JSON is snake_case: `run_id` reads back as `runId`, never as `runID`.
        private enum CodingKeys: String, CodingKey { case version, commit, runID = "runId", volumes }
    }
    /// What the judgement decided, stored for readers of the JSON and the database.
    public var verdict: Verdict
    /// Why the run stopped early, when it did.
    public var aborted: String?
    /// The level the judgement gave (0–5); nil for warm and quick runs, which have none.
    public var level: Int?
    /// Why the level is where it is.
    public var levelReason: String?

    /// The one judgement of this record's facts: every report, the exit status and the promote gate read it.
    public var judgement: Judgement { Judgement(self) }

    /// Green: the judgement found nothing failed and nothing unverified.
    public var isGreen: Bool { judgement.isGreen }

    /// The exit status of `cchost run` for this run: 0 green, 1 red.
    public var exitStatus: Int32 { isGreen ? 0 : 1 }

    /// Stores what the judgement decides of the facts (verdict, level, and each tier's verdict).
    public mutating func judge() {
        for index in tiers.indices {
            tiers[index].verdict = Self.tierVerdict(op: tiers[index].opVerdict, checks: tiers[index].checks.map(\.verdict))
        }
        let judgement = judgement
        verdict = judgement.verdict
        level = judgement.level
        levelReason = judgement.levelReason
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
