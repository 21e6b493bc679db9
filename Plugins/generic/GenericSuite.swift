// The generic suite: checks every recipe gets by default, alongside its overlays. It is a plugin like
// any other and reaches the app only through the host table. It grows with the run engine.
import PluginKit

struct GenericSuite: Plugin {
    static let name = "generic"
    static let version = "0.1.0"
    static let metadata = Metadata(recipes: ["*"])

    static let checks = [
        Check("deploy-labels", tiers: [.install, .upgrade],
              description: "the stack carries the coop-cloud version and recipe labels, and after an upgrade its chaos-version is the head") { host, call in
            let app = try host.appInfo()
            let prefix = "coop-cloud.\(app.stack)."
            var problems: [String] = []
            if app.labels[prefix + "version"] == nil { problems.append("\(prefix)version is missing") }
            if let recipe = app.labels[prefix + "recipe"], recipe != app.recipe {
                problems.append("\(prefix)recipe is \(recipe), expected \(app.recipe)")
            } else if app.labels[prefix + "recipe"] == nil {
                problems.append("\(prefix)recipe is missing")
            }
            if call.tier == "upgrade", let head = app.headCommit {
                // A short commit of the head (7 or 8 characters), never marked +U (uncommitted changes).
                let chaos = app.labels[prefix + "chaos-version"]
                if chaos == nil || chaos!.count < 7 || chaos!.hasSuffix("+U") || !head.hasPrefix(chaos!) {
                    problems.append("\(prefix)chaos-version is \(chaos ?? "missing"), expected a short commit of the head \(head.prefix(12))")
                }
            }
            return problems.isEmpty ? .pass("labels present") : .fail(problems.joined(separator: "; "))
        },
        Check("readiness", tiers: [.install, .upgrade, .restore],
              description: "the app answers HTTP through Traefik on its readiness path with anything but 404, 502, 503 or 504") { host, _ in
            let path = try host.config("readiness_path") ?? "/"
            let response = try host.http("GET", path)
            let said = response.body.prefix(200).split(whereSeparator: \.isNewline).joined(separator: " ")
            switch response.status {
            case 404 where response.body == "404 page not found\n":
                // Traefik's own 404: no router's rule matches the app's domain.
                let domain = try host.appInfo().domain
                return .fail("GET \(path) answered Traefik's 404 (\(said)): no router's rule matches Host(`\(domain)`)")
            case 404, 502, 503, 504:
                // 502-504: Traefik reached no server of the router's service (wrong port, nothing listening).
                return .fail("GET \(path) answered \(response.status): \(said)")
            default:
                return .pass("GET \(path) answered \(response.status)")
            }
        },
        Check("services-answer", tiers: [.install, .upgrade, .restore],
              description: "every service runs as many containers as it wants, none of them unhealthy or still starting (as the engine reports it)") { host, _ in
            let app = try host.appInfo()
            guard let states = app.serviceStates else { throw Unanswered("the host reported no service states") }
            var down: [String] = []
            for service in app.services {
                guard let state = states[service] else { down.append("\(service) is not deployed"); continue }
                if state.running == 0 || state.running < (state.wanted ?? 1) {
                    down.append("\(service) runs \(state.running) of \(state.wanted.map(String.init) ?? "its") container(s)")
                } else if state.health == "unhealthy" || state.health == "starting" {
                    down.append("\(service) is \(state.health)")
                }
            }
            let healthy = app.services.filter { states[$0]?.health == "healthy" }.count
            return down.isEmpty ? .pass("\(app.services.count) service(s) running, \(healthy) with a healthcheck that passes") : .fail(down.joined(separator: "; "))
        },
        Check(typed: "http-expect", tiers: [.install, .upgrade, .restore],
              description: "a configured path answers with the configured status and contains the configured text",
              signature: "int http_expect(const char *path, int status, const char *needle)",
              function: unsafeBitCast(httpExpect as @convention(c) (UnsafePointer<CChar>?, Int32, UnsafePointer<CChar>?) -> Int32,
                                      to: (@convention(c) () -> Void).self)),
    ]
}

/// What a check cannot judge without: thrown, it makes the check `unverified` with this reason.
struct Unanswered: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The typed form of http-expect: one compiled check, parameters from each recipe's configuration.
@_cdecl("cchost_generic_http_expect")
func httpExpect(_ path: UnsafePointer<CChar>?, _ status: Int32, _ needle: UnsafePointer<CChar>?) -> Int32 {
    guard let path, let needle else { return -1 }
    let host = GenericSuite.host
    do {
        let response = try host.http("GET", String(cString: path))
        let wanted = String(cString: needle)
        if response.status != status {
            host.log("GET \(String(cString: path)) answered \(response.status), expected \(status)", level: .warning)
            return 1
        }
        if !wanted.isEmpty && !response.body.contains(wanted) {
            host.log("GET \(String(cString: path)) does not contain \"\(wanted)\"", level: .warning)
            return 1
        }
        return 0
    } catch {
        host.log("\(error)", level: .error)
        return -1
    }
}

@_cdecl("cchost_plugin_v1")
public func cchostPluginV1() -> UnsafeRawPointer { export(GenericSuite.self) }
