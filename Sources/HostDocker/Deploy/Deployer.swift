import Foundation
import HostBase

/// One app of a run: a recipe checked out at some commit, deployed under a test domain.
/// The run owns it; the deployer only acts on it.
public struct AppDeployment: Sendable, Equatable {
    public var runID: String
    public var recipe: String
    public var domain: String
    public var stack: String { AppNaming.stackName(forDomain: domain) }
    /// The checkout being deployed (the base for install, the head for an upgrade).
    public var checkout: Checkout
    /// The app's own settings over `.env.sample` (DOMAIN is always the test domain).
    public var overrides: [String: String]
    /// The app's env once the app exists: what `abra app new` wrote into it, the values of the
    /// `.env.sample` the app was installed from. Later deploys (the upgrade) read it instead of the
    /// head's `.env.sample`, as abra does; nil before the install.
    public var environment: [String: String]?
    /// Where this run keeps its files: env, generated compose overlay, backups, artifacts.
    public var workDirectory: URL
    /// The operator's limits on every service (memory, CPUs); nil: the recipe's own only.
    public var serviceCeilings: ServiceCeilings?
    /// The identity of the state folder the run belongs to (see `StateIdentity`): labelled on what the
    /// deploy creates, so that only that folder's janitor ever reaps it.
    public var owner: String?
    /// What the operator lets this recipe do that the content policy refuses; every deploy checks
    /// its rendered stack under it.
    public var allowance: PolicyAllowance
    /// The most swarm tasks the app may ask for (`ceilings.tasks`).
    public var maxTasks: Int

    public init(runID: String, recipe: String, domain: String, checkout: Checkout, overrides: [String: String] = [:],
                workDirectory: URL, serviceCeilings: ServiceCeilings? = nil, owner: String? = nil, allowance: PolicyAllowance = .none,
                maxTasks: Int = RunCeilings.defaultTasks) {
        self.owner = owner
        self.allowance = allowance
        self.maxTasks = maxTasks
        self.runID = runID
        self.recipe = recipe
        self.domain = domain
        self.checkout = checkout
        self.overrides = overrides
        self.workDirectory = workDirectory
        self.serviceCeilings = serviceCeilings
    }
}

/// What a deploy is: the base freshly installed, or an in-place redeploy of the head (chaos).
public enum DeployKind: Sendable, Equatable {
    /// The app's checkout installed fresh; `ref` is its ref as given (a release tag deploys as that
    /// version).
    case install(ref: String)
    /// The app's checkout redeployed in place; its short commit goes into `chaos-version`.
    case chaosUpgrade
}

/// A backup archive of one volume's backed-up paths, kept per run so that restore uses this run's
/// own archive.
public struct BackupArchive: Sendable, Equatable, Codable {
    public var service: String
    /// The volume's name in the recipe (the stack's volume is `<stack>_<volume>`).
    public var volume: String
    /// The paths inside the volume the archive holds, relative to its root (`["."]`: all of it).
    public var paths: [String]
    public var file: String
    public var bytes: Int

    public init(service: String, volume: String, paths: [String], file: String, bytes: Int) {
        self.service = service
        self.volume = volume
        self.paths = paths
        self.file = file
        self.bytes = bytes
    }
}

public struct BackupRecord: Sendable, Equatable, Codable {
    public var archives: [BackupArchive]
    /// Why each attempt before the one that succeeded failed (a failed or empty backup is retried).
    public var failedAttempts: [String]
    public var attempts: Int { failedAttempts.count + 1 }

    public init(archives: [BackupArchive], failedAttempts: [String] = []) {
        self.archives = archives
        self.failedAttempts = failedAttempts
    }
}

/// What teardown removed, what it could not (leftovers: teardown fails), and what it could not
/// find out (unknown: teardown is unverified).
public struct TeardownResult: Sendable, Equatable, Codable {
    public var removed: [String]
    /// Objects still there afterwards, each with why it was not removed when Docker said.
    public var leftovers: [String]
    /// What could not be listed or waited for, with Docker's words: whether something is left is
    /// not known. Never read as "no leftovers".
    public var unknown: [String]
    public var seconds: Double
    public var isClean: Bool { leftovers.isEmpty && unknown.isEmpty }

    public init(removed: [String], leftovers: [String], unknown: [String] = [], seconds: Double) {
        self.removed = removed
        self.leftovers = leftovers
        self.unknown = unknown
        self.seconds = seconds
    }

    private enum CodingKeys: String, CodingKey { case removed, leftovers, unknown, seconds }

    /// Records from before `unknown` existed read with none.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        removed = try container.decode([String].self, forKey: .removed)
        leftovers = try container.decode([String].self, forKey: .leftovers)
        unknown = try container.decodeIfPresent([String].self, forKey: .unknown) ?? []
        seconds = try container.decode(Double.self, forKey: .seconds)
    }
}

