import Foundation
@testable import HostBase
@testable import HostDocker
@testable import HostRuns
import Testing

/// Hostile heads against the rendered stack, on the real swarm. Each case is the benign template
/// with one hostile change; the swarm backend's own deploy must refuse it before anything reaches
/// the engine, naming the file and line and why, and lint must name the same place as an error.
/// The controls deploy, and the engine runs exactly what cchost rendered and checked — also when
/// the checkout changes between the check and the deploy. Deploys go straight through
/// `SwarmDeployer` (no run engine), so the suite takes about a minute.
@Suite("Hostile recipes: what is checked is what is deployed")
struct HostileRenderedTests {
    /// One hostile change to the template: where it is written (the line holding `marker`) and why it is refused.
    struct HostileCase: Sendable, CustomTestStringConvertible {
        var name: String
        var change: @Sendable (inout [String: String]) -> Void
        var marker: String
        var reason: String
        var testDescription: String { name }
    }

    static let cases: [HostileCase] = [
        HostileCase(name: "a merge key with the non-specific tag bringing a bind of / and SYS_ADMIN",
                    change: { files in
                        files.insert("x-evil: &evil\n  volumes: [\"/:/host\"]\n  cap_add: [SYS_ADMIN]\n", before: "services:\n")
                        files.insert("  sidecar:\n    image: cchost-example/httpd:2.0.0\n    ! <<: *evil\n", after: "services:\n")
                    },
                    marker: "! <<: *evil", reason: "carries the YAML tag `!`"),
        HostileCase(name: "a !!binary volume", change: { $0.insert("      - !!binary LzovaG9zdA==\n", after: "      - content:/www\n") },
                    marker: "LzovaG9zdA==", reason: "carries the YAML tag `!!binary`"),
        HostileCase(name: "a !!binary type of a long-syntax volume",
                    change: { $0.insert("      - type: !!binary YmluZA==\n        source: /\n        target: /host\n", after: "      - content:/www\n") },
                    marker: "YmluZA==", reason: "carries the YAML tag `!!binary`"),
        HostileCase(name: "a !!binary config file",
                    change: { $0["compose.yml"] = $0["compose.yml"]!.replacingOccurrences(of: "file: page.html", with: "file: !!binary L2V0Yy9zaGFkb3c=") },
                    marker: "L2V0Yy9zaGFkb3c=", reason: "carries the YAML tag `!!binary`"),
        HostileCase(name: "${HOME} as a bind source with HOME not in the recipe's env",
                    change: { $0.insert("      - ${HOME}:/h\n", after: "      - content:/www\n") },
                    marker: "${HOME}:/h", reason: "empty section"),
        HostileCase(name: "a key given twice", change: { $0.insert("    init: false\n", after: "    init: true\n") },
                    marker: "init: false", reason: "is set twice"),
        HostileCase(name: "a key docker reads as a boolean", change: { $0.insert("    environment:\n      on: \"1\"\n", after: "    init: true\n") },
                    marker: "on: \"1\"", reason: "takes on for a boolean"),
        HostileCase(name: "a key tagged !!str", change: { $0.insert("    environment:\n      !!str on: \"1\"\n", after: "    init: true\n") },
                    marker: "!!str on", reason: "carries the YAML tag `!!str`"),
    ]

    @Test("a hostile head is refused by the deploy before anything reaches the engine, naming file:line and why; lint names the same line",
          .requiresDocker, arguments: cases)
    func hostileHead(_ hostile: HostileCase) throws {
        let recipe = try TemplateRecipe("rendered-hostile", hostile.change)
        try Self.expectRefused(recipe.app(), naming: hostile.reason, at: recipe.location(of: hostile.marker))
        try Self.expectLinted(recipe, at: recipe.location(of: hostile.marker))
        // Whatever the process's HOME, docker was never handed it.
        let written = Self.files(under: recipe.folder.url).compactMap { try? String(contentsOfFile: $0, encoding: .utf8) }
        #expect(!written.contains { $0.contains("/root:") || $0.contains("\(NSHomeDirectory()):/h") })
    }

