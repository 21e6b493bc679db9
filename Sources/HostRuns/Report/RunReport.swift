import Foundation
import HostBase
import PluginChannel

/// Renders a `RunRecord` for people and for machines: the console summary at the end of
/// `cchost run`, the JSON record, JUnit XML for CI dashboards and Markdown for a PR comment.
///
/// Every renderer is a pure function of the record and reads the record's one judgement
/// (`Judgement`): the same outcomes, verdict and level, so the counts agree across formats and none
/// of them reads better than the run. Presentation only is decided here.
///
/// `secrets` are values to keep out of the output: every renderer passes the record's free text
/// (check detail and cause, op detail and ref, n/a reason, generic suite status, aborted) through
/// `redact(_:secrets:)` first.
public enum RunReport {
    /// The `schema` field of the JSON report.
    public static let schema = "cchost.run/2"

    // MARK: - Redaction

    /// `text` with every secret value of 8 characters or more replaced (see `Redactor`).
    public static func redact(_ text: String, secrets: [String]) -> String { Redactor(secrets).redact(text) }

    /// The record with `redact` applied to all of its free text.
    static func redacted(_ record: RunRecord, secrets: [String]) -> RunRecord { redacted(record, by: Redactor(secrets)) }

    public static func redacted(_ record: RunRecord, by redactor: Redactor) -> RunRecord {
        guard !redactor.isEmpty else { return record }
        var record = record
        record.repository = redactor.redact(record.repository)
        record.generic = redactor.redact(record.generic)
        record.aborted = record.aborted.map(redactor.redact)
        record.retentionProblem = record.retentionProblem.map(redactor.redact)
        record.allowances = record.allowances.map { $0.map(redactor.redact) }
        record.levelReason = record.levelReason.map(redactor.redact)
        record.tiers = record.tiers.map { redacted($0, by: redactor) }
        return record
    }

    /// One tier's record with `redact` applied to all of its free text (what a tier's event shows).
    public static func redacted(_ tier: RunRecord.TierRecord, by redactor: Redactor) -> RunRecord.TierRecord {
        guard !redactor.isEmpty else { return tier }
        var tier = tier
        tier.opDetail = redactor.redact(tier.opDetail)
        tier.opRef = tier.opRef.map(redactor.redact)
        tier.notApplicable = tier.notApplicable.map(redactor.redact)
        for c in tier.checks.indices {
            tier.checks[c].detail = redactor.redact(tier.checks[c].detail)
            tier.checks[c].cause = tier.checks[c].cause.map(redactor.redact)
        }
        return tier
    }

    // MARK: - What every format states

    /// The judgement every format reads (`Judgement`): outcomes, verdict, level.
    typealias Outcome = Judgement.Outcome

    static func tierEntries(_ record: RunRecord) -> [Judgement.TierEntry] { Judgement.tierEntries(record) }
    static func missingReason(_ record: RunRecord) -> String { Judgement.missingReason(record) }
    static func naText(_ tier: RunRecord.TierRecord) -> String { Judgement.naText(tier) }
    static func checkOutcome(_ check: RunRecord.CheckRecord, tier: Tier) -> Outcome { Judgement.checkOutcome(check, tier: tier) }

    // MARK: - Text helpers

