import Foundation
@testable import HostBase
@testable import HostDocker
@testable import HostRuns
@testable import HostState
import PluginChannel
import Testing

/// Whole runs on the real Docker Swarm of this machine, with the fixture recipes made into real git
/// repositories and the real generic suite in the real sandbox. Serialized: they share one engine.
@Suite("End to end on the swarm", .serialized)
struct EndToEndTests {
    static let repositories: TemporaryDirectory = {
        // A failure here fails every test that uses it, with the script's message.
        try! SwarmRuns.repositories("fixture-repos")
    }()

    static func repository(_ name: String) -> String { repositories.file(name) }
    static func generic() throws -> ResolvedPlugin { try SwarmRuns.generic() }

    static func engine(_ state: TemporaryDirectory, plugins: [ResolvedPlugin]? = nil,
                       deployer: any Deployer = SwarmDeployer(defaultTimeout: 90)) throws -> RunEngine {
        SwarmRuns.engine(state, plugins: try plugins ?? [generic()], deployer: deployer)
    }

    static func leftovers(_ stack: String) -> [String] { SwarmRuns.leftovers(stack) }

    func tier(_ record: RunRecord, _ tier: Tier) throws -> RunRecord.TierRecord {
        try #require(record.tiers.first { $0.tier == tier }, "no \(tier) tier in \(record.tiers.map(\.tier))")
    }

    func check(_ record: RunRecord, _ tier: Tier, _ name: String) throws -> RunRecord.CheckRecord {
        try #require(try self.tier(record, tier).checks.first { $0.name == name }, "no check \(name) in \(tier)")
    }

    @Test("a static site goes green through every tier: upgrade proves chaos-version, restore brings the marker back", .requiresDocker)
    func staticSiteGreen() throws {
        let state = try TemporaryDirectory("state")
        let record = try Self.engine(state).run(RunRequest(recipe: "static-site", repository: Self.repository("static-site")))
        #expect(record.verdict == .pass, "\(RunReport.console(record))")
        #expect(record.base?.ref == "1.1.0+1.36.1" && record.head.ref == "2.0.0+2.0.0")
        #expect(record.deployCount == 1)
        #expect(try tier(record, .upgrade).opDetail.contains("chaos-version matches the head"))
        #expect(try check(record, .upgrade, "deploy-labels").verdict == .pass)
        // The marker written into the content folder at install is in the backup after the upgrade.
        let intact = try check(record, .upgrade, "data-intact")
        #expect(intact.verdict == .pass && intact.detail.hasPrefix("all 1 marker(s)"), "\(intact.detail)")
        #expect(try check(record, .restore, "data-proof").verdict == .pass)
        #expect(try check(record, .install, "readiness").detail == "GET / answered 200")
        #expect(record.teardown?.isClean == true)
        #expect(Self.leftovers(AppNaming.stackName(forDomain: record.domain)).isEmpty)
        // Each deploy's rendered stack, the install's and the upgrade's, stays in the run's folder as recorded.
        let rendered = record.renderedStacks ?? []
        #expect(rendered.map(\.ref) == [record.base?.ref, record.head.ref].compactMap { $0 })
        let runFolder = state.url.appendingPathComponent("runs/\(record.id)")
        for stack in rendered {
            let text = try Data(contentsOf: runFolder.appendingPathComponent(stack.file))
            #expect(Digest.sha256(of: text).hex == stack.sha256, "\(stack.file)")
        }
    }

    @Test("a two-service app with a real sqlite database keeps its data through backup and restore", .requiresDocker)
    func notesDatabaseGreen() throws {
        let state = try TemporaryDirectory("state")
        let record = try Self.engine(state).run(RunRequest(recipe: "notes-db", repository: Self.repository("notes-db"),
                                                           stages: [.install, .backup, .restore]))
        #expect(record.verdict == .pass, "\(RunReport.console(record))")
        #expect(try tier(record, .backup).opDetail.hasPrefix("1 archive(s)"))
        #expect(try check(record, .restore, "data-proof").verdict == .pass)
        let services = try check(record, .restore, "services-answer")
        #expect(services.verdict == .pass && services.detail.hasPrefix("2 service(s) running"), "\(services)")
        #expect(Self.leftovers(AppNaming.stackName(forDomain: record.domain)).isEmpty)
    }

