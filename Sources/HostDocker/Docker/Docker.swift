import Foundation

/// Everything a run and the host's own tools ask of Docker, in one place: the running container of
/// a stack's service, exec in it, where a volume is mounted, a service's deploy labels, logs, tasks
/// and events for diagnostics, convergence, the stacks, secrets and configs the janitor looks at,
/// and the volumes canonicals keep. `DockerDaemon` answers through the Engine API (`DockerAPI`);
/// tests of the callers use an in-memory fake.
///
/// Deploying stacks, and the secrets, configs and networks a deploy needs, are not here: the
/// deployers do that with `DockerCLI`. Removing a stack is here (`StackTeardown` drives it), so that
/// a listing or a removal that fails is an error teardown records, never "nothing left".
///
/// Every call asks Docker anew (nothing is cached), and every failure is a `DockerError` naming the
/// operation, the stack or container, and Docker's own message. A question Docker cannot answer is
/// an error, never an empty answer.
public protocol Docker: Sendable {
    // MARK: Containers of a stack's services

    /// The running container of `service` (its name in the stack) of `stack` right now; asked anew
    /// on every call, since swarm replaces a task's container when it restarts it. `.missing` when
    /// none is running.
    func runningContainer(stack: String, service: String) throws(DockerError) -> ServiceContainer

    /// Where the volume named `volume` (`<stack>_<name>` for a stack's own) is mounted in
    /// `container`; `.missing` when the container does not mount it.
    func mountPoint(of volume: String, in container: ServiceContainer) throws(DockerError) -> String

    /// Runs `command` in `container` until `deadline`, feeding it `stdin` (then end of input) when
    /// given. Whatever its exit code, a command that ran is a result. One that never ran is an
    /// error: the container gone or stopped (`.missing`, `.conflict`), the runtime unable to start
    /// it (`.notStarted`, with the runtime's message), no exit code by the deadline (`.timedOut`;
    /// the command may still be running).
    func exec(_ command: [String], in container: ServiceContainer, stdin: Data?, deadline: Date) throws(DockerError) -> ExecResult

    // MARK: Services of a stack

    /// The stack's services, sorted by name (full names: `<stack>_<service>`).
    func services(stack: String) throws(DockerError) -> [SwarmService]

    /// The deploy labels (`deploy.labels`, the service's own) of `service` of `stack`. A service
    /// that does not exist is `.missing`, never an empty dictionary a caller would read as "no label".
    func serviceLabels(stack: String, service: String) throws(DockerError) -> [String: String]

    /// The last `tail` lines each task of `service` of `stack` logged, stdout and stderr interleaved.
    func serviceLogs(stack: String, service: String, tail: Int) throws(DockerError) -> String

    /// Every task of the stack's services (current ones and the history swarm keeps).
    func tasks(stack: String) throws(DockerError) -> [SwarmTask]

    /// The state of container `id` (status and healthcheck); `.missing` when it is gone.
    func containerState(id: String, stack: String) throws(DockerError) -> ContainerState

    /// What the engine recorded about the stack's objects between `since` and `until` (an `until`
    /// in the future waits until then).
    func events(stack: String, since: Date, until: Date) throws(DockerError) -> [DockerEvent]

    /// Waits until the stack is converged or failed, or `deadline` passes, or `stop` says so between
    /// polls (then `.waiting` with what it was still waiting for); see `Convergence`.
    func waitForConvergence(stack: String, deadline: Date, stop: @Sendable () -> Bool) throws(DockerError) -> ConvergenceState

    /// Removes the stack's services, so that their containers stop as in `docker stack rm` (each
    /// with its grace period: databases shut down cleanly), and waits until none of the stack's
    /// containers is left; `.timedOut` after `timeout` seconds. Networks, secrets, configs and
    /// volumes stay.
    func removeServices(stack: String, timeout: Double) throws(DockerError)

    // MARK: Teardown

    /// The stack's objects of `kind`, sorted by name: those labelled
    /// `com.docker.stack.namespace=<stack>`, and secrets and configs named `<stack>_…` too (abra
    /// creates an app's secrets without the label).
    func stackObjects(_ kind: DeployedObject.Kind, stack: String) throws(DockerError) -> [DeployedObject]

    /// Removes `object`; one already gone counts as removed. A container is killed at once, with
    /// its anonymous volumes (its data is being discarded: no stop grace period is waited out).
    func remove(_ object: DeployedObject) throws(DockerError)

    /// The tasks of the services `serviceIDs` (removed ones) for which the agent may still create
    /// or run a container: they have not stopped yet, whatever swarm wants of them.
    func unfinishedTasks(ofServices serviceIDs: Set<String>) throws(DockerError) -> [SwarmTask]

    /// Waits until the engine records an event of the stack's containers after `since`, at most
    /// `timeout` seconds: true when one came. (Network and volume events carry no labels to tell
    /// the stack's apart.)
    func awaitStackEvent(stack: String, since: Date, timeout: Double) throws(DockerError) -> Bool

