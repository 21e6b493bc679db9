import Foundation
@testable import HostBase
@testable import HostDocker
@testable import HostRuns
import Testing

/// Apps reached through the engine's real Traefik (scripts/proxy), as on a Co-op Cloud server: the
/// generic suite's readiness goes red when the recipe's routing labels are wrong, whatever the app
/// itself does. Variants of the static site are made from its fixture. Serialized: one engine.
@Suite("Apps reached through the engine's Traefik", .serialized)
struct TraefikTests {
    private static let repositories: TemporaryDirectory = {
        // A failure here fails every test that uses it, with the message.
        try! SwarmRuns.repositories("traefik-fixture-repos") { source in
            try variant(of: "static-site", as: "static-site-wrong-port", in: source) {
                $0.replacingOccurrences(of: "loadbalancer.server.port=80", with: "loadbalancer.server.port=8080")
            }
            try variant(of: "static-site", as: "static-site-wrong-rule", in: source) {
                // Its own domain, as the content policy requires (R025), on a path no request asks.
                $0.replacingOccurrences(of: "rule=Host(`${DOMAIN}`)", with: "rule=Host(`${DOMAIN}`) && PathPrefix(`/elsewhere`)")
            }
        }
    }()

    /// A copy of recipe `name` as `variant`, its compose.yml changed by `change` (which must change it).
    private static func variant(of name: String, as variant: String, in source: URL, _ change: (String) -> String) throws {
        let files = FileManager.default
        try files.copyItem(at: source.appendingPathComponent(name), to: source.appendingPathComponent(variant))
        try files.copyItem(at: source.appendingPathComponent("\(name).releases"), to: source.appendingPathComponent("\(variant).releases"))
        let compose = source.appendingPathComponent("\(variant)/compose.yml")
        let original = try String(contentsOf: compose, encoding: .utf8)
        let changed = change(original)
        guard changed != original else { throw GitFixtureError(description: "the \(variant) change left \(name)'s compose.yml as it was") }
        try changed.write(to: compose, atomically: true, encoding: .utf8)
    }

    /// The install of `recipe` with the generic suite; prints its seconds.
    private func install(_ recipe: String) throws -> RunRecord {
        let state = try TemporaryDirectory("state")
        let started = Date()
        let record = try SwarmRuns.engine(state, plugins: [try SwarmRuns.generic()])
            .run(RunRequest(recipe: recipe, repository: Self.repositories.file(recipe), stages: [.install]))
        print("\(recipe) install: \(Int(Date().timeIntervalSince(started).rounded())) s")
        let stack = AppNaming.stackName(forDomain: record.domain)
        #expect(record.teardown?.isClean == true && SwarmRuns.leftovers(stack).isEmpty, "\(SwarmRuns.leftovers(stack))")
        return record
    }

    @Test("the static site's readiness is green through Traefik, by its domain on 127.0.0.1:443", .requiresDocker)
    func staticSiteThroughTraefik() throws {
        let record = try install("static-site")
        #expect(record.verdict == .pass, "\(RunReport.console(record))")
        #expect(try record.check(.install, "readiness", plugin: "generic").detail == "GET / answered 200")
        #expect(try record.check(.install, "services-answer", plugin: "generic").detail == "1 service(s) running, 1 with a healthcheck that passes")
    }

    @Test("a wrong loadbalancer.server.port is red: Traefik's Bad Gateway, in the detail", .requiresDocker)
    func wrongPortIsRed() throws {
        let record = try install("static-site-wrong-port")
        #expect(record.verdict == .fail)
        let readiness = try record.check(.install, "readiness", plugin: "generic")
        #expect(readiness.verdict == .fail && readiness.detail == "GET / answered 502: Bad Gateway", "\(readiness)")
    }

    @Test("a router rule that does not match the app's domain is red: Traefik's own 404, naming the host", .requiresDocker)
    func wrongRuleIsRed() throws {
        let record = try install("static-site-wrong-rule")
        #expect(record.verdict == .fail)
        let readiness = try record.check(.install, "readiness", plugin: "generic")
        #expect(readiness.verdict == .fail, "\(readiness)")
        #expect(readiness.detail == "GET / answered Traefik's 404 (404 page not found): no router's rule matches Host(`\(record.domain)`)")
    }

    @Test("the engine's proxy is there, and its answer for a host no router knows is exactly what the gateway waits on", .requiresDocker)
    func proxyAnswersUnrouted() throws {
        let proxy = TraefikProxy()
        #expect(proxy.problem() == nil)
        let answer = try proxy.request(method: "GET", domain: "nothing-routes-here.ci.example", path: "/", body: nil, timeout: 5)
        #expect(answer == .unrouted)
    }

    @Test("a proxy that does not answer is a problem naming scripts/proxy", .requiresDocker)
    func silentProxyIsAProblem() throws {
        var proxy = TraefikProxy()
        proxy.port = 1  // nothing listens there
        let problem = try #require(proxy.problem())
        #expect(problem.hasPrefix("it does not answer on 127.0.0.1:1 (") && problem.hasSuffix("start it with scripts/proxy (scripts/setup does)"), "\(problem)")
        #expect(problem.contains("Connection refused") || problem.contains("Failed to connect"), "curl's own words: \(problem)")
    }
}