public struct DeployError: Error, Sendable, Equatable, CustomStringConvertible {
    public var operation: String
    public var stack: String
    public var reason: String
    /// The host failed, not the recipe: cchost could not write its own files (a full disk, a
    /// read-only run folder). What it stops is `unverified`, never the recipe's `fail`.
    public var isHostFault: Bool
    /// "deploy of app_ci_example failed: …"; an error of no stack does not name one.
    public var description: String { stack.isEmpty ? "\(operation) failed: \(reason)" : "\(operation) of \(stack) failed: \(reason)" }

    public init(operation: String, stack: String, reason: String, isHostFault: Bool = false) {
        self.operation = operation
        self.stack = stack
        self.reason = reason
        self.isHostFault = isHostFault
    }

    /// A Docker call that failed under a deploy: the operation and container as Docker's error
    /// names them, its stack, and Docker's own message.
    public init(_ error: DockerError) {
        self.init(operation: error.operation + (error.container.map { " in container \($0.prefix(12))" } ?? ""),
                  stack: error.stack ?? "", reason: error.message)
    }

    /// Runs Docker calls where deploy errors are thrown.
    public static func wrapping<T>(_ body: () throws(DockerError) -> T) throws(DeployError) -> T {
        do { return try body() } catch { throw DeployError(error) }
    }
}

/// Deploy backends (the swarm backend; abra). Convergence, exec and diagnostics belong to the host
/// and are the same for every backend; a backend deploys, backs up, restores and tears down.
public protocol Deployer: Sendable {
    var name: String { get }
    /// Docker, as the backend and the host's own inspection of its apps ask it (how a backend
    /// deploys is its own business).
    var docker: any Docker { get }
    /// cchost's own helper container on the engine the app runs on: data markers in its volumes.
    var helper: any Helper { get }
    /// The engine's proxy, through which the host reaches the app's HTTP as a user would.
    var proxy: any AppProxy { get }
    /// Seconds a deploy may take to converge.
    var defaultTimeout: Int { get }
    /// Secret values the backend generated or learnt, for redaction.
    var secrets: SecretLedger { get }
    /// Deploys `app` (creating what it needs first: network, secrets, env): its recipe rendered,
    /// checked by the content policy and written (`StackPreparation`) before anything reaches the
    /// engine. Returns the rendered stack the deploy wrote (nil for a backend that writes none).
    @discardableResult
    func deploy(_ app: AppDeployment, as kind: DeployKind) throws(DeployError) -> RenderedDeploy?
    /// Runs the recipe's backup (pre-hooks, archives of the labelled volumes, post-hooks) into the
    /// run's folder `folder` (`backup` for the backup tier's; the data proof takes others).
    func backup(_ app: AppDeployment, into folder: String) throws(DeployError) -> BackupRecord
    /// Why this backend cannot back up and restore yet (its backup and restore tiers are then
    /// `unverified` with this reason, never run); nil when it can. Each archive of a backup is one
    /// volume's labelled paths as a plain tar, which the data proofs read.
    var backupUnsupported: String? { get }
    /// The version of the tool the backend drives, after checking that it is one the backend
    /// supports (nil for a backend that drives no tool of its own). Asked once, before anything is
    /// deployed; the run records it.
    func toolVersion() throws(DeployError) -> String?
    /// Whether `freshVolumes` works on this backend (else the restore happens in place).
    var givesFreshVolumes: Bool { get }
    /// Gives the app fresh volumes, as after a disaster: its services stopped, its volumes removed,
    /// its services started again on new, empty volumes (not a deploy: nothing is redeployed). The
    /// caller waits for convergence.
    func freshVolumes(_ app: AppDeployment) throws(DeployError)
    /// Restores `record` (this run's own archives), then runs the restore post-hooks.
    func restore(_ app: AppDeployment, from record: BackupRecord) throws(DeployError)
    /// Removes everything of the app, whatever state it is in. Never throws: what it cannot remove
    /// is reported as leftovers.
    func teardown(_ app: AppDeployment) -> TeardownResult
}

/// What the host reads of any backend's app.
extension Deployer {
    public var backupUnsupported: String? { nil }
    public func toolVersion() throws(DeployError) -> String? { nil }

    /// The backup tier's backup, into the run's `backup` folder.
    public func backup(_ app: AppDeployment) throws(DeployError) -> BackupRecord { try backup(app, into: "backup") }

    /// The recipe as this app deploys it: with the app's env once it exists, `DOMAIN` and
    /// `STACK_NAME` always the app's own; read from the app's checkout, or from `directory` (the
    /// copy a backend deploys from).
    public func recipe(of app: AppDeployment, in directory: String? = nil) throws(DeployError) -> Recipe {
        do {
            return try Recipe.load(directory: directory ?? app.checkout.directory, appEnvironment: app.environment,
                                   environmentOverrides: app.overrides.merging(["DOMAIN": app.domain, "STACK_NAME": app.stack]) { $1 })
        } catch {
            throw DeployError(operation: "read recipe", stack: app.stack, reason: error.description)
        }
    }
}
