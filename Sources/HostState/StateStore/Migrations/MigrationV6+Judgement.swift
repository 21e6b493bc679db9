import Foundation

/// A frozen copy of the one judgement (Judgement and Level) as v6 judged stored records: the
/// rules that give a run's verdict, its level and why. Only what decides those three is copied
/// (each outcome's verdict and reason); never edit it to follow Judgement.
extension MigrationV6.Record {
    typealias Verdict = MigrationV6.Verdict
    typealias Tier = MigrationV6.Tier

    /// One thing judged: a tier's op, a check, a planned tier that never ran, the deploy-count
    /// guard, teardown, a missing generic suite or an abort.
    struct Outcome {
        enum Kind { case op, check, notRun, deployGuard, teardown, aborted, genericSuite }
        var kind: Kind
        var tier: Tier?
        var plugin: String?
        var name: String
        var verdict: Verdict
        var reason: String
    }

    /// RunRecord.judge: each tier's verdict, then the run's verdict, level and why.
    mutating func judge() {
        for index in tiers.indices {
            tiers[index].verdict = Self.tierVerdict(op: tiers[index].opVerdict, checks: tiers[index].checks.map(\.verdict))
        }
        let outcomes = outcomes()
        let verdicts = outcomes.map(\.verdict)
        verdict = verdicts.contains(.fail) ? .fail
            : verdicts.contains(.unverified) ? .unverified
            : verdicts.allSatisfy { $0 == .skip } ? .skip : .pass
        (level, levelReason) = levelOf(outcomes)
    }

    static func tierVerdict(op: Verdict, checks: [Verdict]) -> Verdict {
        let all = [op] + checks
        if all.contains(.fail) { return .fail }
        if all.contains(.unverified) { return .unverified }
        if all.contains(.pass) { return .pass }
        return .skip
    }

    func outcomes() -> [Outcome] {
        var outcomes: [Outcome] = []
        // Recorded tiers and planned tiers with no record, in tier order (recorded order for ties).
        var entries: [(tier: Tier, record: TierRecord?)] = tiers.map { ($0.tier, $0) }
        let recorded = Set(tiers.map(\.tier))
        for stage in stages where !recorded.contains(stage) { entries.append((stage, nil)) }
        let ordered = entries.enumerated().sorted { ($0.element.tier, $0.offset) < ($1.element.tier, $1.offset) }.map(\.element)
        for entry in ordered {
            guard let tier = entry.record else {
                let reason = "did not run: " + (aborted.map { "the run was aborted (\($0))" } ?? "the run has no record of this tier")
                outcomes.append(Outcome(kind: .notRun, tier: entry.tier, plugin: nil, name: "not run", verdict: .unverified, reason: reason))
                continue
            }
            outcomes.append(Self.opOutcome(tier))
            for check in tier.checks {
                let cause = check.cause ?? ""
                let reason = check.verdict == .unverified && !cause.isEmpty ? cause : check.detail
                outcomes.append(Outcome(kind: .check, tier: tier.tier, plugin: check.plugin, name: check.name,
                                        verdict: check.verdict, reason: reason))
            }
        }
        let deploy = deployGuard()
        outcomes.append(Outcome(kind: .deployGuard, tier: nil, plugin: nil, name: "deploy count", verdict: deploy.verdict, reason: deploy.reason))
        outcomes.append(teardownOutcome())
        if generic.hasPrefix(Self.genericMissing) {
            outcomes.append(Outcome(kind: .genericSuite, tier: nil, plugin: nil, name: "generic suite", verdict: .unverified, reason: generic))
        }
        if let aborted {
            outcomes.append(Outcome(kind: .aborted, tier: nil, plugin: nil, name: "aborted", verdict: .unverified,
                                    reason: "the run stopped early: \(aborted)"))
        }
        return outcomes
    }

    static func opOutcome(_ tier: TierRecord) -> Outcome {
        let name = "op: \(tier.opDescription)"
        if let reason = tier.notApplicable {
            // An n/a tier is a skip, unless its op says something worse happened.
            let verdict: Verdict = tier.opVerdict == .fail || tier.opVerdict == .unverified ? tier.opVerdict : .skip
            let text = "n/a: \(reason)" + (tier.notApplicableExpected == false ? " (not declared expected)" : "")
            return Outcome(kind: .op, tier: tier.tier, plugin: nil, name: name, verdict: verdict, reason: text)
        }
        return Outcome(kind: .op, tier: tier.tier, plugin: nil, name: name, verdict: tier.opVerdict, reason: tier.opDetail)
    }

