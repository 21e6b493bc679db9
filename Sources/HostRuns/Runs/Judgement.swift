import Foundation
import HostDocker
import PluginChannel

/// The one judgement of a run. A pure function of what happened — the planned stages, each tier's
/// op and checks, the deploy count, teardown, an abort — to outcomes, a verdict and a level. The run
/// record stores what it decides; every report format, the exit status of `cchost run` and the
/// promote gate read it, so none of them can read better than another.
///
/// Rules, each an outcome:
/// - per recorded tier, its op (an n/a tier is a skip, unless its op says worse) and each check;
/// - per planned tier with no record, `not run` (unverified);
/// - the deploy-count guard: exactly one fresh deploy once a tier that needs the app got its op
///   through; more than one, or none, fails;
/// - teardown: leftovers fail; what could not be listed, or no teardown after anything was
///   deployed, is unverified;
/// - an abort is unverified, whatever the tiers say;
/// - a generic suite that was missing (not skipped on purpose) is unverified.
/// The verdict is the worst outcome (fail > unverified > pass > skip); green is pass or skip.
public struct Judgement: Sendable, Equatable {
    /// One thing judged: a tier's op, a check, a planned tier that never ran, the deploy-count
    /// guard, teardown or an abort.
    public struct Outcome: Sendable, Equatable {
        public enum Kind: Sendable, Equatable { case op, check, notRun, deployGuard, teardown, aborted, genericSuite }
        public var kind: Kind
        public var tier: Tier?
        /// The check's plugin; nil for everything the host itself judges.
        public var plugin: String?
        public var name: String
        public var verdict: Verdict
        /// One line: why (the cause of an `unverified`, else the detail).
        public var reason: String
        /// What was found: a check's detail; for the rest, the reason.
        public var detail: String
        /// Everything known: detail and cause.
        public var text: String
        public var seconds: Double
    }

    /// A tier in report order: either recorded, or planned (in `stages`) with no record at all.
    public enum TierEntry: Sendable {
        case recorded(RunRecord.TierRecord)
        case missing(Tier)

        public var tier: Tier {
            switch self {
            case .recorded(let record): record.tier
            case .missing(let tier): tier
            }
        }
    }

    public var outcomes: [Outcome]
    public var verdict: Verdict
    /// 0–5 (see `Level`); nil for warm and quick runs.
    public var level: Int?
    public var levelReason: String
    public var isGreen: Bool { verdict.isGreen }
    /// Green in everything but teardown: whether a run may keep its data before it is torn down.
    public var isGreenBeforeTeardown: Bool {
        outcomes.allSatisfy { $0.kind == .teardown || $0.verdict.isGreen }
    }

    public var failed: Int { count(.fail) }
    public var unverified: Int { count(.unverified) }
    public var skipped: Int { count(.skip) }
    public var passed: Int { count(.pass) }
    func count(_ verdict: Verdict) -> Int { outcomes.filter { $0.verdict == verdict }.count }

    /// The last line of every report: `GREEN`, or `RED: N failed, M unverified; aborted: …`.
    public var line: String {
        if isGreen { return "GREEN" }
        var line = "RED: \(failed) failed, \(unverified) unverified"
        if let abort = outcomes.first(where: { $0.kind == .aborted }) { line += "; aborted: \(abort.detail)" }
        return line
    }

    /// `L3 — why`, or `no level — why` for warm and quick runs.
    public var levelText: String { (level.map { "L\($0)" } ?? "no level") + " — " + levelReason }

    public init(_ record: RunRecord) {
        var outcomes: [Outcome] = []
        for entry in Self.tierEntries(record) {
            switch entry {
            case .missing(let tier):
                let reason = "did not run: " + Self.missingReason(record)
                outcomes.append(Outcome(kind: .notRun, tier: tier, plugin: nil, name: "not run", verdict: .unverified,
                                        reason: reason, detail: reason, text: reason, seconds: 0))
            case .recorded(let tier):
                outcomes.append(Self.opOutcome(tier))
                outcomes += tier.checks.map { Self.checkOutcome($0, tier: tier.tier) }
            }
        }
        let guardResult = Self.deployGuard(record)
        outcomes.append(Outcome(kind: .deployGuard, tier: nil, plugin: nil, name: "deploy count", verdict: guardResult.verdict,
                                reason: guardResult.reason, detail: guardResult.reason, text: guardResult.reason, seconds: 0))
        outcomes.append(Self.teardownOutcome(record))
        if record.generic.hasPrefix(RunRecord.genericMissing) {
            outcomes.append(Outcome(kind: .genericSuite, tier: nil, plugin: nil, name: "generic suite", verdict: .unverified,
                                    reason: record.generic, detail: record.generic, text: record.generic, seconds: 0))
        }
        if let aborted = record.aborted {
            outcomes.append(Outcome(kind: .aborted, tier: nil, plugin: nil, name: "aborted", verdict: .unverified,
                                    reason: "the run stopped early: \(aborted)", detail: aborted,
                                    text: "the run stopped early: \(aborted)", seconds: 0))
        }
        self.outcomes = outcomes
        let verdicts = outcomes.map(\.verdict)
        verdict = verdicts.contains(.fail) ? .fail
            : verdicts.contains(.unverified) ? .unverified
            : verdicts.allSatisfy { $0 == .skip } ? .skip : .pass
        (level, levelReason) = Level.of(record, outcomes: outcomes)
    }

