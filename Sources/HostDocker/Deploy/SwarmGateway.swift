import Foundation
import HostBase

/// How plugins reach a deployed app (any backend: the app is a swarm stack either way; the host has
/// already checked the policy): exec in a service's running container, re-resolved and retried until
/// its deadline; HTTP to the app from cchost's helper container in the app container's network
/// namespace (`wget` against 127.0.0.1), so that no tool is assumed in the app's image and the host
/// needs no route into the stack's overlay networks.
public struct SwarmGateway: AppGateway {
    public let docker: any Docker
    public let helper: any Helper
    public let app: AppDeployment
    /// The port the app listens on inside its container (Traefik's loadbalancer.server.port, else 80).
    public let port: Int
    public var execDeadline: Double = 60
    /// Seconds between two attempts while the service has no container that can run the command.
    public var retryInterval: Double = 0.5

    public init(docker: any Docker, helper: any Helper, app: AppDeployment, port: Int) {
        self.docker = docker
        self.helper = helper
        self.app = app
        self.port = port
    }

    public init(deployer: any Deployer, app: AppDeployment, port: Int) {
        self.init(docker: deployer.docker, helper: deployer.helper, app: app, port: port)
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

    /// The request from inside the app's running container's network, found anew on each attempt and
    /// retried until the exec deadline while there is none (swarm replacing it); a request that ran
    /// and got no HTTP answer is an error with what wget said.
    public func http(method: String, path: String, body: String?) throws -> (status: Int32, body: Data) {
        let deadline = Date().addingTimeInterval(execDeadline)
        var lastProblem = "no attempt"
        repeat {
            let answer: (status: Int32?, body: Data, said: String)
            do {
                let container = try docker.runningContainer(stack: app.stack, service: "app")
                answer = try helper.http(method: method, url: "http://127.0.0.1:\(port)\(path)", body: body, from: container,
                                         timeout: max(1, deadline.timeIntervalSinceNow))
            } catch let error as DeployError where !error.reason.contains(HelperContainer.image) {
                // The container went away before the helper joined its network.
                lastProblem = error.description
                Thread.sleep(forTimeInterval: retryInterval)
                continue
            } catch let error as DockerError where error.kind != .notStarted {
                lastProblem = error.description
                Thread.sleep(forTimeInterval: retryInterval)
                continue
            }
            guard let status = answer.status else {
                throw DeployError(operation: "http \(method) \(path)", stack: app.stack,
                                  reason: "no HTTP answer: \(answer.said.trimmingCharacters(in: .whitespacesAndNewlines).prefix(300))")
            }
            return (status, answer.body)
        } while Date() < deadline
        throw DeployError(operation: "http \(method) \(path)", stack: app.stack,
                          reason: "no running container of app within \(Self.seconds(execDeadline)): \(lastProblem)")
    }

    private static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : String(format: "%.2f s", value)
    }
}
