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
    /// docker command line.
    public let cli: DockerCLI
    /// cchost's own container that copies backed-up volume paths, on the engine `cli` drives.
    public var helperContainer: HelperContainer { HelperContainer(cli: cli) }
    public var helper: any Helper { helperContainer }
    public var proxy: any AppProxy { TraefikProxy(cli: cli) }
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

    /// Renders, checks and writes the stack (`prepare`), then deploys what was written.
    @discardableResult
    public func deploy(_ app: AppDeployment, as kind: DeployKind) throws(DeployError) -> RenderedDeploy? {
        let prepared = try prepare(app, as: kind)
        try deploy(prepared, app: app)
        return prepared.rendered
    }

    /// A deploy's stack, rendered, checked and written; nothing of it has reached docker yet.
    public struct PreparedDeploy: Sendable {
        public let recipe: Recipe
        public let rendered: RenderedDeploy
    }

    /// The first half of a deploy: the recipe rendered with the env this deploy uses, the content
    /// policy checked on that rendered stack, cchost's labels and limits added, and the stack and
    /// copies of the files it references written into the app's folder.
    public func prepare(_ app: AppDeployment, as kind: DeployKind) throws(DeployError) -> PreparedDeploy {
        let recipe = try recipe(of: app)
        try StackPreparation.check(recipe, app: app)
        try FileManager.default.createDirectoryIfMissing(app.workDirectory, stack: app.stack)
        let stack = withAdditions(recipe, app: app, kind: kind)
        return PreparedDeploy(recipe: recipe, rendered: try StackPreparation.write(stack, recipe: recipe, app: app))
    }

    /// The second half: what the stack needs that docker does not create (external networks,
    /// generated secrets), then `docker stack deploy` of the written stack alone.
    public func deploy(_ prepared: PreparedDeploy, app: AppDeployment) throws(DeployError) {
        let recipe = prepared.recipe
        try ensureExternalNetworks(recipe.compose, stack: app.stack)
        try ensureSecrets(recipe, app: app)
        try writeEnvironment(recipe, app: app)
        logger.info("deploying", metadata: ["stack": "\(app.stack)", "ref": "\(app.checkout.ref)", "rendered": "\(prepared.rendered.file)"])
        try cli.deployStack(app.stack, composeFiles: [app.workDirectory.appendingPathComponent(prepared.rendered.file).path], environment: [:])
    }

    /// The rendered stack with what abra and cchost put on an app: the coop-cloud labels on `app`,
    /// on every service the run's labels (what the janitor reads to tell its own stacks) and,
    /// under the operator's ceilings, its resource limits.
    func withAdditions(_ recipe: Recipe, app: AppDeployment, kind: DeployKind) -> StackNode {
        let prefix = "coop-cloud.\(app.stack)."
        let recipeVersion = recipe.compose.services["app"]?.deployLabels[prefix + "version"]
        let (version, chaos, chaosVersion): (String, String, String)
        switch kind {
        case .install(let ref): (version, chaos, chaosVersion) = (ref, "false", "false")
        case .chaosUpgrade: (version, chaos, chaosVersion) = (recipeVersion ?? app.checkout.shortCommit, "true", app.checkout.shortCommit)
        }
        let timeout = recipe.compose.services["app"]?.deployLabels[prefix + "timeout"] ?? String(defaultTimeout)
        let coopCloud = [("version", version), ("chaos", chaos), ("chaos-version", chaosVersion), ("recipe", recipe.name),
                         ("timeout", timeout)].map { (prefix + $0.0, $0.1) }
        var stack = recipe.compose.rendered
        for (name, service) in recipe.compose.services {
            let at = service.location
            stack.update(["services", name, "deploy", "labels"]) { labels in
                for (key, value) in (name == "app" ? coopCloud : []) + Self.ownerLabels(app) {
                    labels.set(key, to: StackNode(.string(value), at: at))
                }
            }
            guard let ceilings = app.serviceCeilings else { continue }
            let limits = ceilings.limits(for: service)
            stack.update(["services", name, "deploy", "resources", "limits"]) { node in
                if let memory = limits.memoryBytes { node.set("memory", to: StackNode(.string(String(memory)), at: at)) }
                if let cpus = limits.cpus { node.set("cpus", to: StackNode(.string(String(cpus)), at: at)) }
            }
        }
        return stack
    }

    /// `cchost.run` and, when the run belongs to a state folder, `cchost.state`. The engine's proxy
    /// (scripts/proxy) routes only services labelled `cchost.run`.
    static func ownerLabels(_ app: AppDeployment) -> [(String, String)] {
        [("cchost.run", app.runID)] + (app.owner.map { [(StateIdentity.label, $0)] } ?? [])
    }

    /// The app's env file, as abra keeps one per app (kept in the run folder, removed at teardown).
    func writeEnvironment(_ recipe: Recipe, app: AppDeployment) throws(DeployError) {
        let text = recipe.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\n") + "\n"
        do { try Data(text.utf8).write(to: app.workDirectory.appendingPathComponent("\(app.domain).env")) } catch {
            throw DeployError(operation: "write env", stack: app.stack, reason: error.localizedDescription, isHostFault: true)
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
            if let length = spec?.length, length < Redactor.minimumLength {
                logger.notice("secret asks for fewer characters than can be redacted: generating \(Redactor.minimumLength)",
                              metadata: ["secret": "\(name)", "length": "\(length)"])
            }
            let value = try Self.randomSecret(length: spec?.length ?? 32, name: name, stack: app.stack)
            secrets.record(value)
            try cli.createSecret(name, value: Data(value.utf8), labels: Dictionary(uniqueKeysWithValues: Self.ownerLabels(app)), stack: app.stack)
        }
    }

    /// A random value of `length` characters; a length outside `SecretSpec.lengths` is refused here too,
    /// whoever built the spec.
    static func randomSecret(length: Int, name: String, stack: String) throws(DeployError) -> String {
        guard SecretSpec.lengths.contains(length) else {
            throw DeployError(operation: "generate secret \(name)", stack: stack,
                              reason: "a length of \(length) is outside \(SecretSpec.lengths.lowerBound)…\(SecretSpec.lengths.upperBound)")
        }
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        var generator = SystemRandomNumberGenerator()
        // Never shorter than what redaction catches: a value it would not redact must not exist.
        return String((0..<max(Redactor.minimumLength, length)).map { _ in alphabet.randomElement(using: &generator)! })
    }

    // MARK: Backup and restore (backupbot labels)

    /// Times a backup is tried before it fails: a dump taken while a database still starts can fail
    /// or come out empty, and recipe CIs learned to try again.
    public static let backupAttempts = 3

    /// The recipe's backup as backup-bot-two takes it: every backed-up service's pre-hook (in its
    /// own container), then each selected volume's paths copied by cchost's helper container into
    /// `backup/<service>-<volume>.tar` of the run, then the post-hooks. Each archive is verified
    /// (every path there, none empty); a failed or empty backup is taken again, up to
    /// `backupAttempts` times.
    public func backup(_ app: AppDeployment, into folderName: String) throws(DeployError) -> BackupRecord {
        let services = BackupLabels.backedUpServices(try recipe(of: app).compose)
        guard !services.isEmpty else {
            throw DeployError(operation: "backup", stack: app.stack, reason: "no service has backupbot.backup=true")
        }
        let folder = app.workDirectory.appendingPathComponent(folderName)
        try FileManager.default.createDirectoryIfMissing(folder, stack: app.stack)
        var failures: [String] = []
        var hostFault = false
        for attempt in 1...Self.backupAttempts {
            do {
                return BackupRecord(archives: try backupOnce(services, app: app, into: folder), failedAttempts: failures)
            } catch {
                hostFault = hostFault || error.isHostFault
                failures.append("attempt \(attempt): \(error.operation): \(error.reason)")
                logger.notice("backup failed", metadata: ["stack": "\(app.stack)", "attempt": "\(attempt)", "reason": "\(error.reason)"])
                if attempt < Self.backupAttempts { Thread.sleep(forTimeInterval: 2) }
            }
        }
        throw DeployError(operation: "backup", stack: app.stack, reason: failures.joined(separator: "; "), isHostFault: hostFault)
    }

    private func backupOnce(_ services: [ComposeProject.Service], app: AppDeployment, into folder: URL) throws(DeployError) -> [BackupArchive] {
        // Post-hooks clean up after the pre-hooks (a dump left in the volume): they run for every
        // service whose pre-hook ran, also when a later pre-hook or a copy failed, and the first
        // failure is the one reported (a post-hook's own failure after it).
        var failures: [DeployError] = []
        var prepared: [ComposeProject.Service] = []
        for service in services {
            do { try runHook("backupbot.backup.pre-hook", of: service, app: app, label: "backup pre-hook") } catch {
                failures.append(error)
                break
            }
            prepared.append(service)
        }
        var archives: [BackupArchive] = []
        copy: for service in services where failures.isEmpty {
            for selection in BackupLabels.selections(service) {
                do { archives.append(try archive(selection, of: service.name, app: app, into: folder)) } catch {
                    failures.append(error)
                    break copy
                }
            }
        }
        for service in prepared {
            do { try runHook("backupbot.backup.post-hook", of: service, app: app, label: "backup post-hook") } catch { failures.append(error) }
        }
        if let first = failures.first {
            throw failures.count == 1 ? first : DeployError(operation: first.operation, stack: app.stack,
                reason: first.reason + "; then " + failures.dropFirst().map { "\($0.operation): \($0.reason)" }.joined(separator: "; "),
                isHostFault: first.isHostFault)
        }
        guard !archives.isEmpty else {
            throw DeployError(operation: "backup", stack: app.stack,
                              reason: "the backed-up services (\(services.map(\.name).joined(separator: ", "))) select no volume")
        }
        return archives
    }

    /// The selected paths of one volume, streamed by the helper container (the volume mounted
    /// read-only, no network) into a tar file, then verified. A path that is missing, or that
    /// leads out of the volume through a link, fails the copy; links inside are archived as links.
    func archive(_ selection: BackupLabels.Selection, of service: String, app: AppDeployment, into folder: URL) throws(DeployError) -> BackupArchive {
        let operation = "back up \(selection.volume) of \(service)"
        guard !selection.paths.isEmpty else {
            throw DeployError(operation: operation, stack: app.stack,
                              reason: "its label \(BackupLabels.volumePrefix)\(selection.volume).path lists no usable path (see cchost lint)")
        }
        let serviceFolder = folder.appendingPathComponent(service)
        try FileManager.default.createDirectoryIfMissing(serviceFolder, stack: app.stack)
        let file = serviceFolder.appendingPathComponent("\(selection.volume).tar")
        let output = try helperContainer.run(Self.archiveScript, selection.paths.map(HelperContainer.relative),
                                             volume: "\(app.stack)_\(selection.volume)", stack: app.stack,
                                             stdoutFile: file, timeout: 3600, operation: operation)
        guard output.succeeded else {
            throw DeployError(operation: operation, stack: app.stack, reason: DockerCLI.message(output))
        }
        let listing: TarListing
        do { listing = try TarListing(file: file) } catch {
            throw DeployError(operation: operation, stack: app.stack, reason: "\(file.path): \(error)")
        }
        let problems = selection.paths.compactMap(listing.problem(with:))
        guard problems.isEmpty else {
            throw DeployError(operation: operation, stack: app.stack, reason: problems.joined(separator: "; "))
        }
        return BackupArchive(service: service, volume: selection.volume, paths: selection.paths, file: file.path,
                             bytes: output.streamedBytes)
    }

    /// Checks that each path (`./`-prefixed) is in the volume (a link must resolve inside it), then
    /// writes the tar of them all to stdout. Run by busybox sh in the helper, the volume at /volume.
    static let archiveScript = """
        cd /volume || exit 2
        for p do
          name=${p#./}
          if [ ! -e "$p" ] && [ ! -L "$p" ]; then printf '%s is not in the volume\\n' "$name" >&2; exit 3; fi
          r=$(realpath "$p" 2>/dev/null)
          case "$r" in /volume|/volume/*) ;; *) printf '%s leads out of the volume (a link to %s)\\n' "$name" "${r:-nowhere}" >&2; exit 3 ;; esac
        done
        exec tar -cf - "$@"
        """

    /// The restore as backup-bot-two does it: every backed-up service's restore pre-hook, this run's
    /// archives written back into their volumes by the helper container (files overwritten, nothing
    /// else removed), then the restore post-hooks.
    public func restore(_ app: AppDeployment, from record: BackupRecord) throws(DeployError) {
        let services = BackupLabels.backedUpServices(try recipe(of: app).compose)
        for service in services { try runHook("backupbot.restore.pre-hook", of: service, app: app, label: "restore pre-hook") }
        for archive in record.archives {
            let operation = "restore \(archive.volume) of \(archive.service)"
            let output = try helperContainer.run("cd /volume && exec tar -xf -", volume: "\(app.stack)_\(archive.volume)", readOnly: false,
                                                 stack: app.stack, input: .file(URL(fileURLWithPath: archive.file)), timeout: 3600,
                                                 operation: operation)
            guard output.succeeded else {
                throw DeployError(operation: operation, stack: app.stack, reason: DockerCLI.message(output))
            }
        }
        // Every post-hook runs (one loads its dump, another its own); their failures are reported together.
        var failures: [DeployError] = []
        for service in services {
            do { try runHook("backupbot.restore.post-hook", of: service, app: app, label: "restore post-hook") } catch { failures.append(error) }
        }
        if !failures.isEmpty {
            throw DeployError(operation: "restore", stack: app.stack, reason: failures.map { "\($0.operation): \($0.reason)" }.joined(separator: "; "))
        }
    }

    public var givesFreshVolumes: Bool { true }

    public func freshVolumes(_ app: AppDeployment) throws(DeployError) {
        try DeployError.wrapping { () throws(DockerError) in try docker.freshVolumes(stack: app.stack, timeout: 60) }
    }

    /// The hook labelled `key` of `service`, if it has one, in its running container.
    private func runHook(_ key: String, of service: ComposeProject.Service, app: AppDeployment, label: String) throws(DeployError) {
        guard let hook = service.deployLabels[key] else { return }
        let container = try DeployError.wrapping { () throws(DockerError) in try docker.runningContainer(stack: app.stack, service: service.name) }
        try hookIn(container, hook, label: "\(label) of \(service.name)", stack: app.stack)
    }

    /// A backupbot hook, run as backupbot does: `sh -c HOOK` in the service's container.
    func hookIn(_ container: ServiceContainer, _ hook: String, label: String, stack: String) throws(DeployError) {
        let result = try DeployError.wrapping { () throws(DockerError) in
            try docker.exec(["sh", "-c", hook], in: container, deadline: Date().addingTimeInterval(300))
        }
        guard result.exitCode == 0 else {
            // A hook may print a secret (a failing dump echoing its password): redacted where it is read.
            let said = secrets.redact(String(decoding: result.stderr, as: UTF8.self) + String(decoding: result.stdout, as: UTF8.self))
                .trimmingCharacters(in: .whitespacesAndNewlines)
            throw DeployError(operation: label, stack: stack, reason: "exit \(result.exitCode)" + (said.isEmpty ? "" : ": \(said)"))
        }
    }

    // MARK: Teardown

    /// Removes the stack, its containers (killed at once: their data is being discarded), volumes,
    /// secrets, configs, networks, the run's env file and the copies of the recipe's secret files;
    /// then checks what is left. The rendered stacks and config copies stay: the run's artifacts.
    public func teardown(_ app: AppDeployment) -> TeardownResult {
        var result = teardown(stack: app.stack)
        for file in ["\(app.domain).env"] + StackPreparation.secretCopies(in: app.workDirectory) {
            let url = app.workDirectory.appendingPathComponent(file)
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            do {
                try FileManager.default.removeItem(at: url)
                result.removed.append("file \(url.path)")
            } catch {
                result.leftovers.append("file \(url.path) (\(error.localizedDescription))")
            }
        }
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
        return lock.withLock { StackTeardown(docker: docker).run(stack: stack) }
    }

    /// Anything of the stack still on the engine, and each kind of object that could not be listed
    /// (then whether something is left is not known: never an empty answer).
    public func leftovers(stack: String) -> [String] {
        let left = StackTeardown.leftovers(stack: stack, docker: docker)
        return left.objects.map(\.description) + left.unlisted
    }
}

extension FileManager {
    /// A run's folder, readable by its owner alone (mode 0700): it holds the app's env and its
    /// backups, which are kept byte-exact (never redacted), so nobody else may read them.
    func createDirectoryIfMissing(_ url: URL, stack: String) throws(DeployError) {
        do {
            try createDirectory(at: url, withIntermediateDirectories: true)
            try setAttributes([.posixPermissions: 0o700], ofItemAtPath: url.path)
        } catch {
            throw DeployError(operation: "create \(url.path)", stack: stack, reason: error.localizedDescription, isHostFault: true)
        }
    }
}
