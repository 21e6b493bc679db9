import Foundation
@testable import HostBase
@testable import HostDocker
@testable import HostRuns
import PluginChannel
import Testing

/// Recipes that reach for the host (Tests/Fixtures/hostile-recipes/policy-*), each run through the
/// engine on the real swarm. Every one must be refused before anything is deployed: a RED run naming
/// the option and where it is written, nothing deployed, teardown clean, and the host's canaries
/// untouched (a root-only file nobody may read, a folder nobody may write, a sentinel path that
/// must not appear). Serialized: the runs share one engine.
@Suite("HostileRecipes: the recipe content policy on the swarm", .serialized)
struct HostileRecipeTests {
    private static let repositories: TemporaryDirectory = {
        // Only this area's recipes: other hostile recipes have their own suites.
        try! SwarmRuns.repositories("policy-recipes", fixtures: "hostile-recipes") { source in
            for name in try FileManager.default.contentsOfDirectory(atPath: source.path) where !name.hasPrefix("policy-") {
                try FileManager.default.removeItem(at: source.appendingPathComponent(name))
            }
        }
    }()

    /// Host canaries under /tmp/cchost-canary-*: a root-only file holding a unique text (what a
    /// recipe must never read), and a sentinel path in the same folder that must never appear.
    final class Canaries {
        let folder: URL
        let file: String
        let secret = "cchost-canary-\(UUID().uuidString)"
        var sentinel: String { folder.appendingPathComponent("sentinel").path }

        init() throws {
            folder = URL(fileURLWithPath: "/tmp/cchost-canary-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false,
                                                    attributes: [.posixPermissions: 0o700])
            file = folder.appendingPathComponent("root-only").path
            // KEY=value, so that it also reads as an env file.
            try Data("CANARY_SECRET=\(secret)\n".utf8).write(to: URL(fileURLWithPath: file))
            try FileManager.default.setAttributes([.posixPermissions: 0o400], ofItemAtPath: file)
        }

        deinit { try? FileManager.default.removeItem(at: folder) }

        /// Nothing of the host was read (no byte the run wrote holds the secret), written (the
        /// sentinel is absent, the folder holds only the canary) or left behind.
        func expectUntouched(_ record: RunRecord, state: TemporaryDirectory, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(!FileManager.default.fileExists(atPath: sentinel), "the recipe wrote \(sentinel) on the host",
                    sourceLocation: sourceLocation)
            #expect((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) == ["root-only"],
                    "the canary folder changed", sourceLocation: sourceLocation)
            let leaked = Self.files(under: state.url).filter { (try? String(contentsOfFile: $0, encoding: .utf8))?.contains(secret) == true }
            #expect(leaked.isEmpty, "the host's root-only file was read into \(leaked)", sourceLocation: sourceLocation)
            #expect(!"\(record)".contains(secret), "the host's root-only file was read into the run record", sourceLocation: sourceLocation)
        }

