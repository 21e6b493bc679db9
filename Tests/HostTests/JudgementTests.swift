import Foundation
@testable import HostDocker
@testable import HostRuns
@testable import HostState
import PluginChannel
import Testing

/// Run records built from facts: a green run of some shape, then one thing that went wrong.
enum Facts {
    /// The shapes a green run can have: which stages were planned, whether backup is n/a, whether a
    /// recipe plugin's check ran.
    struct Shape: CustomStringConvertible {
        var stages: [Tier]
        var backupNotApplicable: Bool
        var recipeCheck: Bool
        var description: String {
            "\(stages.map(\.rawValue).joined(separator: ","))\(backupNotApplicable ? " backup n/a" : "")\(recipeCheck ? " +recipe check" : "")"
        }
    }

    static let shapes: [Shape] = {
        let stageSets: [[Tier]] = [[.lint, .install, .upgrade, .backup, .restore], Tier.allCases,
                                   [.install], [.lint, .install, .upgrade], [.install, .backup, .restore]]
        return stageSets.flatMap { stages in
            [false, true].flatMap { na in [false, true].map { Shape(stages: stages, backupNotApplicable: na, recipeCheck: $0) } }
        }
    }()

    static func check(_ plugin: String, _ name: String, _ verdict: Verdict = .pass) -> RunRecord.CheckRecord {
        .init(plugin: plugin, name: name, verdict: verdict, detail: "\(name) \(verdict.rawValue)", cause: nil, seconds: 0.1)
    }

    static func tier(_ tier: Tier, _ shape: Shape) -> RunRecord.TierRecord {
        func record(_ op: RunRecord.Op, ref: String? = nil, _ checks: [RunRecord.CheckRecord]) -> RunRecord.TierRecord {
            .init(tier: tier, verdict: .pass, op: op, opRef: ref, opVerdict: .pass, opDetail: "\(op.rawValue) done", checks: checks,
                  seconds: 1, lintWarnings: tier == .lint ? 0 : nil)
        }
        let recipe = shape.recipeCheck ? [check("notes-overlay", "notes-\(tier.rawValue)")] : []
        switch tier {
        case .lint: return record(.lint, [check("lint", "R001")])
        case .install: return record(.deploy, ref: "1.0.0+1", [check("generic", "readiness")] + recipe)
        case .upgrade: return record(.chaosRedeploy, ref: "1.1.0+1", [check("generic", "readiness")] + recipe)
        case .backup, .restore:
            if shape.backupNotApplicable {
                return .init(tier: tier, verdict: .skip, op: .none, opVerdict: .skip, opDetail: "no backup labels", checks: [],
                             seconds: 0, notApplicable: "no service has backupbot.backup=true", notApplicableExpected: true)
            }
            return tier == .backup ? record(.backup, [check("generic", "services-answer")] + recipe)
                : record(.restore, [check("cchost", "data-proof")] + recipe)
        case .custom: return record(.none, recipe)
        }
    }

    static func green(_ shape: Shape) -> RunRecord {
        var record = RunRecord(
            id: "facts", trigger: .sweep, recipe: "notes", repository: "/r", backend: "swarm", domain: "n.ci.example",
            base: .init(ref: "1.0.0+1", commit: String(repeating: "a", count: 40), version: "1.0.0+1"),
            head: .init(ref: "1.1.0+1", commit: String(repeating: "b", count: 40), version: "1.1.0+1"),
            stages: shape.stages, startedAt: Date(timeIntervalSince1970: 1_750_000_000),
            finishedAt: Date(timeIntervalSince1970: 1_750_000_100), tiers: shape.stages.map { tier($0, shape) },
            deployCount: 1, generic: "ran", teardown: TeardownResult(removed: ["notes_app"], leftovers: [], seconds: 1),
            artifacts: [], verdict: .unverified, aborted: nil)
        record.judge()
        return record
    }

    /// One thing that went wrong, applied to a green record's facts (the stored verdict is left as
    /// it was: what it says must not matter).
    struct Fault: CustomStringConvertible {
        var description: String
        var apply: @Sendable (inout RunRecord) -> Void
    }

