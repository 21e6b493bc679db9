import Foundation

/// Markdown for a PR comment, bounded in size.
extension RunReport {
    /// The largest Markdown report, in UTF-8 bytes: below GitHub's 65,536-character comment limit.
    static let markdownLimit = 60_000
    /// The longest detail shown in a Markdown table cell, in characters.
    static let markdownDetailLimit = 300

    /// A PR comment: title, one-line summary, tier table, every non-passing check in a `<details>`
    /// block, then deploy count, generic suite and teardown. Always under 60 KB: long details are cut
    /// with `…`, and when the block would still be too long, the rest is counted and left to the JSON.
    public static func markdown(_ record: RunRecord, secrets: [String] = []) -> String {
        let record = redacted(record, secrets: secrets)
        let judgement = record.judgement
        let all = judgement.outcomes
        var cut = false
        func cell(_ value: String, limit: Int = markdownDetailLimit) -> String {
            // Only a bounded prefix is cleaned up: details can be megabytes of output.
            let prefix = value.prefix(limit * 4)
            let line = oneLine(String(prefix))
            guard line.count > limit || prefix.endIndex != value.endIndex else { return markdownEscaped(line) }
            cut = true
            return markdownEscaped(String(line.prefix(limit - 1)) + "…")
        }

        var head: [String] = []
        head.append("## \(judgement.isGreen ? "✅" : "❌") \(cell(record.recipe, limit: 100)) @ \(cell(describe(record.head), limit: 100))")
        head.append("")
        var line = judgement.isGreen ? "**GREEN**" : "**RED**: \(judgement.failed) failed, \(judgement.unverified) unverified"
        line += " · \(judgement.passed) passed, \(judgement.skipped) skipped"
        if let base = record.base { line += " · \(cell(describe(base), limit: 100)) → \(cell(describe(record.head), limit: 100))" }
        line += " · \(cell(record.backend, limit: 40)) · run \(cell(record.id, limit: 100))"
        head.append(line)
        if let aborted = record.aborted { head += ["", "**Aborted:** \(cell(aborted, limit: 1000))"] }
        for allowed in record.allowances ?? [] { head += ["", "**Allowed by the operator:** \(cell(allowed, limit: 1000))"] }
        head += ["", "| tier | op | verdict | time |", "|---|---|---|---|"]
        for entry in tierEntries(record) {
            switch entry {
            case .missing(let tier):
                head.append("| \(tier.rawValue) | — | **not run**: \(cell(missingReason(record))) | — |")
            case .recorded(let tier):
                if tier.notApplicable != nil {
                    head.append("| \(tier.tier.rawValue) | — | \(cell(naText(tier))) | \(seconds(tier.seconds)) |")
                } else {
                    var verdict = emphasized(tier.verdict)
                    if tier.checks.isEmpty { verdict += tier.opVerdict == .pass ? " (no checks ran)" : " (checks did not run)" }
                    head.append("| \(tier.tier.rawValue) | \(cell(tier.opDescription, limit: 60)) (\(emphasized(tier.opVerdict))) | \(verdict) | \(seconds(tier.seconds)) |")
                }
            }
        }

        var tail: [String] = [""]
        let guardResult = Judgement.deployGuard(record)
        tail.append(guardResult.verdict == .fail
                    ? "- **Deploys: \(record.deployCount) — deploy-count guard failed:** \(cell(guardResult.reason))"
                    : "- **Deploys:** \(record.deployCount)" + (guardResult.verdict == .skip ? " (\(guardResult.reason))" : ""))
        tail.append("- **Generic suite:** " + (record.generic.isEmpty ? "not recorded" : cell(record.generic)))
        tail.append("- **Level:** " + cell(judgement.levelText, limit: 400))
        let teardown = Judgement.teardownOutcome(record)
        tail.append("- **Teardown:** \(emphasized(teardown.verdict)): \(cell(teardown.reason, limit: 1000))")

        // Every non-passing check (and op, and tier that never ran), worst first.
        func severity(_ verdict: Verdict) -> Int {
            switch verdict {
            case .fail: 0
            case .unverified: 1
            case .skip: 2
            case .pass: 3
            }
        }
        let notPassing = all.enumerated().filter { _, outcome in
            switch outcome.kind {
            case .check: outcome.verdict != .pass
            case .op, .notRun: outcome.verdict == .fail || outcome.verdict == .unverified
            case .deployGuard, .teardown, .aborted, .genericSuite: false
            }
        }
        .sorted { (severity($0.element.verdict), $0.offset) < (severity($1.element.verdict), $1.offset) }
        .map(\.element)

        func row(_ outcome: Outcome) -> String {
            var detail = outcome.detail
            if outcome.verdict == .unverified, !outcome.reason.isEmpty, outcome.reason != outcome.detail {
                detail = outcome.detail.isEmpty ? outcome.reason : "\(outcome.reason) — \(outcome.detail)"
            }
            return "| \(cell(outcome.tier?.rawValue ?? "run", limit: 20)) | \(cell(outcome.plugin ?? "(host)", limit: 80)) "
                + "| \(cell(outcome.name, limit: 120)) | \(emphasized(outcome.verdict)) | \(cell(detail)) |"
        }

        var details: [String] = []
        if !notPassing.isEmpty {
            details += ["", "<details>",
                        "<summary>\(notPassing.count) check\(notPassing.count == 1 ? "" : "s") not passing</summary>", "",
                        "| tier | plugin | check | verdict | detail |", "|---|---|---|---|---|"]
            // Keep the whole comment under the limit: rows that do not fit are counted instead.
            let fixed = (head + tail).joined(separator: "\n").utf8.count + 1_000
            var used = details.joined(separator: "\n").utf8.count
            var shown = 0
            for outcome in notPassing {
                let line = row(outcome)
                guard fixed + used + line.utf8.count + 1 < markdownLimit else { break }
                details.append(line)
                used += line.utf8.count + 1
                shown += 1
            }
            details.append("")
            if shown < notPassing.count {
                details.append("_\(notPassing.count - shown) more not shown, to keep this comment under 60 KB: the JSON report has every check._")
                details.append("")
            }
            details.append("</details>")
        }
        var lines = head + details + tail
        if cut {
            lines += ["", "_Details longer than \(markdownDetailLimit) characters are cut at …; the JSON report has them in full._"]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func emphasized(_ verdict: Verdict) -> String {
        switch verdict {
        case .fail, .unverified: "**\(verdict.rawValue)**"
        case .pass, .skip: verdict.rawValue
        }
    }

    /// Text safe in a Markdown table cell: `|`, backticks and the characters that start emphasis,
    /// links or HTML are backslash-escaped, so a check's output renders as the text it is.
    static func markdownEscaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "\\", "|", "`", "*", "_", "[", "]", "<", ">", "~", "&", "#", "!":
                out.append("\\")
                out.append(character)
            default:
                out.append(character)
            }
        }
        return out
    }
}