    // MARK: - The rules

    static func tierEntries(_ record: RunRecord) -> [TierEntry] {
        var entries = record.tiers.map(TierEntry.recorded)
        let recorded = Set(record.tiers.map(\.tier))
        for stage in record.stages where !recorded.contains(stage) { entries.append(.missing(stage)) }
        return entries.enumerated()
            .sorted { ($0.element.tier, $0.offset) < ($1.element.tier, $1.offset) }
            .map(\.element)
    }

    /// Why a planned tier has no record.
    public static func missingReason(_ record: RunRecord) -> String {
        record.aborted.map { "the run was aborted (\($0))" } ?? "the run has no record of this tier"
    }

    public static func naText(_ tier: RunRecord.TierRecord) -> String {
        guard let reason = tier.notApplicable else { return "" }
        return "n/a: \(reason)" + (tier.notApplicableExpected == false ? " (not declared expected)" : "")
    }

    /// The seconds of a tier not spent in its checks: the op's share.
    static func opSeconds(_ tier: RunRecord.TierRecord) -> Double {
        max(0, tier.seconds - tier.checks.reduce(0) { $0 + $1.seconds })
    }

    public static func checkOutcome(_ check: RunRecord.CheckRecord, tier: Tier) -> Outcome {
        let cause = check.cause ?? ""
        let reason = check.verdict == .unverified && !cause.isEmpty ? cause : check.detail
        let text = [check.detail, cause.isEmpty ? "" : "cause: \(cause)"].filter { !$0.isEmpty }.joined(separator: "\n")
        return Outcome(kind: .check, tier: tier, plugin: check.plugin, name: check.name, verdict: check.verdict,
                       reason: reason, detail: check.detail, text: text, seconds: check.seconds)
    }

    static func opOutcome(_ tier: RunRecord.TierRecord) -> Outcome {
        let name = "op: \(tier.opDescription)"
        if tier.notApplicable != nil {
            // An n/a tier is a skip, unless its op says something worse happened.
            let verdict: Verdict = tier.opVerdict == .fail || tier.opVerdict == .unverified ? tier.opVerdict : .skip
            return Outcome(kind: .op, tier: tier.tier, plugin: nil, name: name, verdict: verdict,
                           reason: naText(tier), detail: naText(tier), text: naText(tier), seconds: opSeconds(tier))
        }
        return Outcome(kind: .op, tier: tier.tier, plugin: nil, name: name, verdict: tier.opVerdict,
                       reason: tier.opDetail, detail: tier.opDetail, text: tier.opDetail, seconds: opSeconds(tier))
    }

    /// Did a tier that needs the app deployed get its op through?
    static func deployTierRan(_ record: RunRecord) -> Bool {
        record.tiers.contains { $0.tier != .lint && $0.notApplicable == nil && $0.opVerdict == .pass }
    }

    /// The deploy-count guard: exactly one fresh deploy when a deploy tier ran.
    public static func deployGuard(_ record: RunRecord) -> (verdict: Verdict, reason: String) {
        let count = record.deployCount
        if count == 1 { return (.pass, "deployed once") }
        if count == 0 {
            return deployTierRan(record)
                ? (.fail, "a tier that needs the app passed its op but nothing was deployed; expected exactly 1 deploy")
                : (.skip, "no deploy tier ran")
        }
        return (.fail, "deployed \(count) times in one run; expected exactly 1")
    }

    public static func teardownOutcome(_ record: RunRecord) -> Outcome {
        func outcome(_ verdict: Verdict, _ reason: String, text: String? = nil, seconds: Double = 0) -> Outcome {
            Outcome(kind: .teardown, tier: nil, plugin: nil, name: "teardown", verdict: verdict,
                    reason: reason, detail: reason, text: text ?? reason, seconds: seconds)
        }
        guard let teardown = record.teardown else {
            return record.deployCount > 0 || deployTierRan(record)
                ? outcome(.unverified, "teardown did not run: what the run deployed may still be there")
                : outcome(.skip, "nothing was deployed")
        }
        if teardown.isClean {
            let reason = "removed \(teardown.removed.count) object(s), no leftovers"
            return outcome(.pass, reason, text: ([reason] + teardown.removed).joined(separator: "\n"), seconds: teardown.seconds)
        }
        if !teardown.leftovers.isEmpty {
            let reason = "left \(teardown.leftovers.count) object(s) behind: \(teardown.leftovers.joined(separator: ", "))"
                + (teardown.unknown.isEmpty ? "" : "; and \(teardown.unknown.joined(separator: "; "))")
            return outcome(.fail, reason, text: ([reason, "removed:"] + teardown.removed).joined(separator: "\n"), seconds: teardown.seconds)
        }
        // Nothing was seen left, but not everything could be looked at: not known to be clean.
        let reason = "removed \(teardown.removed.count) object(s), but whether anything is left is not known: "
            + teardown.unknown.joined(separator: "; ")
        return outcome(.unverified, reason, text: ([reason, "removed:"] + teardown.removed).joined(separator: "\n"), seconds: teardown.seconds)
    }
}