    static func faults(_ record: RunRecord) -> [Fault] {
        var faults: [Fault] = [
            Fault(description: "deploy count 0") { $0.deployCount = 0 },
            Fault(description: "deploy count 2") { $0.deployCount = 2 },
            Fault(description: "deploy count 5") { $0.deployCount = 5 },
            Fault(description: "leftovers after teardown") { $0.teardown?.leftovers = ["notes_db"] },
            Fault(description: "no teardown") { $0.teardown = nil },
            Fault(description: "aborted") { $0.aborted = "the engine went away" },
        ]
        for (t, tier) in record.tiers.enumerated() {
            let name = tier.tier.rawValue
            faults.append(Fault(description: "\(name) missing from the record") { $0.tiers.remove(at: t) })
            if tier.notApplicable == nil {
                faults.append(Fault(description: "\(name) op unverified") { $0.tiers[t].opVerdict = .unverified })
                faults.append(Fault(description: "\(name) op failed") { $0.tiers[t].opVerdict = .fail })
            } else {
                faults.append(Fault(description: "\(name) n/a with a failed op") { $0.tiers[t].opVerdict = .fail })
            }
            for (c, check) in tier.checks.enumerated() {
                faults.append(Fault(description: "\(name) \(check.plugin)/\(check.name) unverified") {
                    $0.tiers[t].checks[c].verdict = .unverified
                    $0.tiers[t].checks[c].cause = "the worker crashed"
                })
                faults.append(Fault(description: "\(name) \(check.plugin)/\(check.name) failed") { $0.tiers[t].checks[c].verdict = .fail })
            }
        }
        return faults
    }

    /// Every (shape, fault) pair.
    static var faultyRuns: [(name: String, record: RunRecord)] {
        shapes.flatMap { shape -> [(String, RunRecord)] in
            let green = green(shape)
            return faults(green).map { fault in
                var record = green
                fault.apply(&record)
                return ("\(shape): \(fault)", record)
            }
        }
    }
}

@Suite("The one judgement")
struct JudgementTests {
    /// What every reader of a run makes of it: the exit status, the promote gate, and each format.
    struct Readings {
        var exitStatus: Int32
        var promotion: PromoteGate.Decision
        var consoleLastLine: String
        var jsonVerdict: String?
        var junitFailuresAndErrors: Int
        var markdownSaysRed: Bool

        init(_ record: RunRecord) throws {
            exitStatus = record.exitStatus
            promotion = PromoteGate.decide(PromotionCandidate(record, fromPullRequest: false))
            consoleLastLine = RunReport.console(record).split(separator: "\n").last.map(String.init) ?? ""
            let object = try JSONSerialization.jsonObject(with: try RunReport.json(record)) as? [String: Any]
            jsonVerdict = object?["verdict"] as? String
            let junit = try #require(JUnitCounter.count(RunReport.junit(record)))
            junitFailuresAndErrors = junit.failures + junit.errors
            let markdown = RunReport.markdown(record)
            markdownSaysRed = markdown.hasPrefix("## ❌") && markdown.contains("**RED**")
        }

        var allRed: Bool {
            exitStatus == 1 && promotion != .promote(version: "1.1.0+1") && consoleLastLine.hasPrefix("RED")
                && (jsonVerdict == "fail" || jsonVerdict == "unverified") && junitFailuresAndErrors > 0 && markdownSaysRed
        }

        /// Green everywhere; promoted when the run was full (it planned install, upgrade, backup and restore).
        func allGreen(full: Bool) -> Bool {
            let gate = full ? promotion == .promote(version: "1.1.0+1")
                : promotion == .refuse(reasons: ["the run did not plan every tier that deploys (install, upgrade, backup, restore)"])
            return exitStatus == 0 && gate && consoleLastLine == "GREEN"
                && (jsonVerdict == "pass" || jsonVerdict == "skip") && junitFailuresAndErrors == 0 && !markdownSaysRed
        }
    }

    @Test("every green shape reads green everywhere: exit 0, promoted when full, and every format says so",
          arguments: Facts.shapes.map(\.description))
    func greenShapesAreGreen(shape: String) throws {
        let shape = try #require(Facts.shapes.first { $0.description == shape })
        let record = Facts.green(shape)
        #expect(record.judgement.verdict == .pass)
        let readings = try Readings(record)
        #expect(readings.allGreen(full: Set(shape.stages).isSuperset(of: [.install, .upgrade, .backup, .restore])), "\(readings)")
    }

    @Test("a run with any one fault is RED through the exit status, the promote gate and every renderer, and its level says less than L5")
    func everyFaultIsRed() throws {
        let runs = Facts.faultyRuns
        #expect(runs.count > 300)
        for (name, record) in runs {
            let readings = try Readings(record)
            #expect(readings.allRed, "\(name): \(readings)")
            #expect(!record.judgement.isGreen, "\(name)")
            #expect((record.judgement.level ?? 0) < 5, "\(name): \(record.judgement.levelText)")
        }
    }

    @Test("the stored verdict never decides: a record that says pass about faulty facts still reads RED")
    func storedVerdictIsNotTrusted() throws {
        var record = Facts.green(Facts.shapes[0])
        record.deployCount = 2
        record.verdict = .pass
        record.level = 5
        #expect(try Readings(record).allRed)
        let json = try RunReport.decode(try RunReport.json(record))
        #expect(json.verdict == .fail && json.level == 0)
    }

