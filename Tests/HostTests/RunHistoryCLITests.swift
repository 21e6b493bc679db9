import Foundation
@testable import HostRuns
@testable import HostState
import Testing

/// `cchost runs`: what the state database holds about runs, read back by the real binary.
@Suite("cchost runs")
struct RunHistoryCLITests {
    let state: TemporaryDirectory
    let environment: [String: String]

    /// Two runs of notes (the overlay check passes, then fails) and one of another recipe.
    init() throws {
        state = try TemporaryDirectory("runs-state")
        environment = ["CCHOST_STATE_DIR": state.path, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        let store = try StateStore(stateDirectory: state.path)
        try store.record(run: StoredRun(StateStoreTests.runRecord("aaaa1111", at: 1_700_000_000, overlayVerdict: .pass)))
        try store.record(run: StoredRun(StateStoreTests.runRecord("bbbb2222", at: 1_700_000_900)))
        var other = StateStoreTests.runRecord("cccc3333", at: 1_700_000_500, overlayVerdict: .pass)
        other.recipe = "other"
        try store.record(run: StoredRun(other))
    }

    func cchost(_ arguments: String...) throws -> CommandResult { try run(TestPaths.cli, arguments, environment: environment) }

    @Test("runs list shows the latest runs newest first, of one recipe or all")
    func list() throws {
        let all = try cchost("runs", "list")
        #expect(all.status == 0, "\(all.stderr)")
        #expect(all.stdout.split(separator: "\n").map { String($0.prefix(8)) } == ["bbbb2222", "cccc3333", "aaaa1111"], "\(all.stdout)")
        let notes = try cchost("runs", "list", "notes", "--limit", "1", "--json")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(notes.stdout.utf8)) as? [[String: Any]])
        #expect(rows.count == 1 && rows[0]["id"] as? String == "bbbb2222" && rows[0]["head_ref"] as? String == "1.0.0+1"
                && rows[0]["verdict"] as? String == "fail", "\(notes.stdout)")
        #expect(try cchost("runs", "list", "absent").stdout == "no run of absent recorded\n")
    }

    @Test("runs show prints a run's tiers and checks from the database; an unknown run exits 1 saying so")
    func show() throws {
        let shown = try cchost("runs", "show", "bbbb")
        #expect(shown.status == 0, "\(shown.stderr)")
        let lines = shown.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 7, "\(shown.stdout)")
        #expect(lines[1].hasPrefix("level  L0 — "), "\(shown.stdout)")
        #expect(lines[2] == "install  fail  deploy: pass (converged in 3 s)  4.0 s", "\(shown.stdout)")
        #expect(lines[3] == "  pass  generic/readiness  200 from /" && lines[4] == "  fail  overlay-x/index-served  text missing")
        #expect(lines[5] == "upgrade  n/a: only one release")
        #expect(lines[6] == "folder  gone: \(state.path)/runs/bbbb2222 was pruned by the retention policy (cchost gc) or removed",
                "\(shown.stdout)")
        let json = try cchost("runs", "show", "bbbb2222", "--json")
        #expect(json.stdout.contains("\"op_detail\" : \"converged in 3 s\""), "\(json.stdout)")

        let unknown = try cchost("runs", "show", "ffff")
        #expect(unknown.status == 1)
        #expect(unknown.stderr.hasPrefix("cchost: no run ffff in the state database"), "\(unknown.stderr)")
    }

    @Test("runs check follows one check across a recipe's runs; a check not named PLUGIN/NAME exits 2")
    func checkHistory() throws {
        let history = try cchost("runs", "check", "notes", "overlay-x/index-served")
        #expect(history.status == 0, "\(history.stderr)")
        let verdicts = history.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        #expect(verdicts.map { String($0[0]) } == ["aaaa1111", "bbbb2222"] && verdicts.map { String($0[4]) } == ["pass", "fail"],
                "\(history.stdout)")
        let bad = try cchost("runs", "check", "notes", "index-served")
        #expect(bad.status == 2 && bad.stderr.contains("is not PLUGIN/NAME"), "\(bad.stderr)")
    }
}
