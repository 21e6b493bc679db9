import Foundation
@testable import HostBase
import Testing

/// The shared proxy's part of the content policy (R025) as truth tables: each label (or network
/// snippet) of service `app` of stack `app_ci_example` on `app.ci.example`, the option that would
/// allow it, and why it is refused; what Co-op Cloud recipes write is no finding.
@Suite("ProxyLabelPolicy")
struct ProxyLabelPolicyTests {
    static let environment = ["STACK_NAME": "app_ci_example", "DOMAIN": "app.ci.example"]

    /// The R025 findings of a compose file whose service `app` has `labels` (each `- "label"` on
    /// lines 6, 7, …) and then `more` (service-level YAML), evaluated with `allowedDomains`.
    static func findings(_ labels: [String], more: String = "", top: String = "", allowedDomains: Set<String> = []) throws -> [RecipePolicy.Finding] {
        let written = labels.map { "        - '\($0.replacingOccurrences(of: "'", with: "''"))'\n" }.joined()
        let compose = "version: \"3.8\"\nservices:\n  app:\n    image: a:1\n    deploy:\n      labels:\n" + (labels.isEmpty ? "        x: y\n" : written)
            + more + top
        let project = try ComposeProject(files: [(path: "compose.yml", text: compose)], environment: environment)
        return RecipePolicy.evaluate(project, checkout: "/nonexistent", allowedDomains: allowedDomains).filter { $0.code == "R025" }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var label: String
        var option: RecipePolicy.Option
        var says: String
        var testDescription: String { label }
    }

    static let hostile: [Case] = [
        // Names of another app's router, service or middleware.
        Case(label: "traefik.http.routers.victim_ci_example.rule=Host(`app.ci.example`)", option: .proxyNames,
             says: "defines the http router victim_ci_example, not one of the app's own (app_ci_example, app_ci_example-… or app_ci_example_…)"),
        Case(label: "traefik.http.services.victim_ci_example.loadbalancer.server.port=80", option: .proxyNames, says: "http service victim_ci_example"),
        Case(label: "traefik.http.middlewares.victim_ci_example-auth.basicauth.users=x", option: .proxyNames, says: "http middleware victim_ci_example-auth"),
        Case(label: "traefik.tcp.routers.victim.entrypoints=web-secure", option: .proxyNames, says: "tcp router victim"),
        Case(label: "traefik.udp.services.victim.loadbalancer.server.port=53", option: .proxyNames, says: "udp service victim"),
        Case(label: "traefik.http.routers.app_ci_examplex.rule=Host(`app.ci.example`)", option: .proxyNames, says: "router app_ci_examplex"),
        Case(label: "traefik.HTTP.Routers.Victim_ci_example.rule=Host(`app.ci.example`)", option: .proxyNames, says: "router Victim_ci_example"),
        Case(label: "traefik.http.routers.app_ci_example.service=victim_ci_example", option: .proxyNames,
             says: "sends requests to the service victim_ci_example"),
        Case(label: "traefik.http.routers.app_ci_example.service=api@internal", option: .proxyNames, says: "service api@internal"),
        Case(label: "traefik.http.routers.app_ci_example.service=app_ci_example@file", option: .proxyNames, says: "service app_ci_example@file"),
        Case(label: "traefik.http.middlewares.app_ci_example-err.errors.service=victim_ci_example", option: .proxyNames,
             says: "sends requests to the service victim_ci_example"),
        Case(label: "traefik.tls.stores.default.defaultcertificate.certfile=/x", option: .proxyNames, says: "is not one cchost can judge"),
        Case(label: "traefik.http.serverstransports.app_ci_example.insecureskipverify=true", option: .proxyNames, says: "is not one cchost can judge"),
        // Rules that answer other domains, or every one.
        Case(label: "traefik.http.routers.app_ci_example.rule=Host(`victim.ci.example`)", option: .proxyRule,
             says: "routes `victim.ci.example`, not the app's domain (app.ci.example; more through recipes[].allow_domains)"),
        Case(label: "traefik.http.routers.app_ci_example.rule=Host(`app.ci.example`, `victim.ci.example`)", option: .proxyRule, says: "routes `victim.ci.example`"),
        Case(label: "traefik.http.routers.app_ci_example.rule=Host(`app.ci.example`) || Host(\"victim.ci.example\")", option: .proxyRule,
             says: "routes `victim.ci.example`"),
        Case(label: "traefik.http.routers.app_ci_example.rule=HOSTHEADER(`victim.ci.example`)", option: .proxyRule, says: "routes `victim.ci.example`"),
        Case(label: "traefik.http.routers.app_ci_example.rule=HostRegexp(`.+\\.ci\\.example`)", option: .proxyRule,
             says: "matches hosts with HostRegexp, which can match other apps' domains"),
        Case(label: "traefik.http.routers.app_ci_example.rule=Host(`app.ci.example`) || hostregexp(`.+`)", option: .proxyRule, says: "with hostregexp"),
        Case(label: "traefik.http.routers.app_ci_example.rule=PathPrefix(`/`)", option: .proxyRule,
             says: "can match a request without matching its host (an alternative of `PathPrefix(`/`)` has no Host): it would answer requests for every domain"),
        Case(label: "traefik.http.routers.app_ci_example.rule=Host(`app.ci.example`) || PathPrefix(`/`)", option: .proxyRule, says: "has no Host"),
        Case(label: "traefik.http.routers.app_ci_example.rule=!Host(`app.ci.example`)", option: .proxyRule, says: "has no Host"),
        Case(label: "traefik.http.routers.app_ci_example.rule=!(Host(`app.ci.example`) && Path(`/x`))", option: .proxyRule, says: "has no Host"),
        Case(label: "traefik.http.routers.app_ci_example.rule=Host(`app.ci.example`) /* */", option: .proxyRule, says: "cannot be read by cchost"),
        Case(label: "traefik.http.routers.app_ci_example.rule=Host(\"victim\\x2eci.example\")", option: .proxyRule,
             says: "cannot be read by cchost (an escape in a double-quoted string at character 6)"),
        Case(label: "traefik.http.routers.app_ci_example.rule=Host(`app.ci.example`", option: .proxyRule, says: "cannot be read by cchost"),
        Case(label: "traefik.http.routers.app_ci_example.rule=Host(`app.ci.example`) & Path(`/`)", option: .proxyRule, says: "a lone &"),
        Case(label: "traefik.http.routers.app_ci_example.rule=Host(`app.ci.example`) && Frobnicate(`x`)", option: .proxyRule,
             says: "uses Frobnicate, a matcher cchost does not know for http routers"),
        Case(label: "traefik.http.routers.app_ci_example.rule=Host()", option: .proxyRule, says: "Host() without a domain"),
        Case(label: "traefik.tcp.routers.app_ci_example.rule=HostSNI(`*`)", option: .proxyRule, says: "routes `*`"),
        Case(label: "traefik.tcp.routers.app_ci_example.rule=HostSNIRegexp(`^.+$$`)", option: .proxyRule, says: "with HostSNIRegexp"),
        Case(label: "traefik.tcp.routers.app_ci_example.rule=ClientIP(`10.0.0.0/8`)", option: .proxyRule, says: "has no HostSNI"),
        Case(label: "traefik.tcp.routers.app_ci_example.rule=Host(`app.ci.example`)", option: .proxyRule, says: "with Host"),
        // Priority, network, forward auth.
        Case(label: "traefik.http.routers.app_ci_example.priority=100000", option: .proxyPriority,
             says: "asks for priority 100000, over 1000: Traefik's default priority is the rule's length, so a larger one outranks every other app's router"),
        Case(label: "traefik.http.routers.app_ci_example.priority=high", option: .proxyPriority, says: "priority high"),
        Case(label: "traefik.tcp.routers.app_ci_example.priority=1001", option: .proxyPriority, says: "priority 1001"),
        Case(label: "traefik.swarm.network=app_ci_example_internal", option: .proxyNetwork,
             says: "makes Traefik reach the app through the network app_ci_example_internal, not proxy"),
        Case(label: "traefik.docker.network=other", option: .proxyNetwork, says: "network other"),
        Case(label: "traefik.http.middlewares.app_ci_example-auth.forwardauth.address=http://victim_ci_example_app/auth", option: .forwardAuth,
             says: "hands every request, its headers and cookies included, to http://victim_ci_example_app/auth"),
        Case(label: "traefik.http.middlewares.app_ci_example-auth.ForwardAuth.Address=https://elsewhere.example/", option: .forwardAuth,
             says: "https://elsewhere.example/"),
    ]

    @Test("each label that reaches into another app is refused (R025) at its line, naming the label, why and its option", arguments: hostile)
    func hostileLabel(_ hostile: Case) throws {
        let found = try Self.findings([hostile.label])
        let finding = try #require(found.first, "no finding for \(hostile.label)")
        #expect(found.count == 1, "\(found.map(\.message))")
        #expect(finding.option == hostile.option && finding.severity == .error)
        #expect(finding.message.hasPrefix("service app: label \(hostile.label.prefix { $0 != "=" }) "), "\(finding.message)")
        #expect(finding.message.contains(hostile.says), "\(finding.message)")
        #expect(finding.location == .init(file: "compose.yml", line: 7))
        // The option the finding names lets it through, and nothing else does.
        #expect(RecipePolicy.decide(found, allowance: PolicyAllowance(options: [hostile.option])).refused.isEmpty)
        let others = Set(RecipePolicy.Option.allCases).subtracting([hostile.option])
        #expect(RecipePolicy.decide(found, allowance: PolicyAllowance(options: others)).refused == found)
    }

    @Test("what Co-op Cloud recipes write for their own names and domain is no finding", arguments: [
        ["traefik.enable=true", "traefik.http.services.app_ci_example.loadbalancer.server.port=80",
         "traefik.http.routers.app_ci_example.rule=Host(`app.ci.example`)", "traefik.http.routers.app_ci_example.entrypoints=web-secure",
         "traefik.http.routers.app_ci_example.tls.certresolver=production", "coop-cloud.app_ci_example.version=1.0.0+1"],
        ["traefik.http.routers.app_ci_example.middlewares=app_ci_example-redirect",
         "traefik.http.middlewares.app_ci_example-redirect.headers.SSLForceHost=true",
         "traefik.http.middlewares.app_ci_example-redirect.headers.SSLHost=app.ci.example"],
        ["traefik.http.routers.app_ci_example_api.rule=host(`APP.ci.example`) && (PathPrefix(`/api`) || Path(\"/health\"))",
         "traefik.http.routers.app_ci_example_api.priority=1000", "traefik.http.routers.app_ci_example_api.service=app_ci_example_api@swarm",
         "traefik.http.services.app_ci_example_api.loadbalancer.server.port=8080"],
        ["traefik.http.routers.app_ci_example.rule=!PathPrefix(`/admin`) && Host(`app.ci.example`)",
         "traefik.http.routers.app_ci_example-www.rule=Host(`app.ci.example`) || (Host(`app.ci.example`) && Path(`/`))",
         "traefik.http.middlewares.app_ci_example-www.redirectregex.regex=^https://www\\.(.*)",
         "traefik.http.middlewares.app_ci_example-www.redirectscheme.scheme=https"],
        ["traefik.swarm.network=proxy", "traefik.docker.network=proxy", "traefik.swarm.lbswarm=true",
         "traefik.tcp.routers.app_ci_example.rule=HostSNI(`app.ci.example`)", "traefik.tcp.routers.app_ci_example.tls.passthrough=true",
         "traefik.tcp.services.app_ci_example.loadbalancer.server.port=22"],
        ["backupbot.backup=true", "some.other.label=HostRegexp(`.+`)"],
    ])
    func ownLabels(labels: [String]) throws {
        #expect(try Self.findings(labels).isEmpty)
    }

    @Test("a domain the operator allows (allow_domains) may be routed, beside the app's; another still may not")
    func allowedDomains() throws {
        let label = "traefik.http.routers.app_ci_example.rule=Host(`app.ci.example`, `www.example.org`) || Host(`Old.Example.org`)"
        #expect(try Self.findings([label]).map(\.message) == [
            "service app: label traefik.http.routers.app_ci_example.rule routes `www.example.org`, `Old.Example.org`, not the app's domain "
                + "(app.ci.example; more through recipes[].allow_domains): it would answer another app's requests",
        ])
        #expect(try Self.findings([label], allowedDomains: ["www.example.org", "old.example.org"]).isEmpty)
        let partly = try Self.findings([label], allowedDomains: ["www.example.org"])
        #expect(partly.count == 1 && partly[0].message.contains("routes `Old.Example.org`, not the app's domain (app.ci.example, www.example.org;"))
    }

    @Test("one label can be refused for several reasons, each with its own option")
    func severalReasons() throws {
        let found = try Self.findings(["traefik.http.routers.victim_ci_example.rule=HostRegexp(`.+`)"])
        #expect(found.map(\.option) == [.proxyNames, .proxyRule], "\(found.map(\.message))")
        #expect(RecipePolicy.decide(found, allowance: PolicyAllowance(options: [.proxyRule])).refused.map(\.option) == [.proxyNames])
    }

    @Test("an alias on a network other apps join is refused at its line; on the app's own network it is not", arguments: [
        ("    networks:\n      proxy:\n        aliases: [db]\n", "top: networks: {proxy: {external: true}}", 10, "alias db on the network proxy"),
        ("    networks:\n      pub:\n        aliases:\n          - cache\n", "networks:\n  pub:\n    external: true\n    name: proxy\n", 11,
         "alias cache on the network proxy, which other apps join: their lookups of cache would reach this app"),
        ("    networks:\n      shared:\n        aliases: [db]\n", "networks:\n  shared:\n    external: true\n", 10, "on the network shared"),
    ])
    func alias(more: String, top: String, line: Int, says: String) throws {
        let topLevel = top.hasPrefix("top: ") ? "networks:\n  proxy:\n    external: true\n" : top
        let found = try Self.findings([], more: more, top: topLevel)
        #expect(found.count == 1 && found[0].option == .networkAlias && found[0].message.contains(says), "\(found.map(\.message))")
        #expect(found.first?.location == .init(file: "compose.yml", line: line))
        let own = try Self.findings([], more: "    networks:\n      internal:\n        aliases: [db]\n", top: "networks:\n  internal:\n")
        #expect(own.isEmpty)
    }

    @Test("lint reports R025 as an error at the label's line; the operator's allowance silences it")
    func lint() throws {
        let folder = try TemporaryDirectory("proxy-lint")
        let compose = "version: \"3.8\"\nservices:\n  app:\n    image: a:1\n    deploy:\n      labels:\n"
            + "        - \"traefik.http.routers.${STACK_NAME}.rule=Host(`${DOMAIN}`) || Host(`victim.ci.example`)\"\n"
        try Data(compose.utf8).write(to: folder.url.appendingPathComponent("compose.yml"))
        try Data("TYPE=x\n".utf8).write(to: folder.url.appendingPathComponent(".env.sample"))
        let refused = RecipeLint.lint(directory: folder.path, tags: []).findings.filter { $0.code == "R025" }
        #expect(refused.count == 1 && refused[0].severity == .error && refused[0].location == "compose.yml:7", "\(refused)")
        #expect(refused.first?.message.contains("routes `victim.ci.example`, not the app's domain (lint.example;") == true)
        let allowed = RecipeLint.lint(directory: folder.path, tags: [], allowance: PolicyAllowance(domains: ["victim.ci.example"]))
        #expect(!allowed.findings.contains { $0.code == "R025" })
        #expect(RecipeLint.rules.contains { $0.code == "R025" && $0.severity == .error })
    }
}