/// The level ladder, read by people and badges, decided from the judgement's own outcomes so that it
/// never reads better than the verdict:
/// L0 install failed; L1 installs healthy (and deploys once, tears down clean); L2 upgrades in place
/// (with `cchost/data-intact`: what was seeded at install is still there); L3 data proven through
/// backup and restore (`cchost/data-proof` passed, after restoring into fresh volumes, or in place
/// where the backend cannot give fresh volumes); L4 recipe checks pass; L5 lint clean.
/// The level is the highest rung passed with every rung below it passed or skipped on purpose (n/a,
/// nothing declared); a fail or unverified blocks its rung, and so does a rung whose tiers were not
/// selected. Lint errors make the run red; lint warnings only cost L5. Warm and quick runs have none.
public enum Level {
    public static let names = [1: "installs healthy", 2: "upgrades in place",
                               3: "data proven through backup and restore", 4: "recipe checks pass", 5: "lint clean"]

    /// Plugins whose checks the host owns; every other plugin's checks, hooks and steps are recipe checks.
    static let hostPlugins: Set<String> = ["generic", "cchost", "lint"]

    /// The rung an outcome counts for.
    static func rung(_ outcome: Judgement.Outcome) -> Int? {
        if outcome.kind == .check, let plugin = outcome.plugin, !hostPlugins.contains(plugin) { return 4 }
        switch outcome.kind {
        case .deployGuard, .teardown, .genericSuite: return 1
        case .aborted: return nil
        case .op, .check, .notRun: return outcome.tier.map(rung)
        }
    }

    static func rung(_ tier: Tier) -> Int {
        switch tier {
        case .install: 1
        case .upgrade: 2
        case .backup, .restore: 3
        case .custom: 4
        case .lint: 5
        }
    }

    static func of(_ record: RunRecord, outcomes: [Judgement.Outcome]) -> (Int?, String) {
        guard record.start == .cold else { return (nil, "\(record.start.rawValue) runs have no level") }
        let blocking = outcomes.filter { $0.verdict == .fail || $0.verdict == .unverified }
        // An abort blocks the first rung that did not pass (else install: the facts disagree).
        let firstBlockedRung = blocking.compactMap(rung).min()
        var skipped: [String] = []
        for rung in 1...5 {
            let name = "L\(rung) (\(names[rung]!))"
            if let problem = blocking.first(where: { (Self.rung($0) ?? firstBlockedRung ?? 1) == rung }) {
                let what = problem.kind == .check ? "\(problem.plugin ?? "")/\(problem.name) \(problem.verdict.rawValue)"
                    : problem.kind == .op ? "\(problem.tier?.rawValue ?? "") \(problem.name) \(problem.verdict.rawValue)"
                    : problem.tier.map { "\($0.rawValue) \(problem.name)" } ?? problem.name
                return (rung - 1, "\(name) not reached: \(what): \(Judgement.oneLine(problem.reason, limit: 200))")
            }
            let tiers = Tier.allCases.filter { self.rung($0) == rung && $0 != .custom }
            if let unselected = tiers.first(where: { !record.stages.contains($0) }) {
                return (rung - 1, "\(name) not reached: the \(unselected.rawValue) tier was not selected")
            }
            let recorded = record.tiers.filter { tiers.contains($0.tier) }
            if let na = recorded.first(where: { $0.notApplicable != nil }) {
                skipped.append("\(na.tier.rawValue) n/a")
            }
            // Data is proven only by the data proof passing after the restore.
            if rung == 3, let restore = recorded.first(where: { $0.tier == .restore && $0.notApplicable == nil }) {
                let proof = restore.checks.first { $0.plugin == "cchost" && $0.name == "data-proof" }
                guard proof?.verdict == .pass else {
                    let why = proof.map { "cchost/data-proof \($0.verdict.rawValue): \(Judgement.oneLine($0.detail, limit: 160))" }
                        ?? "cchost/data-proof did not run"
                    return (2, "\(name) not reached: the data was not proven (\(why))")
                }
            }
            if rung == 4, !outcomes.contains(where: { self.rung($0) == 4 && $0.kind == .check }) {
                skipped.append("no recipe checks ran")
            }
            if rung == 5, let warnings = record.tiers.first(where: { $0.tier == .lint })?.lintWarnings, warnings > 0 {
                return (4, "\(name) not reached: lint has \(warnings) warning(s)")
            }
        }
        return (5, skipped.isEmpty ? "every rung passed" : "every rung passed or skipped (\(skipped.joined(separator: "; ")))")
    }
}

extension Judgement {
    /// One line of at most `limit` characters: whitespace runs as one space.
    static func oneLine(_ text: String, limit: Int) -> String {
        let line = text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return line.count <= limit ? line : String(line.prefix(limit - 1)) + "…"
    }
}
