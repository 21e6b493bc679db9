import Foundation
import HostBase
import Logging
import PluginChannel

/// The abra backend: deploys and tears down by driving the `abra` CLI, for servers that have abra.
/// Convergence, exec and diagnostics stay the host's, as for every backend.
///
/// **abra version.** The argument lists follow **abra 0.10.x** (the cobra-based CLI), as written
/// from abra's documentation: they were not checked against an abra binary here, only against the
/// abra-compatible shim in `Tests/Fixtures/abra-shim/abra`, which is as strict as abra's documented
/// behaviour. `toolVersion()` refuses an abra older than 0.10 before anything is deployed. Every
/// call runs on `server` (abra's server: a docker context of that name; `default` is the local one)
/// with `--no-input`:
///
///     abra app new RECIPE --server SERVER --domain DOMAIN --chaos --offline --no-input
///     abra app secret generate DOMAIN --all --chaos --offline --no-input            (before every deploy)
///     abra app deploy DOMAIN VERSION --offline --no-input --no-domain-checks --no-converge-checks   (install of a release tag)
///     abra app deploy DOMAIN --chaos --offline --no-input --no-domain-checks --no-converge-checks   (upgrade to the head; install of a non-tag ref)
///     abra app undeploy DOMAIN --chaos --offline --no-input
///     abra app remove DOMAIN --force --chaos --offline --no-input
///
/// - `--offline`, and a recipe copy without remotes: abra never fetches the recipe or another version.
/// - `--chaos` on every call but the release's deploy: a deploy of a VERSION pins it in the env
///   file (`TYPE=recipe:VERSION`), and abra checks the recipe out at the pinned version for every
///   later command without `--chaos`, which would put the head back to the base.
/// - `secret generate --all` before every deploy (as a recipe CI driving abra does): the head may
///   declare new secrets; ones that exist stay. abra prints the generated values on stdout: they go
///   to the redaction ledger and nowhere else (stdout never reaches an error or a log).
/// - `--no-domain-checks`: test domains have no DNS (abra checks it on any server but `default`).
/// - `--no-converge-checks`: cchost watches convergence itself.
/// - External networks (`proxy`) are created when missing, as the server's setup would have.
/// - **Backups are not supported yet**: abra backs up through backup-bot-two (`app backup create`,
///   `app backup snapshots`, `app restore --snapshot ID`), which must be deployed on the server and
///   wants a terminal. Until cchost drives it, `backup` and `restore` throw and the run records
///   the backup and restore tiers as `unverified` (`backupUnsupported`).
///
/// **Per-run abra state.** Each app gets its own `ABRA_DIR` in its run folder
/// (`<workDirectory>/abra-dir`), never the operator's `~/.abra`: `servers/<server>/`,
/// `recipes/<recipe>/` (a copy of the run's checkout, replaced before every deploy so that an
/// upgrade deploys the head), and the app's env file `servers/<server>/<domain>.env` (written by
/// `app new` from `.env.sample` with the test DOMAIN, then the app's overrides). abra runs with an
/// environment built from nothing (`abraEnvironment`): the docker CLI's (`DOCKER_HOST` of cchost's
/// engine, a fixed `PATH`, an empty `DOCKER_CONFIG`), `ABRA_DIR`, `HOME` (a run folder) and
/// `environment`; the recipe's variables reach abra only through the app's env file.
///
/// abra sets the `coop-cloud.<stack>.*` labels itself; cchost adds its own (`cchost.run`, `cchost.state`)
/// to every service after each deploy. A failed call is a `DeployError` carrying
/// what abra wrote on stderr.
public struct AbraDeployer: Deployer {
    public let name = "abra"
    /// The abra executable (an absolute path).
    public let abra: String
    /// abra's server for the apps: a docker context of that name (`default`, the local one, unless
    /// told otherwise; abra's DNS check on other servers is skipped).
    public let server: String
    public let docker: any Docker
    /// For the docker-level cleanup after abra's own teardown, and the engine and docker settings abra runs with.
    public let cli: DockerCLI
    public var helper: any Helper { HelperContainer(cli: cli) }
    public var proxy: any AppProxy { TraefikProxy(cli: cli) }
    /// Seconds a deploy may take to converge (the host waits; abra does not).
    public var defaultTimeout: Int
    /// Extra variables for abra's environment; ABRA_DIR and HOME always stay the run's own, and the
    /// docker CLI's reserved ones (`DockerCLI.isReserved`: DOCKER_*, PATH, LD_*) are dropped.
    public let environment: [String: String]
    /// The secret values abra printed when it generated them, for redaction.
    public let secrets = SecretLedger()
    /// The oldest abra whose command line this backend speaks.
    static let oldestVersion = (major: 0, minor: 10)
    static let backupsNotSupported = "not supported by the abra backend yet"
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

    // MARK: Deploy