    /// Did a tier that needs the app deployed get its op through?
    var deployTierRan: Bool { tiers.contains { $0.tier != .lint && $0.notApplicable == nil && $0.opVerdict == .pass } }

    func deployGuard() -> (verdict: Verdict, reason: String) {
        if deployCount == 1 { return (.pass, "deployed once") }
        if deployCount == 0 {
            return deployTierRan
                ? (.fail, "a tier that needs the app passed its op but nothing was deployed; expected exactly 1 deploy")
                : (.skip, "no deploy tier ran")
        }
        return (.fail, "deployed \(deployCount) times in one run; expected exactly 1")
    }

    func teardownOutcome() -> Outcome {
        func outcome(_ verdict: Verdict, _ reason: String) -> Outcome {
            Outcome(kind: .teardown, tier: nil, plugin: nil, name: "teardown", verdict: verdict, reason: reason)
        }
        guard let teardown else {
            return deployCount > 0 || deployTierRan
                ? outcome(.unverified, "teardown did not run: what the run deployed may still be there")
                : outcome(.skip, "nothing was deployed")
        }
        if teardown.isClean { return outcome(.pass, "removed \(teardown.removed.count) object(s), no leftovers") }
        return outcome(.fail, "left \(teardown.leftovers.count) object(s) behind: \(teardown.leftovers.joined(separator: ", "))")
    }

    // MARK: - The level ladder as v6 climbed it

    static let rungNames = [1: "installs healthy", 2: "upgrades in place",
                            3: "data proven through backup and restore", 4: "recipe checks pass", 5: "lint clean"]
    static let hostPlugins: Set<String> = ["generic", "cchost", "lint"]

    static func rung(_ outcome: Outcome) -> Int? {
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

    func levelOf(_ outcomes: [Outcome]) -> (Int?, String) {
        guard start == .cold else { return (nil, "\(start.rawValue) runs have no level") }
        let blocking = outcomes.filter { $0.verdict == .fail || $0.verdict == .unverified }
        // An abort blocks the first rung that did not pass (else install: the facts disagree).
        let firstBlockedRung = blocking.compactMap(Self.rung).min()
        var skipped: [String] = []
        for rung in 1...5 {
            let name = "L\(rung) (\(Self.rungNames[rung] ?? ""))"
            if let problem = blocking.first(where: { (Self.rung($0) ?? firstBlockedRung ?? 1) == rung }) {
                let what = problem.kind == .check ? "\(problem.plugin ?? "")/\(problem.name) \(problem.verdict.rawValue)"
                    : problem.kind == .op ? "\(problem.tier?.rawValue ?? "") \(problem.name) \(problem.verdict.rawValue)"
                    : problem.tier.map { "\($0.rawValue) \(problem.name)" } ?? problem.name
                return (rung - 1, "\(name) not reached: \(what): \(Self.oneLine(problem.reason, limit: 200))")
            }
            let rungTiers = Tier.allCases.filter { Self.rung($0) == rung && $0 != .custom }
            if let unselected = rungTiers.first(where: { !stages.contains($0) }) {
                return (rung - 1, "\(name) not reached: the \(unselected.rawValue) tier was not selected")
            }
            let recorded = tiers.filter { rungTiers.contains($0.tier) }
            if let na = recorded.first(where: { $0.notApplicable != nil }) {
                skipped.append("\(na.tier.rawValue) n/a")
            }
            // Data is proven only by the data proof passing after the restore.
            if rung == 3, let restore = recorded.first(where: { $0.tier == .restore && $0.notApplicable == nil }) {
                let proof = restore.checks.first { $0.plugin == "cchost" && $0.name == "data-proof" }
                guard proof?.verdict == .pass else {
                    let why = proof.map { "cchost/data-proof \($0.verdict.rawValue): \(Self.oneLine($0.detail, limit: 160))" }
                        ?? "cchost/data-proof did not run"
                    return (2, "\(name) not reached: the data was not proven (\(why))")
                }
            }
            if rung == 4, !outcomes.contains(where: { Self.rung($0) == 4 && $0.kind == .check }) {
                skipped.append("no recipe checks ran")
            }
            if rung == 5, let warnings = tiers.first(where: { $0.tier == .lint })?.lintWarnings, warnings > 0 {
                return (4, "\(name) not reached: lint has \(warnings) warning(s)")
            }
        }
        return (5, skipped.isEmpty ? "every rung passed" : "every rung passed or skipped (\(skipped.joined(separator: "; ")))")
    }

    /// One line of at most `limit` characters: whitespace runs as one space.
    static func oneLine(_ text: String, limit: Int) -> String {
        let line = text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return line.count <= limit ? line : String(line.prefix(limit - 1)) + "…"
    }
}
