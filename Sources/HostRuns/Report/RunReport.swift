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

    /// One line: control characters and bidi overrides (what `TerminalText` escapes) dropped, runs
    /// of whitespace (newlines included) as one space.
    static func oneLine(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        var pendingSpace = false
        for scalar in text.unicodeScalars {
            if scalar.properties.isWhitespace {
                pendingSpace = !out.isEmpty
            } else if TerminalText.isEscaped(scalar) {
                continue
            } else {
                if pendingSpace { out.append(" ") }
                pendingSpace = false
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// One line for a terminal: runs of spaces, tabs and newlines as one space, every other character a
    /// terminal acts on (ESC, CR, bidi overrides, …) shown escaped (`TerminalText`), so the console
    /// shows a hostile recipe's text as the text it is.
    static func terminalLine(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        var pendingSpace = false
        for scalar in text.unicodeScalars {
            if scalar == " " || scalar == "\t" || scalar == "\n" {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(" ") }
                pendingSpace = false
                out.append(scalar)
            }
        }
        return TerminalText.escaped(String(out))
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
}
