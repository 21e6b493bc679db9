import Foundation
import HostBase

/// How plugins reach a deployed app (any backend: the app is a swarm stack either way; the host has
/// already checked the policy): exec in a service's running container, re-resolved and retried until
/// its deadline; HTTP to `https://<the app's domain><path>` through the engine's proxy (Traefik, as
/// on a server), so that the app's routing labels (rule, port, entrypoint) are what reaches it, no
/// tool is assumed in the app's image and the host needs no route into the stack's networks.
public struct SwarmGateway: AppGateway {
    public let docker: any Docker
    public let proxy: any AppProxy
    public let app: AppDeployment
    public var execDeadline: Double = 60
    /// Seconds a request waits for Traefik to route the app's domain (it polls the engine every
    /// second, so a new router appears a moment after the deploy converged).
    public var routeDeadline: Double = 10
    /// Seconds between two attempts while the service has no container that can run the command,
    /// or Traefik has no router for the domain yet.
    public var retryInterval: Double = 0.5
    /// Seconds one request may take.
    public var requestTimeout: Double = 30

    public init(docker: any Docker, proxy: any AppProxy, app: AppDeployment) {
        self.docker = docker
        self.proxy = proxy
        self.app = app
    }

    public init(deployer: any Deployer, app: AppDeployment) {
        self.init(docker: deployer.docker, proxy: deployer.proxy, app: app)
    }

    public func exec(service: String, argv: [String]) throws -> (exitCode: Int32, output: Data) {
        let result = try execRetrying(service: service, argv: argv)
        return (result.exitCode, result.stdout + result.stderr)
    }

    /// Runs `argv` in a running container of `service`, finding the container anew on each attempt,
    /// until the command ran (whatever its exit code) or the deadline passed. A command that never
    /// ran is an error, never empty output, and carries Docker's own words.
    public func execRetrying(service: String, argv: [String]) throws(DeployError) -> ExecResult {
        let deadline = Date().addingTimeInterval(execDeadline)
        var lastProblem = "no attempt"
        repeat {
            do {
                let container = try docker.runningContainer(stack: app.stack, service: service)
                return try docker.exec(argv, in: container, deadline: deadline)
            } catch where error.kind == .notStarted {
                // The runtime cannot start this command in the service's image (not there, not
                // executable): another container of the service would say the same.
                throw DeployError(error)
            } catch {
                // No container, one gone or stopping between finding and exec: swarm is replacing it.
                lastProblem = error.description
            }
            Thread.sleep(forTimeInterval: retryInterval)
        } while Date() < deadline
        throw DeployError(operation: "exec in \(service)", stack: app.stack,
                          reason: "did not run within \(Self.seconds(execDeadline)): \(lastProblem)")
    }

    /// The request through the proxy, repeated while Traefik answers its own 404 (no router for the
    /// domain yet) until the route deadline; then that 404 is the answer (the check judges it). An
    /// app's own answers, 5xx from Traefik included (a wrong port: 502 or 504), are returned as they are.
    public func http(method: String, path: String, body: String?) throws -> (status: Int32, body: Data) {
        guard method == "GET" || (method == "POST" && body != nil) else {
            throw DeployError(operation: "http \(method) \(path)", stack: app.stack, reason: "only GET, and POST with a body, reach the app")
        }
        let deadline = Date().addingTimeInterval(routeDeadline)
        while true {
            let answer: ProxyAnswer
            do {
                answer = try proxy.request(method: method, domain: app.domain, path: path, body: body, timeout: requestTimeout)
            } catch {
                throw DeployError(operation: error.operation, stack: app.stack, reason: error.reason)
            }
            if !Self.awaitsRouter(answer) || Date() >= deadline { return (answer.status, answer.body) }
            Thread.sleep(forTimeInterval: retryInterval)
        }
    }

    /// Whether Traefik has no router for the domain yet: its own 404, byte for byte. Repeating the
    /// request is safe, a POST included: Traefik answered it without reaching the app. (An app whose
    /// own 404 reads the same, as Go's `http.NotFound` does, is waited on too, then judged as a 404.)
    static func awaitsRouter(_ answer: ProxyAnswer) -> Bool { answer == .unrouted }

    private static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : String(format: "%.2f s", value)
    }
}
