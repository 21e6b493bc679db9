import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import HostDocker
@testable import HostRuns
import PluginChannel
import Testing

/// Run records built by hand: one per kind of run the reports must tell apart.
enum SampleRuns {
    static let started = Date(timeIntervalSince1970: 1_750_000_000)

    static func check(_ plugin: String, _ name: String, _ verdict: Verdict = .pass, _ detail: String = "ok",
                      cause: String? = nil, seconds: Double = 0.5) -> RunRecord.CheckRecord {
        RunRecord.CheckRecord(plugin: plugin, name: name, verdict: verdict, detail: detail, cause: cause, seconds: seconds)
    }

    static func tier(_ tier: Tier, op: RunRecord.Op, ref: String? = nil, _ opVerdict: Verdict = .pass, detail: String = "",
                     checks: [RunRecord.CheckRecord], seconds: Double = 10, warnings: Int? = nil) -> RunRecord.TierRecord {
        RunRecord.TierRecord(tier: tier, verdict: RunRecord.tierVerdict(op: opVerdict, checks: checks.map(\.verdict)),
                             op: op, opRef: ref, opVerdict: opVerdict, opDetail: detail, checks: checks, seconds: seconds,
                             lintWarnings: warnings)
    }

    static func notApplicable(_ tier: Tier, declared: Bool) -> RunRecord.TierRecord {
        let reason = "no service has backupbot.backup=true"
        return RunRecord.TierRecord(tier: tier, verdict: .skip, op: .none, opVerdict: .skip, opDetail: reason, checks: [],
                                    seconds: 0, notApplicable: reason, notApplicableExpected: declared)
    }

    static func judged(_ record: RunRecord) -> RunRecord {
        var record = record
        record.judge()
        return record
    }

    /// Every tier passes: 5 ops, 6 checks, the deploy guard and teardown = 13 outcomes.
    static var green: RunRecord {
        judged(RunRecord(
            id: "20250615-120000-custom-html-ab12", trigger: .manual, recipe: "custom-html",
            repository: "https://git.coopcloud.tech/coop-cloud/custom-html.git", backend: "swarm",
            domain: "ch-ab12.ci.example",
            base: RunRecord.Ref(ref: "1.6.0+1.27.2", commit: "1111111aaaaaaabbbbbbbcccccccdddddddeeeee", version: "1.6.0+1.27.2"),
            head: RunRecord.Ref(ref: "main", commit: "2222222fffffff0000000111111122222223333", version: nil),
            stages: [.lint, .install, .upgrade, .backup, .restore],
            startedAt: started, finishedAt: started.addingTimeInterval(95),
            tiers: [
                tier(.lint, op: .lint, detail: "0 error(s), 1 warning(s)", checks: [check("lint", "R001")], seconds: 1, warnings: 1),
                tier(.install, op: .deploy, detail: "converged", checks: [check("generic", "http_ok", .pass, "200 OK"),
                                                                          check("generic", "services_running")], seconds: 40),
                tier(.upgrade, op: .chaosRedeploy, detail: "converged at 2222222", checks: [check("generic", "http_ok")], seconds: 30),
                tier(.backup, op: .backup, detail: "1 archive(s), 2048 bytes", checks: [check("generic", "backup_archives")]),
                tier(.restore, op: .restore, detail: "restored 1 archive(s)", checks: [check("generic", "marker_restored")]),
            ],
            deployCount: 1, generic: "ran",
            teardown: TeardownResult(removed: ["custom-html_ab12_app", "custom-html_ab12_default"], leftovers: [], seconds: 2.5),
            artifacts: ["runs/20250615-120000-custom-html-ab12/diagnostics.txt"], verdict: .unverified, aborted: nil))
    }

    /// Green with one more install check, as given.
    static func withInstallCheck(_ added: RunRecord.CheckRecord, to record: RunRecord = green) -> RunRecord {
        var record = record
        let install = record.tiers[1]
        record.tiers[1] = tier(.install, op: install.op, ref: install.opRef, install.opVerdict, detail: install.opDetail,
                               checks: install.checks + [added], seconds: install.seconds)
        return judged(record)
    }

    /// A failed overlay check: 14 outcomes, 1 failure.
    static var red: RunRecord {
        withInstallCheck(check("custom-html", "login_page", .fail, "expected 200 from /login, got 500: body `<h1>Oops | error</h1>`"))
    }

