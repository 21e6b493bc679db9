import Foundation
@testable import HostBase
@testable import HostDocker
import Testing

/// Hostile recipes against cchost's own resources: each must be refused in seconds, within bounded
/// memory, with an error naming the file and line — never a lint pass, a spin or gigabytes of memory.
@Suite("Hostile recipes: bounded parsing")
struct HostileStateTests {
    static let fixtures = TestPaths.packageRoot.appendingPathComponent("Tests/Fixtures/hostile-recipes")

    /// `cchost recipe lint --json` on a hostile recipe's repository, with a deadline and an address-space
    /// cap: a spinning or ballooning lint is killed and fails the test instead of hanging it.
    static func boundedLint(_ recipe: String) throws -> (output: CommandOutput, seconds: Double) {
        let repositories = try SwarmRuns.repositories("state-hostile", fixtures: "hostile-recipes")
        let started = Date()
        let output = try Command.run(
            "/usr/bin/prlimit", ["--as=\(4 << 30)", "--", TestPaths.cli, "recipe", "lint", "--json", repositories.url.appendingPathComponent(recipe).path],
            environment: ["PATH": "/usr/bin:/bin"], timeout: 30)
        return (output, Date().timeIntervalSince(started))
    }

    static func findings(_ output: CommandOutput) throws -> [[String: Any]] {
        let object = try #require(try JSONSerialization.jsonObject(with: output.stdout) as? [String: Any], "\(output.stderrText)")
        return try #require(object["findings"] as? [[String: Any]])
    }

    @Test("a secret length of a billion characters is a lint error naming .env.sample and its line")
    func hugeSecretLengthFailsLint() throws {
        let (output, seconds) = try Self.boundedLint("state-long-secret")
        #expect(seconds < 20)
        #expect(output.termination == .exited(1), "lint passed a secret length of 999999999: \(output.stdoutText)")
        let finding = try Self.findings(output).first { ($0["message"] as? String)?.contains("length") == true }
        #expect(finding?["file"] as? String == ".env.sample" && finding?["line"] as? Int == 12, "\(output.stdoutText)")
        #expect(finding?["severity"] as? String == "error")
    }

    @Test("a recipe whose secret length is absurd is refused when it is read for a run, naming the file and line")
    func hugeSecretLengthRefusedAtLoad() throws {
        let directory = Self.fixtures.appendingPathComponent("state-long-secret").path
        let error = try #require(throws: RecipeError.self) { try Recipe.load(directory: directory) }
        #expect(error.description.contains(".env.sample:12"), "\(error)")
        #expect(error.description.contains("length"), "\(error)")
    }

