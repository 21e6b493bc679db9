import Foundation
@testable import HostBase
@testable import HostDocker
@testable import HostRuns
import Testing

/// The upgrade as operators live it: the head deploys with the env the app was installed with
/// (abra copies `.env.sample` into an app's env once), secrets the head adds and services it drops
/// are said, and a variable the head needs that an existing app lacks is RED.
@Suite("Upgrade drift: the upgrade as operators live it")
struct UpgradeDriftTests {
    /// A recipe folder with `compose.yml` and `.env.sample`.
    private static func recipe(_ folder: TemporaryDirectory, _ name: String, compose: String, sample: String) throws -> String {
        let directory = folder.url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try compose.write(to: directory.appendingPathComponent("compose.yml"), atomically: true, encoding: .utf8)
        try sample.write(to: directory.appendingPathComponent(".env.sample"), atomically: true, encoding: .utf8)
        return directory.path
    }

    private static let baseCompose = """
        services:
          app:
            image: x:1
            environment:
              - A=${A}
        secrets:
          db:
            external: true
            name: ${STACK_NAME}_db_${SECRET_DB_VERSION}

        """

    @Test("a variable the head's .env.sample adds and its compose files use without a default is missing from an existing app's env; one with a default is not")
    func missingVariables() throws {
        let folder = try TemporaryDirectory("drift")
        let base = try Recipe.load(directory: try Self.recipe(folder, "base", compose: Self.baseCompose, sample: "A=1\nSECRET_DB_VERSION=v1\n"))
        let headPath = try Self.recipe(folder, "head", compose: Self.baseCompose.replacingOccurrences(of: "      - A=${A}\n", with: """
                  - A=${A}
                  - B=${B}
                  - C=${C:-3}
                  - D=${B}

            """), sample: "A=1\nB=2\nC=3\nSECRET_DB_VERSION=v1\n")
        // Read as the existing app reads it: with the base's .env.sample values as its env.
        let head = try Recipe.load(directory: headPath, appEnvironment: base.envSample.values, environmentOverrides: ["DOMAIN": "d.ci.example"])
        let missing = UpgradeDrift.missingVariables(head: head)
        #expect(missing.map(\.name) == ["B"], "B once, at its first use; C has a default")
        #expect(missing.first?.location.line == 6)
        let detail = UpgradeDrift.missingDetail(missing, in: head, version: "2.0.0+1")
        #expect(detail.hasPrefix("the head needs B (compose.yml:6), which the head's .env.sample sets"), "\(detail)")
        #expect(detail.contains("or name it in release/2.0.0+1 so that operators add it"), "\(detail)")
        // A fresh install of the head reads its own sample: nothing is missing.
        #expect(UpgradeDrift.missingVariables(head: try Recipe.load(directory: headPath)).isEmpty)
        // A variable the head's sample leaves empty deploys empty on a fresh install of the head too.
        try "A=1\nB=\nC=3\nSECRET_DB_VERSION=v1\n".write(toFile: headPath + "/.env.sample", atomically: true, encoding: .utf8)
        let emptyInSample = try Recipe.load(directory: headPath, appEnvironment: base.envSample.values, environmentOverrides: ["DOMAIN": "d.ci.example"])
        #expect(UpgradeDrift.missingVariables(head: emptyInSample).isEmpty)
    }

    @Test("a missing variable the head's release notes name is documented for operators; one they do not name, or a word containing it, is not")
    func documentedInReleaseNotes() throws {
        let folder = try TemporaryDirectory("drift")
        let headPath = try Self.recipe(folder, "head", compose: Self.baseCompose.replacingOccurrences(of: "      - A=${A}\n", with: "      - A=${A}\n      - B=${B}\n      - BB=${BB}\n"),
                                       sample: "A=1\nB=2\nBB=3\nSECRET_DB_VERSION=v1\n")
        try FileManager.default.createDirectory(atPath: headPath + "/release", withIntermediateDirectories: true)
        try "Operators: add B=2 to your app's env before upgrading (ABBA is not it).\n".write(toFile: headPath + "/release/2.0.0+1", atomically: true, encoding: .utf8)
        let head = try Recipe.load(directory: headPath, appEnvironment: ["A": "1", "SECRET_DB_VERSION": "v1"], environmentOverrides: ["DOMAIN": "d.ci.example"])
        let missing = UpgradeDrift.missingVariables(head: head)
        #expect(missing.map(\.name) == ["B", "BB"])
        #expect(UpgradeDrift.documented(missing, head: head, version: "2.0.0+1").map(\.name) == ["B"])
        #expect(UpgradeDrift.documented(missing, head: head, version: "1.9.0+1").isEmpty, "another release's notes")
        #expect(UpgradeDrift.documented(missing, head: head, version: nil).isEmpty, "a branch has no release notes")
    }