    /// abra reads and deploys the recipe itself: cchost renders the copy abra reads with the env
    /// abra deploys with, checks the content policy on that, and keeps the rendered stack as the
    /// deploy's record of what was checked (abra is not handed it).
    @discardableResult
    public func deploy(_ app: AppDeployment, as kind: DeployKind) throws(DeployError) -> RenderedDeploy? {
        try prepare(app)
        let recipe = try recipe(of: app, in: recipeDirectory(app).path)
        try StackPreparation.check(recipe, app: app)
        let rendered = try StackPreparation.write(recipe.compose.rendered, recipe: recipe, app: app)
        for (key, network) in recipe.compose.networks where network.external {
            try cli.ensureOverlayNetwork(network.name ?? key, stack: app.stack)
        }
        if !FileManager.default.fileExists(atPath: envFile(app).path) {
            try run(["app", "new", app.recipe, "--server", server, "--domain", app.domain, "--chaos", "--offline", "--no-input"],
                    app: app, timeout: 300)
            try applyOverrides(app)
        }
        let generated = try run(["app", "secret", "generate", app.domain, "--all", "--chaos", "--offline", "--no-input"], app: app, timeout: 300)
        for value in Self.printedSecretValues(generated.stdoutText) { secrets.record(value) }
        var arguments = ["app", "deploy", app.domain]
        switch kind {
        // Kept: "is it a release version?", not an error; any other ref deploys as the commit checked
        // out (--chaos), the same code, and the upgrade tier checks the deployed version either way.
        case .install(let ref) where (try? RecipeVersion(parsing: ref)) != nil:
            arguments += [ref, "--offline"]
        case .install, .chaosUpgrade:
            arguments += ["--chaos", "--offline"]
        }
        arguments += ["--no-input", "--no-domain-checks", "--no-converge-checks"]
        logger.info("deploying through abra", metadata: ["stack": "\(app.stack)", "ref": "\(app.checkout.ref)"])
        try run(arguments, app: app, timeout: 300)
        try labelServices(app)
        return rendered
    }

    /// abra deploys the recipe's files without cchost's labels: every service of the stack gets
    /// them afterwards (a service label changes no task, so nothing restarts), so that the janitor
    /// knows the stack for cchost's and the engine's proxy, which routes only services labelled
    /// `cchost.run`, reaches the app. Every deploy replaces the labels, so every deploy adds them.
    func labelServices(_ app: AppDeployment) throws(DeployError) {
        let labels = SwarmDeployer.ownerLabels(app).flatMap { ["--label-add", "\($0.0)=\($0.1)"] }
        do {
            for service in try cli.lines(["service", "ls", "--quiet", "--filter", "label=com.docker.stack.namespace=\(app.stack)"]) {
                try cli.run(["service", "update", "--detach", "--no-resolve-image"] + labels + [service])
            }
        } catch {
            throw DeployError(operation: "label services", stack: app.stack, reason: error.reason)
        }
    }

    /// The values in what `app secret generate` printed: a two-column NAME / VALUE table (plain or
    /// drawn with box characters); every row's second column but the header's.
    static func printedSecretValues(_ output: String) -> [String] {
        output.split(separator: "\n").compactMap { line in
            let cells = line.split { $0.isWhitespace || "|│┃".contains($0) || ("\u{2500}"..."\u{257F}").contains($0) }
            guard cells.count == 2, cells[0].uppercased() != "NAME" else { return nil }
            return String(cells[1])
        }
    }

