import Foundation
@testable import HostBase
@testable import HostDocker
import Testing

/// Where cchost's engine is, decided once from the operator's side only.
@Suite("Engine address")
struct EngineAddressTests {
    static let configured = try! EngineAddress(parsing: "unix:///srv/configured.sock")

    @Test("the configuration wins over DOCKER_HOST, DOCKER_HOST over the default socket; an empty DOCKER_HOST is unset",
          arguments: [
              (configured, ["DOCKER_HOST": "unix:///run/env.sock"], "/srv/configured.sock"),
              (configured, ["DOCKER_HOST": "tcp://10.0.0.2:2375"], "/srv/configured.sock"),
              (nil, ["DOCKER_HOST": "unix:///run/user/1000/docker.sock"], "/run/user/1000/docker.sock"),
              (nil, ["DOCKER_HOST": ""], "/var/run/docker.sock"),
              (nil, [:], "/var/run/docker.sock"),
          ] as [(EngineAddress?, [String: String], String)])
    func resolution(configured: EngineAddress?, environment: [String: String], socket: String) throws {
        let address = try EngineAddress.resolve(configured: configured, environment: environment)
        #expect(address.socketPath == socket)
        #expect(address.dockerHost == "unix://" + socket)
    }

    @Test("a DOCKER_HOST that is not a unix socket by an absolute path is refused, naming the variable, the value and what would do",
          arguments: [
              ("tcp://10.0.0.2:2375", "is not a unix socket: cchost speaks to the Docker engine over a unix socket only"),
              ("ssh://ci@engine", "is not a unix socket"),
              ("/var/run/docker.sock", "is not an engine address"),
              ("unix://run/docker.sock", "does not name the socket by an absolute path"),
              ("unix:///" + String(repeating: "s", count: 120), "cannot be a unix socket's path"),
          ])
    func refusedEnvironment(value: String, problem: String) throws {
        let error = try #require(throws: EngineAddressError.self) {
            try EngineAddress.resolve(configured: nil, environment: ["DOCKER_HOST": value])
        }
        #expect(error.description.hasPrefix("DOCKER_HOST '\(value)' \(problem)"), "\(error)")
        #expect(error.description.contains("unix:///var/run/docker.sock"), "\(error)")
    }

    @Test("docker_host in the configuration is the engine's address")
    func configurationKey() throws {
        let configuration = try Configuration(parsing: "state_dir: /a\ndocker_host: unix:///run/docker.sock\n",
                                              source: "/etc/cchost/config.yml", environment: ["DOCKER_HOST": "unix:///elsewhere.sock"])
        #expect(configuration.dockerHost?.socketPath == "/run/docker.sock")
        #expect(try EngineAddress.resolve(configured: configuration.dockerHost, environment: ["DOCKER_HOST": "unix:///elsewhere.sock"])
                    .socketPath == "/run/docker.sock")
    }

    @Test("a docker_host the host cannot use is an error naming the file, the line and the key", arguments: [
        ("state_dir: /a\ndocker_host: tcp://10.0.0.2:2375\n", 2,
         "docker_host: 'tcp://10.0.0.2:2375' is not a unix socket: cchost speaks to the Docker engine over a unix socket only (a unix socket address such as unix:///var/run/docker.sock)"),
        ("docker_host: unix://docker.sock\n", 1,
         "docker_host: 'unix://docker.sock' does not name the socket by an absolute path (a unix socket address such as unix:///var/run/docker.sock)"),
        ("\ndocker_host:\n", 2, "docker_host must be a unix socket address such as unix:///var/run/docker.sock"),
        ("docker_host: [unix:///a.sock]\n", 1, "docker_host must be a unix socket address such as unix:///var/run/docker.sock"),
    ])
    func configurationErrors(yaml: String, line: Int, message: String) throws {
        let error = try #require(throws: ConfigurationError.self) {
            try Configuration(parsing: yaml, source: "/etc/cchost/config.yml", environment: [:])
        }
        #expect(error.description == "/etc/cchost/config.yml:\(line): \(message)")
    }

    @Test("cchost with a tcp:// DOCKER_HOST stops at startup, saying so, before asking any engine")
    func commandRefusesTCP() throws {
        let state = try TemporaryDirectory("state")
        let result = try run(TestPaths.cli, ["janitor", "--dry-run"],
                             environment: ["CCHOST_STATE_DIR": state.path, "DOCKER_HOST": "tcp://10.0.0.2:2375", "PATH": "/usr/bin:/bin"])
        #expect(result.status == 2, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.isEmpty, "\(result.stdout)")
        #expect(result.stderr.hasPrefix("cchost: DOCKER_HOST 'tcp://10.0.0.2:2375' is not a unix socket"), "\(result.stderr)")
    }

    @Test("cchost asks the engine the configuration names, whatever DOCKER_HOST says")
    func commandUsesConfiguredEngine() throws {
        let state = try TemporaryDirectory("state")
        try "state_dir: \(state.path)\ndocker_host: unix://\(state.path)/configured.sock\n"
            .write(toFile: state.file("config.yml"), atomically: true, encoding: .utf8)
        let result = try run(TestPaths.cli, ["janitor", "--dry-run"],
                             environment: ["CCHOST_CONFIG": state.file("config.yml"), "DOCKER_HOST": "tcp://10.0.0.2:2375", "PATH": "/usr/bin:/bin"])
        #expect(result.status == 2, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains("\(state.path)/configured.sock") && !result.stderr.contains("10.0.0.2"), "\(result.stderr)")
    }

    @Test("clients built on a refused address run nothing and ask no engine, saying why")
    func refusedClients() throws {
        let refusal = EngineAddressError(value: "tcp://10.0.0.2:2375", reason: .notUnixSocket, source: "DOCKER_HOST")
        let cli = DockerCLI(resolved: .failure(refusal), executable: "/usr/bin/env")
        let error = try #require(throws: DeployError.self) { try cli.run(["true"]) }
        #expect(error.reason == refusal.description)
        let apiError = try #require(throws: DockerAPIError.self) { try DockerAPI(resolved: .failure(refusal)).version() }
        #expect(apiError.description.contains("DOCKER_HOST 'tcp://10.0.0.2:2375' is not a unix socket"), "\(apiError)")
    }
}