    @Test("the secret generator refuses a length beyond the bound, whoever built the spec, and makes one at the bound")
    func generatorIsBounded() throws {
        let error = #expect(throws: DeployError.self) {
            try SwarmDeployer.randomSecret(length: 999_999_999, name: "admin_password", stack: "s_ci_example")
        }
        #expect(error?.description.contains("999999999 is outside 1…4096") == true, "\(String(describing: error))")
        #expect(try SwarmDeployer.randomSecret(length: SecretSpec.lengths.upperBound, name: "x", stack: "s").count == 4096)
    }

    @Test("nested YAML aliases in a configuration file are refused in seconds, naming the file and a line")
    func billionLaughsInConfiguration() throws {
        var yaml = "x0: &x0 lol\n"
        for level in 1...9 { yaml += "x\(level): &x\(level) [" + Array(repeating: "*x\(level - 1)", count: 10).joined(separator: ", ") + "]\n" }
        let file = try Self.write(yaml + "recipes: *x9\n")
        let started = Date()
        let error = try #require(throws: ConfigurationError.self) {
            try Configuration.load(environment: ["CCHOST_CONFIG": file], defaultFilePath: "/nonexistent")
        }
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(error.description.hasPrefix("\(file):") && error.description.contains("malformed YAML: its aliases expand"), "\(error)")
    }

    @Test("a compose file that uses anchors and merge keys the ordinary way still reads")
    func ordinaryAliasesStillRead() throws {
        let directory = try TemporaryDirectory("aliases")
        try Data("""
            x-env: &env
              A: "1"
            services:
              app:
                image: x
                environment: *env
              db:
                image: y
                environment:
                  <<: *env
                  B: "2"

            """.utf8).write(to: directory.url.appendingPathComponent("compose.yml"))
        let project = try ComposeProject.load(directory: directory.path, environment: [:])
        #expect(project.services["db"]?.environment["A"] == "1")
    }

    @Test("a YAML tag in a compose file is refused, naming the file, the line and the tag: docker's reader would read it otherwise",
          arguments: [
              ("    ! <<: {volumes: [\"/:/host\"]}\n", 5, "!"),
              ("    volumes:\n      - !!binary LzovaG9zdA==\n", 6, "!!binary"),
              ("    cap_add: !custom [SYS_ADMIN]\n", 5, "!custom"),
              ("    environment: !!map {A: \"1\"}\n", 5, "!!map"),
              ("    !!str 5: x\n", 5, "!!str"),
          ])
    func taggedYAMLRefused(service: String, line: Int, tag: String) throws {
        let directory = try TemporaryDirectory("tagged")
        try Data("version: \"3.8\"\nservices:\n  app:\n    image: x:1\n\(service)".utf8)
            .write(to: directory.url.appendingPathComponent("compose.yml"))
        let error = try #require(throws: RecipeError.self) { try ComposeProject.load(directory: directory.path, environment: [:]) }
        guard case .malformedYAML(let file, let at, let problem) = error else {
            Issue.record("not a YAML refusal: \(error)")
            return
        }
        #expect(file.hasSuffix("compose.yml") && at == line, "\(error)")
        #expect(problem.contains("the YAML tag `\(tag)`") && problem.contains("refuses tagged YAML"), "\(problem)")
    }

    @Test("nested YAML aliases in a compose file are a lint error in seconds, naming compose.yml and a line")
    func billionLaughsFailsLintQuickly() throws {
        let (output, seconds) = try Self.boundedLint("state-yaml-bomb")
        #expect(output.termination == .exited(1), "lint did not end with its findings: \(output.termination) \(output.stderrText.suffix(500))")
        #expect(seconds < 20)
        let finding = try Self.findings(output).first { ($0["message"] as? String)?.contains("alias") == true }
        #expect(finding?["file"] as? String == "compose.yml", "\(output.stdoutText)")
        #expect((finding?["line"] as? Int).map { $0 > 0 } == true, "\(output.stdoutText)")
    }

    @Test("5000 nested lists in an x- field are a lint error naming compose.yml, not a crash of the process")
    func deepNestingFailsLint() throws {
        let (output, seconds) = try Self.boundedLint("state-deep-nesting")
        #expect(output.termination == .exited(1), "lint did not end with its findings: \(output.termination) \(output.stderrText.suffix(500))")
        #expect(seconds < 20)
        let finding = try Self.findings(output).first { ($0["message"] as? String)?.contains("levels deep") == true }
        #expect(finding?["file"] as? String == "compose.yml", "\(output.stdoutText)")
    }

    @Test("YAML nested near the bound is read on a stack of its own: a caller on a 256 KiB thread gets a refusal, not a crash",
          arguments: [5_000, 9_000])
    func deepNestingOnASmallStack(levels: Int) {
        let text = "services:\n  app:\n    labels: " + String(repeating: "[", count: levels) + String(repeating: "]", count: levels) + "\n"
        let refusal = LargeStack.run(stackBytes: 256 << 10) { () -> String? in
            do throws(YAMLDocument.Problem) { _ = try YAMLDocument.compose(text); return nil } catch { return error.problem }
        }
        #expect(refusal?.contains("more than \(YAMLDocument.maximumDepth) levels deep") == true, "\(String(describing: refusal))")
    }

    @Test("a recipe file over the size cchost reads, or one that is not a regular file, is refused before it is read")
    func oversizedAndSpecialFiles() throws {
        let folder = try TemporaryDirectory("big-files")
        let big = folder.url.appendingPathComponent("compose.yml")
        try Data(count: TextFile.maximumBytes + 1).write(to: big)
        #expect { try TextFile.data(at: big.path) } throws: { ($0 as? TextFile.Unreadable)?.reason.contains("over the 4 MiB") == true }
        let fifo = folder.url.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect { try TextFile.data(at: fifo) } throws: { ($0 as? TextFile.Unreadable)?.reason == "it is not a regular file" }
    }

    // MARK: The configuration's error names the keys it accepts

    static let source = "/etc/cchost/config.yml"

    @Test("an unknown top-level key lists every key the configuration accepts, and each listed key is accepted", arguments: [
        ("colour: red\n", "colour",
         ["state_dir", "plugin_paths", "allowlist", "worker_path", "operator_plugins", "recipes", "concurrency", "backend", "base_domain",
          "ceilings", "retention", "docker_host"]),
        ("operator_plugins:\n  disk_mb: 5\n", "operator_plugins.disk_mb", ["memory_mb", "cpu_seconds", "call_timeout"]),
        ("recipes:\n  - name: x\n    upstream: /u\n    colour: red\n", "recipes[0].colour",
         ["name", "upstream", "mirror", "enrolled", "timeout", "stages", "env", "readiness", "checks", "ceilings", "retention", "allow",
          "data_seed", "max_replicas", "allow_domains"]),
    ])
    func unknownKeyListsTheAcceptedKeys(yaml: String, key: String, accepted: [String]) throws {
        let error = try #require(throws: ConfigurationError.self) {
            try Configuration.load(environment: ["CCHOST_CONFIG": try Self.write(yaml)], defaultFilePath: "/nonexistent")
        }
        let text = error.description
        #expect(text.contains("unknown key '\(key)'"), "\(text)")
        let listed = try #require(text.range(of: "known keys: ").map { text[$0.upperBound...].prefix { $0 != ")" } }, "\(text)")
        #expect(Set(listed.components(separatedBy: ", ")) == Set(accepted), "\(text)")
    }

    static func write(_ yaml: String) throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("cchost-config-\(UUID().uuidString).yml")
        try Data(yaml.utf8).write(to: file)
        return file.path
    }
}