    /// Gives the stack's replicated services fresh volumes, as after a disaster: each scaled to 0,
    /// its containers gone (killed once stopping has had `timeout` seconds), the stack's volumes
    /// removed, each scaled back to its replicas (the same spec: no redeploy). Does not wait for the
    /// services to come back. A stack with no replicated service is an error.
    func freshVolumes(stack: String, timeout: Double) throws(DockerError)

    // MARK: What the swarm holds

    /// Every stack that has services, sorted by name.
    func stacks() throws(DockerError) -> [SwarmStack]

    /// Every secret or every config of the swarm, sorted by name.
    func swarmObjects(_ kind: SwarmObject.Kind) throws(DockerError) -> [SwarmObject]

    // MARK: Volumes

    /// Volumes carrying every one of `labels` (a value of "" matches any value), sorted by name.
    func volumes(labels: [String: String]) throws(DockerError) -> [DockerVolume]

    /// Creates a volume with `labels`.
    func createVolume(_ name: String, labels: [String: String]) throws(DockerError)

    /// Where a volume's files are on the node (the local driver's folder).
    func volumeMountpoint(_ name: String) throws(DockerError) -> String

    /// Removes volumes; one that is already gone counts as removed. Tries every one, then reports
    /// those that could not be removed, with Docker's reason for each.
    func removeVolumes(_ names: [String]) throws(DockerError)
}

extension Docker {
    /// `waitForConvergence` until the deadline.
    public func waitForConvergence(stack: String, deadline: Date) throws(DockerError) -> ConvergenceState {
        try waitForConvergence(stack: stack, deadline: deadline, stop: { false })
    }

    /// `exec` without input.
    public func exec(_ command: [String], in container: ServiceContainer, deadline: Date) throws(DockerError) -> ExecResult {
        try exec(command, in: container, stdin: nil, deadline: deadline)
    }
}

/// A container of a stack's service, as found at one moment: the ID and where it belongs, so that
/// whatever goes wrong with it can say so.
public struct ServiceContainer: Sendable, Equatable, CustomStringConvertible {
    public var id: String
    public var stack: String
    /// The service's name in the stack.
    public var service: String

    public init(id: String, stack: String, service: String) {
        self.id = id
        self.stack = stack
        self.service = service
    }

    /// "container 599c2f3c20bf of app".
    public var description: String { "container \(id.prefix(12)) of \(service)" }
}

/// A stack, as its services' `com.docker.stack.namespace` label makes it.
public struct SwarmStack: Sendable, Equatable {
    public var name: String
    public var services: Int
    /// When its first service was created.
    public var createdAt: Date?
    /// The state folders (`StateIdentity`) its services are labelled with: empty for a stack cchost
    /// did not deploy.
    public var owners: Set<String>

    public init(name: String, services: Int, createdAt: Date?, owners: Set<String> = []) {
        self.name = name
        self.services = services
        self.createdAt = createdAt
        self.owners = owners
    }
}

/// A Docker call that failed: what was asked, of which stack or container, and Docker's own words.
public struct DockerError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// Docker does not have it: no such container, service or volume, or no container of the
        /// service is running.
        case missing
        /// It is there but cannot do this now: a container not running, a volume in use.
        case conflict
        /// The runtime could not start the command in the container (not found, not executable).
        case notStarted
        /// No answer before the deadline.
        case timedOut
        /// Docker could not be reached.
        case unreachable
        /// Docker refused for another reason, or its answer could not be read.
        case failed
    }

    public var kind: Kind
    /// What was asked, as a phrase: "exec cat /data/marker", "read the deploy labels of app".
    public var operation: String
    public var stack: String?
    public var container: String?
    /// Docker's own words: the engine's error message, the runtime's, or why no answer came.
    public var message: String

    public init(_ kind: Kind, operation: String, stack: String? = nil, container: String? = nil, message: String) {
        self.kind = kind
        self.operation = operation
        self.stack = stack.flatMap { $0.isEmpty ? nil : $0 }
        self.container = container.flatMap { $0.isEmpty ? nil : $0 }
        self.message = message
    }

    /// The operation and where, without Docker's words: "exec cat /x in container 599c2f3c20bf (stack s)".
    public var subject: String {
        operation + (container.map { " in container \($0.prefix(12))" } ?? "") + (stack.map { " (stack \($0))" } ?? "")
    }

    public var description: String { "\(subject) failed: \(message)" }
}

extension DockerError {
    /// An Engine API failure of `operation`, keeping the engine's own message when it gave one.
    init(_ error: DockerAPIError, operation: String, stack: String? = nil, container: String? = nil) {
        let kind: Kind = switch error {
        case .rejected(_, _, 404, _): .missing
        case .rejected(_, _, 409, _): .conflict
        case .timedOut, .execTimedOut: .timedOut
        case .unreachable: .unreachable
        case .rejected, .malformedResponse, .execWithoutExitCode: .failed
        }
        self.init(kind, operation: operation, stack: stack, container: container, message: error.engineMessage ?? error.description)
    }
}