    /// A plugin check that crashed: 14 outcomes, 1 error.
    static var crashed: RunRecord {
        withInstallCheck(check("custom-html", "admin_panel", .unverified, "",
                               cause: "the worker died of signal 11 (SIGSEGV) during admin_panel"))
    }

    /// Backup and restore n/a (no backup labels), declared expected or not: 11 outcomes, 2 skipped.
    static func noBackups(declared: Bool, from record: RunRecord = green) -> RunRecord {
        var record = record
        record.tiers[3] = notApplicable(.backup, declared: declared)
        record.tiers[4] = notApplicable(.restore, declared: declared)
        return judged(record)
    }

    /// The red run with n/a backup and restore tiers: 12 outcomes.
    static var redWithoutBackups: RunRecord { noBackups(declared: false, from: red) }

    /// Install's deploy went unverified, the run aborted, upgrade never got a record: lint op and
    /// check pass, install op and upgrade unverified, deploy guard and teardown skipped = 6 outcomes.
    static var aborted: RunRecord {
        var record = green
        record.stages = [.lint, .install, .upgrade]
        record.tiers = [record.tiers[0],
                        tier(.install, op: .deploy, .unverified, detail: "docker: Cannot connect to the Docker daemon", checks: [], seconds: 3)]
        record.deployCount = 0
        record.teardown = nil
        record.aborted = "the Docker daemon went away during install"
        return judged(record)
    }

    /// Teardown could not remove a volume: 13 outcomes, 1 failure.
    static var leftovers: RunRecord {
        var record = green
        record.teardown = TeardownResult(removed: ["custom-html_ab12_app"], leftovers: ["custom-html_ab12_content"], seconds: 31)
        return judged(record)
    }

    /// Teardown could not list the volumes: nothing seen left, but not known clean: 13 outcomes, 1 unverified.
    static var teardownUnknown: RunRecord {
        var record = green
        record.teardown = TeardownResult(removed: ["service custom-html_ab12_app"], leftovers: [],
                                         unknown: ["the volumes could not be listed: connection refused"], seconds: 2)
        return judged(record)
    }

    /// A warm run: started from a copy of the canonical's volumes (its record says which).
    static var warm: RunRecord {
        var record = green
        record.start = .warm
        record.startedFrom = RunRecord.CanonicalStart(version: "1.6.0+1.27.2", commit: "1111111aaaaaaabbbbbbbcccccccdddddddeeeee",
                                                      runID: "20250601-090000-custom-html-cd34", volumes: ["warm-custom-html-content"])
        return judged(record)
    }

    /// Two deploys in one run, even though every tier passed: 13 outcomes, 1 failure (the guard).
    static var twoDeploys: RunRecord {
        var record = green
        record.deployCount = 2
        return judged(record)
    }

    static let all: [(name: String, record: RunRecord)] = [
        ("green", green), ("red", red), ("crashed", crashed), ("n/a declared", noBackups(declared: true)),
        ("n/a undeclared", noBackups(declared: false)), ("red with n/a", redWithoutBackups), ("aborted", aborted),
        ("leftovers", leftovers), ("two deploys", twoDeploys), ("teardown unknown", teardownUnknown), ("warm", warm),
    ]
}

/// Counts what a JUnit document holds, and checks every suite's attributes against its children.
final class JUnitCounter: NSObject, XMLParserDelegate {
    var suites: [String] = []
    var classnames: [String] = []
    var testcases = 0, failures = 0, errors = 0, skipped = 0
    var messages: [String] = []
    var text = ""
    var root: [String: String] = [:]
    var mismatches: [String] = []
    private var suite: (attributes: [String: String], tests: Int, failures: Int, errors: Int, skipped: Int)?

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes: [String: String] = [:]) {
        switch elementName {
        case "testsuites": root = attributes
        case "testsuite":
            suites.append(attributes["name"] ?? "")
            suite = (attributes, 0, 0, 0, 0)
        case "testcase":
            testcases += 1
            suite?.tests += 1
            classnames.append("\(attributes["classname"] ?? "") \(attributes["name"] ?? "")")
        case "failure": failures += 1; suite?.failures += 1
        case "error": errors += 1; suite?.errors += 1
        case "skipped": skipped += 1; suite?.skipped += 1
        default: break
        }
        if let message = attributes["message"] { messages.append(message) }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        guard elementName == "testsuite", let suite else { return }
        let counted = ["tests": suite.tests, "failures": suite.failures, "errors": suite.errors, "skipped": suite.skipped]
        for (key, value) in counted where suite.attributes[key] != String(value) {
            mismatches.append("\(suite.attributes["name"] ?? "?") \(key)=\(suite.attributes[key] ?? "nil"), counted \(value)")
        }
        self.suite = nil
    }

    /// Parses `xml`; nil when it is not well-formed.
    static func count(_ xml: String) -> JUnitCounter? {
        let parser = XMLParser(data: Data(xml.utf8))
        let counter = JUnitCounter()
        parser.delegate = counter
        return parser.parse() ? counter : nil
    }
}