    @Test("verdicts: the worst outcome wins, skips alone are green", arguments: [
        ("nothing planned, nothing deployed", [Tier](), [Verdict](), 0, Verdict.skip),
        ("only n/a tiers and no deploy", [.backup], [.skip], 0, .skip),
        ("one pass", [.install], [.pass], 1, .pass),
        ("a pass and a skip", [.install, .custom], [.pass, .skip], 1, .pass),
        ("an unverified beats a pass", [.install, .upgrade], [.pass, .unverified], 1, .unverified),
        ("a fail beats an unverified", [.install, .upgrade, .backup], [.pass, .unverified, .fail], 1, .fail),
    ])
    func verdictTruthTable(name: String, tiers: [Tier], opVerdicts: [Verdict], deploys: Int, expected: Verdict) {
        var record = Facts.green(Facts.Shape(stages: [], backupNotApplicable: false, recipeCheck: false))
        record.stages = tiers
        record.tiers = zip(tiers, opVerdicts).map { tier, verdict in
            RunRecord.TierRecord(tier: tier, verdict: verdict, op: tier == .install ? .deploy : .none, opVerdict: verdict,
                                 opDetail: "", checks: [], seconds: 0,
                                 notApplicable: verdict == .skip ? "n/a" : nil, notApplicableExpected: verdict == .skip ? true : nil)
        }
        record.deployCount = deploys
        record.teardown = deploys > 0 ? TeardownResult(removed: ["x"], leftovers: [], seconds: 0) : nil
        #expect(record.judgement.verdict == expected, "\(name): \(record.judgement.outcomes.map { "\($0.name) \($0.verdict)" })")
    }

    @Test("the deploy-count guard and teardown, as rules", arguments: [
        (1, true, true, Verdict.pass, Verdict.pass),
        (0, false, false, .skip, .skip),        // nothing deployed, no teardown needed
        (0, true, true, .fail, .pass),          // an op that needs the app passed, yet nothing was deployed
        (2, true, true, .fail, .pass),
        (1, true, false, .pass, .unverified),   // deployed, never torn down
    ])
    func guardAndTeardown(deploys: Int, opPassed: Bool, tornDown: Bool, guardVerdict: Verdict, teardownVerdict: Verdict) {
        var record = Facts.green(Facts.Shape(stages: [.install], backupNotApplicable: false, recipeCheck: false))
        record.deployCount = deploys
        if !opPassed { record.tiers[0].opVerdict = .fail }
        if !tornDown { record.teardown = nil }
        #expect(Judgement.deployGuard(record).verdict == guardVerdict)
        #expect(Judgement.teardownOutcome(record).verdict == teardownVerdict)
    }