    @Test("a new secret's version variable gets the advice to generate the secret")
    func secretVersionAdvice() throws {
        let folder = try TemporaryDirectory("drift")
        let head = try Recipe.load(directory: try Self.recipe(folder, "head", compose: Self.baseCompose, sample: "A=1\nSECRET_DB_VERSION=v1\n"),
                                   appEnvironment: ["A": "1"], environmentOverrides: ["DOMAIN": "d.ci.example"])
        let missing = UpgradeDrift.missingVariables(head: head)
        #expect(missing.map(\.name) == ["SECRET_DB_VERSION"])
        #expect(UpgradeDrift.missingDetail(missing, in: head, version: nil).contains("run abra app secret generate"))
    }

    @Test("secrets the head adds are named by key; a secret whose name is unchanged is not")
    func addedSecrets() throws {
        let folder = try TemporaryDirectory("drift")
        let environment = ["DOMAIN": "d.ci.example"]
        let base = try Recipe.load(directory: try Self.recipe(folder, "base", compose: Self.baseCompose, sample: "A=1\nSECRET_DB_VERSION=v1\n"),
                                   environmentOverrides: environment)
        let head = try Recipe.load(directory: try Self.recipe(folder, "head", compose: Self.baseCompose + """
              api_key:
                external: true
                name: ${STACK_NAME}_api_key_${SECRET_API_KEY_VERSION:-v1}

            """, sample: "A=1\nSECRET_DB_VERSION=v1\n"), environmentOverrides: environment)
        let added = UpgradeDrift.addedSecrets(base: base, head: head)
        #expect(added.map(\.key) == ["api_key"] && added.map(\.name) == ["d_ci_example_api_key_v1"], "\(added)")
        #expect(UpgradeDrift.addedSecrets(base: base, head: base).isEmpty)
    }

    @Test("services of the stack the head no longer declares are left running, by short name")
    func leftRunning() throws {
        let folder = try TemporaryDirectory("drift")
        let head = try Recipe.load(directory: try Self.recipe(folder, "head", compose: Self.baseCompose, sample: "A=1\nSECRET_DB_VERSION=v1\n"))
        let services = ["s_ci_example_app", "s_ci_example_worker", "s_ci_example_cron"].map { SwarmService(id: $0, name: $0, replicas: 1) }
        #expect(UpgradeDrift.leftRunning(services, stack: "s_ci_example", head: head) == ["cron", "worker"])
    }

    // MARK: On the swarm

