import Foundation
@testable import HostBase
@testable import HostRuns
@testable import HostState
import Testing

/// Recipe text on a terminal: ESC, CR, BEL and bidi overrides in a recipe, a record or a plugin never
/// reach the terminal raw; each output path shows them escaped (`TerminalText`).
@Suite("Recipe text on a terminal")
struct TerminalTextTests {
    /// ESC clearing the screen, CR, BEL and RIGHT-TO-LEFT OVERRIDE: what a hostile recipe writes.
    static let hostile = "says \u{1B}[2J\r\u{07}\u{202E}gone"
    static let shown = #"says \u{1B}[2J\r\u{07}\u{202E}gone"#

    /// The characters a terminal acts on that `text` holds, found without `TerminalText`: C0 controls
    /// other than the newline, DEL, C1 controls, bidi controls, line and paragraph separators.
    static func raw(_ text: String) -> [String] {
        text.unicodeScalars.filter { scalar in
            let v = scalar.value
            return (v < 0x20 && v != 0x0A) || (0x7F...0x9F).contains(v) || (0x202A...0x202E).contains(v)
                || (0x2066...0x2069).contains(v) || [0x061C, 0x200E, 0x200F, 0x2028, 0x2029].contains(v)
        }.map { String(format: "U+%04X", $0.value) }
    }

    // MARK: The function

