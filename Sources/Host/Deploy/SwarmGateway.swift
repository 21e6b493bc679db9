import Foundation

/// How plugins reach a deployed app (any backend: the app is a swarm stack either way) (the host has already checked the policy): exec in a
/// service's running container, re-resolved and retried until its deadline; HTTP to the app by
/// asking the app's own container (`wget` against 127.0.0.1), since CI servers run no proxy and the
/// host cannot route into the stack's overlay networks.
public struct SwarmGateway: AppGateway {
    public let deployer: any Deployer
    public let app: AppDeployment
    /// The port the app listens on inside its container (Traefik's loadbalancer.server.port, else 80).
    public let port: Int
    public var execDeadline: Double = 60

    public init(deployer: any Deployer, app: AppDeployment, port: Int) {
        self.deployer = deployer
        self.app = app
        self.port = port
    }

    public func exec(service: String, argv: [String]) throws -> (exitCode: Int32, output: Data) {
        let result = try execRetrying(service: service, argv: argv)
        return (result.exitCode, result.stdout + result.stderr)
    }

    /// Runs `argv` in a running container of `service`, finding the container anew on each attempt,
    /// until the command ran (whatever its exit code) or the deadline passed. A command that never
    /// ran is an error, never empty output.
    public func execRetrying(service: String, argv: [String]) throws -> ExecResult {
        let deadline = Date().addingTimeInterval(execDeadline)
        var lastProblem = "no attempt"
        repeat {
            do {
                let container = try deployer.runningContainer(app, service: service)
                let output = try deployer.docker.output(["exec", container] + argv, timeout: max(1, deadline.timeIntervalSinceNow))
                // docker exec: 125 = docker could not exec (container gone or stopping); 126/127 = no such command.
                if case .exited(let code) = output.termination, code != 125 {
                    return ExecResult(exitCode: code, stdout: output.stdout, stderr: output.stderr)
                }
                lastProblem = DockerCLI.message(output)
            } catch {
                lastProblem = error.description
            }
            Thread.sleep(forTimeInterval: 0.5)
        } while Date() < deadline
        throw DeployError(operation: "exec in \(service)", stack: app.stack, reason: "did not run within \(Int(execDeadline)) s: \(lastProblem)")
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

    /// The last status line wget printed (redirects print several).
    static func status(in headers: String) -> Int32? {
        headers.split(separator: "\n").compactMap { line -> Int32? in
            let fields = line.split(separator: " ")
            guard let index = fields.firstIndex(where: { $0.hasPrefix("HTTP/") }), index + 1 < fields.count else { return nil }
            return Int32(fields[index + 1])
        }.last
    }
}