    /// One line: control characters dropped, runs of whitespace (newlines included) as one space.
    static func oneLine(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        var pendingSpace = false
        for scalar in text.unicodeScalars {
            if scalar.properties.isWhitespace {
                pendingSpace = !out.isEmpty
            } else if scalar.properties.generalCategory == .control {
                continue
            } else {
                if pendingSpace { out.append(" ") }
                pendingSpace = false
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// At most `limit` characters, the last of them `…` when cut.
    static func truncated(_ text: String, to limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(max(0, limit - 1))) + "…"
    }

    static func seconds(_ value: Double) -> String {
        guard value.isFinite else { return "?" }
        return String(format: "%.1fs", value)
    }

    static func shortCommit(_ commit: String) -> String { String(commit.prefix(7)) }

    /// `ref (abc1234)`, or just the short commit when the ref is the commit.
    static func describe(_ ref: RunRecord.Ref) -> String {
        let short = shortCommit(ref.commit)
        if ref.ref.isEmpty || ref.ref == ref.commit || (ref.ref.count >= 7 && ref.commit.hasPrefix(ref.ref)) { return short }
        if let version = ref.version, version != ref.ref { return "\(ref.ref) [\(version)] (\(short))" }
        return "\(ref.ref) (\(short))"
    }

    static func iso8601(_ date: Date) -> String { date.formatted(.iso8601) }

    // MARK: - Console

    /// The summary a person reads at the end of `cchost run`. Plain text unless `color`.
    public static func console(_ record: RunRecord, color: Bool = false, secrets: [String] = []) -> String {
        let record = redacted(record, secrets: secrets)
        let judgement = record.judgement
        let paint = Painter(enabled: color)
        let detailWidth = 90
        var lines: [String] = []

        lines.append("cchost run \(oneLine(record.id)) (\(record.trigger.rawValue))")
        lines.append("  recipe     \(oneLine(record.recipe))" + (record.repository.isEmpty ? "" : "  \(oneLine(record.repository))"))
        if let base = record.base {
            lines.append("  change     \(oneLine(describe(base))) → \(oneLine(describe(record.head)))")
        } else {
            lines.append("  head       \(oneLine(describe(record.head))) (no base: nothing to upgrade from)")
        }
        if let canonical = record.startedFrom {
            lines.append("  start      \(record.start.rawValue): a copy of the canonical's data (\(oneLine(canonical.version)), run \(oneLine(canonical.runID)))")
        }
        lines.append("  backend    \(oneLine(record.backend))" + (record.backendVersion.map { " \(oneLine($0))" } ?? ""))
        for (index, allowed) in (record.allowances ?? []).enumerated() {
            lines.append((index == 0 ? "  allowed    " : "             ") + oneLine(allowed))
        }
        lines.append("  domain     \(oneLine(record.domain))")
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
            if case .recorded(let t) = entry { return oneLine(t.opDescription).count + 2 }
            return 0
        }.max() ?? 0
        let longestCheck = record.tiers.flatMap(\.checks).map { oneLine("\($0.plugin)/\($0.name)").count + 1 }.max() ?? 0
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
                             + paint(.unverified, "not run") + ": " + truncated(oneLine(missingReason(record)), to: detailWidth))
            case .recorded(let tier):
                if tier.notApplicable != nil {
                    lines.append("  " + pad(tier.tier.rawValue, tierWidth) + truncated(oneLine(naText(tier)), to: detailWidth + opWidth))
                } else {
                    lines.append(row(tier.tier.rawValue, truncated(oneLine(tier.opDescription), to: opWidth - 2),
                                     paint(tier.opVerdict, pad(tier.opVerdict.rawValue, verdictWidth)),
                                     paint(tier.verdict, pad(tier.verdict.rawValue, verdictWidth)),
                                     seconds(tier.seconds)))
                    if tier.opVerdict != .pass, !oneLine(tier.opDetail).isEmpty {
                        lines.append("    op: " + truncated(oneLine(tier.opDetail), to: detailWidth + opWidth))
                    }
                }
                let nameWidth = tierWidth + opWidth - 2
                for check in tier.checks {
                    let outcome = checkOutcome(check, tier: tier.tier)
                    let name = oneLine("\(check.plugin)/\(check.name)")
                    lines.append("    " + pad(name, nameWidth) + paint(check.verdict, pad(check.verdict.rawValue, verdictWidth))
                                 + truncated(oneLine(outcome.reason), to: detailWidth))
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
            lines.append(paint(.fail, "  deploys    \(record.deployCount)  !!! DEPLOY-COUNT GUARD FAILED: \(guardResult.reason) !!!"))
        } else {
            lines.append("  deploys    \(record.deployCount)" + (guardResult.verdict == .skip ? " (\(guardResult.reason))" : ""))
        }
        lines.append("  generic    " + (record.generic.isEmpty ? "(not recorded)" : truncated(oneLine(record.generic), to: detailWidth)))
        let teardown = Judgement.teardownOutcome(record)
        lines.append("  teardown   " + paint(teardown.verdict, oneLine(teardown.reason)))
        lines.append("  level      " + oneLine(judgement.levelText))
        if let retained = record.retainedVolumes {
            lines.append("  retained   " + (retained.isEmpty ? "nothing (the app has no volume)" : oneLine(retained.joined(separator: ", "))))
        } else if let problem = record.retentionProblem {
            lines.append("  retained   " + paint(.fail, "nothing: " + oneLine(problem)))
        }
        if record.artifacts.isEmpty {
            lines.append("  artifacts  none")
        } else {
            for (index, artifact) in record.artifacts.enumerated() {
                lines.append((index == 0 ? "  artifacts  " : "             ") + oneLine(artifact))
            }
        }
        lines.append("")
        let final = judgement.line
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

    // MARK: - JSON

    /// The run record as JSON, schema `cchost.run/2` (judged: verdict and level are the judgement's): pretty-printed, keys sorted and in
    /// snake_case, dates in ISO 8601 (UTC, whole seconds). Optional fields are absent when unset.
    ///
    /// - `schema`: always `"cchost.run/2"`; a new version is a breaking change of this layout.
    ///   (`cchost.run/1` had `op` as free text with the ref in it and no level; it still decodes.)
    /// - `id`: the run id.
    /// - `trigger`: what started the run: `manual`, `sweep` or `webhook`.
    /// - `recipe`: the recipe name; `repository`: where its git repository was fetched from.
    /// - `backend`: the deploy backend (`swarm`, `abra`); `backendVersion` (optional): the version of
    ///   the tool it drives (abra's); `domain`: the test domain of the app.
    /// - `base` (absent for an install-only run) and `head`: the versions deployed, each
    ///   `{ "ref": as given (tag, branch, commit), "commit": full sha, "version": release version when
    ///   the ref is a release tag (optional) }`. Install deploys the base (the head when there is no
    ///   base); upgrade redeploys in place to the head.
    /// - `start`: where the app's data came from: `cold` (fresh volumes), `warm` or `quick` (a copy of
    ///   the canonical's data); `started_from` (warm and quick only): the canonical, `{ "version",
    ///   "commit", "run_id": the run that earned it, "volumes": its retained volumes }`.
    /// - `retained_volumes`: the volumes the run kept for a promotion (sweep runs that passed every
    ///   tier); `retention_problem`: why they could not be kept. Both absent otherwise.
    /// - `stages`: the tiers the run planned, in order (`lint`, `install`, `upgrade`, `backup`,
    ///   `restore`, `custom`).
    /// - `started_at`, `finished_at` (absent while the run is unfinished).
    /// - `tiers`: one object per tier that has a record, in order:
    ///   - `tier`: the tier name; `verdict`: the tier's verdict, the worst of its op and checks.
    ///   - `op`: what the host ran for the tier, once: `lint`, `deploy`, `chaos_redeploy`, `backup`,
    ///     `restore`, or `none` (n/a, never started, or the custom tier's checks only); `op_ref`: the
    ///     ref a `deploy` or `chaos_redeploy` deployed; `op_verdict`; `op_detail`: what the op found.
    ///   - `lint_warnings` (lint tier only): warnings found; they cost level 5, not the verdict.
    ///   - `checks`: one object per check: `plugin` (`generic` for the generic suite), `name`,
    ///     `verdict`, `detail` (what the check found), `cause` (why an `unverified` check gave no
    ///     verdict; optional), `seconds`.
    ///   - `seconds`: the tier's wall time, op and checks.
    ///   - `not_applicable`: why the recipe cannot have this tier (the tier is a skip), and
    ///     `not_applicable_expected`: whether the recipe declared that n/a; both absent otherwise.
    /// - `deploy_count`: fresh deploys of the app in this run; must be exactly 1 when a deploy tier ran.
    /// - `generic`: the generic suite's status (`ran`, or `skipped: <why>`).
    /// - `teardown` (absent when teardown did not run): `removed` (objects removed), `leftovers`
    ///   (objects teardown could not remove; non-empty makes the run red), `unknown` (what could not
    ///   be listed or waited for; non-empty with no leftovers makes teardown unverified), `seconds`.
    /// - `artifacts`: paths of files the run kept (logs, diagnostics).
    /// - `verdict`: the run's verdict; green is `pass` or `skip`.
    /// - `level`: 0–5 (L0 install failed, L1 installs healthy, L2 upgrades in place, L3 data
    ///   proven through backup and restore, L4 recipe checks pass, L5 lint clean), absent for warm
    ///   and quick runs; `level_reason`: why it stopped where it did.
    /// - `aborted`: why the run stopped early, when it did.
    /// - `allowances`: what the operator's allowance let the recipe do that the content policy
    ///   refuses, each `option: finding (file:line)`; absent when it let nothing through.
    ///
    /// Verdicts are one of `pass`, `fail`, `skip` (intentional: declared or structural) and
    /// `unverified` (should have run and did not). No field ever holds a secret; values passed as
    /// `secrets` are replaced with `[redacted]` in every free-text field.
    public static func json(_ record: RunRecord, secrets: [String] = []) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        var judged = redacted(record, secrets: secrets)
        judged.judge()
        return try encoder.encode(Envelope(record: judged))
    }

