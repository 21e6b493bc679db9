import Foundation
import HostBase
import Logging
import PluginChannel

/// The abra backend: deploys, backs up, restores and tears down by driving the `abra` CLI, for
/// servers that have abra. Convergence, exec and diagnostics stay the host's, as for every backend.
///
/// **abra version.** The argument lists follow **abra 0.10.x** (the cobra-based CLI), as written
/// from abra's documentation and help: they were not checked against an abra binary here, only
/// against the abra-compatible shim in `Tests/Fixtures/abra-shim/abra`. Every call runs on the
/// server `default` (abra's local server: the local docker context) with `--no-input`:
///
///     abra app new RECIPE --server default --domain DOMAIN --secrets --chaos --offline --no-input
///     abra app deploy DOMAIN VERSION --offline --no-input --no-converge-checks   (install of a release tag)
///     abra app deploy DOMAIN --chaos --offline --no-input --no-converge-checks   (upgrade to the head; install of a non-tag ref)
///     abra app backup create DOMAIN --no-input
///     abra app restore DOMAIN --archive ARCHIVE --no-input
///     abra app undeploy DOMAIN --no-input
///     abra app remove DOMAIN --force --no-input
///
/// - `app new --chaos --offline`: use the recipe folder exactly as cchost placed it (no fetch, no
///   checkout of another version); `--secrets` generates the secrets the compose files declare.
/// - `deploy --no-converge-checks`: cchost watches convergence itself. A deployed app is only
///   redeployed with `--chaos` (abra refuses otherwise), which is what an upgrade is.
/// - **Backups** (where this backend departs from abra 0.10, whose `backup create` hands the work to
///   backupbot's restic repository and whose `restore` takes `--snapshot ID`): `backup create` must
///   print the path of the archive it wrote, under `$ABRA_DIR/backups/DOMAIN/`, as the last line on
///   stdout; the record points at that archive (this run's own), and `restore` gets it back
///   explicitly with `--archive PATH`. The shim does exactly this; a real abra needs a wrapper.
///
/// **Per-run abra state.** Each app gets its own `ABRA_DIR` in its run folder
/// (`<workDirectory>/abra-dir`), never the operator's `~/.abra`: `servers/default/` (what
/// `abra server add --local` makes), `recipes/<recipe>/` (a copy of the run's checkout, replaced
/// before every deploy so that an upgrade deploys the head), the app's env file
/// `servers/default/<domain>.env` (written by `app new` from `.env.sample` with the test DOMAIN,
/// then the app's overrides), and `backups/`. abra runs with only `ABRA_DIR`, `PATH`, `HOME` (a run
/// folder), the host's `DOCKER_*` settings and `environment`.
///
/// abra sets the `coop-cloud.<stack>.*` labels itself. A failed call is a `DeployError` carrying
/// what abra wrote on stderr; its stdout never goes into an error or a log, since `app new
/// --secrets` prints the generated secret values there.
public struct AbraDeployer: Deployer {
    public let name = "abra"
    /// The abra executable (an absolute path).
    public let abra: String
    /// abra's server for the apps: `default`, the local docker context.
    public let server: String
    public let docker: any Docker
    /// For the docker-level cleanup after abra's own teardown, and the DOCKER_* settings abra runs with.
    public let cli: DockerCLI
    public var helper: any Helper { HelperContainer(cli: cli) }
    public var proxy: any AppProxy { TraefikProxy(cli: cli) }
    /// Seconds a deploy may take to converge (the host waits; abra does not).
    public var defaultTimeout: Int
    /// Extra variables for abra's environment (ABRA_DIR and HOME always stay the run's own).
    public let environment: [String: String]
    /// abra generates the secrets and keeps their values to itself (its stdout is never read into
    /// anything), so there is nothing to record here for redaction.
    public let secrets = SecretLedger()
    private let logger = Logger(label: "cchost.deploy.abra")

    public init(abra: String, server: String = "default", docker: any Docker = DockerDaemon(), cli: DockerCLI = DockerCLI(),
                defaultTimeout: Int = 300, environment: [String: String] = [:]) {
        self.abra = abra
        self.server = server
        self.docker = docker
        self.cli = cli
        self.defaultTimeout = defaultTimeout
        self.environment = environment
    }

    // MARK: Where abra keeps the app

    /// The run's own `ABRA_DIR`.
    public func abraDirectory(_ app: AppDeployment) -> URL { app.workDirectory.appendingPathComponent("abra-dir") }
    /// The run folder abra gets as `HOME`.
    func homeDirectory(_ app: AppDeployment) -> URL { app.workDirectory.appendingPathComponent("abra-home") }
    /// The app's env file, as abra keeps it: `$ABRA_DIR/servers/<server>/<domain>.env`.
    public func envFile(_ app: AppDeployment) -> URL {
        abraDirectory(app).appendingPathComponent("servers/\(server)/\(app.domain).env")
    }
    /// Where abra looks for the recipe: `$ABRA_DIR/recipes/<recipe>`.
    func recipeDirectory(_ app: AppDeployment) -> URL { abraDirectory(app).appendingPathComponent("recipes/\(app.recipe)") }
    /// Where `backup create` writes this app's archives.
    func backupsDirectory(_ app: AppDeployment) -> URL { abraDirectory(app).appendingPathComponent("backups/\(app.domain)") }