    /// The run's abra folders, and the checkout being deployed copied in as abra's recipe (with its
    /// `.git`: abra reads versions and the chaos commit from it; without its remotes).
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
        // Nothing to fetch from: abra deploys the copy as it is, whatever it is asked.
        do { try GitRepository.open(recipe.path).removeRemotes() } catch {
            throw DeployError(operation: "place the recipe for abra", stack: app.stack, reason: "\(recipe.path): \(error)")
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

    /// abra backs up through backup-bot-two, which this backend does not drive yet.
    public var backupUnsupported: String? { Self.backupsNotSupported + " (abra backs up through backup-bot-two)" }

    public func backup(_ app: AppDeployment, into folder: String) throws(DeployError) -> BackupRecord {
        throw DeployError(operation: "abra app backup create", stack: app.stack, reason: Self.backupsNotSupported)
    }

    public func restore(_ app: AppDeployment, from record: BackupRecord) throws(DeployError) {
        throw DeployError(operation: "abra app restore", stack: app.stack, reason: Self.backupsNotSupported)
    }

    /// abra has no way to give an app new volumes without redeploying it.
    public var givesFreshVolumes: Bool { false }

    public func freshVolumes(_ app: AppDeployment) throws(DeployError) {
        throw DeployError(operation: "fresh volumes", stack: app.stack, reason: Self.backupsNotSupported)
    }

    // MARK: Teardown

    /// `abra app undeploy` and `abra app remove --force` (whatever state the app is in; their
    /// failures are logged), then the swarm backend's docker-level teardown of the stack for anything
    /// abra left, then the app's env file and recipe copy. abra's other files stay with the run.
    public func teardown(_ app: AppDeployment) -> TeardownResult {
        let started = Date()
        var removed: [String] = []
        for arguments in [["app", "undeploy", app.domain, "--chaos", "--offline", "--no-input"],
                          ["app", "remove", app.domain, "--force", "--chaos", "--offline", "--no-input"]] {
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
        var leftovers = sweep.leftovers
        let secretCopies = StackPreparation.secretCopies(in: app.workDirectory).map { app.workDirectory.appendingPathComponent($0) }
        for url in [envFile(app), recipeDirectory(app)] + secretCopies where FileManager.default.fileExists(atPath: url.path) {
            do {
                try FileManager.default.removeItem(at: url)
                removed.append("file \(url.path)")
            } catch {
                leftovers.append("file \(url.path) (\(error.localizedDescription))")
            }
        }
        return TeardownResult(removed: removed, leftovers: leftovers, unknown: sweep.unknown, seconds: Date().timeIntervalSince(started))
    }

    // MARK: Running abra

    /// `abra --version`: the version, when it is 0.10 or later (the command line this backend speaks).
    public func toolVersion() throws(DeployError) -> String? {
        let output: CommandOutput
        let variables = try toolEnvironment(home: FileManager.default.temporaryDirectory.path)
        do {
            output = try Command.run(abra, ["--version"], environment: variables, timeout: 60)
        } catch {
            throw DeployError(operation: "abra --version", stack: "", reason: error.description)
        }
        guard output.succeeded else { throw DeployError(operation: "abra --version", stack: "", reason: Self.message(output)) }
        return try Self.supportedVersion(output.stdoutText)
    }

    /// The version in `abra --version`'s words (`abra version 0.10.1-beta-5e9b8d1`), refused when
    /// older than `oldestVersion`.
    static func supportedVersion(_ printed: String) throws(DeployError) -> String {
        let words = printed.split(whereSeparator: \.isWhitespace).map { $0.hasPrefix("v") ? $0.dropFirst() : $0 }
        guard let word = words.first(where: { $0.first?.isNumber == true && $0.contains(".") }) else {
            throw DeployError(operation: "abra --version", stack: "",
                              reason: "abra printed no version: '\(printed.trimmingCharacters(in: .whitespacesAndNewlines).prefix(200))'")
        }
        let parts = word.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        let oldest = oldestVersion
        guard parts.count == 2, (parts[0], parts[1]) >= (oldest.major, oldest.minor) else {
            throw DeployError(operation: "abra --version", stack: "",
                              reason: "abra \(word) is older than \(oldest.major).\(oldest.minor), the oldest abra whose command line this backend speaks; install abra \(oldest.major).\(oldest.minor) or later")
        }
        return String(word)
    }

    /// Runs `abra arguments…` for `app`; a non-zero exit is a `DeployError` with abra's stderr.
    @discardableResult
    func run(_ arguments: [String], app: AppDeployment, timeout: Double) throws(DeployError) -> CommandOutput {
        let subcommand = arguments.starts(with: ["app", "backup"]) || arguments.starts(with: ["app", "secret"])
        let operation = "abra " + arguments.prefix(subcommand ? 3 : 2).joined(separator: " ")
        logger.debug("running abra", metadata: ["stack": "\(app.stack)", "arguments": "\(arguments.joined(separator: " "))"])
        let output: CommandOutput
        let variables = try abraEnvironment(app)
        do {
            output = try Command.run(abra, arguments, environment: variables, timeout: timeout)
        } catch {
            throw DeployError(operation: operation, stack: app.stack, reason: error.description)
        }
        guard output.succeeded else { throw DeployError(operation: operation, stack: app.stack, reason: Self.message(output)) }
        return output
    }

    /// The run's ABRA_DIR and HOME over `toolEnvironment`.
    func abraEnvironment(_ app: AppDeployment) throws(DeployError) -> [String: String] {
        var variables = try toolEnvironment(home: homeDirectory(app).path)
        variables["ABRA_DIR"] = abraDirectory(app).path
        return variables
    }

    /// Built from nothing, as docker's: the docker CLI's environment (cchost's engine as
    /// `DOCKER_HOST`, the fixed PATH, the empty `DOCKER_CONFIG`) with `environment`'s unreserved
    /// variables, and `home` as HOME. abra needs a HOME (its state is `~/.abra` unless ABRA_DIR says
    /// otherwise, and it writes there): a folder of cchost's, never the operator's, whose abra
    /// files could change what abra deploys. A server other than `default` is a docker context,
    /// read from the empty `DOCKER_CONFIG`: abra deploys to cchost's engine or not at all.
    func toolEnvironment(home: String) throws(DeployError) -> [String: String] {
        var variables = try cli.environment(adding: environment)
        variables["HOME"] = home
        return variables
    }

    /// abra's own words: its log on stderr (the end of it, when long). Never stdout, where
    /// `secret generate` prints secret values.
    static func message(_ output: CommandOutput) -> String {
        let text = output.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { return "abra \(output.termination), with nothing on stderr" }
        return text.count > 4000 ? "…" + text.suffix(4000) : text
    }
}