    @Test("500 services of 10 replicas are refused by the tasks ceiling, naming where", .requiresDocker)
    func tooManyTasks() throws {
        let services = (0..<500).map { String(format: "  s%03d:\n    image: cchost-example/httpd:2.0.0\n    deploy:\n      replicas: 10\n", $0) }
        let recipe = try TemplateRecipe("rendered-tasks") { $0["compose.yml"] = "version: \"3.8\"\nservices:\n" + services.joined() }
        let location = recipe.location(of: "replicas: 10")
        try Self.expectRefused(recipe.app(), naming: "the app asks for 5000 tasks (500 services × 10 replicas), more than the 50 allowed", at: location)
        try Self.expectLinted(recipe, at: location)
    }

    @Test("a COMPOSE_FILE swap: the upgrade deploys the head's files with the base's env, and is refused naming the head's compose.extra.yml",
          .requiresDocker)
    func composeFileSwap() throws {
        let base = try TemplateRecipe("rendered-swap-base") { files in
            files[".env.sample"]! += "COMPOSE_FILE=compose.yml:compose.extra.yml\n"
            files["compose.extra.yml"] = "version: \"3.8\"\nservices:\n  app:\n    deploy:\n      labels:\n        - \"extra=benign\"\n"
        }
        let head = try TemplateRecipe("rendered-swap-head") { files in
            files[".env.sample"]! += "COMPOSE_FILE=compose.yml\n"
            files["compose.extra.yml"] = "version: \"3.8\"\nservices:\n  app:\n    volumes:\n      - /:/host\n    cap_add:\n      - SYS_ADMIN\n"
        }
        let bind = head.location(of: "/:/host", in: "compose.extra.yml"), capability = head.location(of: "SYS_ADMIN", in: "compose.extra.yml")
        var upgrade = base.app()
        upgrade.checkout = head.checkout
        upgrade.environment = try Recipe.load(directory: base.path).envSample.values
        // The head alone, with its own env, hides compose.extra.yml from the check.
        #expect(StackPreparation.decide(try SwarmDeployer().recipe(of: head.app()), allowance: .none, maxTasks: 50).refused.isEmpty)

        let policy = ContentPolicy(checkouts: [base.checkout, head.checkout], app: base.app(), deployer: SwarmDeployer(),
                                   allowance: .none, maxTasks: RunCeilings.defaultTasks)
        #expect(policy.refused == ["service app bind-mounts the host path / (\(bind))", "service app asks for cap_add SYS_ADMIN (\(capability))"],
                "\(policy.refused)")
        #expect(SwarmRuns.leftovers(upgrade.stack).isEmpty)
        try Self.expectRefused(upgrade, kind: .chaosUpgrade, naming: "bind-mounts the host path /", at: bind)
        try Self.expectRefused(upgrade, kind: .chaosUpgrade, naming: "cap_add SYS_ADMIN", at: capability)
    }

    // MARK: Controls

    @Test("the control deploys and converges, and the engine runs what cchost rendered (and docker's own reader renders alike)",
          .requiresDocker)
    func control() throws {
        let port = Int.random(in: 20000..<30000)
        let recipe = try TemplateRecipe("rendered-control") { files in
            files.insert("    cap_add:\n      - CHOWN\n    ports:\n      - \"\(port):80\"\n", after: "    init: true\n")
        }
        let app = recipe.app(allowance: PolicyAllowance(options: [.capAdd, .ports]))
        let deployer = SwarmDeployer(defaultTimeout: 60)
        defer { #expect(deployer.teardown(app).isClean) }
        let rendered = try #require(try deployer.deploy(app, as: .install(ref: "1.0.0")))
        try Self.expectConverged(app, deployer)

        let written = try Self.stack(rendered, of: app)
        let expected = try DeployedShape(compose: written, service: "app", stack: app.stack)
        // The comparison means something: every field is there.
        #expect(expected.mounts == [.init(type: "volume", source: "\(app.stack)_content", target: "/www")])
        #expect(expected.capabilities == ["CAP_CHOWN"] && expected.ports.map(\.published) == [port] && expected.replicas == 2)
        #expect(expected.networks == ["\(app.stack)_backend"] && expected.secrets == [.init(name: "\(app.stack)_token_v1", target: "token")])
        #expect(expected.configs == [.init(name: "\(app.stack)_page_v1", target: "/etc/page.html")])
        #expect(try Self.deployed(app) == expected)

        let recipeRead = try deployer.recipe(of: app)
        switch Self.dockerStackConfig(recipeRead) {
        case .success(let stack):
            #expect(try DeployedShape(compose: stack, service: "app", stack: app.stack) == expected)
            print("docker stack config comparison: ran")
        case .failure(let why):
            print("docker stack config comparison: skipped: \(why)")
        }
    }

    @Test("DOCKER_HOST in the recipe's .env.sample never reaches the docker CLI: the deploy reaches this engine", .requiresDocker)
    func dockerHostInRecipe() throws {
        let recipe = try TemplateRecipe("rendered-docker-host") { $0[".env.sample"]! += "DOCKER_HOST=unix:///nonexistent.sock\n" }
        let app = recipe.app()
        let deployer = SwarmDeployer(defaultTimeout: 60)
        defer { #expect(deployer.teardown(app).isClean) }
        #expect(try deployer.recipe(of: app).environment["DOCKER_HOST"] == "unix:///nonexistent.sock")
        try deployer.deploy(app, as: .install(ref: "1.0.0"))
        try Self.expectConverged(app, deployer)
        #expect(try DockerAPI().services(stack: app.stack).map(\.name) == ["\(app.stack)_app"])
    }

    @Test("limits of memory \"0\" and cpus \"0\" (no limit to docker) deploy with the operator's ceiling", .requiresDocker)
    func zeroLimits() throws {
        let recipe = try TemplateRecipe("rendered-zero-limits") { files in
            files.insert("      resources:\n        limits: {memory: \"0\", cpus: \"0\"}\n", after: "      replicas: 2\n")
        }
        var app = recipe.app()
        app.serviceCeilings = ServiceCeilings(memoryBytes: 96 << 20, cpus: 0.5)
        let deployer = SwarmDeployer(defaultTimeout: 60)
        defer { #expect(deployer.teardown(app).isClean) }
        try deployer.deploy(app, as: .install(ref: "1.0.0"))
        try Self.expectConverged(app, deployer)
        let limits = try DockerAPI().inspect(.services, "\(app.stack)_app")["Spec"]?["TaskTemplate"]?["Resources"]?["Limits"]
        #expect(limits?["MemoryBytes"]?.int == 96 << 20 && limits?["NanoCPUs"]?.int == 500_000_000, "\(String(describing: limits))")
    }

    @Test("the checkout changed between the check and the deploy: docker deploys what was checked", .requiresDocker)
    func checkoutChangedAfterTheCheck() throws {
        let recipe = try TemplateRecipe("rendered-changed")
        let app = recipe.app()
        let deployer = SwarmDeployer(defaultTimeout: 60)
        defer { #expect(deployer.teardown(app).isClean) }
        let prepared = try deployer.prepare(app, as: .install(ref: "1.0.0"))
        // A bind of the host's root and another page, written into the checkout after the check.
        var files = recipe.files
        files.insert("      - /:/host\n", after: "      - content:/www\n")
        try recipe.write(["compose.yml": files["compose.yml"]!, "page.html": "<p>the page written after the check</p>\n"])
        try deployer.deploy(prepared, app: app)
        try Self.expectConverged(app, deployer)

        let config = try DockerAPI().inspect(.configs, "\(app.stack)_page_v1")["Spec"]?["Data"]?.string
        #expect(config.flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) } == TemplateRecipe.page)
        let deployed = try Self.deployed(app)
        #expect(!deployed.mounts.contains { $0.type == "bind" }, "\(deployed)")
        #expect(deployed == (try DeployedShape(compose: try Self.stack(prepared.rendered, of: app), service: "app", stack: app.stack)))
    }

    // MARK: Helpers

    /// The deploy of `app` throws before anything reaches the engine, its reason naming `reason` at
    /// `location` (`compose.yml:12`); no stack object exists afterwards and no stack was written.
    static func expectRefused(_ app: AppDeployment, kind: DeployKind = .install(ref: "1.0.0"), naming reason: String, at location: String,
                              sourceLocation: SourceLocation = #_sourceLocation) throws {
        let deployer = SwarmDeployer(defaultTimeout: 30)
        defer { if !SwarmRuns.leftovers(app.stack).isEmpty { _ = deployer.teardown(app) } }
        let error = #expect(throws: DeployError.self, sourceLocation: sourceLocation) { try deployer.deploy(app, as: kind) }
        let said = error?.reason ?? ""
        #expect(said.contains(reason), "\(said)", sourceLocation: sourceLocation)
        #expect(said.contains(location + ":") || said.contains(location + ")"), "not at \(location): \(said)", sourceLocation: sourceLocation)
        #expect(try DockerAPI().services(stack: app.stack).isEmpty, sourceLocation: sourceLocation)
        #expect(SwarmRuns.leftovers(app.stack).isEmpty, "\(SwarmRuns.leftovers(app.stack))", sourceLocation: sourceLocation)
        #expect(!FileManager.default.fileExists(atPath: app.workDirectory.appendingPathComponent("deploys").path), sourceLocation: sourceLocation)
    }

    /// `cchost recipe lint` reports an error at `location`.
    static func expectLinted(_ recipe: TemplateRecipe, at location: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let report = RecipeLint.lint(directory: recipe.path, tags: [])
        #expect(report.findings.contains { $0.severity == .error && $0.location == location },
                "\(report.findings.map { "\($0.code) \($0.location ?? "-"): \($0.message)" })", sourceLocation: sourceLocation)
    }

    static func expectConverged(_ app: AppDeployment, _ deployer: SwarmDeployer, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let state = try deployer.docker.waitForConvergence(stack: app.stack, deadline: Date().addingTimeInterval(60))
        try #require(state == .converged, "\(state)", sourceLocation: sourceLocation)
    }

    /// The stack a deploy wrote, as docker reads it (`$$` is a literal `$`).
    static func stack(_ rendered: RenderedDeploy, of app: AppDeployment) throws -> StackNode {
        let file = app.workDirectory.appendingPathComponent(rendered.file).path
        return try ComposeProject(files: [(path: file, text: try String(contentsOfFile: file, encoding: .utf8))], environment: [:]).rendered
    }

    /// The app's `app` service as the engine runs it.
    static func deployed(_ app: AppDeployment) throws -> DeployedShape {
        let api = DockerAPI()
        let networks = Dictionary(try api.networks(labels: [:]).map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
        return try DeployedShape(engine: api, service: "\(app.stack)_app", networks: networks)
    }

    /// The recipe as docker's own compose reader renders it (`docker stack config`, docker ≥ 23),
    /// with the recipe's env; why not, when this docker cannot.
    static func dockerStackConfig(_ recipe: Recipe) -> Result<StackNode, DockerStackConfigUnavailable> {
        let docker = "/usr/local/bin/docker"
        guard FileManager.default.isExecutableFile(atPath: docker) else { return .failure(.init(description: "no \(docker)")) }
        let files = recipe.compose.files.flatMap { ["-c", $0] }
        let environment = recipe.environment.merging(["PATH": "/usr/bin:/bin"]) { $1 }
        guard let result = try? run(docker, ["stack", "config"] + files, environment: environment), result.status == 0 else {
            return .failure(.init(description: "\(docker) stack config failed (docker < 23 has no stack config)"))
        }
        do {
            return .success(try ComposeProject(files: [(path: "docker-stack-config.yml", text: result.stdout)], environment: [:]).rendered)
        } catch {
            return .failure(.init(description: "its output does not read: \(error)"))
        }
    }

    struct DockerStackConfigUnavailable: Error, CustomStringConvertible { var description: String }

    static func files(under folder: URL) -> [String] {
        HostileRecipeTests.Canaries.files(under: folder)
    }
}

/// A recipe folder written from the benign template: one httpd service with a named volume, a
/// generated secret, a config shipped as a file, its own network and 2 replicas.
struct TemplateRecipe {
    static let compose = """
        version: "3.8"
        services:
          app:
            image: cchost-example/httpd:2.0.0
            command: ["/bin/sh", "-c", "test -s /run/secrets/token && cp /etc/page.html /www/index.html && exec /bin/httpd -f -p 80 -h /www"]
            init: true
            networks:
              - backend
            volumes:
              - content:/www
            secrets:
              - token
            configs:
              - source: page
                target: /etc/page.html
            deploy:
              replicas: 2
        volumes:
          content:
        networks:
          backend:
        secrets:
          token:
            external: true
            name: ${STACK_NAME}_token_${SECRET_TOKEN_VERSION}
        configs:
          page:
            name: ${STACK_NAME}_page_${PAGE_VERSION}
            file: page.html

        """
    static let envSample = "TYPE=rendered\nDOMAIN=rendered.example.com\nSECRET_TOKEN_VERSION=v1 # length=32\nPAGE_VERSION=v1\n"
    static let page = "<p>the page as checked</p>\n"

    let folder: TemporaryDirectory
    /// The files as first written (name → text).
    let files: [String: String]
    var path: String { folder.path }
    let id = String(UUID().uuidString.prefix(8)).lowercased()

    init(_ label: String, _ change: (inout [String: String]) -> Void = { _ in }) throws {
        folder = try TemporaryDirectory(label)
        var files = [".env.sample": Self.envSample, "compose.yml": Self.compose, "page.html": Self.page]
        change(&files)
        self.files = files
        try write(files)
    }

    func write(_ files: [String: String]) throws {
        for (name, text) in files { try Data(text.utf8).write(to: folder.url.appendingPathComponent(name)) }
    }

    /// `compose.yml:12`: the first line of `file` holding `marker`.
    func location(of marker: String, in file: String = "compose.yml") -> String {
        let lines = files[file]?.components(separatedBy: "\n") ?? []
        return "\(file):\((lines.firstIndex { $0.contains(marker) } ?? -2) + 1)"
    }

    var checkout: Checkout { Checkout(directory: path, ref: "1.0.0", commit: String(repeating: "c", count: 40)) }

    func app(allowance: PolicyAllowance = .none) -> AppDeployment {
        AppDeployment(runID: id, recipe: "rendered", domain: "rd-\(id).ci.example", checkout: checkout,
                      workDirectory: folder.url.appendingPathComponent("run"), allowance: allowance)
    }
}

extension [String: String] {
    /// Inserts `text` into compose.yml right after (or before) the first `anchor`.
    mutating func insert(_ text: String, after anchor: String) { edit(anchor, anchor + text) }
    mutating func insert(_ text: String, before anchor: String) { edit(anchor, text + anchor) }

    private mutating func edit(_ anchor: String, _ replacement: String) {
        guard let compose = self["compose.yml"], let range = compose.range(of: anchor) else { preconditionFailure("no \(anchor) in compose.yml") }
        self["compose.yml"] = compose.replacingCharacters(in: range, with: replacement)
    }
}