    // MARK: Deploy

    public func deploy(_ app: AppDeployment, as kind: DeployKind) throws(DeployError) {
        try prepare(app)
        if !FileManager.default.fileExists(atPath: envFile(app).path) {
            try run(["app", "new", app.recipe, "--server", server, "--domain", app.domain, "--secrets", "--chaos", "--offline",
                     "--no-input"], app: app, timeout: 300)
            try applyOverrides(app)
        }
        var arguments = ["app", "deploy", app.domain]
        switch kind {
        case .install(let ref) where (try? RecipeVersion(parsing: ref)) != nil:
            arguments.append(ref)
        case .install, .chaosUpgrade:
            arguments.append("--chaos")
        }
        arguments += ["--offline", "--no-input", "--no-converge-checks"]
        logger.info("deploying through abra", metadata: ["stack": "\(app.stack)", "ref": "\(app.checkout.ref)"])
        try run(arguments, app: app, timeout: 300)
    }

    /// The run's abra folders, and the checkout being deployed copied in as abra's recipe (with its
    /// `.git`: abra reads versions and the chaos commit from it).
    func prepare(_ app: AppDeployment) throws(DeployError) {
        let manager = FileManager.default
        for folder in [abraDirectory(app).appendingPathComponent("servers/\(server)"),
                       abraDirectory(app).appendingPathComponent("recipes"), homeDirectory(app)] {
            try manager.createDirectoryIfMissing(folder, stack: app.stack)
        }
        let recipe = recipeDirectory(app)
        do {
            if manager.fileExists(atPath: recipe.path) { try manager.removeItem(at: recipe) }
            try manager.copyItem(atPath: app.checkout.directory, toPath: recipe.path)
        } catch {
            throw DeployError(operation: "place the recipe for abra", stack: app.stack,
                              reason: "\(app.checkout.directory) → \(recipe.path): \(error.localizedDescription)")
        }
    }

