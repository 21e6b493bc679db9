import Foundation
import HostBase
import Logging
import Synchronization

/// The default backend: what abra does for a deploy, done with the docker CLI — env from
/// `.env.sample` + the app's overrides + `abra.sh` exports, the COMPOSE_FILE chain, generated secrets
/// (honouring `length=` and `generate=false`), the coop-cloud labels, `docker stack deploy` — and
/// backup/restore following the backupbot labels.
public struct SwarmDeployer: Deployer {
    public let name = "swarm"
    public let docker: any Docker
    /// How this backend deploys and tears down: stacks, secrets, configs and networks through the
    /// docker command line (and, until backups stream through `docker`, the backup archives).
    public let cli: DockerCLI
    /// Seconds a deploy may take to converge, unless the recipe's metadata says otherwise.
    public var defaultTimeout: Int
    /// The secret values this deployer generated, so that whatever echoes one is redacted.
    public let secrets = SecretLedger()
    private let logger = Logger(label: "cchost.deploy")

    public init(docker: any Docker = DockerDaemon(), cli: DockerCLI = DockerCLI(), defaultTimeout: Int = 300) {
        self.docker = docker
        self.cli = cli
        self.defaultTimeout = defaultTimeout
    }

    public func deploy(_ app: AppDeployment, as kind: DeployKind) throws(DeployError) {
        let recipe = try recipe(of: app)
        try FileManager.default.createDirectoryIfMissing(app.workDirectory, stack: app.stack)
        try ensureExternalNetworks(recipe.compose, stack: app.stack)
        try ensureSecrets(recipe, app: app)
        let labels = try writeLabels(recipe, app: app, kind: kind)
        try writeEnvironment(recipe, app: app)
        var arguments = ["stack", "deploy", "--resolve-image", "never", "--prune"]
        for file in recipe.compose.files { arguments += ["-c", file] }
        arguments += ["-c", labels.path, app.stack]
        logger.info("deploying", metadata: ["stack": "\(app.stack)", "ref": "\(app.checkout.ref)"])
        do {
            try cli.run(arguments, environment: recipe.environment, timeout: 300)
        } catch {
            throw DeployError(operation: "deploy", stack: app.stack, reason: error.reason)
        }
    }

    /// The labels abra puts on an app, in an extra compose file of this run (never in the checkout).
    func writeLabels(_ recipe: Recipe, app: AppDeployment, kind: DeployKind) throws(DeployError) -> URL {
        let prefix = "coop-cloud.\(app.stack)."
        let recipeVersion = recipe.compose.services["app"]?.deployLabels[prefix + "version"]
        let (version, chaos, chaosVersion): (String, String, String)
        switch kind {
        case .install(let ref): (version, chaos, chaosVersion) = (ref, "false", "false")
        case .chaosUpgrade: (version, chaos, chaosVersion) = (recipeVersion ?? app.checkout.shortCommit, "true", app.checkout.shortCommit)
        }
        let timeout = recipe.compose.services["app"]?.deployLabels[prefix + "timeout"] ?? String(defaultTimeout)
        let labels = [("version", version), ("chaos", chaos), ("chaos-version", chaosVersion), ("recipe", recipe.name),
                      ("timeout", timeout)].map { "        \(prefix)\($0.0): \"\($0.1)\"" }
        let text = """
            version: "3.8"
            services:
              app:
                deploy:
                  labels:
            \(labels.joined(separator: "\n"))
                    cchost.run: "\(app.runID)"

            """
        let file = app.workDirectory.appendingPathComponent("cchost-labels.yml")
        do { try Data(text.utf8).write(to: file) } catch {
            throw DeployError(operation: "write labels", stack: app.stack, reason: error.localizedDescription)
        }
        return file
    }

    /// The app's env file, as abra keeps one per app (kept in the run folder, removed at teardown).
    func writeEnvironment(_ recipe: Recipe, app: AppDeployment) throws(DeployError) {
        let text = recipe.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\n") + "\n"
        do { try Data(text.utf8).write(to: app.workDirectory.appendingPathComponent("\(app.domain).env")) } catch {
            throw DeployError(operation: "write env", stack: app.stack, reason: error.localizedDescription)
        }
    }

    /// External networks the recipe expects (the `proxy` network a Co-op Cloud server has), created
    /// the way a server's setup creates them when missing. They belong to the server, not the stack.
    func ensureExternalNetworks(_ compose: ComposeProject, stack: String) throws(DeployError) {
        for (key, network) in compose.networks where network.external {
            let name = network.name ?? key
            if try cli.output(["network", "inspect", name]).succeeded { continue }
            let created = try cli.output(["network", "create", "--driver", "overlay", "--attachable", name])
            // Another run may have created it meanwhile.
            let appeared = try cli.output(["network", "inspect", name]).succeeded
            if !created.succeeded && !appeared {
                throw DeployError(operation: "create network \(name)", stack: stack, reason: DockerCLI.message(created))
            }
        }
    }

