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
        logger.info("deploying", metadata: ["stack": "\(app.stack)", "ref": "\(app.checkout.ref)"])
        try cli.deployStack(app.stack, composeFiles: recipe.compose.files + [labels.path], environment: recipe.environment)
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
            try cli.ensureOverlayNetwork(network.name ?? key, stack: stack)
        }
    }

    /// Generates every secret the compose files declare that does not exist yet, at the length the
    /// `.env.sample` modifier asks for. `generate=false` secrets get a value too (an operator would
    /// insert one; a test app needs one), and the log says so. Values never leave this function.
    func ensureSecrets(_ recipe: Recipe, app: AppDeployment) throws(DeployError) {
        let specs = Dictionary(recipe.envSample.secrets.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
        for (key, secret) in recipe.compose.secrets.sorted(by: { $0.key < $1.key }) {
            guard let name = secret.name ?? (secret.external ? key : nil) else { continue }
            if try cli.secretExists(name) { continue }
            let spec = specs[key]
            if spec?.generate == false {
                logger.notice("secret marked generate=false: inserting a generated test value", metadata: ["secret": "\(name)"])
            }
            let value = Self.randomSecret(length: spec?.length ?? 32)
            secrets.record(value)
            try cli.createSecret(name, value: Data(value.utf8), labels: ["cchost.run": app.runID], stack: app.stack)
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
                try hookIn(container, hook, label: "backup pre-hook of \(service.name)", stack: app.stack)
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
                try hookIn(container, hook, label: "backup post-hook of \(service.name)", stack: app.stack)
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
                try hookIn(container, hook, label: "restore pre-hook of \(service.name)", stack: app.stack)
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
                try hookIn(container, hook, label: "restore post-hook of \(service.name)", stack: app.stack)
            }
        }
    }

    /// A backupbot hook, run as backupbot does: `sh -c HOOK` in the service's container.
    func hookIn(_ container: ServiceContainer, _ hook: String, label: String, stack: String) throws(DeployError) {
        let result = try DeployError.wrapping { () throws(DockerError) in
            try docker.exec(["sh", "-c", hook], in: container, deadline: Date().addingTimeInterval(300))
        }
        guard result.exitCode == 0 else {
            let said = (String(decoding: result.stderr, as: UTF8.self) + String(decoding: result.stdout, as: UTF8.self))
                .trimmingCharacters(in: .whitespacesAndNewlines)
            throw DeployError(operation: label, stack: stack, reason: "exit \(result.exitCode)" + (said.isEmpty ? "" : ": \(said)"))
        }
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
        return lock.withLock { cli.tearDown(stack: stack) }
    }

    /// Anything of the stack still on the engine.
    public func leftovers(stack: String) -> [String] { cli.leftovers(stack: stack) }
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