/// The environment docker and abra run with: built from nothing, whatever cchost or a recipe has.
@Suite("Docker CLI environment")
struct DockerCLIEnvironmentTests {
    static let address = try! EngineAddress(socketPath: "/run/cchost-test/docker.sock")
    /// What a recipe's env might try: another engine, another config, another PATH, a library in docker.
    static let hostile = ["DOCKER_HOST": "unix:///nonexistent.sock", "DOCKER_CONTEXT": "elsewhere", "DOCKER_CONFIG": "/root/.docker",
                          "DOCKER_TLS_VERIFY": "1", "HOME": "/root", "PATH": "/tmp/evil:/usr/bin", "LD_PRELOAD": "/tmp/evil.so",
                          "GREETING": "hello", "DOMAIN": "app.ci.example"]

    /// What `env` printed, as a dictionary.
    static func variables(_ printed: String) -> [String: String] {
        Dictionary(printed.split(separator: "\n").map { line in
            let parts = line.split(separator: "=", maxSplits: 1)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }, uniquingKeysWith: { $1 })
    }

    @Test("docker gets exactly DOCKER_HOST, the fixed PATH, the empty DOCKER_CONFIG and the per-call values that are not reserved")
    func exactEnvironment() throws {
        // The same Command machinery as every docker call, with env printing what it was given.
        let cli = DockerCLI(address: Self.address, executable: "/usr/bin/env")
        let printed = Self.variables(try cli.run([], environment: Self.hostile))
        let folder = try DockerCLI.emptyConfigFolder.get()
        #expect(printed == ["DOCKER_HOST": "unix:///run/cchost-test/docker.sock", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                            "DOCKER_CONFIG": folder, "GREETING": "hello", "DOMAIN": "app.ci.example"])
        #expect(Self.variables(try cli.run([])).keys.sorted() == ["DOCKER_CONFIG", "DOCKER_HOST", "PATH"])
    }

    @Test("DOCKER_CONFIG is an empty folder only this user may enter")
    func emptyConfigFolder() throws {
        let folder = try DockerCLI.emptyConfigFolder.get()
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty)
        var info = stat()
        try #require(lstat(folder, &info) == 0)
        #expect(info.st_mode & S_IFMT == S_IFDIR && info.st_mode & 0o777 == 0o700 && info.st_uid == geteuid())
    }

    @Test("abra runs with docker's environment, its own HOME and ABRA_DIR, and the deployer's unreserved variables")
    func abraEnvironment() throws {
        let folder = try TemporaryDirectory()
        let deployer = AbraDeployer(abra: "/usr/bin/env", docker: DockerDaemon(api: DockerAPI(address: Self.address)), cli: DockerCLI(address: Self.address),
                                    environment: Self.hostile.merging(["ABRA_SHIM_FAIL": "app deploy", "ABRA_DIR": "/root/.abra"]) { $1 })
        let app = DockerCallersTests.app(folder)
        let variables = try deployer.abraEnvironment(app)
        #expect(variables == ["DOCKER_HOST": "unix:///run/cchost-test/docker.sock", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                              "DOCKER_CONFIG": try DockerCLI.emptyConfigFolder.get(), "HOME": deployer.homeDirectory(app).path,
                              "ABRA_DIR": deployer.abraDirectory(app).path, "ABRA_SHIM_FAIL": "app deploy",
                              "GREETING": "hello", "DOMAIN": "app.ci.example"])
    }
}

/// The docker CLI's deploy against the real engine.
@Suite("Docker CLI engine", .requiresDocker)
struct DockerCLIEngineTests {
    @Test("a deploy whose per-call environment sets DOCKER_HOST still reaches cchost's engine, and the other values still interpolate")
    func perCallDockerHostIsIgnored() throws {
        let folder = try TemporaryDirectory()
        let stack = try DockerFixture.deployStack("env", app: """
                command: ["sleep", "600"]
                deploy: {labels: ["cchost.test.greeting=${GREETING}"], replicas: 0}
            """, environment: ["DOCKER_HOST": "unix:///nonexistent.sock", "GREETING": "hello"], in: folder)
        let docker = DockerDaemon()
        defer { #expect(StackTeardown(docker: docker).run(stack: stack).isClean) }
        let service = try DockerAPI().service("\(stack)_app")
        #expect(service.labels["cchost.test.greeting"] == "hello")
    }
}