    @Test("a recipe whose healthcheck never passes goes red with diagnostics, later tiers unverified, nothing left", .requiresDocker)
    func neverHealthyIsRed() throws {
        let state = try TemporaryDirectory("state")
        let record = try Self.engine(state).run(RunRequest(recipe: "never-healthy", repository: Self.repository("never-healthy"),
                                                           stages: [.install, .upgrade]))
        #expect(record.verdict == .fail)
        let install = try tier(record, .install)
        #expect(install.opVerdict == .fail)
        #expect(install.opDetail.contains("did not converge") && install.opDetail.contains("unhealthy"), "\(install.opDetail)")
        #expect(try tier(record, .upgrade).verdict == .unverified)
        #expect(record.artifacts.contains { $0.hasSuffix("_app.txt") && $0.contains("tasks-") })
        let events = try #require(record.artifacts.first { $0.hasSuffix("/events.txt") })
        #expect(try String(contentsOfFile: events, encoding: .utf8).contains("health_status: unhealthy"))
        #expect(record.teardown?.isClean == true)
        #expect(Self.leftovers(AppNaming.stackName(forDomain: record.domain)).isEmpty)
    }

    @Test("a recipe without backup labels shows backup and restore as n/a, flagged as not declared", .requiresDocker)
    func noBackupIsNotApplicable() throws {
        let state = try TemporaryDirectory("state")
        let record = try Self.engine(state).run(RunRequest(recipe: "no-backup", repository: Self.repository("no-backup"),
                                                           stages: [.install, .backup, .restore]))
        for tier in [Tier.backup, .restore] {
            let record = try self.tier(record, tier)
            #expect(record.verdict == .skip)
            #expect(record.notApplicable == "no service has backupbot.backup=true")
            #expect(record.notApplicableExpected == false)
        }
        #expect(record.verdict == .pass)
        #expect(Self.leftovers(AppNaming.stackName(forDomain: record.domain)).isEmpty)
    }

    @Test("the deploy-count guard trips when an op deploys twice, and the run is not green", .requiresDocker)
    func deployCountGuard() throws {
        let state = try TemporaryDirectory("state")
        let engine = try Self.engine(state)
        engine.installDeploys = 2
        let record = try engine.run(RunRequest(recipe: "no-backup", repository: Self.repository("no-backup"),
                                               stages: [.install, .upgrade]))
        #expect(record.deployCount == 2)
        #expect(record.aborted == "deploy-count guard: 2 deploys in one run, expected 1")
        #expect(!record.isGreen)
        #expect(try tier(record, .upgrade).verdict == .unverified)
        #expect(Self.leftovers(AppNaming.stackName(forDomain: record.domain)).isEmpty)
    }

    @Test("the generic suite can be opted out of, and the record says so", .requiresDocker)
    func genericOptOut() throws {
        let state = try TemporaryDirectory("state")
        var overlay = try Self.generic()
        overlay.origin = .operatorFolder("/opt-out")
        overlay.info.metadata.skipGeneric = true
        overlay.info.description.checks = []
        let record = try Self.engine(state, plugins: [try Self.generic(), overlay])
            .run(RunRequest(recipe: "no-backup", repository: Self.repository("no-backup"), stages: [.install]))
        #expect(record.generic == "skipped: a recipe plugin sets skip_generic")
        #expect(try tier(record, .install).checks.isEmpty)
        #expect(Self.leftovers(AppNaming.stackName(forDomain: record.domain)).isEmpty)
    }