/// Reading Traefik rules: what parses to which tree, what is refused and why, and which rules confine the host.
@Suite("TraefikRule")
struct TraefikRuleTests {
    @Test("rules parse with Go's precedence, either quote, v2's several arguments, and any case of matcher name", arguments: [
        ("Host(`a`)", TraefikRule.matcher(name: "Host", arguments: ["a"])),
        ("Host(`a`, \"b\")", .matcher(name: "Host", arguments: ["a", "b"])),
        ("Host(`a`) || Host(`b`) && Path(`/`)", .or(.matcher(name: "Host", arguments: ["a"]),
                                                     .and(.matcher(name: "Host", arguments: ["b"]), .matcher(name: "Path", arguments: ["/"])))),
        ("!(host(`a`) || PATH(`/`))", .not(.or(.matcher(name: "host", arguments: ["a"]), .matcher(name: "PATH", arguments: ["/"])))),
        ("\n\tHost(`a`)\r\n", .matcher(name: "Host", arguments: ["a"])),
    ])
    func parses(rule: String, tree: TraefikRule) throws {
        #expect(try TraefikRule(parsing: rule) == tree)
    }

    @Test("what cchost cannot read is refused with the reason", arguments: [
        ("Host(`a`) // x", "/ (not part of a rule cchost reads) at character 11"),
        ("Host(\"a\\u0062\")", "an escape in a double-quoted string at character 6"),
        ("Host(`a`", "Host(…) expects , or ), not the end"),
        ("Host", "Host is not a matcher call such as Host(`example.org`)"),
        ("true", "true is not a matcher call such as Host(`example.org`)"),
        ("Host(`a`) Host(`b`)", "Host is not expected after a complete expression"),
        ("Host(a)", "Host(…) takes strings, not a"),
        ("", "a matcher is expected, not the end"),
        (String(repeating: "(", count: 40) + "Host(`a`)" + String(repeating: ")", count: 40), "it nests deeper than 32 levels"),
        (String(repeating: "!", count: 40) + "Host(`a`)", "it nests deeper than 32 levels"),
        ("Host(`" + String(repeating: "a", count: 5000) + "`)", "it is longer than 4096 characters"),
    ])
    func refused(rule: String, reason: String) {
        #expect(throws: TraefikRule.ParseError(description: reason)) { try TraefikRule(parsing: rule) }
    }

    @Test("a rule confines the host when every alternative, negations pushed down, holds a host matcher not negated", arguments: [
        ("Host(`a`)", true), ("Path(`/`)", false), ("Host(`a`) && Path(`/`)", true), ("Host(`a`) || Path(`/`)", false),
        ("Host(`a`) || Host(`b`)", true), ("!Host(`a`)", false), ("!!Host(`a`)", true), ("!(Host(`a`) && Path(`/`))", false),
        ("!(!Host(`a`) || !Host(`b`))", true), ("!(!Host(`a`) || Path(`/`))", true), ("(Host(`a`) || Path(`/x`)) && Host(`b`)", true),
        ("!(Path(`/`) || Method(`GET`))", false),
    ])
    func confines(rule: String, confines: Bool) throws {
        #expect(try TraefikRule(parsing: rule).confinesHost { $0 == "Host" } == confines)
    }
}
