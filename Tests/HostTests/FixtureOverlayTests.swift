import Foundation
@testable import HostBase
@testable import HostDocker
@testable import HostRuns
@testable import HostState
import PluginChannel
import Testing

/// The overlay plugins of the fixture recipes (Plugins/overlay-static-site in Swift, Plugins/overlay-notes-db
/// in C), probed from the built libraries in the real sandbox and run beside the real generic suite on
/// the real swarm. Serialized: the runs share one engine.
@Suite("FixtureOverlay: overlay plugins of the fixture recipes on the swarm", .serialized)
struct FixtureOverlayTests {
    /// Git repositories of the fixtures (scripts/example-recipes), plus `static-site-regressed`: the
    /// static-site recipe whose index page lost the text the overlay expects (still a 200, so only
    /// the overlay can notice), and `static-site-overlaid`: static-site shipping its overlay in the repo.
    private static let repositories: TemporaryDirectory = {
        // A failure here fails every test that uses it, with the message.
        try! SwarmRuns.repositories("overlay-fixture-repos") { source in
            let regressed = source.appendingPathComponent("static-site-regressed")
            try FileManager.default.copyItem(at: source.appendingPathComponent("static-site"), to: regressed)
            try Data("<!doctype html>\n<title>static-site</title>\n<h1>Under construction</h1>\n".utf8)
                .write(to: regressed.appendingPathComponent("index.html"))
            try FileManager.default.copyItem(at: source.appendingPathComponent("static-site.releases"),
                                             to: source.appendingPathComponent("static-site-regressed.releases"))
            // The maintainer ships the overlay in the recipe repo, as a repo-local overlay.
            let overlaid = source.appendingPathComponent("static-site-overlaid")
            try FileManager.default.copyItem(at: source.appendingPathComponent("static-site"), to: overlaid)
            try FileManager.default.createDirectory(at: overlaid.appendingPathComponent(".cchost/plugins"), withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: TestPaths.product(FixtureOverlayTests.staticSite),
                                             toPath: overlaid.appendingPathComponent(".cchost/plugins/overlay.so").path)
            try FileManager.default.copyItem(at: source.appendingPathComponent("static-site.releases"),
                                             to: source.appendingPathComponent("static-site-overlaid.releases"))
        }
    }()

    private static func repository(_ name: String) -> String { repositories.file(name) }
    private static func generic() throws -> ResolvedPlugin { try SwarmRuns.generic() }

    /// An overlay as an operator plugin, installed in the folder of the built products.
    private static func overlay(_ library: String) throws -> ResolvedPlugin {
        try SwarmRuns.probe(library, origin: .operatorFolder(TestPaths.products.path))
    }

    private static let staticSite = "libcchost-overlay-static-site.so"
    private static let notesDB = "libcchost-overlay-notes-db.so"