    /// A record from its JSON: `cchost.run/2`, or `cchost.run/1` as written before.
    public static func decode(_ data: Data) throws -> RunRecord {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(RunRecord.self, from: data)
    }

    /// The record's own keys plus `schema`, in one object.
    private struct Envelope: Encodable {
        let record: RunRecord
        enum Keys: String, CodingKey { case schema }

        func encode(to encoder: any Encoder) throws {
            try record.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(RunReport.schema, forKey: .schema)
        }
    }

    // MARK: - JUnit XML

    /// JUnit XML: one `<testsuite>` per tier (`recipe.tier`) with a testcase for the tier's op and one
    /// per check, and a `recipe.run` suite with the deploy-count guard and teardown. `fail` is a
    /// `<failure>`, `unverified` an `<error>` (with its cause), `skip` and n/a tiers `<skipped>`.
    public static func junit(_ record: RunRecord, secrets: [String] = []) -> String {
        let record = redacted(record, secrets: secrets)
        let all = record.judgement.outcomes
        let recipe = record.recipe
        var suites: [(name: String, outcomes: [Outcome])] = []
        for outcome in all {
            let name = "\(recipe).\(outcome.tier?.rawValue ?? "run")"
            if let last = suites.indices.last, suites[last].name == name { suites[last].outcomes.append(outcome) }
            else { suites.append((name, [outcome])) }
        }
        func counts(_ outcomes: [Outcome]) -> String {
            let time = outcomes.reduce(0) { $0 + $1.seconds }
            return "tests=\"\(outcomes.count)\" failures=\"\(outcomes.filter { $0.verdict == .fail }.count)\" "
                + "errors=\"\(outcomes.filter { $0.verdict == .unverified }.count)\" "
                + "skipped=\"\(outcomes.filter { $0.verdict == .skip }.count)\" time=\"\(junitTime(time))\""
        }
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml += "<testsuites name=\"\(attribute("cchost \(recipe) \(record.id)"))\" \(counts(all))>\n"
        for suite in suites {
            xml += "  <testsuite name=\"\(attribute(suite.name))\" \(counts(suite.outcomes)) "
                + "timestamp=\"\(iso8601(record.startedAt))\">\n"
            if suite.outcomes.first?.tier == nil {
                xml += "    <properties>\n"
                var properties: [(String, String)] = [("run", record.id), ("trigger", record.trigger.rawValue),
                                                      ("head", describe(record.head)), ("backend", record.backend),
                                                      ("domain", record.domain), ("generic", record.generic),
                                                      ("deploy_count", String(record.deployCount)),
                                                      ("verdict", record.judgement.verdict.rawValue),
                                                      ("level", record.judgement.levelText)]
                if let base = record.base { properties.insert(("base", describe(base)), at: 2) }
                if let aborted = record.aborted { properties.append(("aborted", aborted)) }
                properties += (record.allowances ?? []).map { ("allowed", $0) }
                properties += record.artifacts.map { ("artifact", $0) }
                for (name, value) in properties {
                    xml += "      <property name=\"\(attribute(name))\" value=\"\(attribute(value))\"/>\n"
                }
                xml += "    </properties>\n"
            }
            for outcome in suite.outcomes {
                let classname = [suite.name, outcome.plugin].compactMap { $0 }.joined(separator: ".")
                let open = "    <testcase classname=\"\(attribute(classname))\" name=\"\(attribute(outcome.name))\" "
                    + "time=\"\(junitTime(outcome.seconds))\""
                let message = attribute(truncated(oneLine(outcome.reason.isEmpty ? outcome.verdict.rawValue : outcome.reason), to: 500))
                switch outcome.verdict {
                case .pass:
                    xml += open + "/>\n"
                case .fail:
                    xml += open + ">\n      <failure message=\"\(message)\" type=\"fail\">\(text(outcome.text))</failure>\n    </testcase>\n"
                case .unverified:
                    xml += open + ">\n      <error message=\"\(message)\" type=\"unverified\">\(text(outcome.text))</error>\n    </testcase>\n"
                case .skip:
                    xml += open + ">\n      <skipped message=\"\(message)\"/>\n    </testcase>\n"
                }
            }
            xml += "  </testsuite>\n"
        }
        xml += "</testsuites>\n"
        return xml
    }

    static func junitTime(_ seconds: Double) -> String {
        String(format: "%.3f", seconds.isFinite ? max(0, seconds) : 0)
    }

    /// XML text: `&<>"'` as entities, control characters other than tab and newline removed.
    static func text(_ value: String) -> String { xmlEscaped(value, inAttribute: false) }

    /// An XML attribute value: as `text`, with tab and line breaks kept as character references.
    static func attribute(_ value: String) -> String { xmlEscaped(value, inAttribute: true) }

    static func xmlEscaped(_ value: String, inAttribute: Bool) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t": out += inAttribute ? "&#9;" : "\t"
            case "\n": out += inAttribute ? "&#10;" : "\n"
            case "\r": out += inAttribute ? "&#13;" : "\n"
            default:
                // Control characters (C0, DEL, C1) and the non-characters XML 1.0 forbids.
                if scalar.properties.generalCategory == .control || scalar.value == 0xFFFE || scalar.value == 0xFFFF { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    // MARK: - Markdown

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
