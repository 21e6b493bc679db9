import Foundation
import HostBase

/// The one wrapper around the docker command line, for what the deployers do: stack deploy,
/// secrets, configs, networks. Teardown and everything else the host asks of Docker goes through the
/// `Docker` seam (`DockerDaemon`, over the Engine API).
///
/// docker runs with an environment built from nothing (`environment(adding:)`): the engine's
/// address, a fixed PATH and an empty config folder, never what cchost itself inherited, and a
/// per-call value never replaces any of them.
public struct DockerCLI: Sendable {
    public let executable: String
    /// The engine docker is sent to; a failure when this CLI was built without an address and the
    /// process's own `DOCKER_HOST` was refused (every call then fails saying so, running nothing).
    public let address: Result<EngineAddress, EngineAddressError>

    /// docker sent to the engine at `address`: the one the command worked out when it started.
    public init(address: EngineAddress, executable: String? = nil) {
        self.init(resolved: .success(address), executable: executable)
    }

    /// docker sent to the engine `EngineAddress.processDefault` names, for tests and tools.
    public init(executable: String? = nil) {
        self.init(resolved: EngineAddress.processDefault, executable: executable)
    }

    init(resolved: Result<EngineAddress, EngineAddressError>, executable: String? = nil) {
        self.executable = executable ?? ["/usr/bin/docker", "/usr/local/bin/docker", "/bin/docker"]
            .first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/bin/docker"
        address = resolved
    }

    /// The PATH docker runs with, whatever cchost's own is: docker looks up credential helpers
    /// (`docker-credential-*`) on it.
    public static let path = "/usr/sbin:/usr/bin:/sbin:/bin"

    /// Whether a per-call variable is one docker must never be given by a caller: `DOCKER_*` (the
    /// engine, its TLS, the context, the config folder), `PATH` and `HOME` (where docker finds
    /// helpers and its config), and the dynamic loader's `LD_*` (`/usr/bin/docker` may be
    /// dynamically linked: `LD_PRELOAD` would run a recipe's library inside it).
    public static func isReserved(_ key: String) -> Bool {
        key.hasPrefix("DOCKER_") || key.hasPrefix("LD_") || key == "PATH" || key == "HOME"
    }

    /// The environment docker runs with, built from nothing: `DOCKER_HOST` (the engine's address),
    /// `PATH` (fixed), `DOCKER_CONFIG` (an empty folder of this process), and the per-call values
    /// (the recipe's variables for a stack's interpolation) that are not reserved. A reserved one is
    /// dropped, never merged: a recipe whose env sets `DOCKER_HOST` must not send cchost's deploy to
    /// another engine, and the base values always win.
    public func environment(adding perCall: [String: String] = [:]) throws(DeployError) -> [String: String] {
        let engine: EngineAddress
        switch address {
        case .success(let address): engine = address
        case .failure(let refusal): throw DeployError(operation: "docker", stack: "", reason: refusal.description)
        }
        let configFolder: String
        switch Self.emptyConfigFolder {
        case .success(let folder): configFolder = folder
        case .failure(let error): throw error
        }
        var variables = perCall.filter { !Self.isReserved($0.key) }
        variables["DOCKER_HOST"] = engine.dockerHost
        variables["PATH"] = Self.path
        variables["DOCKER_CONFIG"] = configFolder
        return variables
    }

    /// An empty folder of this process, created once, for `DOCKER_CONFIG`. Without it docker reads
    /// the operator's `~/.docker/config.json`: its current context (another engine), credential
    /// helpers (programs docker runs), proxy settings (put into containers' env) and CLI plugins,
    /// none of which cchost's deploys may depend on or be redirected by. `mkdtemp` makes it ours
    /// alone (mode 0700, a new name), so nobody can put a config.json there first; it is removed
    /// when the process exits, if it is still empty.
    static let emptyConfigFolder: Result<String, DeployError> = {
        var template = Array((FileManager.default.temporaryDirectory.path + "/cchost-docker-config-XXXXXX").utf8CString)
        guard mkdtemp(&template) != nil else {
            return .failure(DeployError(operation: "docker", stack: "",
                                        reason: "cannot create an empty folder for DOCKER_CONFIG: \(String(cString: strerror(errno)))"))
        }
        atexit {
            if case .success(let folder) = DockerCLI.emptyConfigFolder { rmdir(folder) }
        }
        return .success(String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }()

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
        let variables = try self.environment(adding: environment)
        do {
            return try Command.run(executable, arguments, environment: variables, input: input, timeout: timeout)
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