    /// Progress lines of a run (hooks and install steps are reported there, not in the record).
    private final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func append(_ line: String) { lock.withLock { lines.append(line) } }
        var all: [String] { lock.withLock { lines } }
    }

    private static func engine(_ state: TemporaryDirectory, plugins: [ResolvedPlugin], progress: Lines) -> RunEngine {
        SwarmRuns.engine(state, plugins: plugins, progress: { progress.append($0) })
    }

    private static func stack(_ record: RunRecord) -> String { AppNaming.stackName(forDomain: record.domain) }

    @Test("both overlays probe in the sandbox with the metadata, checks, steps and hooks they declare")
    func overlaysDescribeThemselves() throws {
        let site = try Self.overlay(Self.staticSite).info
        #expect(site.description.name == "overlay-static-site")
        #expect(site.metadata.recipes == ["static-site"])
        #expect(site.metadata.canonicalSweep)
        #expect(site.metadata.stages == [.install, .upgrade, .backup, .restore])
        #expect(site.metadata.readiness == PluginMetadata.Readiness(path: "/", status: 200))
        #expect(site.description.checks.map(\.name) == ["index-served", "secret-mounted", "version-file", "hook-page-restored", "host-proof-seen"])
        #expect(site.description.checks.first { $0.name == "index-served" }?.tiers == ["install", "upgrade", "restore"])
        #expect(site.description.hooks.map(\.name) == ["before-backup", "before-restore"])
        #expect(site.description.hooks.first?.tiers == ["backup"])

        let notes = try Self.overlay(Self.notesDB).info
        #expect(notes.description.name == "overlay-notes-db")
        #expect(notes.metadata.recipes == ["notes-db", "notes-postgres", "notes-mariadb"])
        #expect(notes.metadata.expectedNA == [])
        #expect(notes.description.installSteps.map(\.name) == ["seed-note"])
        #expect(notes.description.hooks.map(\.name) == ["drop-seed-note"])
        let typed = try #require(notes.description.checks.first { $0.name == "row-count-at-least" })
        #expect(typed.signature == "int row_count_at_least(const char *table, int minimum)")
        #expect(typed.parameters?.map(\.name) == ["table", "minimum"])
        #expect(typed.tiers == ["restore"])
        #expect(notes.metadata.config["row-count-at-least"] == ["table": .string("notes"), "minimum": .integer(1)])
        #expect(notes.description.checks.first { $0.name == "seed-note-present" }?.tiers == ["install", "upgrade", "restore"])
    }

    @Test("static-site with its overlay goes green through every tier: every overlay check passes and the hook's page comes back", .requiresDocker)
    func staticSiteOverlayGreen() throws {
        let state = try TemporaryDirectory("state")
        let progress = Lines()
        let started = Date()
        let record = try Self.engine(state, plugins: [try Self.generic(), try Self.overlay(Self.staticSite)], progress: progress)
            .run(RunRequest(recipe: "static-site", repository: Self.repository("static-site")))
        print("static-site overlay run: \(Int(Date().timeIntervalSince(started))) s")
        #expect(record.verdict == .pass, "\(RunReport.console(record))")
        #expect(record.head.version == "2.0.0+2.0.0")
        let plugin = "overlay-static-site"
        let expected: [String: Verdict] = [
            "install/index-served": .pass, "install/secret-mounted": .pass,
            "upgrade/index-served": .pass, "upgrade/version-file": .pass,
            "backup/hook:before-backup": .pass,
            "restore/hook:before-restore": .pass, "restore/index-served": .pass, "restore/hook-page-restored": .pass,
            "restore/host-proof-seen": .pass,
        ]
        #expect(record.verdicts(plugin: plugin) == expected, "\(RunReport.console(record))")
        #expect(try record.check(.upgrade, "version-file", plugin: plugin).detail == "app runs 2.0.0, the upstream version of head 2.0.0+2.0.0")
        #expect(try record.check(.restore, "hook-page-restored", plugin: plugin).detail.contains("marker cchost-\(record.id)-"))
        #expect(try record.check(.install, "secret-mounted", plugin: plugin).detail == "/run/secrets/admin_password is mounted and not empty")
        // The hooks ran before their ops, and passed (the record keeps only checks; progress says so).
        #expect(progress.all.contains("[backup] hook overlay-static-site/before-backup: pass"), "\(progress.all)")
        #expect(progress.all.contains("[restore] hook overlay-static-site/before-restore: pass"), "\(progress.all)")
        // The host proved the same restore, and the overlay saw that proof in app info.
        #expect(try record.check(.restore, "data-proof", plugin: "cchost").verdict == .pass)
        #expect(try record.check(.restore, "host-proof-seen", plugin: plugin).detail.hasPrefix("the host proved the restore: all "))
        #expect(record.teardown?.isClean == true)
        #expect(SwarmDeployer().leftovers(stack: Self.stack(record)).isEmpty, "\(SwarmDeployer().leftovers(stack: Self.stack(record)))")
    }

    @Test("cchost run runs the recipe repo's overlay only when the allowlist approves its digest; a malformed allowlist stops the run before any deploy", .requiresDocker)
    func repoLocalOverlayThroughTheCommandLine() throws {
        let state = try TemporaryDirectory("state")
        let allowlist = state.file("allowlist")
        let repository = Self.repository("static-site-overlaid")
        let digest = try Digest.sha256(ofFileAt: TestPaths.product(Self.staticSite))
        let environment = ["CCHOST_STATE_DIR": state.path, "CCHOST_PLUGIN_PATH": state.path, "CCHOST_ALLOWLIST": allowlist,
                           "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        func cchostRun() throws -> (CommandResult, json: String) {
            try? FileManager.default.removeItem(atPath: state.file("run.json"))
            let result = try run(TestPaths.cli, ["run", "static-site", "--repo", repository, "--stages", "install", "--json", state.file("run.json")],
                                 environment: environment)
            return (result, (try? String(contentsOfFile: state.file("run.json"), encoding: .utf8)) ?? "")
        }

        // Approved: the overlay's checks judge the run beside the generic suite.
        try Data("static-site sha256:\(digest.hex)\n".utf8).write(to: URL(fileURLWithPath: allowlist))
        let (approved, approvedJSON) = try cchostRun()
        #expect(approved.status == 0, "\(approved.stdout)\(approved.stderr)")
        #expect(approvedJSON.contains("\"plugin\" : \"overlay-static-site\""), "\(approvedJSON)")

        // Not approved (no allowlist file): the run goes on without it, and says so.
        try FileManager.default.removeItem(atPath: allowlist)
        let (denied, deniedJSON) = try cchostRun()
        #expect(denied.status == 0, "\(denied.stdout)\(denied.stderr)")
        let notRun = denied.stderr.split(separator: "\n").first { $0.hasPrefix("cchost: static-site: overlay not run: ") }
        #expect(notRun?.contains(".cchost/plugins/overlay.so") == true && notRun?.contains("does not exist") == true, "\(denied.stderr)")
        #expect(!deniedJSON.contains("overlay-static-site") && deniedJSON.contains("\"plugin\" : \"generic\""), "\(deniedJSON)")

        // Malformed: exit 2 with one line naming the file and line, and nothing deployed.
        try Data("static-site any-digest\nstatic-site sha256:short\n".utf8).write(to: URL(fileURLWithPath: allowlist))
        let (malformed, _) = try cchostRun()
        #expect(malformed.status == 2, "\(malformed.stdout)\(malformed.stderr)")
        let lines = malformed.stderr.split(separator: "\n").filter { !$0.contains("warning") }
        #expect(lines.count == 1 && lines[0].contains("\(allowlist):2:"), "\(malformed.stderr)")
        #expect(!malformed.stderr.contains("[install]"), "\(malformed.stderr)")
        #expect(try StateStore(stateDirectory: state.path).runs(recipe: "static-site").count == 2, "the stopped run is not recorded")
    }

    @Test("notes-db with its C overlay: the seeded note survives backup and restore, the typed check passes with its default arguments", .requiresDocker)
    func notesDatabaseOverlayGreen() throws {
        let state = try TemporaryDirectory("state")
        let progress = Lines()
        let started = Date()
        let record = try Self.engine(state, plugins: [try Self.generic(), try Self.overlay(Self.notesDB)], progress: progress)
            .run(RunRequest(recipe: "notes-db", repository: Self.repository("notes-db"), stages: [.install, .backup, .restore]))
        print("notes-db overlay run: \(Int(Date().timeIntervalSince(started))) s")
        #expect(record.verdict == .pass, "\(RunReport.console(record))")
        let plugin = "overlay-notes-db"
        #expect(progress.all.contains("[install] step overlay-notes-db/seed-note: pass"), "\(progress.all)")
        #expect(progress.all.contains("[restore] hook overlay-notes-db/drop-seed-note: pass"), "\(progress.all)")
        let installed = try record.check(.install, "seed-note-present", plugin: plugin)
        #expect(installed.verdict == .pass, "\(installed.detail)")
        // The hook deleted the note before the restore op: only the restore can have brought it back.
        let restored = try record.check(.restore, "seed-note-present", plugin: plugin)
        #expect(restored.verdict == .pass, "\(restored.detail)")
        #expect(restored.detail == "the note 'cchost-seed' is in /data/notes.db once")
        // Bound from the metadata's config: table "notes", minimum 1 (the detail is what the check logged).
        let typed = try record.check(.restore, "row-count-at-least", plugin: plugin)
        #expect(typed.verdict == .pass, "\(typed.detail) \(typed.cause ?? "")")
        #expect(typed.detail.contains("table notes has 1 row(s), expected at least 1"), "\(typed.detail)")
        #expect(try record.check(.restore, "data-proof", plugin: "cchost").verdict == .pass)
        #expect(try record.tier(.backup).opDetail.hasPrefix("1 archive(s)"))
        #expect(record.teardown?.isClean == true)
        #expect(SwarmDeployer().leftovers(stack: Self.stack(record)).isEmpty, "\(SwarmDeployer().leftovers(stack: Self.stack(record)))")
    }

    @Test("a static site whose page lost its text still answers 200: the generic suite passes, index-served fails, the run is red", .requiresDocker)
    func regressedIndexIsRed() throws {
        let state = try TemporaryDirectory("state")
        let progress = Lines()
        let started = Date()
        let record = try Self.engine(state, plugins: [try Self.generic(), try Self.overlay(Self.staticSite)], progress: progress)
            .run(RunRequest(recipe: "static-site", repository: Self.repository("static-site-regressed"), stages: [.install]))
        print("static-site regressed run: \(Int(Date().timeIntervalSince(started))) s")
        #expect(record.verdict == .fail, "\(RunReport.console(record))")
        #expect(!record.isGreen)
        let served = try record.check(.install, "index-served", plugin: "overlay-static-site")
        #expect(served.verdict == .fail)
        #expect(served.detail.contains("does not contain \"Hello from static-site\""), "\(served.detail)")
        // Everything else is fine: the overlay alone catches the regression.
        #expect(try record.check(.install, "readiness", plugin: "generic").verdict == .pass)
        #expect(try record.check(.install, "secret-mounted", plugin: "overlay-static-site").verdict == .pass)
        #expect(try record.tier(.install).opVerdict == .pass)
        #expect(try record.tier(.install).verdict == .fail)
        #expect(record.teardown?.isClean == true)
        #expect(SwarmDeployer().leftovers(stack: Self.stack(record)).isEmpty, "\(SwarmDeployer().leftovers(stack: Self.stack(record)))")
    }
}
