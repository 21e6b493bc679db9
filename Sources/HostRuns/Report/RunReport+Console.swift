import Foundation

/// The console summary: what a person reads at the end of `cchost run`. Every text of the record is
/// shown through `terminalLine`: one line, control characters and bidi overrides escaped.
extension RunReport {
    /// The summary a person reads at the end of `cchost run`. Plain text unless `color`.
    public static func console(_ record: RunRecord, color: Bool = false, secrets: [String] = []) -> String {
        let record = redacted(record, secrets: secrets)
        let judgement = record.judgement
        let paint = Painter(enabled: color)
        let detailWidth = 90
        var lines: [String] = []

        lines.append("cchost run \(terminalLine(record.id)) (\(record.trigger.rawValue))")
        lines.append("  recipe     \(terminalLine(record.recipe))" + (record.repository.isEmpty ? "" : "  \(terminalLine(record.repository))"))
        if let base = record.base {
            lines.append("  change     \(terminalLine(describe(base))) → \(terminalLine(describe(record.head)))")
        } else {
            lines.append("  head       \(terminalLine(describe(record.head))) (no base: nothing to upgrade from)")
        }
        if let canonical = record.startedFrom {
            lines.append("  start      \(record.start.rawValue): a copy of the canonical's data (\(terminalLine(canonical.version)), run \(terminalLine(canonical.runID)))")
        }
        lines.append("  backend    \(terminalLine(record.backend))" + (record.backendVersion.map { " \(terminalLine($0))" } ?? ""))
        for (index, allowed) in (record.allowances ?? []).enumerated() {
            lines.append((index == 0 ? "  allowed    " : "             ") + terminalLine(allowed))
        }
        lines.append("  domain     \(terminalLine(record.domain))")
        var started = "  started    \(iso8601(record.startedAt))"
        if let finished = record.finishedAt { started += ", took \(seconds(finished.timeIntervalSince(record.startedAt)))" }
        else { started += ", not finished" }
        lines.append(started)
        lines.append("")

        // The tier table: tier, op, op verdict, tier verdict, seconds; checks indented beneath.
        let entries = tierEntries(record)
        // Check rows are indented by 2 under their tier and span the tier and op columns, so the
        // verdict columns line up; the op column widens to fit the longest check name (up to 40).
        let tierWidth = max(8, entries.map { $0.tier.rawValue.count + 2 }.max() ?? 0)
        let longestOp = entries.map { entry -> Int in
            if case .recorded(let t) = entry { return terminalLine(t.opDescription).count + 2 }
            return 0
        }.max() ?? 0
        let longestCheck = record.tiers.flatMap(\.checks).map { terminalLine("\($0.plugin)/\($0.name)").count + 1 }.max() ?? 0
        let opWidth = max(min(24, max(4, longestOp)), min(40, longestCheck) + 2 - tierWidth)
        let verdictWidth = 12
        func row(_ tier: String, _ op: String, _ opVerdict: String, _ verdict: String, _ time: String) -> String {
            "  " + pad(tier, tierWidth) + pad(op, opWidth) + opVerdict + verdict + time
        }
        lines.append(row("tier", "op", pad("op verdict", verdictWidth), pad("verdict", verdictWidth), "time"))
        for entry in entries {
            switch entry {
            case .missing(let tier):
                lines.append("  " + pad(tier.rawValue, tierWidth)
                             + paint(.unverified, "not run") + ": " + truncated(terminalLine(missingReason(record)), to: detailWidth))
            case .recorded(let tier):
                if tier.notApplicable != nil {
                    lines.append("  " + pad(tier.tier.rawValue, tierWidth) + truncated(terminalLine(naText(tier)), to: detailWidth + opWidth))
                } else {
                    lines.append(row(tier.tier.rawValue, truncated(terminalLine(tier.opDescription), to: opWidth - 2),
                                     paint(tier.opVerdict, pad(tier.opVerdict.rawValue, verdictWidth)),
                                     paint(tier.verdict, pad(tier.verdict.rawValue, verdictWidth)),
                                     seconds(tier.seconds)))
                    if tier.opVerdict != .pass, !terminalLine(tier.opDetail).isEmpty {
                        lines.append("    op: " + truncated(terminalLine(tier.opDetail), to: detailWidth + opWidth))
                    }
                }
                let nameWidth = tierWidth + opWidth - 2
                for check in tier.checks {
                    let outcome = checkOutcome(check, tier: tier.tier)
                    let name = terminalLine("\(check.plugin)/\(check.name)")
                    lines.append("    " + pad(name, nameWidth) + paint(check.verdict, pad(check.verdict.rawValue, verdictWidth))
                                 + truncated(terminalLine(outcome.reason), to: detailWidth))
                }
                if tier.checks.isEmpty, tier.notApplicable == nil {
                    lines.append(tier.opVerdict == .pass
                                 ? "    (no checks ran)"
                                 : "    (checks did not run: the op is \(tier.opVerdict.rawValue))")
                }
            }
        }
        lines.append("")

        let guardResult = Judgement.deployGuard(record)
        if guardResult.verdict == .fail {
            lines.append(paint(.fail, "  deploys    \(record.deployCount)  !!! DEPLOY-COUNT GUARD FAILED: \(terminalLine(guardResult.reason)) !!!"))
        } else {
            lines.append("  deploys    \(record.deployCount)" + (guardResult.verdict == .skip ? " (\(terminalLine(guardResult.reason)))" : ""))
        }
        lines.append("  generic    " + (record.generic.isEmpty ? "(not recorded)" : truncated(terminalLine(record.generic), to: detailWidth)))
        let teardown = Judgement.teardownOutcome(record)
        lines.append("  teardown   " + paint(teardown.verdict, terminalLine(teardown.reason)))
        lines.append("  level      " + terminalLine(judgement.levelText))
        if let retained = record.retainedVolumes {
            lines.append("  retained   " + (retained.isEmpty ? "nothing (the app has no volume)" : terminalLine(retained.joined(separator: ", "))))
        } else if let problem = record.retentionProblem {
            lines.append("  retained   " + paint(.fail, "nothing: " + terminalLine(problem)))
        }
        if record.artifacts.isEmpty {
            lines.append("  artifacts  none")
        } else {
            for (index, artifact) in record.artifacts.enumerated() {
                lines.append((index == 0 ? "  artifacts  " : "             ") + terminalLine(artifact))
            }
        }
        lines.append("")
        let final = terminalLine(judgement.line)
        lines.append(judgement.isGreen ? paint(.pass, final) : paint(.fail, final))
        return lines.joined(separator: "\n") + "\n"
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }

    /// ANSI colours for verdicts, or nothing.
    struct Painter {
        var enabled: Bool
        func callAsFunction(_ verdict: Verdict, _ text: String) -> String {
            guard enabled else { return text }
            let code = switch verdict {
            case .pass: "32"
            case .fail: "1;31"
            case .unverified: "33"
            case .skip: "2"
            }
            return "\u{1B}[\(code)m\(text)\u{1B}[0m"
        }
    }
}
