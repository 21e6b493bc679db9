import Foundation
@testable import HostBase
import Testing


private let source = "/etc/cchost/config.yml"

/// Creates a uniquely named directory, runs `body` with it and removes it.
private func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("cchost-configuration-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try body(directory)
}

private func parse(_ yaml: String, environment: [String: String] = [:]) throws -> Configuration {
    try Configuration(parsing: yaml, source: source, environment: environment)
}

@Suite("Configuration")
struct ConfigurationTests {
    @Test("Without a configuration file, defaults apply")
    func defaultsWithoutFile() throws {
        try withTemporaryDirectory { directory in
            let configuration = try Configuration.load(
                environment: ["HOME": "/home/ci"],
                defaultFilePath: directory.appendingPathComponent("config.yml").path)
            let expectedState = geteuid() == 0 ? "/var/lib/cchost" : "/home/ci/.local/state/cchost"
            #expect(configuration == Configuration(
                stateDirectory: expectedState, pluginPaths: [], allowlistPath: "/etc/cchost/allowlist",
                workerPath: nil, source: nil))
        }
    }

    @Test("The default state directory is /var/lib/cchost for root, else under $HOME", arguments: [
        (true, "/var/lib/cchost"),
        (false, "/home/ci/.local/state/cchost"),
    ])
    func defaultStateDirectory(isRoot: Bool, expected: String) {
        #expect(Configuration.defaultStateDirectory(environment: ["HOME": "/home/ci"], isRoot: isRoot) == expected)
    }

    @Test("Every key in the file is read")
    func fileValues() throws {
        let configuration = try parse("""
            # cchost
            state_dir: /srv/cchost
            plugin_paths:
              - /usr/lib/cchost/plugins
              - /opt/plugins
            allowlist: /srv/cchost/allowlist
            worker_path: /usr/libexec/cchost-worker
            """)
        #expect(configuration == Configuration(
            stateDirectory: "/srv/cchost", pluginPaths: ["/usr/lib/cchost/plugins", "/opt/plugins"],
            allowlistPath: "/srv/cchost/allowlist", workerPath: "/usr/libexec/cchost-worker", source: source))
    }

    @Test("An empty or comment-only file gives the defaults, remembering the file", arguments: ["", "# nothing yet\n"])
    func emptyFile(yaml: String) throws {
        let configuration = try parse(yaml, environment: ["HOME": "/home/ci"])
        #expect(configuration.source == source)
        #expect(configuration.pluginPaths.isEmpty)
        #expect(configuration.allowlistPath == "/etc/cchost/allowlist")
        #expect(configuration.workerPath == nil)
    }

    @Test("The default file is read when it exists")
    func defaultFileRead() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("config.yml").path
            try Data("state_dir: /srv/state\n".utf8).write(to: URL(fileURLWithPath: path))
            let configuration = try Configuration.load(environment: [:], defaultFilePath: path)
            #expect(configuration.stateDirectory == "/srv/state")
            #expect(configuration.source == path)
        }
    }

    @Test("CCHOST_CONFIG chooses the file instead of the default one")
    func explicitFile() throws {
        try withTemporaryDirectory { directory in
            let defaultPath = directory.appendingPathComponent("default.yml").path
            let explicitPath = directory.appendingPathComponent("explicit.yml").path
            try Data("state_dir: /from/default\n".utf8).write(to: URL(fileURLWithPath: defaultPath))
            try Data("state_dir: /from/explicit\n".utf8).write(to: URL(fileURLWithPath: explicitPath))
            let configuration = try Configuration.load(
                environment: ["CCHOST_CONFIG": explicitPath], defaultFilePath: defaultPath)
            #expect(configuration.stateDirectory == "/from/explicit")
            #expect(configuration.source == explicitPath)
        }
    }

    @Test("CCHOST_CONFIG naming a missing file is an error that names it")
    func explicitFileMissing() throws {
        try withTemporaryDirectory { directory in
            let defaultPath = directory.appendingPathComponent("default.yml").path
            try Data("state_dir: /from/default\n".utf8).write(to: URL(fileURLWithPath: defaultPath))
            let missing = directory.appendingPathComponent("missing.yml").path
            let error = try #require(throws: ConfigurationError.self) {
                try Configuration.load(environment: ["CCHOST_CONFIG": missing], defaultFilePath: defaultPath)
            }
            #expect(error == .missingFile(path: missing))
            #expect(error.description.contains("CCHOST_CONFIG names \(missing), which does not exist"))
        }
    }

    @Test("Environment overrides replace file values, and CCHOST_PLUGIN_PATH is searched first")
    func environmentOverrides() throws {
        let configuration = try parse("""
            state_dir: /file/state
            plugin_paths: [/file/a, /file/b]
            allowlist: /file/allowlist
            """, environment: [
                "CCHOST_STATE_DIR": "/env/state",
                "CCHOST_PLUGIN_PATH": ":/env/a::/env/b:",
                "CCHOST_ALLOWLIST": "/env/allowlist",
            ])
        #expect(configuration.stateDirectory == "/env/state")
        #expect(configuration.pluginPaths == ["/env/a", "/env/b", "/file/a", "/file/b"])
        #expect(configuration.allowlistPath == "/env/allowlist")
    }

    @Test("Environment overrides apply without a file too")
    func environmentOverridesWithoutFile() throws {
        try withTemporaryDirectory { directory in
            let configuration = try Configuration.load(
                environment: ["CCHOST_STATE_DIR": "/env/state", "CCHOST_PLUGIN_PATH": "/env/a"],
                defaultFilePath: directory.appendingPathComponent("config.yml").path)
            #expect(configuration.stateDirectory == "/env/state")
            #expect(configuration.pluginPaths == ["/env/a"])
        }
    }

    @Test("Empty environment variables count as unset")
    func emptyEnvironmentIgnored() throws {
        let configuration = try parse("state_dir: /file/state\nallowlist: /file/allowlist\nplugin_paths: [/file/a]\n",
                                      environment: ["CCHOST_STATE_DIR": "", "CCHOST_ALLOWLIST": "", "CCHOST_PLUGIN_PATH": ""])
        #expect(configuration.stateDirectory == "/file/state")
        #expect(configuration.allowlistPath == "/file/allowlist")
        #expect(configuration.pluginPaths == ["/file/a"])
    }

    @Test("operator_plugins raises the operator profile's memory, CPU and call deadline")
    func operatorLimits() throws {
        let configuration = try parse("operator_plugins:\n  memory_mb: 4096\n  cpu_seconds: 600\n  call_timeout: 900\n")
        #expect(configuration.operatorProfile.addressSpaceBytes == 4096 << 20)
        #expect(configuration.operatorProfile.cpuSeconds == 600)
        #expect(configuration.operatorProfile.callTimeout == 900)
        // Nothing else of the profile moves, and the strict profile is not configurable at all.
        #expect(configuration.operatorProfile.openFiles == SandboxProfile.operatorDefault.openFiles)
        #expect(try parse("").operatorProfile == .operatorDefault)
    }

    @Test("operator_plugins accepts only its limits, as whole numbers", arguments: [
        ("operator_plugins:\n  network: true\n", 2, "operator_plugins.network"),
        ("operator_plugins:\n  memory_mb: lots\n", 2, "operator_plugins.memory_mb"),
        ("operator_plugins:\n  cpu_seconds: 0\n", 2, "operator_plugins.cpu_seconds"),
        ("operator_plugins: 5\n", 1, "operator_plugins"),
    ])
    func operatorLimitErrors(yaml: String, line: Int, key: String) throws {
        let error = try #require(throws: ConfigurationError.self) { try parse(yaml) }
        #expect(error.description.hasPrefix("\(source):\(line): "), "\(error)")
        #expect(error.description.contains(key), "\(error)")
    }

    @Test("recipes, backend, concurrency and base_domain are read with every recipe setting")
    func recipesSection() throws {
        let configuration = try parse("""
            backend: abra
            concurrency: 3
            base_domain: ci.example.org
            recipes:
              - name: custom-html
                upstream: https://git.example.org/coop-cloud/custom-html.git
                stages: [lint, install, upgrade]
                timeout: 600
                env: {LETS_ENCRYPT_ENV: staging}
                readiness: /healthz
                data_seed: {method: post, path: /notes, body: "text={marker}", probe: /}
                checks:
                  http-expect: {path: /, status: 200, needle: "Hello", strict: true}
              - name: gitea
                upstream: /srv/mirrors/gitea
                mirror: /var/lib/cchost/mirrors/gitea.git
                enrolled: false
            """)
        #expect(configuration.backend == "abra" && configuration.concurrency == 3 && configuration.baseDomain == "ci.example.org")
        #expect(configuration.recipes.map(\.name) == ["custom-html", "gitea"])
        let site = configuration.recipes[0]
        #expect(site.stages == [.lint, .install, .upgrade] && site.timeout == 600 && site.enrolled)
        #expect(site.env == ["LETS_ENCRYPT_ENV": "staging"] && site.readinessPath == "/healthz")
        #expect(site.dataSeed == DataSeed(method: "POST", path: "/notes", body: "text={marker}", probe: "/", expect: "{marker}"))
        #expect(site.checks["http-expect"] == ["path": .string("/"), "status": .integer(200), "needle": .string("Hello"), "strict": .bool(true)])
        #expect(configuration.recipes[1].mirror == "/var/lib/cchost/mirrors/gitea.git" && !configuration.recipes[1].enrolled)
    }

    @Test("a bad recipe setting is an error naming its path and line", arguments: [
        ("recipes:\n  - name: x\n    upstream: /u\n    stages: [install, deploy]\n", 4, "recipes[0].stages[1]"),
        ("recipes:\n  - name: x\n    upstream: /u\n    stages: []\n", 4, "recipes[0].stages"),
        ("recipes:\n  - name: Bad Name\n    upstream: /u\n", 2, "recipes[0].name"),
        ("recipes:\n  - name: x\n", 2, "recipes[0].upstream"),
        ("recipes:\n  - name: x\n    upstream: /u\n    colour: red\n", 4, "recipes[0].colour"),
        ("recipes:\n  - name: x\n    upstream: /u\n    timeout: soon\n", 4, "recipes[0].timeout"),
        ("recipes:\n  - name: x\n    upstream: /u\n    readiness: healthz\n", 4, "recipes[0].readiness"),
        ("recipes:\n  - name: x\n    upstream: /u\n    data_seed: {path: /notes, body: hello, probe: /}\n", 4, "recipes[0].data_seed.body"),
        ("recipes:\n  - name: x\n    upstream: /u\n    data_seed:\n      method: DELETE\n      path: /n/{marker}\n      probe: /\n", 5, "recipes[0].data_seed.method"),
        ("recipes:\n  - name: x\n    upstream: /u\n    data_seed:\n      path: /n/{marker}\n      probe: /\n      expect: done\n", 7, "recipes[0].data_seed.expect"),
        ("recipes:\n  - name: x\n    upstream: /u\n    data_seed: {path: \"/n/{marker}\", probe: /, colour: red}\n", 4, "recipes[0].data_seed.colour"),
        ("recipes:\n  - name: x\n    upstream: /u\n    allow: [docker_socket, root]\n", 4, "recipes[0].allow[1]"),
        ("recipes:\n  - name: x\n    upstream: /u\n    allow:\n      - ports\n      - privilege\n", 6, "recipes[0].allow[1]"),
        ("recipes:\n  - name: x\n    upstream: /u\n    allow: docker_socket\n", 4, "recipes[0].allow"),
        ("recipes:\n  - name: x\n    upstream: /u\n    allow: []\n", 4, "recipes[0].allow"),
        ("recipes:\n  - name: x\n    upstream: /u\n    max_replicas: many\n", 4, "recipes[0].max_replicas"),
        ("recipes:\n  - name: x\n    upstream: /u\n    max_replicas: 0\n", 4, "recipes[0].max_replicas"),
        ("recipes:\n  - name: x\n    upstream: /u\n    allow: [proxy_rules]\n", 4, "recipes[0].allow[0]"),
        ("recipes:\n  - name: x\n    upstream: /u\n    allow_domains: www.example.org\n", 4, "recipes[0].allow_domains"),
        ("recipes:\n  - name: x\n    upstream: /u\n    allow_domains: []\n", 4, "recipes[0].allow_domains"),
        ("recipes:\n  - name: x\n    upstream: /u\n    allow_domains:\n      - www.example.org\n      - \"*.example.org\"\n", 6, "recipes[0].allow_domains[1]"),
        ("recipes:\n  - name: x\n    upstream: /u\n    allow_domains: [example.org., a]\n", 4, "recipes[0].allow_domains[0]"),
        ("recipes:\n  - name: x\n    upstream: /u\n    allow_domains: [ok.example, -bad.example]\n", 4, "recipes[0].allow_domains[1]"),
        ("recipes:\n  - name: x\n    upstream: /u\n    allow_domains: [\"a`b.example\"]\n", 4, "recipes[0].allow_domains[0]"),
        ("recipes:\n  - name: x\n    upstream: /u\n    allow_domains: [~]\n", 4, "recipes[0].allow_domains[0]"),
        ("concurrency: 0\n", 1, "concurrency"),
        ("backend: docker\n", 1, "backend"),
    ])
    func recipeErrors(yaml: String, line: Int, path: String) throws {
        let error = try #require(throws: ConfigurationError.self) { try parse(yaml) }
        #expect(error.description.hasPrefix("\(source):\(line): "), "\(error)")
        #expect(error.description.contains(path), "\(error)")
    }

    @Test("a recipe's allowance names content-policy options and a replica bound; without one nothing is allowed")
    func recipeAllowance() throws {
        let configuration = try parse("""
            recipes:
              - name: traefik
                upstream: /srv/traefik
                allow: [docker_socket, ports, external]
                max_replicas: 12
              - name: custom-html
                upstream: /srv/custom-html
            """)
        #expect(configuration.recipes[0].allowance == PolicyAllowance(options: [.dockerSocket, .ports, .external], maxReplicas: 12))
        #expect(configuration.recipes[1].allowance == .none)
    }

    @Test("a recipe's allowed domains are literal domain names, kept lowercase, beside the proxy options")
    func recipeAllowedDomains() throws {
        let configuration = try parse("""
            recipes:
              - name: wordpress
                upstream: /srv/wordpress
                allow: [proxy_priority, network_alias, forward_auth, proxy_names, proxy_rule, proxy_network]
                allow_domains: [www.Example.org, old-name.example.org]
            """)
        #expect(configuration.recipes[0].allowance == PolicyAllowance(
            options: [.proxyPriority, .networkAlias, .forwardAuth, .proxyNames, .proxyRule, .proxyNetwork],
            domains: ["www.example.org", "old-name.example.org"]))
    }

    @Test("An unknown key is an error naming the file, its line and the key")
    func unknownKey() throws {
        let error = try #require(throws: ConfigurationError.self) {
            try parse("# cchost\nstate_dir: /srv/cchost\n\nplugin_path: [/opt/plugins]\n")
        }
        #expect(error == .unknownKey(file: source, line: 4, key: "plugin_path", known: [
            "state_dir", "plugin_paths", "allowlist", "worker_path", "operator_plugins", "recipes", "concurrency", "backend", "base_domain",
            "ceilings", "retention", "docker_host",
        ]))
        #expect(error.description.hasPrefix("\(source):4: unknown key 'plugin_path'"))
    }

    @Test("A value of the wrong type is an error naming the file, line and key", arguments: [
        ("# c\nplugin_paths: /usr/lib/cchost\n", 2, "plugin_paths must be a list of paths"),
        ("# c\nplugin_paths:\n  dir: /usr/lib/cchost\n", 2, "plugin_paths must be a list of paths"),
        ("state_dir: [/a, /b]\n", 1, "state_dir must be a path"),
        ("state_dir: /a\nallowlist:\n", 2, "allowlist must be a path"),
        ("allowlist: ~\n", 1, "allowlist must be a path"),
        ("allowlist: ''\n", 1, "allowlist must be a path"),
        ("\n\nworker_path: {path: /x}\n", 3, "worker_path must be a path"),
        ("plugin_paths:\n  - /a\n  - [/b]\n", 3, "each entry of plugin_paths must be a path"),
    ])
    func wrongType(yaml: String, line: Int, message: String) throws {
        let error = try #require(throws: ConfigurationError.self) { try parse(yaml) }
        #expect(error.description == "\(source):\(line): \(message)")
    }

    @Test("A key set twice is an error naming both lines")
    func duplicateKey() throws {
        let error = try #require(throws: ConfigurationError.self) {
            try parse("state_dir: /a\nallowlist: /b\nstate_dir: /c\n")
        }
        #expect(error == .duplicateKey(file: source, line: 3, key: "state_dir", firstLine: 1))
    }

    @Test("A document that is not a mapping is an error", arguments: ["- /a\n- /b\n", "just a string\n"])
    func notAMapping(yaml: String) throws {
        let error = try #require(throws: ConfigurationError.self) { try parse(yaml) }
        #expect(error == .notAMapping(file: source, line: 1))
    }

    @Test("Malformed YAML is an error with the file and the line of the problem", arguments: [
        ("# cchost\nstate_dir: /srv/cchost\nallowlist: a: b\n", 3, "mapping values are not allowed"),
        ("# cchost\nstate_dir: /srv/cchost\nplugin_paths: [/a, /b\n", 4, "did not find expected ',' or ']'"),
        // An unterminated quote is found at the end of the file; the message names where it began.
        ("state_dir: /srv/cchost\nallowlist: \"/etc/cchost/allowlist\n", 3, "scanning a quoted scalar at line 2"),
    ])
    func malformedYAML(yaml: String, line: Int, problem: String) throws {
        let error = try #require(throws: ConfigurationError.self) { try parse(yaml) }
        guard case let .malformedYAML(file, reportedLine, _) = error else {
            Issue.record("expected a YAML error, got \(error)")
            return
        }
        #expect(file == source)
        #expect(reportedLine == line)
        #expect(error.description.hasPrefix("\(source):\(line): malformed YAML: "))
        #expect(error.description.contains(problem))
    }

    @Test("A directory in place of the configuration file is unreadable")
    func directoryIsUnreadable() throws {
        try withTemporaryDirectory { directory in
            let error = try #require(throws: ConfigurationError.self) {
                try Configuration.load(environment: ["CCHOST_CONFIG": directory.path], defaultFilePath: "/nonexistent")
            }
            guard case let .unreadable(file, _) = error else {
                Issue.record("expected an unreadable-file error, got \(error)")
                return
            }
            #expect(file == directory.path)
        }
    }
}
