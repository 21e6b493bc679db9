import Foundation
@testable import HostBase
@testable import HostDocker
import Testing

/// Hostile recipes against the shared proxy, on the real swarm and the engine's real Traefik
/// (scripts/proxy). A victim app answers its domain with its own page; each hijack of it — a router
/// for its domain at a huge priority, a HostRegexp, its service's or router's name, the alias `db`
/// on the proxy network — is refused by the deploy before anything reaches the engine, naming the
/// label and file:line. With the rules allowed, the first hijack does answer the victim's requests
/// (so the victim's check can fail); the control, the same labels for its own domain and names,
/// deploys beside it, and the victim still answers every request itself.
@Suite("Hostile recipes against the shared proxy", .serialized)
struct HostileProxyTests {
    /// The template recipe on the proxy network, its page `page`, routed by `labels` (each with
    /// `${STACK_NAME}` and `${DOMAIN}` as the recipe writes them); one replica.
    static func proxied(_ label: String, page: String, labels: [String], aliases: String? = nil) throws -> TemplateRecipe {
        try TemplateRecipe(label) { files in
            files["page.html"] = page
            files["compose.yml"] = files["compose.yml"]!.replacingOccurrences(of: "replicas: 2", with: "replicas: 1")
            if let aliases {
                files["compose.yml"] = files["compose.yml"]!.replacingOccurrences(
                    of: "    networks:\n      - backend\n", with: "    networks:\n      backend:\n      proxy:\n        aliases: [\(aliases)]\n")
            } else {
                files.insert("      - proxy\n", after: "      - backend\n")
            }
            files.insert("  proxy:\n    external: true\n", after: "networks:\n  backend:\n")
            files.insert("      labels:\n" + labels.map { "        - \"\($0)\"\n" }.joined(), after: "      replicas: 1\n")
        }
    }

    /// What Co-op Cloud recipes write, for the app's own names and domain.
    static let ownLabels = ["traefik.enable=true", "traefik.http.services.${STACK_NAME}.loadbalancer.server.port=80",
                            "traefik.http.routers.${STACK_NAME}.rule=Host(`${DOMAIN}`)", "traefik.http.routers.${STACK_NAME}.entrypoints=web-secure",
                            "traefik.http.routers.${STACK_NAME}.tls=true"]

    struct Hijack: Sendable {
        var name: String
        var labels: @Sendable (_ victim: AppDeployment) -> [String]
        var aliases: String?
        var marker: @Sendable (_ victim: AppDeployment) -> String
        var reason: @Sendable (_ victim: AppDeployment) -> String
    }

    static let hijacks: [Hijack] = [
        Hijack(name: "a router for the victim's domain at priority 100000",
               labels: { ["traefik.enable=true", "traefik.http.services.${STACK_NAME}.loadbalancer.server.port=80",
                          "traefik.http.routers.${STACK_NAME}.rule=Host(`\($0.domain)`)", "traefik.http.routers.${STACK_NAME}.priority=100000",
                          "traefik.http.routers.${STACK_NAME}.entrypoints=web-secure", "traefik.http.routers.${STACK_NAME}.tls=true"] },
               marker: { "Host(`\($0.domain)`)" }, reason: { "routes `\($0.domain)`, not the app's domain" }),
        Hijack(name: "a HostRegexp matching every test domain",
               labels: { _ in ownLabels.map { $0.replacingOccurrences(of: "Host(`${DOMAIN}`)", with: "HostRegexp(`.+\\\\.ci\\\\.example`)") } },
               marker: { _ in "HostRegexp" }, reason: { _ in "matches hosts with HostRegexp, which can match other apps' domains" }),
        Hijack(name: "the victim's service name, joining its load balancer",
               labels: { victim in ownLabels + ["traefik.http.services.\(victim.stack).loadbalancer.server.port=80"] },
               marker: { "services.\($0.stack)." }, reason: { "defines the http service \($0.stack), not one of the app's own" }),
        Hijack(name: "the victim's router name, knocking its route out",
               labels: { victim in ownLabels + ["traefik.http.routers.\(victim.stack).rule=Host(`${DOMAIN}`)"] },
               marker: { "routers.\($0.stack).rule" }, reason: { "defines the http router \($0.stack), not one of the app's own" }),
        Hijack(name: "the alias db on the proxy network", labels: { _ in ownLabels }, aliases: "db",
               marker: { _ in "aliases: [db]" }, reason: { _ in "takes the alias db on the network proxy, which other apps join" }),
    ]

