import Foundation

/// JUnit XML for CI dashboards.
extension RunReport {
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
}
