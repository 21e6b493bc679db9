import Foundation

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
    /// Where this run keeps its files: env, generated compose overlay, backups, artifacts.
    public var workDirectory: URL

    public init(runID: String, recipe: String, domain: String, checkout: Checkout, overrides: [String: String] = [:],
                workDirectory: URL) {
        self.runID = runID
        self.recipe = recipe
        self.domain = domain
        self.checkout = checkout
        self.overrides = overrides
        self.workDirectory = workDirectory
    }
}

/// What a deploy is: the base freshly installed, or an in-place redeploy of the head (chaos).
public enum DeployKind: Sendable, Equatable {
    case install(version: String)
    /// `headRef` is the ref under test as given; its short commit goes into `chaos-version`.
    case chaosUpgrade(headRef: String)
}

/// A backup archive of one volume path, kept per run so that restore uses this run's own archive.
public struct BackupArchive: Sendable, Equatable, Codable {
    public var service: String
    public var volume: String
    /// Where the volume is mounted in the service's container, and the path inside it that was saved.
    public var mountPoint: String
    public var path: String
    public var file: String
    public var bytes: Int
}

public struct BackupRecord: Sendable, Equatable, Codable {
    public var archives: [BackupArchive]
}

/// What teardown removed, and anything it could not.
public struct TeardownResult: Sendable, Equatable, Codable {
    public var removed: [String]
    public var leftovers: [String]
    public var seconds: Double
    public var isClean: Bool { leftovers.isEmpty }
}

public struct DeployError: Error, Sendable, Equatable, CustomStringConvertible {
    public var operation: String
    public var stack: String
    public var reason: String
    public var description: String { "\(operation) of \(stack) failed: \(reason)" }

    public init(operation: String, stack: String, reason: String) {
        self.operation = operation
        self.stack = stack
        self.reason = reason
    }
}

/// Deploy backends (the swarm backend; abra). Convergence, exec and diagnostics belong to the host
/// and are the same for every backend; a backend deploys, backs up, restores and tears down.
public protocol Deployer: Sendable {
    var name: String { get }
    /// The docker CLI the backend and the host's own inspection use.
    var docker: DockerCLI { get }
    /// Seconds a deploy may take to converge.
    var defaultTimeout: Int { get }
    /// Secret values the backend generated or learnt, for redaction.
    var secrets: SecretLedger { get }
    /// Deploys `app` (creating what it needs first: network, secrets, env).
    func deploy(_ app: AppDeployment, as kind: DeployKind) throws(DeployError)
    /// Runs the recipe's backup (pre-hooks, archives of the labelled volumes, post-hooks) into the run.
    func backup(_ app: AppDeployment) throws(DeployError) -> BackupRecord
    /// Restores `record` (this run's own archives), then runs the restore post-hooks.
    func restore(_ app: AppDeployment, from record: BackupRecord) throws(DeployError)
    /// Removes everything of the app, whatever state it is in. Never throws: what it cannot remove
    /// is reported as leftovers.
    func teardown(_ app: AppDeployment) -> TeardownResult
}

/// What the host does on any backend's app, through docker: read the recipe as deployed, find a
/// service's running container, find where a volume is mounted.
extension Deployer {
    /// The recipe as this app deploys it: `DOMAIN` and `STACK_NAME` always the app's own.
    public func recipe(of app: AppDeployment) throws(DeployError) -> Recipe {
        do {
            return try Recipe.load(directory: app.checkout.directory,
                                   environmentOverrides: app.overrides.merging(["DOMAIN": app.domain, "STACK_NAME": app.stack]) { $1 })
        } catch {
            throw DeployError(operation: "read recipe", stack: app.stack, reason: error.description)
        }
    }

    /// The running container of `service` right now (re-resolved on every call).
    public func runningContainer(_ app: AppDeployment, service: String) throws(DeployError) -> String {
        let ids = try docker.lines(["ps", "-q", "--filter", "label=com.docker.swarm.service.name=\(app.stack)_\(service)",
                                    "--filter", "status=running"])
        guard let id = ids.first else {
            throw DeployError(operation: "find a running container of \(service)", stack: app.stack, reason: "none is running")
        }
        return id
    }

    public func mountPoint(_ container: String, volume: String, stack: String) throws(DeployError) -> String {
        let format = "{{range .Mounts}}{{if eq .Name \"\(volume)\"}}{{.Destination}}{{end}}{{end}}"
        let mount = try docker.run(["inspect", "--format", format, container]).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !mount.isEmpty else {
            throw DeployError(operation: "find volume \(volume)", stack: stack, reason: "container \(container.prefix(12)) does not mount it")
        }
        return mount
    }

}
