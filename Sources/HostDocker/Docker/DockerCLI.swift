import Foundation
import HostBase

/// The one wrapper around the docker command line, for what the deployers do: stack deploy,
/// secrets, configs, networks. Teardown and everything else the host asks of Docker goes through the
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

// MARK: - What the deployers ask of the command line

extension DockerCLI {
    /// `docker stack deploy` of `composeFiles` (in order) as `stack`, with `environment` for the
    /// files' interpolation. Images are never resolved against a registry; services the files no
    /// longer declare keep running (abra does not prune).
    public func deployStack(_ stack: String, composeFiles: [String], environment: [String: String]) throws(DeployError) {
        var arguments = ["stack", "deploy", "--resolve-image", "never"]
        for file in composeFiles { arguments += ["-c", file] }
        do {
            try run(arguments + [stack], environment: environment, timeout: 300)
        } catch {
            throw DeployError(operation: "deploy", stack: stack, reason: error.reason)
        }
    }

    /// An attachable overlay network `name`, created when missing (another run may create it at
    /// the same moment: it is there either way).
    public func ensureOverlayNetwork(_ name: String, stack: String) throws(DeployError) {
        if try output(["network", "inspect", name]).succeeded { return }
        let created = try output(["network", "create", "--driver", "overlay", "--attachable", name])
        let appeared = try output(["network", "inspect", name]).succeeded
        if !created.succeeded && !appeared {
            throw DeployError(operation: "create network \(name)", stack: stack, reason: Self.message(created))
        }
    }

    public func secretExists(_ name: String) throws(DeployError) -> Bool {
        try output(["secret", "inspect", name]).succeeded
    }

    /// Creates secret `name` with `value` fed on stdin (never on the command line).
    public func createSecret(_ name: String, value: Data, labels: [String: String], stack: String) throws(DeployError) {
        let created = try output(["secret", "create"] + labels.sorted { $0.key < $1.key }.flatMap { ["--label", "\($0.key)=\($0.value)"] }
                                 + [name, "-"], input: value)
        guard created.succeeded else {
            throw DeployError(operation: "create secret \(name)", stack: stack, reason: Self.message(created))
        }
    }
}
