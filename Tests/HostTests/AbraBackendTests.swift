import Foundation
@testable import HostBase
@testable import HostDocker
import Testing

/// The abra backend on the real swarm of this machine, driven through the abra-compatible shim
/// (`Tests/Fixtures/abra-shim/abra`, since abra cannot be installed here), with the static-site
/// fixture recipe made into a git repository. The shim logs every call: the exact abra argument
/// lists are the contract these tests hold the deployer to. Serialized: they share one engine.
@Suite("AbraBackend: the abra deployer through the abra shim on the swarm", .serialized)
struct AbraBackendTests {
    static let shim = TestPaths.packageRoot.appendingPathComponent("Tests/Fixtures/abra-shim/abra").path
    static let base = "1.1.0+1.36.1"
    static let head = "2.0.0+2.0.0"

    /// static-site as a git repository with its annotated releases (scripts/example-recipes, on
    /// this one fixture).
    static let repositories: TemporaryDirectory = {
        let folder = try! TemporaryDirectory("abra-fixture-repos")
        let source = folder.url.appendingPathComponent("source")
        let recipes = TestPaths.packageRoot.appendingPathComponent("Tests/Fixtures/recipes")
        try! FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
        for name in ["static-site", "static-site.releases"] {
            try! FileManager.default.copyItem(at: recipes.appendingPathComponent(name), to: source.appendingPathComponent(name))
        }
        let result = try! run(TestPaths.packageRoot.appendingPathComponent("scripts/example-recipes").path,
                              [source.path, folder.file("repos")])
        precondition(result.status == 0, "scripts/example-recipes failed: \(result.stderr)")
        return folder
    }()

    /// One app of a run: the base and head checked out, a fresh test domain, its own run folder.
    struct Fixture {
        let folder: TemporaryDirectory
        let base: Checkout
        let head: Checkout
        let app: AppDeployment

        init(overrides: [String: String] = [:]) throws {
            folder = try TemporaryDirectory("abra-backend")
            let source = try GitRepository.open(AbraBackendTests.repositories.file("repos/static-site"))
            base = try source.checkout(AbraBackendTests.base, into: folder.file("base"))
            head = try source.checkout(AbraBackendTests.head, into: folder.file("head"))
            let runID = String(UUID().uuidString.lowercased().prefix(8))
            app = AppDeployment(runID: runID, recipe: "static-site", domain: "abra-\(runID).ci.example", checkout: base,
                                overrides: overrides, workDirectory: folder.url.appendingPathComponent("run"))
            // The `proxy` network a Co-op Cloud server has (abra expects it; the server's setup makes it).
            let recipe = try Recipe.load(directory: base.directory, environmentOverrides: ["DOMAIN": app.domain])
            try SwarmDeployer().ensureExternalNetworks(recipe.compose, stack: app.stack)
        }
    }

    /// The deferred safety net of every test: the deployer's teardown unless the test did it, then
    /// docker-level removal of anything of the stack still there (a broken deployer must not leak).
    static func tearDown(_ deployer: AbraDeployer, _ app: AppDeployment, done: Bool) {
        if !done { _ = deployer.teardown(app) }
        if !SwarmDeployer().leftovers(stack: app.stack).isEmpty { _ = SwarmDeployer().teardown(stack: app.stack) }
    }

    func waitUntilConverged(_ stack: String) throws {
        let state = try DockerDaemon().waitForConvergence(stack: stack, deadline: Date().addingTimeInterval(90))
        try #require(state == .converged, "\(stack): \(state)")
    }

    /// The app service's deploy labels as the swarm has them.
    func labels(_ stack: String) throws -> [String: String] {
        try DockerDaemon().serviceLabels(stack: stack, service: "app")
    }

    /// What `script` prints in the app's container; it must exit 0.
    func exec(_ app: AppDeployment, _ script: String) throws -> String {
        let docker = DockerDaemon()
        let container = try docker.runningContainer(stack: app.stack, service: "app")
        let result = try docker.exec(["sh", "-c", script], in: container, deadline: Date().addingTimeInterval(120))
        try #require(result.exitCode == 0, "\(script): exit \(result.exitCode): \(String(decoding: result.stderr, as: UTF8.self))")
        return String(decoding: result.stdout, as: UTF8.self)
    }