    /// Starts `cchost run` on a fixture (with `arguments` after its own) and waits until its stack
    /// exists; returns the process and stack.
    func startRun(state: TemporaryDirectory, arguments: [String] = []) throws -> (Process, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestPaths.cli)
        process.arguments = ["run", "static-site", "--repo", Self.repository("static-site"), "--stages", "install,upgrade"] + arguments
        process.environment = ["CCHOST_STATE_DIR": state.path, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                               "CCHOST_PLUGIN_PATH": state.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let entries = try ActiveRuns(directory: state.url.appendingPathComponent("runs/active")).entries()
            if let stack = entries.first?.stack, !(try run("/usr/bin/docker", ["stack", "ps", "-q", stack]).stdout.isEmpty) {
                return (process, stack)
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
        process.terminate()
        throw GitFixtureError(description: "the run never deployed its stack")
    }

    @Test("SIGTERM to cchost during a run cancels it: it stops, tears the app down, records itself as cancelled, and exits 143", .requiresDocker)
    func sigtermCancelsTheRun() throws {
        let state = try TemporaryDirectory("state")
        let (process, stack) = try startRun(state: state)
        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationStatus == 128 + SIGTERM)
        #expect(Self.leftovers(stack).isEmpty, "\(Self.leftovers(stack))")
        let runs = try StateStore(stateDirectory: state.path).latestRuns(recipe: "static-site", limit: 1)
        let record = try RunReport.decode(Data(try #require(runs.first).record.utf8))
        #expect(record.aborted == "cancelled: SIGTERM received" && record.finishedAt != nil && record.teardown?.isClean == true,
                "\(record)")
        #expect(try #require(record.tiers.last).opDetail == "not run: the run was cancelled (SIGTERM received)")
    }

    @Test("a second SIGTERM tears the app down at once and exits 143", .requiresDocker)
    func secondSigtermTearsDownAtOnce() throws {
        let state = try TemporaryDirectory("state")
        let (process, stack) = try startRun(state: state)
        process.terminate()
        Thread.sleep(forTimeInterval: 0.1)
        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationStatus == 128 + SIGTERM)
        #expect(Self.leftovers(stack).isEmpty, "\(Self.leftovers(stack))")
    }

    @Test("a run killed with SIGKILL leaves its stack, and cchost janitor removes all of it", .requiresDocker)
    func janitorReapsKilledRun() throws {
        let state = try TemporaryDirectory("state")
        let (process, stack) = try startRun(state: state)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(!Self.leftovers(stack).isEmpty, "the killed run left nothing to reap; the test proves nothing")
        // Every service of the run carries its state folder's identity: what lets this janitor, and no other, reap it.
        let owner = try StateIdentity.of(stateDirectory: state.url)
        #expect(try DockerDaemon().stacks().first { $0.name == stack }?.owners == [owner])
        var janitor = Janitor(deployer: SwarmDeployer(), registry: ActiveRuns(directory: state.url.appendingPathComponent("runs/active")),
                              owner: owner, baseDomain: "ci.example")
        janitor.recorder = try StateStore(stateDirectory: state.path)
        let reaped = try janitor.reap(olderThan: 3600)
        #expect(reaped.map(\.stack).contains(stack))
        #expect(reaped.first { $0.stack == stack }?.reason.contains("is gone") == true)
        #expect(Self.leftovers(stack).isEmpty, "\(Self.leftovers(stack))")
        #expect(try ActiveRuns(directory: state.url.appendingPathComponent("runs/active")).entries().isEmpty)
    }

    @Test("the janitor leaves a young secret of a stack without services alone (another state's run may be retaining its data)", .requiresDocker)
    func janitorSparesYoungSecrets() throws {
        let state = try TemporaryDirectory("state")
        let stack = "jan\(UUID().uuidString.prefix(8).lowercased())_ci_example"
        let secret = "\(stack)_db_password_v1"
        let owner = try StateIdentity.of(stateDirectory: state.url)
        #expect(try run("/bin/sh", ["-c", "printf x | docker secret create --label cchost.state=\(owner) \(secret) -"]).status == 0)
        defer { _ = try? run("/usr/bin/docker", ["secret", "rm", secret]) }
        let janitor = Janitor(deployer: SwarmDeployer(), registry: ActiveRuns(directory: state.url.appendingPathComponent("runs/active")),
                              owner: owner, baseDomain: "ci.example")
        // Only candidates: reaping at age 0 would tear down other tests' stacks.
        #expect(try !janitor.candidates(olderThan: 3600).contains { $0.stack == stack })
        let old = try janitor.candidates(olderThan: 0).first { $0.stack == stack }
        #expect(old?.reason.contains("secrets left by a test stack that no longer runs") == true, "\(String(describing: old))")
    }