    @Test("every control character, bidi control and separator is shown escaped; printable text is kept", arguments: [
        ("plain text, ünïcödé and emoji 👩‍💻 stay", "plain text, ünïcödé and emoji 👩‍💻 stay"),
        ("\u{1B}[31mred\u{1B}[0m", #"\u{1B}[31mred\u{1B}[0m"#),
        ("a\rb\nc\td", #"a\rb\nc\td"#),
        ("bell\u{07} nul\u{00} del\u{7F} csi\u{9B}", #"bell\u{07} nul\u{00} del\u{7F} csi\u{9B}"#),
        ("\u{202A}\u{202B}\u{202C}\u{202D}\u{202E}\u{2066}\u{2067}\u{2068}\u{2069}",
         #"\u{202A}\u{202B}\u{202C}\u{202D}\u{202E}\u{2066}\u{2067}\u{2068}\u{2069}"#),
        ("\u{061C}\u{200E}\u{200F}\u{2028}\u{2029}", #"\u{61C}\u{200E}\u{200F}\u{2028}\u{2029}"#),
        ("a backslash \\ stays single", "a backslash \\ stays single"),
    ])
    func escapes(_ text: String, _ expected: String) {
        #expect(TerminalText.escaped(text) == expected)
        #expect(Self.raw(TerminalText.escaped(text)).isEmpty)
        #expect(TerminalText.escaped(expected) == expected, "escaping twice changes nothing")
    }

    // MARK: The console report

    @Test("the console report shows a record's recipe text escaped, one line per field")
    func consoleReport() {
        var record = StateStoreTests.runRecord("run-1", at: 1_700_000_000)
        record.head.ref = "1.0.0+1\u{202E}"
        record.tiers[0].checks[1].detail = Self.hostile + "\nsecond line"
        record.tiers[0].opDetail = Self.hostile
        record.tiers[0].opVerdict = .fail
        record.generic = Self.hostile
        let console = RunReport.console(record)
        #expect(Self.raw(console).isEmpty, "\(Self.raw(console))")
        #expect(console.contains(Self.shown + " second line"), "\(console)")
        #expect(console.contains("    op: " + Self.shown), "\(console)")
        #expect(console.contains("  generic    " + Self.shown), "\(console)")
        #expect(console.contains(#"1.0.0+1\u{202E}"#), "\(console)")
    }

    // MARK: The command line (the real binary)

    @Test("recipe lint shows a finding's recipe text escaped")
    func lint() throws {
        // YAML's double-quoted escapes: \e is ESC, \a BEL, \r CR, \u202E the override.
        let fixture = try LintFixture(edits: ["compose.yml": [("postgres:16.1", #""post\e[2J\r\a\u202Egres""#)]])
        let result = try run(TestPaths.cli, ["recipe", "lint", fixture.path])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(Self.raw(result.stdout + result.stderr).isEmpty, "\(Self.raw(result.stdout))")
        #expect(result.stdout.contains(#"service db uses image post\u{1B}[2J\r\u{07}\u{202E}gres: no tag"#), "\(result.stdout)")
    }

    @Test("recipe versions shows a tag with a bidi override escaped, in the table and as not a release")
    func versions() throws {
        let fixture = try GitFixture()
        try fixture.commit("release\n")
        try fixture.annotatedTag("1.0.0+1.0")
        try fixture.annotatedTag("1.0.1+1.0\u{202E}")
        let result = try run(TestPaths.cli, ["recipe", "versions", fixture.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Self.raw(result.stdout).isEmpty, "\(Self.raw(result.stdout))")
        #expect(result.stdout.contains(#"not a release: 1.0.1+1.0\u{202E}: "#), "\(result.stdout)")
        // JSON keeps the exact text, with the override as a JSON escape.
        let json = try run(TestPaths.cli, ["recipe", "versions", fixture.path, "--json"])
        #expect(Self.raw(json.stdout).isEmpty, "\(Self.raw(json.stdout))")
        #expect(json.stdout.contains(#""tag" : "1.0.1+1.0\u202e""#), "\(json.stdout)")
        let decoded = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect((decoded["unparseable"] as? [[String: Any]])?.first?["tag"] as? String == "1.0.1+1.0\u{202E}")
    }

    @Test("an error line on stderr shows the recipe's text escaped")
    func errorLine() throws {
        let result = try run(TestPaths.cli, ["recipe", "lint", "/nonexistent/" + Self.hostile])
        #expect(result.status == 2)
        #expect(Self.raw(result.stderr).isEmpty, "\(Self.raw(result.stderr))")
        #expect(result.stderr == "cchost: /nonexistent/\(Self.shown) is not a folder\n", "\(result.stderr)")
    }

    @Test("runs list, show and check show a recorded run's text escaped")
    func runs() throws {
        let state = try TemporaryDirectory("runs-state")
        var record = StateStoreTests.runRecord("aaaa1111", at: 1_700_000_000)
        record.head = .init(ref: "1.0.0+1\u{1B}[2J", commit: String(repeating: "a", count: 40), version: "1.0.0+1")
        record.tiers[0].checks[1].detail = Self.hostile + "\nsecond line"
        record.tiers[0].opDetail = Self.hostile
        record.tiers[1].notApplicable = Self.hostile
        try StateStore(stateDirectory: state.path).record(run: StoredRun(record))
        let environment = ["CCHOST_STATE_DIR": state.path, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]

        let list = try run(TestPaths.cli, ["runs", "list"], environment: environment)
        #expect(list.status == 0 && Self.raw(list.stdout).isEmpty, "\(list.stderr) \(Self.raw(list.stdout))")
        #expect(list.stdout.contains(#"1.0.0+1\u{1B}[2J"#), "\(list.stdout)")

        let show = try run(TestPaths.cli, ["runs", "show", "aaaa1111"], environment: environment)
        #expect(show.status == 0, "\(show.stderr)")
        #expect(Self.raw(show.stdout).isEmpty, "\(Self.raw(show.stdout))")
        let lines = show.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("  fail  overlay-x/index-served  \(Self.shown)\\nsecond line"), "\(show.stdout)")
        #expect(lines.contains("install  fail  deploy: pass (\(Self.shown))  4.0 s"), "\(show.stdout)")
        #expect(lines.contains("upgrade  n/a: \(Self.shown)"), "\(show.stdout)")

        let check = try run(TestPaths.cli, ["runs", "check", "notes", "overlay-x/index-served"], environment: environment)
        #expect(check.status == 0, "\(check.stderr)")
        #expect(Self.raw(check.stdout).isEmpty, "\(Self.raw(check.stdout))")
        #expect(check.stdout.contains("\(Self.shown)\\nsecond line"), "\(check.stdout)")
    }

    @Test("plugins inspect shows a plugin's description escaped")
    func pluginsInspect() throws {
        let sandbox = try CLITests.CLISandbox()
        let library = try Fixture.compile("abi_variant", defines: ["HOSTILE_TEXT"])
        let result = try sandbox.cchost("plugins", "inspect", library)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Self.raw(result.stdout + result.stderr).isEmpty, "\(Self.raw(result.stdout))")
        #expect(result.stdout.contains("  plain [install] plain - \(Self.shown)"), "\(result.stdout)")
    }

    @Test("plugins list and the log lines on stderr show a plugin path escaped")
    func pluginsListAndLog() throws {
        let sandbox = try CLITests.CLISandbox()
        let folder = sandbox.root.file("plugins-\u{1B}[31m\u{202E}")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: CLITests.exampleC, toPath: folder + "/libexample.so")
        let result = try run(TestPaths.cli, ["plugins", "list"], environment: [
            "CCHOST_STATE_DIR": sandbox.state.path, "CCHOST_ALLOWLIST": sandbox.allowlist, "CCHOST_PLUGIN_PATH": folder,
            "CCHOST_LOG_LEVEL": "info", "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Self.raw(result.stdout).isEmpty && Self.raw(result.stderr).isEmpty,
                "\(Self.raw(result.stdout)) \(Self.raw(result.stderr))")
        let shownFolder = #"plugins-\u{1B}[31m\u{202E}"#
        #expect(result.stdout.contains(shownFolder + "/libexample.so"), "\(result.stdout)")
        #expect(result.stderr.contains("probing plugin") && result.stderr.contains(shownFolder), "\(result.stderr)")
    }
}
