import Foundation
import HostBase

/// How plugins reach a deployed app (any backend: the app is a swarm stack either way) (the host has already checked the policy): exec in a
/// service's running container, re-resolved and retried until its deadline; HTTP to the app by
/// asking the app's own container (`wget` against 127.0.0.1), since CI servers run no proxy and the
/// host cannot route into the stack's overlay networks.
public struct SwarmGateway: AppGateway {
    public let docker: any Docker
    public let app: AppDeployment
    /// The port the app listens on inside its container (Traefik's loadbalancer.server.port, else 80).
    public let port: Int
    public var execDeadline: Double = 60
    /// Seconds between two attempts while the service has no container that can run the command.
    public var retryInterval: Double = 0.5

    public init(docker: any Docker, app: AppDeployment, port: Int) {
        self.docker = docker
        self.app = app
        self.port = port
    }

    public init(deployer: any Deployer, app: AppDeployment, port: Int) {
        self.init(docker: deployer.docker, app: app, port: port)
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

    public func http(method: String, path: String, body: String?) throws -> (status: Int32, body: Data) {
        // Neither -q nor -T: the static busybox 1.35 wget crashes with either next to -S; the exec
        // deadline bounds the request instead.
        var argv = ["wget", "-S", "-O", "-"]
        if method == "POST", let body { argv += ["--post-data", body] } else if method != "GET" {
            throw DeployError(operation: "http \(method)", stack: app.stack, reason: "only GET and POST reach the app through its container")
        }
        argv.append("http://127.0.0.1:\(port)\(path)")
        let result = try execRetrying(service: "app", argv: argv)
        guard let status = Self.status(in: String(decoding: result.stderr, as: UTF8.self)) else {
            throw DeployError(operation: "http \(method) \(path)", stack: app.stack,
                              reason: "no HTTP answer (exit \(result.exitCode)): \(String(decoding: result.stderr, as: UTF8.self).prefix(300))")
        }
        return (status, result.stdout)
    }

    private static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : String(format: "%.2f s", value)
    }

    /// The last status line wget printed (redirects print several).
    static func status(in headers: String) -> Int32? {
        headers.split(separator: "\n").compactMap { line -> Int32? in
            let fields = line.split(separator: " ")
            guard let index = fields.firstIndex(where: { $0.hasPrefix("HTTP/") }), index + 1 < fields.count else { return nil }
            return Int32(fields[index + 1])
        }.last
    }
}