    @Test("levels: the highest rung passed with every rung below passed or skipped on purpose", arguments: [
        ("everything passes, lint clean", Facts.Shape(stages: Tier.allCases, backupNotApplicable: false, recipeCheck: true), nil, 5, "every rung passed"),
        ("no recipe checks", Facts.Shape(stages: Tier.allCases, backupNotApplicable: false, recipeCheck: false), nil, 5, "no recipe checks ran"),
        ("backup n/a", Facts.Shape(stages: Tier.allCases, backupNotApplicable: true, recipeCheck: true), nil, 5, "backup n/a"),
        ("lint warnings", Facts.Shape(stages: Tier.allCases, backupNotApplicable: false, recipeCheck: true), "warnings", 4, "lint has 3 warning(s)"),
        ("lint not selected", Facts.Shape(stages: [.install, .upgrade, .backup, .restore], backupNotApplicable: false, recipeCheck: true), nil, 4, "lint tier was not selected"),
        ("only install", Facts.Shape(stages: [.install], backupNotApplicable: false, recipeCheck: false), nil, 1, "upgrade tier was not selected"),
        ("install fails", Facts.Shape(stages: Tier.allCases, backupNotApplicable: false, recipeCheck: true), "install", 0, "install op: deploy 1.0.0+1 fail"),
        ("upgrade check fails", Facts.Shape(stages: Tier.allCases, backupNotApplicable: false, recipeCheck: true), "upgrade", 1, "generic/readiness fail"),
        ("restore unverified", Facts.Shape(stages: Tier.allCases, backupNotApplicable: false, recipeCheck: true), "restore", 2, "restore op: restore unverified"),
        ("recipe check fails", Facts.Shape(stages: Tier.allCases, backupNotApplicable: false, recipeCheck: true), "recipe", 3, "notes-overlay/notes-install fail"),
        ("leftovers", Facts.Shape(stages: Tier.allCases, backupNotApplicable: false, recipeCheck: true), "leftovers", 0, "teardown"),
        ("lint error", Facts.Shape(stages: Tier.allCases, backupNotApplicable: false, recipeCheck: true), "lint", 4, "lint/R001 fail"),
        ("data check skipped", Facts.Shape(stages: Tier.allCases, backupNotApplicable: false, recipeCheck: true), "no data proof", 2,
         "the data was not proven (cchost/data-proof skip"),
        ("data proof missing", Facts.Shape(stages: Tier.allCases, backupNotApplicable: false, recipeCheck: true), "no proof", 2,
         "cchost/data-proof did not run"),
        ("data proof unverified: nothing seeded", Facts.Shape(stages: Tier.allCases, backupNotApplicable: false, recipeCheck: true), "nothing seeded", 2,
         "cchost/data-proof unverified: nothing seeded"),
    ])
    func levelTruthTable(name: String, shape: Facts.Shape, fault: String?, level: Int, reason: String) {
        var record = Facts.green(shape)
        func tier(_ tier: Tier) -> Int { record.tiers.firstIndex { $0.tier == tier }! }
        switch fault {
        case "warnings": record.tiers[tier(.lint)].lintWarnings = 3
        case "install": record.tiers[tier(.install)].opVerdict = .fail
        case "upgrade": record.tiers[tier(.upgrade)].checks[0].verdict = .fail
        case "restore": record.tiers[tier(.restore)].opVerdict = .unverified
        case "recipe": record.tiers[tier(.install)].checks[1].verdict = .fail
        case "leftovers": record.teardown?.leftovers = ["v"]
        case "lint": record.tiers[tier(.lint)].checks[0].verdict = .fail
        case "no data proof": record.tiers[tier(.restore)].checks[0].verdict = .skip
        case "no proof": record.tiers[tier(.restore)].checks.removeAll { $0.plugin == "cchost" }
        case "nothing seeded":
            record.tiers[tier(.restore)].checks[0].verdict = .unverified
            record.tiers[tier(.restore)].checks[0].detail = "nothing seeded: the backup holds nothing a fresh install lacks"
        default: break
        }
        let judgement = record.judgement
        #expect(judgement.level == level, "\(name): \(judgement.levelText)")
        #expect(judgement.levelReason.contains(reason), "\(name): \(judgement.levelText)")
    }

    @Test("an aborted run stops the ladder at the first rung that did not pass")
    func abortedLevel() {
        var record = Facts.green(Facts.Shape(stages: Tier.allCases, backupNotApplicable: false, recipeCheck: false))
        record.aborted = "upgrade failed"
        #expect(record.judgement.level == 0)
        record.tiers[2].opVerdict = .fail
        #expect(record.judgement.level == 1 && record.judgement.levelReason.contains("upgrade"), "\(record.judgement.levelText)")
    }

    @Test("warm and quick runs have no level, whatever they passed", arguments: [RunRecord.Start.warm, .quick])
    func warmRunsHaveNoLevel(start: RunRecord.Start) {
        var record = Facts.green(Facts.shapes[0])
        record.start = start
        #expect(record.judgement.level == nil && record.judgement.isGreen)
        #expect(record.judgement.levelText == "no level — \(start.rawValue) runs have no level")
    }

    @Test("cchost.run/1 ops decode to the enum with the ref in its own field", arguments: [
        ("deploy 1.0.0+1", RunRecord.Op.deploy, "1.0.0+1" as String?),
        ("chaos redeploy to main", .chaosRedeploy, "main"),
        ("chaos redeploy", .chaosRedeploy, nil),
        ("none (custom checks only)", .none, nil),
        ("none", .none, nil),
        ("", .none, nil),
        ("backup", .backup, nil),
    ])
    func legacyOps(text: String, op: RunRecord.Op, ref: String?) throws {
        let json = #"{"tier": "install", "verdict": "pass", "op": "\#(text)", "op_verdict": "pass", "op_detail": "", "checks": [], "seconds": 0}"#
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let tier = try decoder.decode(RunRecord.TierRecord.self, from: Data(json.utf8))
        #expect(tier.op == op && tier.opRef == ref)
    }

    @Test("an op that is neither an op nor a cchost.run/1 op is a decoding error naming it")
    func unknownOp() {
        let json = #"{"tier": "install", "verdict": "pass", "op": "teleport", "op_verdict": "pass", "op_detail": "", "checks": [], "seconds": 0}"#
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        #expect { try decoder.decode(RunRecord.TierRecord.self, from: Data(json.utf8)) } throws: { "\($0)".contains("'teleport' is not an op") }
    }
}