    /// The app's own settings over what `app new` wrote (as an operator's `abra app config` would);
    /// DOMAIN stays the test domain.
    func applyOverrides(_ app: AppDeployment) throws(DeployError) {
        let overrides = app.overrides.filter { $0.key != "DOMAIN" }
        guard !overrides.isEmpty else { return }
        let file = envFile(app)
        do {
            var lines = try String(contentsOf: file, encoding: .utf8).components(separatedBy: "\n")
            if lines.last == "" { lines.removeLast() }
            for (key, value) in overrides.sorted(by: { $0.key < $1.key }) {
                let quoted = value.contains(where: { $0 == " " || $0 == "#" || $0 == "\t" }) ? "\"\(value)\"" : value
                if let index = lines.firstIndex(where: { $0.hasPrefix("\(key)=") }) { lines[index] = "\(key)=\(quoted)" }
                else { lines.append("\(key)=\(quoted)") }
            }
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: file)
        } catch {
            throw DeployError(operation: "write the app's settings", stack: app.stack, reason: "\(file.path): \(error.localizedDescription)")
        }
    }

    // MARK: Backup and restore

    /// `abra app backup create`; the record points at the archive abra reported (see the type's
    /// documentation), which must be this run's own, under `$ABRA_DIR/backups/<domain>/`.
    public func backup(_ app: AppDeployment, into folder: String) throws(DeployError) -> BackupRecord {
        let output = try run(["app", "backup", "create", app.domain, "--no-input"], app: app, timeout: 900)
        let reported = output.stdoutText.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .last(where: { !$0.isEmpty }) ?? ""
        let file = URL(fileURLWithPath: reported).standardizedFileURL
        guard !reported.isEmpty, reported.hasPrefix("/") else {
            throw DeployError(operation: "abra app backup create", stack: app.stack, reason: "abra reported no backup archive on stdout")
        }
        try checkOwnArchive(file.path, app: app, operation: "abra app backup create")
        let bytes: Int
        do { bytes = (try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? NSNumber)?.intValue ?? 0 } catch {
            throw DeployError(operation: "abra app backup create", stack: app.stack, reason: "the archive \(file.path) cannot be read: \(error)")
        }
        guard bytes > 0 else {
            throw DeployError(operation: "abra app backup create", stack: app.stack, reason: "the archive \(file.path) is empty")
        }
        // What the archive holds, as the recipe's backupbot labels say (descriptive: abra decides).
        let services = BackupLabels.backedUpServices(try recipe(of: app).compose)
        let selections = services.flatMap(BackupLabels.selections)
        return BackupRecord(archives: [BackupArchive(
            service: services.map(\.name).joined(separator: ","), volume: selections.map(\.volume).joined(separator: ","),
            paths: selections.flatMap(\.paths), file: file.path, bytes: bytes)])
    }

    /// abra's archive is its own (the shim's: a tar of per-volume tars and a manifest).
    public var archivesAreVolumeTars: Bool { false }

    /// `abra app restore … --archive` for each archive of the record, in order.
    /// abra has no way yet to give an app new volumes without redeploying it.
    public var givesFreshVolumes: Bool { false }

    public func freshVolumes(_ app: AppDeployment) throws(DeployError) {
        throw DeployError(operation: "fresh volumes", stack: app.stack, reason: "not supported by the abra backend yet")
    }

    public func restore(_ app: AppDeployment, from record: BackupRecord) throws(DeployError) {
        guard !record.archives.isEmpty else {
            throw DeployError(operation: "abra app restore", stack: app.stack, reason: "the backup record holds no archive")
        }
        for archive in record.archives {
            try checkOwnArchive(archive.file, app: app, operation: "abra app restore")
            try run(["app", "restore", app.domain, "--archive", archive.file, "--no-input"], app: app, timeout: 900)
        }
    }

    /// An archive of this run: an existing file under its `$ABRA_DIR/backups/<domain>/`.
    func checkOwnArchive(_ path: String, app: AppDeployment, operation: String) throws(DeployError) {
        let folder = backupsDirectory(app).standardizedFileURL.path + "/"
        let file = URL(fileURLWithPath: path).standardizedFileURL.path
        guard file.hasPrefix(folder) else {
            throw DeployError(operation: operation, stack: app.stack, reason: "\(path) is not an archive of this run (under \(folder))")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw DeployError(operation: operation, stack: app.stack, reason: "no backup archive at \(path)")
        }
    }

    // MARK: Teardown

    /// `abra app undeploy` and `abra app remove --force` (whatever state the app is in; their
    /// failures are logged), then the swarm backend's docker-level teardown of the stack for anything
    /// abra left, then the app's env file and recipe copy. Backups and abra's files stay with the run.
    public func teardown(_ app: AppDeployment) -> TeardownResult {
        let started = Date()
        var removed: [String] = []
        for arguments in [["app", "undeploy", app.domain, "--no-input"], ["app", "remove", app.domain, "--force", "--no-input"]] {
            do {
                try run(arguments, app: app, timeout: 180)
                removed.append("abra \(arguments.prefix(3).joined(separator: " "))")
            } catch {
                logger.notice("abra teardown step failed; the docker-level teardown follows",
                              metadata: ["stack": "\(app.stack)", "error": "\(error.reason)"])
            }
        }
        let swarm = SwarmDeployer(docker: docker, cli: cli)
        let sweep = swarm.teardown(stack: app.stack)
        removed += sweep.removed
        for url in [envFile(app), recipeDirectory(app)] where FileManager.default.fileExists(atPath: url.path) {
            if (try? FileManager.default.removeItem(at: url)) != nil { removed.append("file \(url.path)") }
        }
        var leftovers = sweep.leftovers
        if FileManager.default.fileExists(atPath: envFile(app).path) { leftovers.append("env file \(envFile(app).path)") }
        return TeardownResult(removed: removed, leftovers: leftovers, seconds: Date().timeIntervalSince(started))
    }

    // MARK: Running abra

    /// Runs `abra arguments…` for `app`; a non-zero exit is a `DeployError` with abra's stderr.
    @discardableResult
    func run(_ arguments: [String], app: AppDeployment, timeout: Double) throws(DeployError) -> CommandOutput {
        let operation = "abra " + arguments.prefix(arguments.starts(with: ["app", "backup"]) ? 3 : 2).joined(separator: " ")
        logger.debug("running abra", metadata: ["stack": "\(app.stack)", "arguments": "\(arguments.joined(separator: " "))"])
        let output: CommandOutput
        do {
            output = try Command.run(abra, arguments, environment: abraEnvironment(app), timeout: timeout)
        } catch {
            throw DeployError(operation: operation, stack: app.stack, reason: error.description)
        }
        guard output.succeeded else { throw DeployError(operation: operation, stack: app.stack, reason: Self.message(output)) }
        return output
    }

    /// ABRA_DIR and HOME of the run, PATH, the host's DOCKER_* settings, and `environment`.
    func abraEnvironment(_ app: AppDeployment) -> [String: String] {
        var variables = cli.baseEnvironment.filter { $0.key.hasPrefix("DOCKER_") }
        variables["PATH"] = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        variables.merge(environment) { $1 }
        variables["ABRA_DIR"] = abraDirectory(app).path
        variables["HOME"] = homeDirectory(app).path
        return variables
    }

    /// abra's own words: its log on stderr (the end of it, when long). Never stdout.
    static func message(_ output: CommandOutput) -> String {
        let text = output.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { return "abra \(output.termination), with nothing on stderr" }
        return text.count > 4000 ? "…" + text.suffix(4000) : text
    }
}