    /// The shim's log: per call, the ABRA_DIR it ran with and its arguments.
    func shimCalls(_ deployer: AbraDeployer, _ app: AppDeployment) throws -> [(abraDir: String, arguments: [String])] {
        let log = try String(contentsOf: deployer.abraDirectory(app).appendingPathComponent("shim.log"), encoding: .utf8)
        return try log.split(separator: "\n").map { line in
            let parts = line.split(separator: " |", maxSplits: 1, omittingEmptySubsequences: false)
            try #require(parts.count == 2 && parts[0].hasPrefix("ABRA_DIR="), "unexpected shim log line: \(line)")
            return (String(parts[0].dropFirst("ABRA_DIR=".count)), parts[1].split(separator: " ").map(String.init))
        }
    }

    /// Every call of the shim's log after the first deploy (the `app new` before it aside).
    static let afterDeploy = ["--chaos", "--offline"]

    @Test("install, chaos upgrade to the head and teardown drive abra with exactly the expected arguments; backup and restore are refused", .requiresDocker)
    func lifecycle() throws {
        let fixture = try Fixture(overrides: ["LETS_ENCRYPT_ENV": "staging"])
        let deployer = AbraDeployer(abra: Self.shim, defaultTimeout: 90)
        var app = fixture.app
        let domain = app.domain, stack = app.stack
        var tornDown = false
        defer { Self.tearDown(deployer, app, done: tornDown) }

        // Install: the base release, deployed as that version.
        try deployer.deploy(app, as: .install(ref: Self.base))
        try waitUntilConverged(stack)
        var deployed = try labels(stack)
        #expect(deployed["coop-cloud.\(stack).version"] == Self.base)
        #expect(deployed["coop-cloud.\(stack).chaos"] == "false")
        #expect(deployed["coop-cloud.\(stack).recipe"] == "static-site")
        #expect(deployed["traefik.http.routers.\(stack).tls.certresolver"] == "staging", "the app's override reached the deploy")
        let env = try String(contentsOf: deployer.envFile(app), encoding: .utf8)
        #expect(env.contains("\nDOMAIN=\(domain)\n") && env.contains("\nLETS_ENCRYPT_ENV=staging\n"), "\(env)")
        // abra pins the deployed release in the env file: later calls need --chaos to keep the head.
        #expect(env.contains("TYPE=static-site:\(Self.base)\n") || env.contains("RECIPE=static-site:\(Self.base)\n"), "\(env)")

        // `app secret generate --all` printed the secret's value: it reached the ledger, for redaction.
        let secret = try exec(app, "cat /run/secrets/admin_password")
        #expect(secret.count == 24 && deployer.secrets.all.contains(secret), "the generated secret is not in the redaction ledger")

        // The recipe copy has no remote to fetch from.
        let remotes = try run("/usr/bin/git", ["-C", deployer.abraDirectory(app).path + "/recipes/static-site", "remote"])
        #expect(remotes.status == 0 && remotes.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "remotes: \(remotes.stdout)")

        // Upgrade: the head, redeployed in place with --chaos; abra's chaos-version is its SmallSHA.
        app.checkout = fixture.head
        try deployer.deploy(app, as: .chaosUpgrade)
        try waitUntilConverged(stack)
        deployed = try labels(stack)
        #expect(deployed["coop-cloud.\(stack).chaos"] == "true")
        #expect(deployed["coop-cloud.\(stack).chaos-version"] == String(fixture.head.commit.prefix(8)))
        #expect(deployed["com.docker.stack.image"] == "cchost-example/httpd:2.0.0")

        // Backup and restore go through backup-bot-two, which this backend does not drive yet.
        for attempt in [{ _ = try deployer.backup(app) }, { try deployer.restore(app, from: BackupRecord(archives: [])) }] as [() throws -> Void] {
            let error = try #require(throws: DeployError.self) { try attempt() }
            #expect(error.reason == "not supported by the abra backend yet", "\(error)")
        }

        // Teardown: nothing of the app left, on the engine or in the run's abra folder.
        let result = deployer.teardown(app)
        tornDown = true
        #expect(result.isClean, "\(result.leftovers)")
        #expect(result.removed.contains("abra app undeploy \(domain)") && result.removed.contains("abra app remove \(domain)"))
        #expect(SwarmDeployer().leftovers(stack: stack).isEmpty, "\(SwarmDeployer().leftovers(stack: stack))")
        #expect(!FileManager.default.fileExists(atPath: deployer.envFile(app).path))

        // The contract: these abra calls, in this order, each with the run's own ABRA_DIR; after the
        // release's deploy, every call with --chaos --offline.
        let calls = try shimCalls(deployer, app)
        let generate = ["app", "secret", "generate", domain, "--all"] + Self.afterDeploy + ["--no-input"]
        #expect(calls.map(\.arguments) == [
            ["app", "new", "static-site", "--server", "default", "--domain", domain, "--chaos", "--offline", "--no-input"],
            generate,
            ["app", "deploy", domain, Self.base, "--offline", "--no-input", "--no-domain-checks", "--no-converge-checks"],
            generate,
            ["app", "deploy", domain] + Self.afterDeploy + ["--no-input", "--no-domain-checks", "--no-converge-checks"],
            ["app", "undeploy", domain] + Self.afterDeploy + ["--no-input"],
            ["app", "remove", domain, "--force"] + Self.afterDeploy + ["--no-input"],
        ])
        #expect(calls.allSatisfy { $0.abraDir == deployer.abraDirectory(app).path })
    }

    @Test("on a server other than default, abra's DNS check is skipped and a missing external network is created", .requiresDocker)
    func otherServerAndMissingNetwork() throws {
        let fixture = try Fixture()
        // The recipe, edited in place (a non-tag install deploys the checkout as it is, with --chaos),
        // also joins an external network no server has yet.
        let network = "cchost-abra-\(fixture.app.runID)"
        let compose = URL(fileURLWithPath: fixture.base.directory).appendingPathComponent("compose.yml")
        var text = try String(contentsOf: compose, encoding: .utf8)
        text = text.replacingOccurrences(of: "    networks:\n      - proxy\n", with: "    networks:\n      - proxy\n      - extra\n")
            .replacingOccurrences(of: "  proxy:\n    external: true\n", with: "  proxy:\n    external: true\n  extra:\n    external: true\n    name: \(network)\n")
        try #require(text.contains("name: \(network)") && text.contains("      - extra\n"))
        try Data(text.utf8).write(to: compose)
        var app = fixture.app
        app.checkout = Checkout(directory: fixture.base.directory, ref: "edited", commit: fixture.base.commit)
        // Another's network by name: what the operator allows this recipe (every deploy checks it).
        app.allowance = PolicyAllowance(options: [.external])
        let deployer = AbraDeployer(abra: Self.shim, server: "ci-swarm", defaultTimeout: 90)
        var tornDown = false
        defer {
            Self.tearDown(deployer, app, done: tornDown)
            _ = try? run("/usr/bin/docker", ["network", "rm", network])
        }
        #expect(try run("/usr/bin/docker", ["network", "inspect", network]).status != 0, "\(network) exists already; the test proves nothing")

        try deployer.deploy(app, as: .install(ref: "edited"))
        try waitUntilConverged(app.stack)
        #expect(try run("/usr/bin/docker", ["network", "inspect", network]).status == 0)
        #expect(FileManager.default.fileExists(atPath: deployer.envFile(app).path) && deployer.envFile(app).path.contains("/servers/ci-swarm/"))
        let result = deployer.teardown(app)
        tornDown = true
        #expect(result.isClean, "\(result.leftovers)")
    }

    @Test("a failing abra call is a DeployError carrying abra's message, and teardown still leaves nothing", .requiresDocker)
    func failingCall() throws {
        let fixture = try Fixture()
        let app = fixture.app
        let deployer = AbraDeployer(abra: Self.shim, defaultTimeout: 90, environment: ["ABRA_SHIM_FAIL": "app deploy"])
        var tornDown = false
        defer { Self.tearDown(deployer, app, done: tornDown) }

        let error = try #require(throws: DeployError.self) { try deployer.deploy(app, as: .install(ref: Self.base)) }
        #expect(error.operation == "abra app deploy")
        #expect(error.stack == app.stack)
        #expect(error.reason == "FATA abra shim: failing \"app deploy\" as ABRA_SHIM_FAIL asks")

        // `app secret generate` ran before the failing deploy and made the app's secret: teardown removes it.
        #expect(!SwarmDeployer().leftovers(stack: app.stack).isEmpty, "app new left nothing; the teardown below proves nothing")
        let result = deployer.teardown(app)
        tornDown = true
        #expect(result.isClean, "\(result.leftovers)")
        #expect(SwarmDeployer().leftovers(stack: app.stack).isEmpty)
    }

    @Test("an abra that cannot run is a DeployError, and teardown falls back to the docker-level cleanup", .requiresDocker)
    func brokenAbraFallsBack() throws {
        let fixture = try Fixture()
        let app = fixture.app
        let working = AbraDeployer(abra: Self.shim, defaultTimeout: 90)
        let broken = AbraDeployer(abra: fixture.folder.file("no-such-abra"), defaultTimeout: 90)
        var tornDown = false
        defer { Self.tearDown(working, app, done: tornDown) }

        let error = try #require(throws: DeployError.self) { try broken.deploy(app, as: .install(ref: Self.base)) }
        #expect(error.operation == "abra app new")
        #expect(error.reason.contains("no-such-abra"), "\(error.reason)")

        try working.deploy(app, as: .install(ref: Self.base))
        try waitUntilConverged(app.stack)
        let result = broken.teardown(app)
        tornDown = true
        #expect(!result.removed.contains { $0.hasPrefix("abra ") }, "\(result.removed)")
        #expect(result.isClean, "\(result.leftovers)")
        #expect(SwarmDeployer().leftovers(stack: app.stack).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: broken.envFile(app).path))
    }

    @Test("an abra older than 0.10 is refused with a clear message; 0.10 or later is the version the run records", arguments: [
        ("0.10.1-beta-5e9b8d1", "0.10.1-beta-5e9b8d1"), ("0.11.0", "0.11.0"), ("1.0.0-rc1", "1.0.0-rc1"), ("0.9.2-beta-abc", nil),
    ])
    func versionCheck(reported: String, accepted: String?) throws {
        let deployer = AbraDeployer(abra: Self.shim, environment: ["ABRA_SHIM_VERSION": reported])
        guard let accepted else {
            let error = try #require(throws: DeployError.self) { _ = try deployer.toolVersion() }
            #expect(error.description == "abra --version failed: abra \(reported) is older than 0.10, the oldest abra whose command line this backend speaks; install abra 0.10 or later")
            return
        }
        #expect(try deployer.toolVersion() == accepted)
    }

    @Test("the secret values in what abra's secret generate printed, plain or drawn, and nothing else", arguments: [
        ("NAME                                     VALUE\nadmin_password                           s3cretValue1\n", ["s3cretValue1"]),
        ("┏━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━┓\n┃ NAME           ┃ VALUE        ┃\n┣━━━━━━━━━━━━━━━━╋━━━━━━━━━━━━━━┫\n┃ db_password    ┃ word-word-1  ┃\n┗━━━━━━━━━━━━━━━━┻━━━━━━━━━━━━━━┛\n", ["word-word-1"]),
        ("", []),
    ])
    func printedSecrets(printed: String, values: [String]) {
        #expect(AbraDeployer.printedSecretValues(printed) == values)
    }

    @Test("the shim refuses what abra would refuse: unknown commands and flags, a missing --no-input, wrong arity",
          arguments: [
              (["app", "frobnicate", "x.ci.example", "--no-input"], "FATA unknown command \"frobnicate\" for \"abra app\""),
              (["app", "deploy", "x.ci.example", "--chaos", "-o"], "FATA abra shim: \"app deploy\" without --no-input would prompt, and nobody answers in CI"),
              (["app", "deploy", "x.ci.example", "--chaos", "-n"], "FATA abra shim: \"app deploy\" without --offline would fetch the recipe and the catalogue, and this host has no network"),
              (["app", "deploy", "x.ci.example", "--no-input", "-o", "--snapshot", "1"], "FATA unknown flag: --snapshot"),
              (["app", "restore", "x.ci.example", "--no-input", "-o", "--archive", "/tmp/a.tar"], "FATA unknown flag: --archive"),
              (["app", "secret", "generate", "x.ci.example", "-n", "-o"], "FATA abra shim: \"app secret generate\" names a secret or takes --all (the shim knows --all)"),
              (["app", "undeploy", "x.ci.example", "y.ci.example", "--no-input", "-o"], "FATA accepts 1 arg(s), received 2"),
              (["app", "undeploy", "x.ci.example", "--no-input", "-C", "-o"], "FATA cannot find app with name x.ci.example"),
          ])
    func shimRefuses(arguments: [String], message: String) throws {
        let folder = try TemporaryDirectory("abra-shim")
        let result = try run(Self.shim, arguments, environment: [
            "ABRA_DIR": folder.path, "HOME": folder.path, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
        ])
        #expect(result.status != 0)
        #expect(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines) == message)
        #expect(try String(contentsOfFile: folder.file("shim.log"), encoding: .utf8).hasSuffix("| " + arguments.joined(separator: " ") + "\n"))
    }
}