    /// The static-site fixture with three more releases: 3.0.0 adds a `sidecar` service; 3.1.0
    /// drops it and adds a secret `api_key` (its name has a default version); 3.2.0 adds a variable
    /// `GREETING` to `.env.sample` that the app's environment uses without a default; 3.3.0 only adds
    /// release notes telling operators to add it.
    private static let repositories: TemporaryDirectory = {
        let repositories = try! SwarmRuns.repositories("drift-repos")
        let repository = repositories.file("static-site")
        func release(_ tag: String, notes: String? = nil, _ change: (inout String, inout String) -> Void) {
            let composePath = "\(repository)/compose.yml", samplePath = "\(repository)/.env.sample"
            if let notes { try! notes.write(toFile: "\(repository)/release/\(tag)", atomically: true, encoding: .utf8) }
            var compose = try! String(contentsOfFile: composePath, encoding: .utf8)
            var sample = try! String(contentsOfFile: samplePath, encoding: .utf8)
            change(&compose, &sample)
            try! compose.write(toFile: composePath, atomically: true, encoding: .utf8)
            try! sample.write(toFile: samplePath, atomically: true, encoding: .utf8)
            for arguments in [["add", "-A"], ["commit", "-qm", "release \(tag)"], ["tag", "-a", tag, "-m", "release \(tag)"]] {
                let result = try! HostTests.run("/usr/bin/git", ["-C", repository, "-c", "user.name=m", "-c", "user.email=m@example.org"] + arguments)
                precondition(result.status == 0, result.stderr)
            }
        }
        let sidecar = """
              sidecar:
                image: cchost-example/httpd:2.0.0
                command: ["/bin/sh", "-c", "exec sleep 3600"]
                init: true

            """
        release("3.0.0+3.0.0") { compose, _ in compose = compose.replacingOccurrences(of: "\nvolumes:\n", with: "\n" + sidecar + "\nvolumes:\n") }
        release("3.1.0+3.1.0") { compose, _ in
            compose = compose.replacingOccurrences(of: sidecar, with: "")
                .replacingOccurrences(of: "    secrets:\n      - admin_password\n", with: "    secrets:\n      - admin_password\n      - api_key\n")
                .replacingOccurrences(of: "\nconfigs:\n", with: "  api_key:\n    external: true\n    name: ${STACK_NAME}_api_key_${SECRET_API_KEY_VERSION:-v1}\n\nconfigs:\n")
        }
        release("3.2.0+3.2.0") { compose, sample in
            compose = compose.replacingOccurrences(of: "      - DOMAIN\n", with: "      - DOMAIN\n      - GREETING=${GREETING}\n")
            sample += "\nGREETING=hello\n"
        }
        release("3.3.0+3.3.0", notes: "Before upgrading, add GREETING=hello to your app's env (abra app config).\n") { _, _ in }
        return repositories
    }()

    private func run(base: String, head: String) throws -> RunRecord {
        let state = try TemporaryDirectory("state")
        let started = Date()
        let record = try SwarmRuns.engine(state, plugins: [try SwarmRuns.generic()])
            .run(RunRequest(recipe: "static-site", repository: Self.repositories.file("static-site"), headRef: head, base: base,
                            stages: [.install, .upgrade]))
        print("static-site \(base) → \(head) (install,upgrade): \(Int(Date().timeIntervalSince(started))) s")
        #expect(record.teardown?.isClean == true, "\(String(describing: record.teardown))")
        #expect(SwarmRuns.leftovers(AppNaming.stackName(forDomain: record.domain)).isEmpty)
        return record
    }

    @Test("an upgrade that adds a secret and drops a service goes green, saying operators must generate the secret and that the service keeps running", .requiresDocker)
    func addedSecretAndDroppedServiceAreSaid() throws {
        let record = try run(base: "3.0.0+3.0.0", head: "3.1.0+3.1.0")
        #expect(record.verdict == .pass, "\(RunReport.console(record))")
        let detail = try record.tier(.upgrade).opDetail
        #expect(detail.contains("the head adds secret(s) api_key: operators must generate them before upgrading"), "\(detail)")
        #expect(detail.contains("service(s) sidecar keep running though the head no longer declares them"), "\(detail)")
    }

    @Test("an upgrade whose head needs a variable an existing app's env lacks is RED, naming it and how to fix it", .requiresDocker)
    func missingVariableIsRed() throws {
        let record = try run(base: "3.1.0+3.1.0", head: "3.2.0+3.2.0")
        #expect(record.verdict == .fail, "\(RunReport.console(record))")
        let upgrade = try record.tier(.upgrade)
        #expect(upgrade.opVerdict == .fail)
        #expect(upgrade.opDetail.hasPrefix("the head needs GREETING (compose.yml:"), "\(upgrade.opDetail)")
        #expect(upgrade.opDetail.contains("Give a default (${NAME:-value})"), "\(upgrade.opDetail)")
        #expect(record.level == 1, "\(record.levelReason ?? "")")
    }

    @Test("the same variable named in the head's release notes goes green: cchost adds it to the app's env as operators would, and says so", .requiresDocker)
    func documentedVariableIsAdded() throws {
        let record = try run(base: "3.1.0+3.1.0", head: "3.3.0+3.3.0")
        #expect(record.verdict == .pass, "\(RunReport.console(record))")
        let detail = try record.tier(.upgrade).opDetail
        #expect(detail.contains("the release notes tell operators to add GREETING to their app's env"), "\(detail)")
    }
}