    /// Generates every secret the compose files declare that does not exist yet, at the length the
    /// `.env.sample` modifier asks for. `generate=false` secrets get a value too (an operator would
    /// insert one; a test app needs one), and the log says so. Values never leave this function.
    func ensureSecrets(_ recipe: Recipe, app: AppDeployment) throws(DeployError) {
        let specs = Dictionary(recipe.envSample.secrets.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
        for (key, secret) in recipe.compose.secrets.sorted(by: { $0.key < $1.key }) {
            guard let name = secret.name ?? (secret.external ? key : nil) else { continue }
            if try cli.output(["secret", "inspect", name]).succeeded { continue }
            let spec = specs[key]
            if spec?.generate == false {
                logger.notice("secret marked generate=false: inserting a generated test value", metadata: ["secret": "\(name)"])
            }
            let value = Self.randomSecret(length: spec?.length ?? 32)
            secrets.record(value)
            let created = try cli.output(["secret", "create", "--label", "cchost.run=\(app.runID)", name, "-"],
                                            input: Data(value.utf8))
            guard created.succeeded else {
                throw DeployError(operation: "create secret \(name)", stack: app.stack, reason: DockerCLI.message(created))
            }
        }
    }

    static func randomSecret(length: Int) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<max(1, length)).map { _ in alphabet.randomElement(using: &generator)! })
    }

    // MARK: Backup and restore (backupbot labels)

    public func backup(_ app: AppDeployment) throws(DeployError) -> BackupRecord {
        let recipe = try recipe(of: app)
        var archives: [BackupArchive] = []
        let folder = app.workDirectory.appendingPathComponent("backup")
        try FileManager.default.createDirectoryIfMissing(folder, stack: app.stack)
        for service in BackupLabels.backedUpServices(recipe.compose) {
            let container = try DeployError.wrapping { () throws(DockerError) in try docker.runningContainer(stack: app.stack, service: service.name) }
            if let hook = service.deployLabels["backupbot.backup.pre-hook"] {
                try hookIn(container.id, hook, label: "backup pre-hook of \(service.name)", stack: app.stack)
            }
            for (volume, path) in BackupLabels.volumePaths(service) {
                let mount = try DeployError.wrapping { () throws(DockerError) in try docker.mountPoint(of: "\(app.stack)_\(volume)", in: container) }
                let file = folder.appendingPathComponent("\(service.name)-\(volume).tar")
                let output = try cli.output(["exec", container.id, "tar", "-C", "\(mount)/\(path)", "-cf", "-", "."], timeout: 600)
                guard output.succeeded else {
                    throw DeployError(operation: "back up \(volume)", stack: app.stack, reason: DockerCLI.message(output))
                }
                do { try output.stdout.write(to: file) } catch {
                    throw DeployError(operation: "store backup of \(volume)", stack: app.stack, reason: error.localizedDescription)
                }
                archives.append(BackupArchive(service: service.name, volume: volume, mountPoint: mount, path: path,
                                              file: file.path, bytes: output.stdout.count))
            }
            if let hook = service.deployLabels["backupbot.backup.post-hook"] {
                try hookIn(container.id, hook, label: "backup post-hook of \(service.name)", stack: app.stack)
            }
        }
        guard !archives.isEmpty else {
            throw DeployError(operation: "backup", stack: app.stack, reason: "no service has backupbot.backup=true")
        }
        return BackupRecord(archives: archives)
    }

    public func restore(_ app: AppDeployment, from record: BackupRecord) throws(DeployError) {
        let recipe = try recipe(of: app)
        for service in BackupLabels.backedUpServices(recipe.compose) {
            let container = try DeployError.wrapping { () throws(DockerError) in try docker.runningContainer(stack: app.stack, service: service.name) }
            if let hook = service.deployLabels["backupbot.restore.pre-hook"] {
                try hookIn(container.id, hook, label: "restore pre-hook of \(service.name)", stack: app.stack)
            }
            for archive in record.archives where archive.service == service.name {
                let data: Data
                do { data = try Data(contentsOf: URL(fileURLWithPath: archive.file)) } catch {
                    throw DeployError(operation: "read backup \(archive.file)", stack: app.stack, reason: error.localizedDescription)
                }
                let target = "\(archive.mountPoint)/\(archive.path)"
                let output = try cli.output(["exec", "-i", container.id, "tar", "-C", target, "-xf", "-"], input: data, timeout: 600)
                guard output.succeeded else {
                    throw DeployError(operation: "restore \(archive.volume)", stack: app.stack, reason: DockerCLI.message(output))
                }
            }
            if let hook = service.deployLabels["backupbot.restore.post-hook"] {
                try hookIn(container.id, hook, label: "restore post-hook of \(service.name)", stack: app.stack)
            }
        }
    }

    func hookIn(_ container: String, _ hook: String, label: String, stack: String) throws(DeployError) {
        let output = try cli.output(["exec", container, "sh", "-c", hook], timeout: 300)
        guard output.succeeded else { throw DeployError(operation: label, stack: stack, reason: DockerCLI.message(output)) }
    }

    // MARK: Teardown

    /// Removes the stack, its containers (killed at once: their data is being discarded), volumes,
    /// secrets, configs, networks and the run's env and compose files; then checks what is left.
    public func teardown(_ app: AppDeployment) -> TeardownResult {
        var result = teardown(stack: app.stack)
        for file in ["cchost-labels.yml", "\(app.domain).env"] {
            try? FileManager.default.removeItem(at: app.workDirectory.appendingPathComponent(file))
        }
        result.leftovers = leftovers(stack: app.stack)
        return result
    }

    /// Teardowns of one stack in this process, one at a time: a signal handler's teardown must not
    /// race the run's own (each would find the other's half-removed objects and give up on them).
    private static let stacksBeingTornDown = Mutex<[String: NSLock]>([:])

    /// Teardown by stack name alone: what the janitor and a signal handler have of a run.
    public func teardown(stack: String) -> TeardownResult {
        let lock = Self.stacksBeingTornDown.withLock { locks in
            if let lock = locks[stack] { return lock }
            locks[stack] = NSLock()
            return locks[stack]!  // just stored
        }
        return lock.withLock { removeEverything(of: stack) }
    }

    private func removeEverything(of stack: String) -> TeardownResult {
        let started = Date()
        var removed: [String] = []
        let stackFilter = "label=com.docker.stack.namespace=\(stack)"
        func attempt(_ arguments: [String]) { _ = try? cli.output(arguments, timeout: 60) }
        func list(_ arguments: [String]) -> [String] { (try? cli.lines(arguments)) ?? [] }

        attempt(["stack", "rm", stack])
        removed.append("stack \(stack)")
        // Kill instead of waiting out stop grace periods; retry while swarm still schedules tasks away.
        let deadline = Date().addingTimeInterval(60)
        repeat {
            let containers = list(["ps", "-aq", "--filter", stackFilter])
            if !containers.isEmpty { attempt(["rm", "-f"] + containers) }
            let volumes = list(["volume", "ls", "-q", "--filter", stackFilter])
            if !volumes.isEmpty { attempt(["volume", "rm", "-f"] + volumes) }
            let networks = list(["network", "ls", "-q", "--filter", stackFilter])
            if !networks.isEmpty { attempt(["network", "rm"] + networks) }
            if containers.isEmpty && volumes.isEmpty && networks.isEmpty { break }
            Thread.sleep(forTimeInterval: 0.25)
        } while Date() < deadline
        for kind in ["secret", "config"] {
            let names = list([kind, "ls", "--format", "{{.Name}}", "--filter", "name=\(stack)_"]).filter { $0.hasPrefix(stack + "_") }
            if !names.isEmpty {
                attempt([kind, "rm"] + names)
                removed += names.map { "\(kind) \($0)" }
            }
        }
        return TeardownResult(removed: removed, leftovers: leftovers(stack: stack), seconds: Date().timeIntervalSince(started))
    }

    /// Anything of the stack still on the engine.
    public func leftovers(stack: String) -> [String] {
        let stackFilter = "label=com.docker.stack.namespace=\(stack)"
        var left: [String] = []
        func list(_ arguments: [String]) -> [String] { (try? cli.lines(arguments)) ?? ["(docker did not answer)"] }
        left += list(["service", "ls", "-q", "--filter", stackFilter]).map { "service \($0)" }
        left += list(["ps", "-aq", "--filter", stackFilter]).map { "container \($0)" }
        left += list(["volume", "ls", "-q", "--filter", stackFilter]).map { "volume \($0)" }
        left += list(["network", "ls", "-q", "--filter", stackFilter]).map { "network \($0)" }
        for kind in ["secret", "config"] {
            left += list([kind, "ls", "--format", "{{.Name}}", "--filter", "name=\(stack)_"])
                .filter { $0.hasPrefix(stack + "_") }.map { "\(kind) \($0)" }
        }
        return left
    }
}

extension FileManager {
    func createDirectoryIfMissing(_ url: URL, stack: String) throws(DeployError) {
        do { try createDirectory(at: url, withIntermediateDirectories: true) } catch {
            throw DeployError(operation: "create \(url.path)", stack: stack, reason: error.localizedDescription)
        }
    }
}

/// Secret values known to this process, kept only in memory, so that reports and logs can redact
/// them wherever they turn up (a check that prints one, a hook's output).
public final class SecretLedger: Sendable {
    private let values = Mutex<[String]>([])

    public init() {}

    public func record(_ value: String) { values.withLock { $0.append(value) } }

    public var all: [String] { values.withLock { $0 } }
}
