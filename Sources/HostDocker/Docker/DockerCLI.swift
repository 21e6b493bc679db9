import Foundation
import HostBase

/// The one wrapper around the docker command line, for what the deployers do: stack deploy and
/// teardown, secrets, configs, networks. Everything else the host asks of Docker goes through the
/// `Docker` seam (`DockerDaemon`, over the Engine API).
public struct DockerCLI: Sendable {
    public let executable: String
    /// The environment docker runs with: the host's PATH and DOCKER_* settings, plus per-call values.
    public let baseEnvironment: [String: String]

    public init(executable: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.executable = executable ?? ["/usr/bin/docker", "/usr/local/bin/docker", "/bin/docker"]
            .first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/bin/docker"
        baseEnvironment = environment.filter { $0.key == "PATH" || $0.key == "HOME" || $0.key.hasPrefix("DOCKER_") }
    }

    /// Runs `docker arguments…`; a non-zero exit is an error carrying docker's own message.
    @discardableResult
    public func run(_ arguments: [String], environment: [String: String] = [:], input: Data? = nil,
                    timeout: Double = 120) throws(DeployError) -> String {
        let output = try output(arguments, environment: environment, input: input, timeout: timeout)
        guard output.succeeded else {
            throw DeployError(operation: "docker \(arguments.prefix(2).joined(separator: " "))", stack: "",
                              reason: Self.message(output))
        }
        return output.stdoutText
    }

    /// Runs `docker arguments…` and returns whatever happened, for callers that judge the status.
    public func output(_ arguments: [String], environment: [String: String] = [:], input: Data? = nil,
                       timeout: Double = 120) throws(DeployError) -> CommandOutput {
        do {
            return try Command.run(executable, arguments, environment: baseEnvironment.merging(environment) { $1 },
                                   input: input, timeout: timeout)
        } catch {
            throw DeployError(operation: "docker \(arguments.prefix(2).joined(separator: " "))", stack: "", reason: error.description)
        }
    }

    /// Lines of output, empty ones dropped.
    public func lines(_ arguments: [String]) throws(DeployError) -> [String] {
        try run(arguments).split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }

    static func message(_ output: CommandOutput) -> String {
        let text = (output.stderrText.isEmpty ? output.stdoutText : output.stderrText).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "docker \(output.termination)" : text
    }
}