        static func files(under folder: URL) -> [String] {
            let enumerator = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey])
            return (enumerator?.allObjects as? [URL] ?? []).filter { (try? $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true }
                .map(\.path)
        }
    }

    /// Runs `recipe` (install only: the tier that would deploy it) with the run's own overrides.
    private func run(_ recipe: String, environment: [String: String] = [:], stages: [Tier] = [.install],
                     repository: String? = nil) throws -> (RunRecord, TemporaryDirectory) {
        let state = try TemporaryDirectory("state")
        let started = Date()
        let record = try SwarmRuns.engine(state, plugins: [try SwarmRuns.generic()], deployer: SwarmDeployer(defaultTimeout: 30))
            .run(RunRequest(recipe: recipe, repository: repository ?? Self.repositories.file(recipe), stages: stages,
                            environment: environment))
        print("\(recipe) run: \(Int(Date().timeIntervalSince(started).rounded())) s, \(record.verdict)")
        return (record, state)
    }

    /// RED, the refusal naming `reason` at `location` (file:line), nothing deployed, torn down clean.
    private func expectRefused(_ record: RunRecord, naming reason: String, at location: String,
                               sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(record.verdict == .fail, "\(record.verdict): \(record.tiers.map { "\($0.tier): \($0.opDetail)" })",
                sourceLocation: sourceLocation)
        #expect(record.deployCount == 0, "the recipe was deployed", sourceLocation: sourceLocation)
        let install = try record.tier(.install)
        #expect(install.verdict == .fail, sourceLocation: sourceLocation)
        #expect(install.opDetail.contains("content policy"), "\(install.opDetail)", sourceLocation: sourceLocation)
        #expect(install.opDetail.contains(reason), "\(install.opDetail)", sourceLocation: sourceLocation)
        #expect(install.opDetail.contains(location), "\(install.opDetail)", sourceLocation: sourceLocation)
        let stack = AppNaming.stackName(forDomain: record.domain)
        #expect(record.teardown?.isClean == true, "\(String(describing: record.teardown))", sourceLocation: sourceLocation)
        #expect(SwarmRuns.leftovers(stack).isEmpty, "\(SwarmRuns.leftovers(stack))", sourceLocation: sourceLocation)
    }

    @Test("a bind mount of the host's root is refused: nothing root-only is read, nothing is written as root", .requiresDocker)
    func hostRoot() throws {
        let canaries = try Canaries()
        let (record, state) = try run("policy-host-root", environment: ["CANARY_FILE": canaries.file, "SENTINEL": canaries.sentinel])
        canaries.expectUntouched(record, state: state)
        try expectRefused(record, naming: "bind-mounts the host path /", at: "compose.yml:30")
    }

    @Test("a config whose file is a host file is refused, and the file is never read", .requiresDocker)
    func configFile() throws {
        let canaries = try Canaries()
        let (record, state) = try run("policy-config-file", environment: ["CANARY_FILE": canaries.file])
        canaries.expectUntouched(record, state: state)
        try expectRefused(record, naming: "outside the recipe's checkout", at: "compose.yml:34")
    }

    @Test("an env_file outside the checkout is refused, and the file is never read", .requiresDocker)
    func envFile() throws {
        let canaries = try Canaries()
        let (record, state) = try run("policy-env-file", environment: ["CANARY_FILE": canaries.file])
        canaries.expectUntouched(record, state: state)
        try expectRefused(record, naming: "env_file", at: "compose.yml:24")
    }

    @Test("a recipe file that is a symbolic link to a host file is refused, and the file is never read", .requiresDocker)
    func symlinkedFile() throws {
        let canaries = try Canaries()
        // The maintainer's release holds page.html as a link to the host's file.
        let repository = Self.repositories.file("policy-symlink")
        let page = URL(fileURLWithPath: repository).appendingPathComponent("page.html")
        try FileManager.default.removeItem(at: page)
        try FileManager.default.createSymbolicLink(atPath: page.path, withDestinationPath: canaries.file)
        for arguments in [["add", "-A"], ["commit", "-q", "-m", "page.html links to a host file"],
                          ["tag", "-f", "-a", "1.0.0+2.0.0", "-m", "release 1.0.0+2.0.0"]] {
            let result = try HostTests.run("/usr/bin/git", ["-C", repository, "-c", "user.name=t", "-c", "user.email=t@t.invalid"] + arguments)
            try #require(result.status == 0, "git \(arguments): \(result.stderr)")
        }
        let (record, state) = try run("policy-symlink")
        canaries.expectUntouched(record, state: state)
        try expectRefused(record, naming: "page.html", at: "compose.yml:34")
    }

    @Test("a compose file outside the checkout in COMPOSE_FILE is refused RED, not read", .requiresDocker)
    func composeFileOutside() throws {
        let canaries = try Canaries()
        let outside = canaries.folder.appendingPathComponent("outside.yml")
        try Data("services:\n  app:\n    environment:\n      - LEAK=\(canaries.secret)\n".utf8).write(to: outside)
        defer { try? FileManager.default.removeItem(at: outside) }
        let (record, state) = try run("policy-compose-outside", environment: ["COMPOSE_FILE": "compose.yml:\(outside.path)"])
        try expectRefused(record, naming: outside.path, at: "COMPOSE_FILE")
        try FileManager.default.removeItem(at: outside)
        canaries.expectUntouched(record, state: state)
    }

    @Test("a volume whose driver_opts bind a host folder is refused, and the folder stays untouched", .requiresDocker)
    func bindVolume() throws {
        let canaries = try Canaries()
        let (record, state) = try run("policy-bind-volume", environment: ["CANARY_DIR": canaries.folder.path])
        canaries.expectUntouched(record, state: state)
        try expectRefused(record, naming: "driver_opts", at: "compose.yml:32")
    }

    @Test("host-reaching options are refused before anything is deployed", .requiresDocker, arguments: [
        ("policy-docker-socket", "docker socket", "compose.yml:24"),
        ("policy-cap-add", "cap_add SYS_ADMIN", "compose.yml:24"),
        ("policy-host-network", "the host's network", "compose.yml:33"),
        ("policy-published-port", "publishes port 18080", "compose.yml:24"),
        ("policy-published-port", "publishes port 18081", "compose.yml:27"),
        ("policy-replicas", "40 replicas", "compose.yml:23"),
        ("policy-external", "secret another_run_ci_example_db_password_v1", "compose.yml:40"),
        ("policy-external", "config another_run_ci_example_conf_v1", "compose.yml:45"),
        ("policy-external", "volume cchost_canonical_notes_db_data", "compose.yml:50"),
        ("policy-external", "network operator_net", "compose.yml:35"),
        ("policy-external", "volume another_run_ci_example_content is not the app's own", "compose.yml:53"),
    ])
    func hostReachingOption(recipe: String, reason: String, location: String) throws {
        let canaries = try Canaries()
        let (record, state) = try run(recipe)
        canaries.expectUntouched(record, state: state)
        try expectRefused(record, naming: reason, at: location)
    }

    @Test("an option the operator allows for the recipe deploys, and every report shows the allowance", .requiresDocker)
    func allowedOption() throws {
        let state = try TemporaryDirectory("state")
        let record = try SwarmRuns.engine(state, plugins: [try SwarmRuns.generic()], deployer: SwarmDeployer(defaultTimeout: 30))
            .run(RunRequest(recipe: "policy-docker-socket", repository: Self.repositories.file("policy-docker-socket"),
                            stages: [.lint, .install], allowance: PolicyAllowance(options: [.dockerSocket])))
        let install = try record.tier(.install)
        #expect(record.deployCount == 1 && install.opVerdict == .pass, "\(record.tiers.map(\.opDetail))")
        #expect(try record.tier(.lint).checks.first { $0.name == "R016" }?.verdict == .pass)
        let allowance = "docker_socket: service app bind-mounts the docker socket /var/run/docker.sock"
        #expect(record.allowances?.count == 1 && record.allowances?.first?.hasPrefix(allowance) == true, "\(String(describing: record.allowances))")
        #expect(record.allowances?.first?.hasSuffix("(compose.yml:24)") == true)
        let json = String(decoding: try RunReport.json(record), as: UTF8.self)
        for report in [RunReport.console(record), RunReport.junit(record), RunReport.markdown(record), json] {
            #expect(report.contains("bind-mounts the docker socket /var/run/docker.sock"), "\(report)")
        }
        #expect(record.teardown?.isClean == true)
        #expect(SwarmRuns.leftovers(AppNaming.stackName(forDomain: record.domain)).isEmpty)
    }

    @Test("options docker stack deploy ignores are named by lint as warnings", .requiresDocker)
    func ignoredOptions() throws {
        let (record, _) = try run("policy-ignored-options", stages: [.lint])
        let details = try record.tier(.lint).checks.map(\.detail).joined(separator: "\n")
        for option in ["privileged", "pid: host", "ipc: host", "security_opt", "devices", "network_mode: host"] {
            #expect(details.contains(option), "\(option) not named in \(details)")
        }
        #expect(record.deployCount == 0)
    }
}
