import Foundation
import HostBase

/// One HTTP answer an app gave through the proxy.
public struct ProxyAnswer: Sendable, Equatable {
    public var status: Int32
    public var body: Data

    public init(status: Int32, body: Data) {
        self.status = status
        self.body = body
    }

    /// Traefik's own answer when no router matches the request's host: its 404 with this body.
    public static let unrouted = ProxyAnswer(status: 404, body: Data("404 page not found\n".utf8))
}

/// How the host reaches a deployed app, as a user would: through the engine's proxy, by the app's
/// domain. `TraefikProxy` is the engine's Traefik; tests of the gateway use one in memory.
public protocol AppProxy: Sendable {
    /// Nil when the proxy is there and answers; else what is wrong, with the command that starts it.
    func problem() -> String?
    /// `method` `https://<domain><path>` through the proxy; a request that got no HTTP answer is an
    /// error with the client's own words.
    func request(method: String, domain: String, path: String, body: String?, timeout: Double) throws(DeployError) -> ProxyAnswer
}

/// The engine's proxy: Traefik as stack `cchost-proxy` (scripts/proxy), its web-secure entrypoint
/// published on the host's port 443 in host mode. Requests go to 127.0.0.1:443 with the app's
/// domain as SNI and Host (curl's `--resolve`: no DNS, no /etc/hosts), certificates not verified
/// (the default certificate is self-signed).
public struct TraefikProxy: AppProxy {
    public static let service = "cchost-proxy_traefik"
    public static let startCommand = "scripts/proxy"
    public let cli: DockerCLI
    public var address = "127.0.0.1"
    public var port = 443
    /// The proxy's web entrypoint on the host (redirects to web-secure).
    static let webPort = 80
    public let curl: String

    public init(cli: DockerCLI = DockerCLI()) {
        self.cli = cli
        curl = ["/usr/bin/curl", "/usr/local/bin/curl", "/bin/curl"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/bin/curl"
    }

    /// Whatever answers HTTPS on the host's 443 is taken for the proxy (a server's own Traefik, run
    /// from Co-op Cloud's traefik recipe, does as well as scripts/proxy's); when nothing does, the
    /// problem says whether cchost's proxy service is there at all.
    public func problem() -> String? {
        let fix = "start it with \(Self.startCommand) (scripts/setup does)"
        guard FileManager.default.isExecutableFile(atPath: curl) else { return "curl is missing (package curl): cchost reaches apps with it" }
        do {
            _ = try request(method: "GET", domain: "cchost-proxy-probe.invalid", path: "/", body: nil, timeout: 5)
            return nil
        } catch {
            // Kept: the proxy is reported missing either way; the inspection only picks the advice.
            if let inspected = try? cli.output(["service", "inspect", Self.service], timeout: 30), !inspected.succeeded {
                return "nothing answers on \(address):\(port) and its service \(Self.service) is not there: \(fix)"
            }
            return "it does not answer on \(address):\(port) (\(error.reason)): \(fix)"
        }
    }

    public func request(method: String, domain: String, path: String, body: String?, timeout: Double) throws(DeployError) -> ProxyAnswer {
        let operation = "\(method) https://\(domain)\(path)"
        guard path.hasPrefix("/"), !path.contains(where: { $0.isWhitespace || $0.isNewline }) else {
            throw DeployError(operation: operation, stack: "", reason: "a path starts with / and holds no spaces")
        }
        // The status on a last line of its own after the body: -w writes after everything else.
        // Redirects are followed, on the app's domain through the proxy only (its web entrypoint
        // redirects to web-secure), and the last answer counts, as a browser shows it.
        var arguments = ["-k", "-sS", "--globoff", "--path-as-is", "--max-time", String(max(1, Int(timeout.rounded(.up)))),
                         "--resolve", "\(domain):\(port):\(address)", "--resolve", "\(domain):\(Self.webPort):\(address)",
                         "-L", "--max-redirs", "10", "-o", "-", "-w", "\n%{http_code}"]
        // GET by default; a body makes it a POST (a redirect after it is followed with GET, as browsers do).
        if let body, method == "POST" { arguments += ["--data-binary", "@-"] } else if method != "GET" || body != nil {
            throw DeployError(operation: operation, stack: "", reason: "only GET, and POST with a body, are sent")
        }
        arguments.append("https://\(domain):\(port)\(path)")
        let output: CommandOutput
        do {
            output = try Command.run(curl, arguments, environment: [:], input: body.map { Data($0.utf8) }, timeout: timeout + 5)
        } catch {
            throw DeployError(operation: operation, stack: "", reason: error.description)
        }
        guard output.succeeded, let answer = Self.answer(in: output.stdout) else {
            let said = output.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)
            throw DeployError(operation: operation, stack: "", reason: "no HTTP answer through the proxy at \(address):\(port): "
                              + (said.isEmpty ? "curl \(output.termination)" : String(said.prefix(300))))
        }
        return answer
    }

    /// The body and status curl wrote (`-w "\n%{http_code}"`); nil without a status (000: none).
    static func answer(in output: Data) -> ProxyAnswer? {
        guard let newline = output.lastIndex(of: UInt8(ascii: "\n")),
              let status = Int32(String(decoding: output[output.index(after: newline)...], as: UTF8.self)), status > 0 else { return nil }
        return ProxyAnswer(status: status, body: Data(output[..<newline]))
    }
}
