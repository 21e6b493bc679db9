import Foundation
@testable import HostBase
import Testing

/// The recipe content policy as a truth table: each compose snippet (under `services.app` unless
/// it starts at the top level), the rule, the option that would allow it and where it is written.
@Suite("RecipePolicy")
struct RecipePolicyTests {
    /// A checkout holding `compose.yml` (and `files`), evaluated with `STACK_NAME=app_ci_example`.
    private func findings(_ compose: String, files: [String: String] = [:], links: [String: String] = [:],
                          environment: [String: String] = [:], maxReplicas: Int = 10, maxTasks: Int = 50) throws -> [RecipePolicy.Finding] {
        try project(compose, files: files, links: links, environment: environment) { project, checkout in
            RecipePolicy.evaluate(project, checkout: checkout, maxReplicas: maxReplicas, maxTasks: maxTasks)
        }
    }

    /// `read` of the project in a checkout holding `compose.yml` (and `files`), with `STACK_NAME=app_ci_example`.
    private func project<T>(_ compose: String, files: [String: String] = [:], links: [String: String] = [:],
                            environment: [String: String] = [:], read: (ComposeProject, String) throws -> T) throws -> T {
        let checkout = FileManager.default.temporaryDirectory.appendingPathComponent("policy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: checkout, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: checkout) }
        for (name, text) in files.merging(["compose.yml": compose]) { $1 } {
            try Data(text.utf8).write(to: checkout.appendingPathComponent(name))
        }
        for (name, target) in links {
            try FileManager.default.createSymbolicLink(atPath: checkout.appendingPathComponent(name).path, withDestinationPath: target)
        }
        let project = try ComposeProject.load(directory: checkout.path,
                                              environment: ["STACK_NAME": "app_ci_example"].merging(environment) { $1 })
        return try read(project, checkout.path)
    }

    private static let app = "services:\n  app:\n    image: a:1\n"

    @Test("each host-reaching option is found with its rule, option and line", arguments: [
        ("    volumes:\n      - /:/host\n", "R016", RecipePolicy.Option.bindMount, 5, "bind-mounts the host path /"),
        ("    volumes:\n      - ./data:/data\n", "R016", .bindMount, 5, "bind-mounts the host path ./data"),
        ("    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock:ro\n", "R016", .dockerSocket, 5, "docker socket"),
        ("    volumes:\n      - type: bind\n        source: /run/docker.sock\n        target: /s\n", "R016", .dockerSocket, 5, "docker socket"),
        ("    volumes:\n      - type: bind\n        source: /etc\n        target: /e\n", "R016", .bindMount, 5, "host path /etc"),
        ("    cap_add: [SYS_ADMIN]\n", "R017", .capAdd, 4, "cap_add SYS_ADMIN"),
        ("    cap_add:\n      - NET_ADMIN\n", "R017", .capAdd, 5, "cap_add NET_ADMIN"),
        ("    network_mode: host\n", "R018", .hostNetwork, 4, "network_mode: host (docker stack deploy ignores it"),
        ("    ports:\n      - \"8080:80\"\n", "R017", .ports, 5, "publishes port 8080"),
        ("    ports:\n      - 127.0.0.1:8081:80\n", "R017", .ports, 5, "publishes port 8081"),
        ("    ports:\n      - target: 80\n        published: 9000\n        mode: host\n", "R017", .ports, 5, "publishes port 9000"),
        ("    ports:\n      - \"80\"\n", "R017", .ports, 5, "a random port for 80"),
        ("    privileged: true\n", "R018", .privileged, 4, "privileged: true"),
        ("    pid: host\n", "R018", .pid, 4, "pid: host"),
        ("    ipc: host\n", "R018", .ipc, 4, "ipc: host"),
        ("    security_opt: [\"seccomp:unconfined\"]\n", "R018", .securityOpt, 4, "security_opt seccomp:unconfined"),
        ("    devices: [\"/dev/mem:/dev/mem\"]\n", "R018", .devices, 4, "devices /dev/mem:/dev/mem"),
        ("    deploy:\n      replicas: 40\n", "R021", .replicas, 5, "40 replicas"),
        ("networks:\n  hostnet:\n    external: true\n    name: host\n", "R017", .hostNetwork, 5, "the host's network"),
        ("volumes:\n  data:\n    driver_opts:\n      type: none\n      o: bind\n      device: /srv\n", "R016", .bindMount, 6, "binds /srv"),
        ("volumes:\n  data:\n    driver_opts: {o: \"bind,ro\", device: /srv}\n", "R016", .bindMount, 6, "driver_opts"),
        ("secrets:\n  s:\n    external: true\n    name: other_ci_example_s_v1\n", "R020", .external, 5, "secret other_ci_example_s_v1"),
        ("configs:\n  c:\n    external: true\n", "R020", .external, 5, "config c"),
        ("volumes:\n  v:\n    external: {name: canonical_data}\n", "R020", .external, 5, "volume canonical_data"),
        ("networks:\n  ops:\n    external: true\n    name: operator\n", "R020", .external, 5, "network operator"),
        ("volumes:\n  v:\n    name: other_ci_example_data\n", "R020", .external, 5, "volume other_ci_example_data is not the app's own"),
        ("networks:\n  net:\n    name: ingress\n", "R020", .external, 5, "network ingress is not the app's own"),
    ])
    func hostReachingOption(snippet: String, code: String, option: RecipePolicy.Option, line: Int, message: String) throws {
        let found = try findings(Self.app + snippet)
        #expect(found.count == 1, "\(found)")
        let finding = try #require(found.first)
        #expect(finding.code == code && finding.option == option)
        #expect(finding.location?.line == line && finding.location?.file.hasSuffix("/compose.yml") == true, "\(String(describing: finding.location))")
        #expect(finding.message.contains(message), "\(finding.message)")
    }

    @Test("what a plain recipe does is no finding", arguments: [
        "    volumes:\n      - data:/data\n      - type: volume\n        source: more\n        target: /m\n      - /anonymous\n      - type: tmpfs\n        target: /t\n",
        "    networks: [proxy]\n    deploy:\n      replicas: 10\n",
        "    env_file: [app.env]\n",
        "    network_mode: bridge\n    privileged: false\n",
        "networks:\n  proxy:\n    external: true\n",
        "secrets:\n  own:\n    external: true\n    name: app_ci_example_own_v1\n",
        "volumes:\n  data:\n    name: app_ci_example_data\n",
        "configs:\n  page:\n    file: page.html\n",
        "volumes:\n  data:\n    driver_opts: {type: tmpfs, o: size=10m}\n",
    ])
    func plainRecipe(snippet: String) throws {
        #expect(try findings(Self.app + snippet, files: ["app.env": "A=1\n", "page.html": "hi\n"]).isEmpty)
    }

    @Test("a file outside the checkout is found, whatever way it leads out; nothing can allow it", arguments: [
        ("    env_file: /etc/hostname\n", 4, "env_file /etc/hostname, which is outside the recipe's checkout (an absolute path)"),
        ("    env_file:\n      - path: ../x.env\n", 5, "env_file ../x.env, which is outside the recipe's checkout (it leads out through ..)"),
        ("    env_file: linked.env\n", 4, "a symbolic link to /etc/hostname"),
        ("configs:\n  c:\n    file: /etc/shadow\n", 6, "config c ships file /etc/shadow"),
        ("secrets:\n  s:\n    file: ../../etc/shadow\n", 6, "secret s ships file ../../etc/shadow"),
        ("configs:\n  c:\n    file: linked.env\n", 6, "a symbolic link to /etc/hostname"),
        ("configs:\n  c:\n    file: linked-folder/hostname\n", 6, "a symbolic link to /etc/hostname"),
    ])
    func fileOutside(snippet: String, line: Int, message: String) throws {
        let found = try findings(Self.app + snippet, links: ["linked.env": "/etc/hostname", "linked-folder": "/etc"])
        let finding = try #require(found.first)
        #expect(found.count == 1 && finding.code == "R019" && finding.option == nil, "\(found)")
        #expect(finding.location?.line == line)
        #expect(finding.message.contains(message), "\(finding.message)")
    }

    @Test("a compose file outside the checkout in COMPOSE_FILE is not read, and is found", arguments: [
        "compose.yml:/etc/compose.yml", "compose.yml:../compose.yml", "compose.yml:linked.yml",
    ])
    func composeFileOutside(composeFile: String) throws {
        let found = try findings(Self.app, links: ["linked.yml": "/etc/hostname"], environment: ["COMPOSE_FILE": composeFile])
        let finding = try #require(found.first)
        #expect(found.count == 1 && finding.code == "R019" && finding.location == nil, "\(found)")
        #expect(finding.message.hasPrefix("COMPOSE_FILE names \(composeFile.dropFirst("compose.yml:".count)), which is outside"))
    }

    @Test("replicas above the configured bound are found; a bound the operator raises lets them through")
    func replicaBound() throws {
        let compose = Self.app + "    deploy:\n      replicas: 12\n"
        #expect(try findings(compose).map(\.code) == ["R021"])
        #expect(try findings(compose, maxReplicas: 12).isEmpty)
    }

    /// `count` services named s000… each with `deploy.replicas: replicas` (none written when nil).
    private static func services(_ count: Int, replicas: String?) -> String {
        "services:\n" + (0..<count).map { index in
            "  s\(String(format: "%03d", index)):\n    image: a:1\n" + (replicas.map { "    deploy:\n      replicas: \($0)\n" } ?? "")
        }.joined()
    }

    @Test("500 services of 10 replicas each are refused as 5000 tasks at the first largest, whatever the operator allows")
    func taskCeiling() throws {
        let found = try findings(Self.services(500, replicas: "10"))
        #expect(found.count == 1, "\(found.map(\.code))")
        let finding = try #require(found.first)
        #expect(finding.code == "R023" && finding.option == nil && finding.severity == .error)
        #expect(finding.message == "the app asks for 5000 tasks (500 services × 10 replicas), more than the 50 allowed (ceilings.tasks)")
        #expect(finding.location?.line == 5 && finding.location?.file.hasSuffix("/compose.yml") == true, "\(String(describing: finding.location))")
        let everything = PolicyAllowance(options: Set(RecipePolicy.Option.allCases), maxReplicas: 10_000)
        #expect(RecipePolicy.decide(found, allowance: everything).refused == found)
        #expect(try findings(Self.services(500, replicas: "10"), maxTasks: 5000).isEmpty, "a ceiling the operator raises lets it through")
    }

    @Test("a normal recipe is under the ceiling; replicas written as text count; at the ceiling passes, one over does not")
    func taskCount() throws {
        let compose = Self.app + "    deploy:\n      replicas: \"2\"\n  db:\n    image: b:1\n"
        #expect(try project(compose) { project, _ in RecipePolicy.tasks(in: project).map(\.tasks) } == [2, 1])
        #expect(try findings(compose).isEmpty)
        #expect(try findings(compose, maxTasks: 3).isEmpty)
        #expect(try findings(compose, maxTasks: 2).map(\.message)
                    == ["the app asks for 3 tasks (2 services, the most 2 replicas for service app), more than the 2 allowed (ceilings.tasks)"])
        #expect(try findings(Self.services(51, replicas: nil)).map(\.message)
                    == ["the app asks for 51 tasks (51 services × 1 replica), more than the 50 allowed (ceilings.tasks)"])
    }

    @Test("each service's tasks: its replicas as written, the later compose file's over the earlier's, 1 when none")
    func serviceTasks() throws {
        let overlay = "services:\n  app:\n    deploy:\n      replicas: 7\n"
        let tasks = try project(Self.app + "    deploy:\n      replicas: 3\n  zero:\n    image: z:1\n    deploy: {replicas: 0}\n",
                                files: ["compose.big.yml": overlay], environment: ["COMPOSE_FILE": "compose.yml:compose.big.yml"]) { project, _ in
            RecipePolicy.tasks(in: project)
        }
        #expect(tasks.map(\.service) == ["app", "zero"])
        #expect(tasks.map(\.tasks) == [7, 0])
        #expect(tasks.first?.location.file.hasSuffix("/compose.big.yml") == true && tasks.first?.location.line == 4)
    }

    @Test("replicas that cannot be counted are refused against the ceiling (fail closed), beside R021", arguments: ["many", "-1", "2.5", "99999999999999999999"])
    func uncountableReplicas(replicas: String) throws {
        let found = try findings(Self.app + "    deploy:\n      replicas: \"\(replicas)\"\n", maxReplicas: 10_000)
        let finding = try #require(found.first { $0.code == "R023" }, "\(found)")
        #expect(finding.message == "service app asks for \(replicas) replicas, which cannot be counted against the 50 tasks allowed (ceilings.tasks)")
        #expect(finding.location?.line == 5)
    }

    @Test("replicas near the largest integer saturate the sum instead of wrapping below the ceiling")
    func saturatingCount() throws {
        let compose = "services:\n  a:\n    image: a:1\n    deploy: {replicas: \(Int.max)}\n  b:\n    image: b:1\n    deploy: {replicas: \(Int.max)}\n"
        let found = try findings(compose, maxReplicas: Int.max)
        #expect(found.map(\.message) == ["the app asks for \(Int.max) tasks (2 services × \(Int.max) replicas), more than the 50 allowed (ceilings.tasks)"])
    }

    @Test("an allowance lets its option through and refuses the rest; warnings stay warnings")
    func decision() throws {
        let found = try findings(Self.app + "    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock\n    cap_add: [NET_ADMIN]\n    privileged: true\n")
        let decision = RecipePolicy.decide(found, allowance: PolicyAllowance(options: [.dockerSocket]))
        #expect(decision.allowed.map(\.option) == [.dockerSocket])
        #expect(decision.refused.map(\.option) == [.capAdd])
        #expect(decision.warnings.map(\.option) == [.privileged])
        #expect(RecipePolicy.decide(found, allowance: .none).refused.map(\.option) == [.dockerSocket, .capAdd])
    }

    @Test("a recipe file that links out of the checkout is never read", arguments: [".env.sample", "abra.sh", "README.md"])
    func linkedRecipeFile(name: String) throws {
        let checkout = FileManager.default.temporaryDirectory.appendingPathComponent("policy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: checkout, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: checkout) }
        try Data(Self.app.utf8).write(to: checkout.appendingPathComponent("compose.yml"))
        if name != ".env.sample" { try Data("TYPE=x\n".utf8).write(to: checkout.appendingPathComponent(".env.sample")) }
        try FileManager.default.createSymbolicLink(atPath: checkout.appendingPathComponent(name).path, withDestinationPath: "/etc/passwd")
        let error = try #require(throws: RecipeError.self) { try Recipe.load(directory: checkout.path) }
        #expect(error.description.contains("\(name) is outside the recipe's checkout (a symbolic link to /etc/passwd); cchost does not read it"),
                "\(error)")
        #expect(!error.description.contains("root:"))
    }
}