@Suite("RunReport renders run records")
struct RunReportTests {
    // MARK: Console

    @Test("the console header names the recipe, base and head with short commits, backend, domain and run id")
    func consoleHeader() {
        let text = RunReport.console(SampleRuns.green)
        #expect(text.contains("cchost run 20250615-120000-custom-html-ab12 (manual)"))
        #expect(text.contains("recipe     custom-html  https://git.coopcloud.tech/coop-cloud/custom-html.git"))
        #expect(text.contains("change     1.6.0+1.27.2 (1111111) → main (2222222)"))
        #expect(text.contains("backend    swarm"))
        #expect(text.contains("domain     ch-ab12.ci.example"))
        #expect(text.contains("took 95.0s"))
    }

    @Test("a green run ends GREEN, with a row per tier and per check and no colours")
    func consoleGreen() throws {
        let lines = RunReport.console(SampleRuns.green).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.dropLast().last == "GREEN")
        let install = try #require(lines.first { $0.hasPrefix("  install") })
        #expect(install.split(separator: " ").map(String.init) == ["install", "deploy", "pass", "pass", "40.0s"])
        #expect(lines.contains { $0.hasPrefix("    generic/http_ok") && $0.contains("pass") && $0.hasSuffix("200 OK") })
        #expect(lines.contains("  deploys    1"))
        #expect(lines.contains("  generic    ran"))
        #expect(lines.contains("  teardown   removed 2 object(s), no leftovers"))
        #expect(lines.contains("  artifacts  runs/20250615-120000-custom-html-ab12/diagnostics.txt"))
        #expect(!lines.joined().contains("\u{1B}"))
    }

    @Test("color adds ANSI escapes around verdicts and the final line, and only when asked")
    func consoleColor() {
        let coloured = RunReport.console(SampleRuns.red, color: true)
        #expect(coloured.contains("\u{1B}[1;31mRED: 1 failed, 0 unverified\u{1B}[0m"))
        #expect(coloured.contains("\u{1B}[32mpass"))
        #expect(!RunReport.console(SampleRuns.red).contains("\u{1B}"))
    }

    @Test("the final line counts failed and unverified outcomes, and says why a run aborted", arguments: [
        ("green", SampleRuns.green, "GREEN"),
        ("red", SampleRuns.red, "RED: 1 failed, 0 unverified"),
        ("crashed", SampleRuns.crashed, "RED: 0 failed, 1 unverified"),
        ("n/a undeclared", SampleRuns.noBackups(declared: false), "GREEN"),
        ("aborted", SampleRuns.aborted, "RED: 0 failed, 3 unverified; aborted: the Docker daemon went away during install"),
        ("leftovers", SampleRuns.leftovers, "RED: 1 failed, 0 unverified"),
        ("two deploys", SampleRuns.twoDeploys, "RED: 1 failed, 0 unverified"),
    ])
    func consoleFinalLine(name: String, record: RunRecord, expected: String) {
        let lines = RunReport.console(record).split(separator: "\n").map(String.init)
        #expect(lines.last == expected, "\(name)")
    }

    @Test("a failed check shows its verdict and detail under its tier")
    func consoleFailedCheck() {
        let lines = RunReport.console(SampleRuns.red).split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("  install") && $0.contains("pass") && $0.contains("fail") })
        #expect(lines.contains { $0.hasPrefix("    custom-html/login_page") && $0.contains(" fail ")
                && $0.contains("expected 200 from /login, got 500") })
        #expect(lines.contains { $0.hasPrefix("    generic/services_running") && $0.contains(" pass ") })
    }

    @Test("check verdicts line up under the op verdict column, even for long check names")
    func consoleAlignment() throws {
        let lines = RunReport.console(SampleRuns.crashed).split(separator: "\n").map(String.init)
        let header = try #require(lines.first { $0.hasPrefix("  tier") })
        let column = try #require(header.range(of: "op verdict")).lowerBound.utf16Offset(in: header)
        let rows = lines.filter { $0.hasPrefix("    ") && $0.contains("/") } + lines.filter { $0.hasPrefix("  install") }
        #expect(rows.count == 8)
        for row in rows {
            let verdict = row.dropFirst(column).prefix { $0 != " " }
            #expect(Verdict(rawValue: String(verdict)) != nil, "\(row)")
        }
    }

    @Test("a crashed plugin check shows unverified with its cause")
    func consoleUnverifiedCheck() {
        let text = RunReport.console(SampleRuns.crashed)
        #expect(text.contains("unverified  the worker died of signal 11 (SIGSEGV) during admin_panel"))
    }

    @Test("an n/a tier shows n/a and its reason, flagged when the recipe did not declare it", arguments: [true, false])
    func consoleNotApplicable(declared: Bool) throws {
        let lines = RunReport.console(SampleRuns.noBackups(declared: declared)).split(separator: "\n").map(String.init)
        let backup = try #require(lines.first { $0.hasPrefix("  backup") })
        #expect(backup.contains("n/a: no service has backupbot.backup=true"))
        #expect(backup.contains("(not declared expected)") == !declared)
        #expect(!backup.contains("pass"))
        #expect(!lines.contains { $0.contains("checks did not run") })
    }

    @Test("an aborted run says which checks did not run and which tiers never started")
    func consoleAborted() {
        let lines = RunReport.console(SampleRuns.aborted).split(separator: "\n").map(String.init)
        #expect(lines.contains("    op: docker: Cannot connect to the Docker daemon"))
        #expect(lines.contains("    (checks did not run: the op is unverified)"))
        #expect(lines.contains { $0.hasPrefix("  upgrade") && $0.contains("not run: the run was aborted (the Docker daemon went away during install)") })
        #expect(lines.contains("  deploys    0 (no deploy tier ran)"))
        #expect(lines.contains("  teardown   nothing was deployed"))
    }

    @Test("teardown leftovers are listed")
    func consoleLeftovers() {
        #expect(RunReport.console(SampleRuns.leftovers).contains("  teardown   left 1 object(s) behind: custom-html_ab12_content"))
    }

    @Test("a deploy count other than 1 is flagged loudly, even when every tier passed")
    func consoleDeployCount() {
        #expect(!SampleRuns.twoDeploys.isGreen)
        let text = RunReport.console(SampleRuns.twoDeploys)
        #expect(text.contains("  deploys    2  !!! DEPLOY-COUNT GUARD FAILED: deployed 2 times in one run; expected exactly 1 !!!"))
        #expect(!text.contains("GREEN"))
    }

    @Test("long and multi-line details are cut to one line of sensible width")
    func consoleTruncates() throws {
        let detail = "first line\nsecond\u{1B}[31m line " + String(repeating: "x", count: 5_000)
        let text = RunReport.console(SampleRuns.withInstallCheck(SampleRuns.check("custom-html", "noisy", .fail, detail)))
        let line = try #require(text.split(separator: "\n").first { $0.contains("custom-html/noisy") })
        #expect(line.contains(#"first line second\u{1B}[31m line xxx"#), "ESC shown escaped: \(line)")
        #expect(line.hasSuffix("…"))
        #expect(line.count <= 160)
        #expect(!text.contains("\u{1B}"))
    }

    // MARK: JSON

    @Test("JSON round-trips to the same record and carries the schema", arguments: SampleRuns.all.map(\.name))
    func jsonRoundTrip(name: String) throws {
        let record = try #require(SampleRuns.all.first { $0.name == name }?.record)
        let data = try RunReport.json(record)
        #expect(try RunReport.decode(data) == record)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"schema\" : \"cchost.run/2\""))
    }

    @Test("JSON keys are snake_case and sorted, dates ISO 8601, and the output is stable")
    func jsonShape() throws {
        let data = try RunReport.json(SampleRuns.redWithoutBackups)
        #expect(try RunReport.json(SampleRuns.redWithoutBackups) == data)
        let text = String(decoding: data, as: UTF8.self)
        for key in ["deploy_count", "op_verdict", "op_detail", "lint_warnings", "level", "level_reason", "started_at", "finished_at", "not_applicable", "not_applicable_expected"] {
            #expect(text.contains("\"\(key)\" :"), "\(key)")
        }
        #expect(!text.contains("deployCount") && !text.contains("opVerdict"))
        #expect(text.contains("\"started_at\" : \"2025-06-15T15:06:40Z\""))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["schema"] as? String == "cchost.run/2")
        let topKeys = text.split(separator: "\n").filter { $0.hasPrefix("  \"") }.map { $0.split(separator: "\"")[1] }
        #expect(topKeys == topKeys.sorted())
        #expect(topKeys.count == object.count)
    }

    // MARK: JUnit

    @Test("JUnit XML is well-formed and counts every op, check, guard and teardown", arguments: [
        // name, tests, failures, errors, skipped
        ("green", 13, 0, 0, 0), ("red", 14, 1, 0, 0), ("crashed", 14, 0, 1, 0), ("n/a declared", 11, 0, 0, 2),
        ("red with n/a", 12, 1, 0, 2), ("aborted", 7, 0, 3, 2), ("leftovers", 13, 1, 0, 0), ("two deploys", 13, 1, 0, 0),
        ("teardown unknown", 13, 0, 1, 0),
    ])
    func junitCounts(name: String, tests: Int, failures: Int, errors: Int, skipped: Int) throws {
        let record = try #require(SampleRuns.all.first { $0.name == name }?.record)
        let counter = try #require(JUnitCounter.count(RunReport.junit(record)))
        let counted: [Int] = [counter.testcases, counter.failures, counter.errors, counter.skipped]
        #expect(counted == [tests, failures, errors, skipped])
        #expect(counter.root["tests"] == String(tests) && counter.root["failures"] == String(failures)
                && counter.root["errors"] == String(errors) && counter.root["skipped"] == String(skipped))
        #expect(counter.mismatches.isEmpty, "\(counter.mismatches)")
    }

    @Test("JUnit has a suite per tier named recipe.tier, and names ops, checks, guard and teardown")
    func junitNames() throws {
        let xml = RunReport.junit(SampleRuns.redWithoutBackups)
        let counter = try #require(JUnitCounter.count(xml))
        #expect(counter.suites == ["custom-html.lint", "custom-html.install", "custom-html.upgrade", "custom-html.backup",
                                   "custom-html.restore", "custom-html.run"])
        #expect(counter.classnames.contains("custom-html.install op: deploy"))
        #expect(counter.classnames.contains("custom-html.install.custom-html login_page"))
        #expect(counter.classnames.contains("custom-html.run deploy count"))
        #expect(counter.classnames.contains("custom-html.run teardown"))
        #expect(counter.messages.contains("n/a: no service has backupbot.backup=true (not declared expected)"))
        #expect(xml.contains("time=\"40.000\""))
    }

    @Test("JUnit reports an unverified check as an error with its cause, and leftovers as a teardown failure")
    func junitErrorAndTeardown() throws {
        let crashed = try #require(JUnitCounter.count(RunReport.junit(SampleRuns.crashed)))
        #expect(crashed.messages.contains("the worker died of signal 11 (SIGSEGV) during admin_panel"))
        #expect(RunReport.junit(SampleRuns.crashed).contains("<error message=\"the worker died of signal 11"))
        let leftovers = RunReport.junit(SampleRuns.leftovers)
        #expect(leftovers.contains("name=\"teardown\" time=\"31.000\">\n      <failure message=\"left 1 object(s) behind: custom-html_ab12_content\""))
    }

    @Test("JUnit escapes markup and drops control characters from any text")
    func junitEscapes() throws {
        let hostile = "a & b < c > d \"e\" 'f' \u{0}\u{1}\u{1B}[31m\u{7F}\u{85} ]]> </failure></testcase>"
        let record = SampleRuns.withInstallCheck(SampleRuns.check("x&<>\"'", "y&<>\"'", .fail, hostile, cause: hostile))
        let xml = RunReport.junit(record)
        let counter = try #require(JUnitCounter.count(xml))
        #expect(counter.failures == 1)
        #expect(counter.messages.contains("a & b < c > d \"e\" 'f' [31m ]]> </failure></testcase>"))
        #expect(counter.text.contains("cause: a & b < c > d \"e\" 'f' [31m ]]> </failure></testcase>"))
        #expect(counter.classnames.contains("custom-html.install.x&<>\"' y&<>\"'"))
    }

    // MARK: Markdown

    @Test("Markdown has a title, a summary, the tier table and the non-passing checks in a details block")
    func markdownLayout() {
        let text = RunReport.markdown(SampleRuns.redWithoutBackups)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first == "## ❌ custom-html @ main (2222222)")
        #expect(lines.contains { $0.hasPrefix("**RED**: 1 failed, 0 unverified") })
        #expect(lines.contains("| tier | op | verdict | time |"))
        #expect(lines.contains("| install | deploy (pass) | **fail** | 40.0s |"))
        #expect(lines.contains("| backup | — | n/a: no service has backupbot.backup=true (not declared expected) | 0.0s |"))
        #expect(lines.contains("<details>") && lines.contains("</details>"))
        #expect(lines.contains("<summary>1 check not passing</summary>"))
        #expect(lines.contains { $0.hasPrefix("| install | custom-html | login\\_page | **fail** |") })
        #expect(lines.contains("- **Deploys:** 1"))
        #expect(lines.contains("- **Generic suite:** ran"))
        #expect(lines.contains("- **Teardown:** pass: removed 2 object(s), no leftovers"))
        #expect(!text.contains("http\\_ok"), "passing checks stay out of the details")
    }

    @Test("a green run's Markdown has a check mark and no details block")
    func markdownGreen() {
        let text = RunReport.markdown(SampleRuns.green)
        #expect(text.hasPrefix("## ✅ "))
        #expect(text.contains("**GREEN**"))
        #expect(!text.contains("<details>"))
    }

    @Test("Markdown escapes pipes and backticks so a detail stays in its cell")
    func markdownEscapes() throws {
        let text = RunReport.markdown(SampleRuns.red)
        let row = try #require(text.split(separator: "\n").first { $0.contains("login\\_page") })
        #expect(row.contains("\\`\\<h1\\>Oops \\| error\\</h1\\>\\`"))
        // Five cells: six unescaped pipes.
        let unescaped = row.enumerated().filter { index, character in
            character == "|" && (index == 0 || row[row.index(row.startIndex, offsetBy: index - 1)] != "\\")
        }
        #expect(unescaped.count == 6)
    }

    @Test("Markdown stays under 60 KB, cutting long details and counting what it leaves out")
    func markdownLimit() {
        var record = SampleRuns.green
        let checks = (0..<2_000).map {
            SampleRuns.check("custom-html", "check_\($0)", .fail, String(repeating: "long output | ", count: 1_000))
        }
        record.tiers[1] = SampleRuns.tier(.install, op: .deploy, checks: checks, seconds: 40)
        record.judge()
        let text = RunReport.markdown(record)
        #expect(text.utf8.count < 60_000)
        #expect(text.contains("…"))
        #expect(text.contains("more not shown, to keep this comment under 60 KB"))
        #expect(text.contains("Details longer than 300 characters are cut"))
        #expect(text.contains("</details>"))
        #expect(text.contains("- **Teardown:**"))
    }

    // MARK: Secrets

    @Test("a secret quoted in any free text is redacted in every format")
    func secretsNeverAppear() throws {
        let secret = "Zq9xK2mW7pLr"
        var record = SampleRuns.withInstallCheck(
            SampleRuns.check("custom-html", "env_dump", .unverified, "DB_PASSWORD=\(secret)", cause: "printed \(secret) and died"),
            to: SampleRuns.noBackups(declared: false))
        record.tiers[0].opDetail = "found \(secret) in .env"
        record.tiers[0].opVerdict = .fail
        record.tiers[3].notApplicable = "reason mentions \(secret)"
        record.generic = "skipped: \(secret)"
        record.aborted = "aborted after \(secret) leaked"
        record.judge()
        let outputs = [RunReport.console(record, secrets: [secret]), RunReport.console(record, color: true, secrets: [secret]),
                       String(decoding: try RunReport.json(record, secrets: [secret]), as: UTF8.self),
                       RunReport.junit(record, secrets: [secret]), RunReport.markdown(record, secrets: [secret])]
        for output in outputs {
            #expect(!output.contains(secret))
            // Markdown escapes the brackets; it renders as [redacted].
            #expect(output.contains("[redacted]") || output.contains("\\[redacted\\]"))
        }
        // Without secrets the same record shows the value: the test above can fail.
        #expect(RunReport.junit(record).contains(secret))
    }
}