    @Test("every hijack of a victim app is refused before deploy, naming the label and file:line; allowed, one does hijack; the control deploys beside the victim, which still answers all its requests itself",
          .requiresDocker)
    func hijacksRefusedControlDeploys() throws {
        let started = Date()
        let deployer = SwarmDeployer(defaultTimeout: 60)
        let victimRecipe = try Self.proxied("proxy-victim", page: "victim page\n", labels: Self.ownLabels)
        let victim = victimRecipe.app()
        defer { #expect(deployer.teardown(victim).isClean) }
        try deployer.deploy(victim, as: .install(ref: "1.0.0"))
        try HostileRenderedTests.expectConverged(victim, deployer)
        try Self.expectAnswered(victim.domain, by: "victim page\n")

        for hijack in Self.hijacks {
            let recipe = try Self.proxied("proxy-hijack", page: "hijacker page\n", labels: hijack.labels(victim), aliases: hijack.aliases)
            try HostileRenderedTests.expectRefused(recipe.app(), naming: hijack.reason(victim), at: recipe.location(of: hijack.marker(victim)))
            try HostileRenderedTests.expectLinted(recipe, at: recipe.location(of: hijack.marker(victim)))
        }
        try Self.expectAnswered(victim.domain, by: "victim page\n", times: 5)

        // The test can fail: the first hijack, allowed by the operator, answers the victim's requests.
        let hijackerRecipe = try Self.proxied("proxy-hijacker", page: "hijacker page\n", labels: Self.hijacks[0].labels(victim))
        let hijacker = hijackerRecipe.app(allowance: PolicyAllowance(options: [.proxyRule, .proxyPriority]))
        do {
            defer { #expect(deployer.teardown(hijacker).isClean) }
            try deployer.deploy(hijacker, as: .install(ref: "1.0.0"))
            try HostileRenderedTests.expectConverged(hijacker, deployer)
            try Self.expectAnswered(victim.domain, by: "hijacker page\n")
        }

        // The control: its own names and domain, a priority at the bound, an alias on its own network.
        let controlRecipe = try TemplateRecipe("proxy-control") { files in
            files["page.html"] = "control page\n"
            files["compose.yml"] = files["compose.yml"]!
                .replacingOccurrences(of: "replicas: 2", with: "replicas: 1")
                .replacingOccurrences(of: "    networks:\n      - backend\n", with: "    networks:\n      backend:\n        aliases: [db]\n      proxy:\n")
            files.insert("  proxy:\n    external: true\n", after: "networks:\n  backend:\n")
            let labels = Self.ownLabels + ["traefik.http.routers.${STACK_NAME}.priority=1000", "traefik.http.routers.${STACK_NAME}-www.rule=Host(`${DOMAIN}`) && Path(`/www`)",
                                           "traefik.http.routers.${STACK_NAME}-www.middlewares=${STACK_NAME}-redirect",
                                           "traefik.http.middlewares.${STACK_NAME}-redirect.redirectscheme.scheme=https", "traefik.swarm.network=proxy"]
            files.insert("      labels:\n" + labels.map { "        - \"\($0)\"\n" }.joined(), after: "      replicas: 1\n")
        }
        let control = controlRecipe.app()
        defer { #expect(deployer.teardown(control).isClean) }
        try deployer.deploy(control, as: .install(ref: "1.0.0"))
        try HostileRenderedTests.expectConverged(control, deployer)
        try Self.expectAnswered(control.domain, by: "control page\n")
        try Self.expectAnswered(victim.domain, by: "victim page\n", times: 20)
        print("hostile proxy: \(Int(Date().timeIntervalSince(started).rounded())) s")
    }

    @Test("the engine's proxy routes only what cchost deployed: a stack deployed with plain docker stack deploy is not routed", .requiresDocker)
    func plainStackIsNotRouted() throws {
        let recipe = try Self.proxied("proxy-plain", page: "plain page\n", labels: Self.ownLabels)
        let app = recipe.app()
        let deployer = SwarmDeployer(defaultTimeout: 60)
        defer { #expect(deployer.teardown(app).isClean) }
        // cchost's rendered stack, its cchost.run labels taken out, deployed as anyone could.
        let prepared = try deployer.prepare(app, as: .install(ref: "1.0.0"))
        let file = app.workDirectory.appendingPathComponent(prepared.rendered.file)
        // A comment line, then the stack as JSON.
        let written = try String(contentsOf: file, encoding: .utf8)
        let comment = try #require(written.split(separator: "\n", maxSplits: 1).first)
        var stack = try #require(try JSONSerialization.jsonObject(with: Data(written.dropFirst(comment.count).utf8)) as? [String: Any])
        var services = try #require(stack["services"] as? [String: Any])
        var service = try #require(services["app"] as? [String: Any])
        var deploy = try #require(service["deploy"] as? [String: Any])
        var labels = try #require(deploy["labels"] as? [String: Any])
        #expect(labels.removeValue(forKey: "cchost.run") != nil, "the rendered stack carries cchost.run: \(labels)")
        deploy["labels"] = labels
        service["deploy"] = deploy
        services["app"] = service
        stack["services"] = services
        try Data((comment + "\n" + String(decoding: try JSONSerialization.data(withJSONObject: stack, options: .withoutEscapingSlashes), as: UTF8.self) + "\n").utf8).write(to: file)
        try deployer.deploy(prepared, app: app)
        try HostileRenderedTests.expectConverged(app, deployer)
        let deployedLabels = try DockerAPI().inspect(.services, "\(app.stack)_app")["Spec"]?["Labels"]
        #expect(deployedLabels?["cchost.run"] == nil, "\(String(describing: deployedLabels))")
        // Traefik reads the engine every second; a routed app answers within a few.
        Thread.sleep(forTimeInterval: 4)
        #expect(try TraefikProxy().request(method: "GET", domain: app.domain, path: "/", body: nil, timeout: 5) == .unrouted,
                "the proxy routes services without cchost.run: run scripts/proxy to update it")
        // The same stack with its label is routed.
        try deployer.deploy(app, as: .install(ref: "1.0.0"))
        try HostileRenderedTests.expectConverged(app, deployer)
        try Self.expectAnswered(app.domain, by: "plain page\n")
    }

    /// `domain` through the engine's proxy answers 200 with `body`: first within 30 s (Traefik
    /// refreshes every second), then `times` requests in a row, every one.
    static func expectAnswered(_ domain: String, by body: String, times: Int = 1, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let proxy = TraefikProxy()
        let deadline = Date().addingTimeInterval(30)
        var last: ProxyAnswer?
        while Date() < deadline {
            last = try? proxy.request(method: "GET", domain: domain, path: "/", body: nil, timeout: 5)
            if last == ProxyAnswer(status: 200, body: Data(body.utf8)) { break }
            Thread.sleep(forTimeInterval: 0.5)
        }
        try #require(last == ProxyAnswer(status: 200, body: Data(body.utf8)), "\(domain): \(last.map { "\($0.status) \(String(decoding: $0.body, as: UTF8.self))" } ?? "no answer")",
                     sourceLocation: sourceLocation)
        var answers: [String] = []
        for _ in 0..<times {
            let answer = try proxy.request(method: "GET", domain: domain, path: "/", body: nil, timeout: 5)
            answers.append("\(answer.status) \(String(decoding: answer.body, as: UTF8.self))")
        }
        #expect(answers == Array(repeating: "200 \(body)", count: times), sourceLocation: sourceLocation)
    }
}