    @Test("cchost janitor with no Docker engine answering exits 2 saying so, never \"nothing to reap\"")
    func janitorWithoutEngine() throws {
        let state = try TemporaryDirectory("state")
        let result = try run(TestPaths.cli, ["janitor", "--dry-run"],
                             environment: ["CCHOST_STATE_DIR": state.path, "DOCKER_HOST": "unix://\(state.path)/no-engine.sock",
                                           "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"])
        #expect(result.status == 2, "\(result.stdout)\(result.stderr)")
        #expect(!result.stdout.contains("no stack to reap"), "\(result.stdout)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains("no-engine.sock"), "\(result.stderr)")
    }

    @Test("cchost run exits 0 on a green run and writes JSON, JUnit and Markdown without any secret", .requiresDocker)
    func cliGreenRunWritesReports() throws {
        let state = try TemporaryDirectory("state")
        let environment = ["CCHOST_STATE_DIR": state.path, "CCHOST_PLUGIN_PATH": state.path,
                           "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        let result = try run(TestPaths.cli, ["run", "static-site", "--repo", Self.repository("static-site"), "--stages", "install",
                                             "--json", state.file("run.json"), "--junit", state.file("run.xml"),
                                             "--markdown", state.file("run.md")], environment: environment)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.hasSuffix("GREEN\n"), "\(result.stdout)")
        let json = try String(contentsOfFile: state.file("run.json"), encoding: .utf8)
        #expect(json.contains("\"schema\" : \"cchost.run/2\"") && json.contains("\"level\" : 1"), "\(json)")
        #expect(try String(contentsOfFile: state.file("run.xml"), encoding: .utf8).hasPrefix("<?xml"))
        #expect(try String(contentsOfFile: state.file("run.md"), encoding: .utf8).contains("static-site"))
    }

    @Test("a plugin that prints the app's secret finds it redacted in the run record", .requiresDocker)
    func secretsAreRedacted() throws {
        let state = try TemporaryDirectory("state")
        let library = try Fixture.compile("leaky")
        guard case .loadable(let info) = try PluginProber(launcher: .forTests()).probe(library) else {
            throw GitFixtureError(description: "the leaky fixture did not load")
        }
        let leaky = ResolvedPlugin(path: library, origin: .operatorFolder(library), info: info, profile: .strict)
        let engine = try Self.engine(state, plugins: [try Self.generic(), leaky])
        let record = try engine.run(RunRequest(recipe: "static-site", repository: Self.repository("static-site"), stages: [.install]))
        let leak = try check(record, .install, "leak-secret")
        #expect(leak.verdict == .pass, "\(leak)")
        #expect(leak.detail == "[redacted]")
        let secret = try #require(engine.deployer.secrets.all.first)
        #expect(secret.count == 24)
        let json = String(decoding: try RunReport.json(record), as: UTF8.self)
        #expect(!json.contains(secret) && !RunReport.console(record).contains(secret) && !RunReport.junit(record).contains(secret))
    }

    @Test("the operator's readiness path is what the generic suite's readiness check asks", .requiresDocker)
    func operatorReadinessPath() throws {
        let state = try TemporaryDirectory("state")
        let record = try Self.engine(state).run(RunRequest(recipe: "static-site", repository: Self.repository("static-site"),
                                                           stages: [.install], readinessPath: "/no-such-page"))
        let readiness = try check(record, .install, "readiness")
        #expect(readiness.verdict == .fail && readiness.detail.hasPrefix("GET /no-such-page answered 404: "), "\(readiness)")
        #expect(Self.leftovers(AppNaming.stackName(forDomain: record.domain)).isEmpty)
    }

    @Test("cchost run exits 1 on a red run and 2 on bad input, with one line saying what", .requiresDocker)
    func cliExitStatuses() throws {
        let state = try TemporaryDirectory("state")
        let environment = ["CCHOST_STATE_DIR": state.path, "CCHOST_PLUGIN_PATH": state.path,
                           "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        let red = try run(TestPaths.cli, ["run", "never-healthy", "--repo", Self.repository("never-healthy"), "--stages", "install"],
                          environment: environment)
        #expect(red.status == 1)
        #expect(red.stdout.contains("RED: 1 failed"), "\(red.stdout)")
        let stored = try StateStore(stateDirectory: state.path).runs(recipe: "never-healthy")
        #expect(stored.map(\.verdict) == ["fail"] && stored.first?.trigger == "manual" && stored.first?.quick == false,
                "cchost run records its run in the state database")
        for (arguments, mentions) in [(["run", "x", "--repo", "/nonexistent/repo"], "/nonexistent/repo does not exist"),
                                      (["run", "x", "--repo", Self.repository("no-backup"), "--stages", "install,deploy"], "'deploy' is not a tier"),
                                      (["run", "x", "--repo", Self.repository("no-backup"), "--ref", "9.9.9"], "9.9.9"),
                                      (["run", "x", "--repo", Self.repository("no-backup"), "--quick"], "x has no canonical yet"),
                                      (["run", "x"], "give --repo: x is not among the configuration's recipes")] {
            let result = try run(TestPaths.cli, arguments, environment: environment)
            #expect(result.status == 2, "\(arguments): \(result.stderr)")
            let lines = result.stderr.split(separator: "\n").filter { !$0.hasPrefix("cchost: warning") }
            #expect(lines.count == 1 && lines[0].contains(mentions), "\(result.stderr)")
        }
    }

    @Test("the abra backend installs and upgrades the static site via the abra-compatible shim; backup and restore are unverified", .requiresDocker)
    func abraBackendRun() throws {
        let state = try TemporaryDirectory("state")
        let shim = TestPaths.packageRoot.appendingPathComponent("Tests/Fixtures/abra-shim/abra").path
        let engine = try Self.engine(state, deployer: AbraDeployer(abra: shim, defaultTimeout: 90))
        let record = try engine.run(RunRequest(recipe: "static-site", repository: Self.repository("static-site"),
                                               stages: [.install, .upgrade, .backup, .restore]))
        let report = RunReport.console(record)
        #expect(record.backend == "abra" && record.backendVersion == "0.10.1-beta-5e9b8d1")
        #expect(report.contains("  backend    abra 0.10.1-beta-5e9b8d1\n"), "\(report)")
        #expect(try tier(record, .install).verdict == .pass && tier(record, .upgrade).verdict == .pass, "\(report)")
        #expect(try tier(record, .upgrade).opDetail.contains("chaos-version matches the head"))
        // Backups go through backup-bot-two, which the abra backend does not drive yet: never green, never red.
        for stage in [Tier.backup, .restore] {
            let result = try tier(record, stage)
            #expect(result.verdict == .unverified && result.opDetail.contains("not supported by the abra backend yet"), "\(stage): \(result.opDetail)")
        }
        #expect(record.verdict == .unverified, "\(report)")
        // Without backups, the markers are read back by the helper.
        let intact = try check(record, .upgrade, "data-intact")
        #expect(intact.verdict == .pass && intact.detail.contains("the marker is still in"), "\(intact.detail)")
        // The values `app secret generate` printed reached redaction only: never the record or the report.
        let secrets = engine.deployer.secrets.all
        let json = String(decoding: try RunReport.json(record), as: UTF8.self)
        #expect(!secrets.isEmpty && secrets.allSatisfy { !json.contains($0) && !report.contains($0) })
        #expect(Self.leftovers(AppNaming.stackName(forDomain: record.domain)).isEmpty)
    }

    @Test("the operator's env and typed-check parameters reach the run: backups switched off, http-expect bound", .requiresDocker)
    func operatorSettingsReachTheRun() throws {
        let state = try TemporaryDirectory("state")
        let record = try Self.engine(state).run(RunRequest(
            recipe: "static-site", repository: Self.repository("static-site"), stages: [.install, .backup],
            environment: ["ENABLE_BACKUPS": "false"],
            checkArguments: ["http-expect": ["path": .string("/"), "status": .integer(200), "needle": .string("Hello from static-site")]]))
        #expect(try check(record, .install, "http-expect").verdict == .pass, "\(RunReport.console(record))")
        #expect(try tier(record, .backup).notApplicable == "no service has backupbot.backup=true")
        #expect(Self.leftovers(AppNaming.stackName(forDomain: record.domain)).isEmpty)
    }
}
