import Foundation
import HostBase

/// A swarm service, with only the fields convergence and diagnostics use.
public struct SwarmService: Sendable, Equatable {
    public var id: String
    public var name: String
    /// `Spec.Labels` (the service's own labels, e.g. `coop-cloud.<stack>.version`).
    public var labels: [String: String]
    /// `Spec.TaskTemplate.ContainerSpec.Labels` (put on each of its containers).
    public var containerLabels: [String: String]
    public var image: String
    /// Desired replicas; nil for a global service (one task per eligible node).
    public var replicas: Int?
    /// `UpdateStatus.State`; nil when the service was never updated.
    public var updateState: UpdateState?
    public var updateMessage: String?
    public var createdAt: Date?
    /// `Spec.TaskTemplate.ContainerSpec` as the engine has it: what up-to-date tasks run.
    public var containerSpec: JSONValue?
    /// `Spec.TaskTemplate.RestartPolicy`: when swarm replaces a failed task, and when it gives up.
    public var restartPolicy: RestartPolicy

    public init(id: String, name: String, labels: [String: String] = [:], containerLabels: [String: String] = [:],
                image: String = "", replicas: Int?, updateState: UpdateState? = nil, updateMessage: String? = nil,
                createdAt: Date? = nil, containerSpec: JSONValue? = nil, restartPolicy: RestartPolicy = RestartPolicy()) {
        self.id = id
        self.name = name
        self.labels = labels
        self.containerLabels = containerLabels
        self.image = image
        self.replicas = replicas
        self.updateState = updateState
        self.updateMessage = updateMessage
        self.createdAt = createdAt
        self.containerSpec = containerSpec
        self.restartPolicy = restartPolicy
    }

    /// A service's restart policy (compose `deploy.restart_policy`), as swarm applies it to each slot.
    public struct RestartPolicy: Sendable, Equatable {
        /// `none`, `on-failure` or `any` (swarm's default).
        public var condition: String
        /// Restarts swarm attempts per slot before giving up; 0: never gives up.
        public var maxAttempts: Int
        /// Seconds over which attempts are counted; 0: since the service's spec last changed.
        public var window: Double

        public init(condition: String = "any", maxAttempts: Int = 0, window: Double = 0) {
            self.condition = condition
            self.maxAttempts = maxAttempts
            self.window = window
        }
    }

    /// The engine's update states, kept open: an unknown one is carried, not a decoding error.
    public struct UpdateState: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let updating = UpdateState(rawValue: "updating")
        public static let paused = UpdateState(rawValue: "paused")
        public static let completed = UpdateState(rawValue: "completed")
        public static let rollbackStarted = UpdateState(rawValue: "rollback_started")
        public static let rollbackPaused = UpdateState(rawValue: "rollback_paused")
        public static let rollbackCompleted = UpdateState(rawValue: "rollback_completed")
    }
}

/// A swarm task: one attempt at running one replica (slot) of a service. Swarm keeps a few
/// finished ones per slot as history.
public struct SwarmTask: Sendable, Equatable {
    public var id: String
    public var serviceID: String
    /// The replica number; nil for tasks of global services.
    public var slot: Int?
    public var desiredState: TaskState
    public var state: TaskState
    /// `Status.Err`: why the task failed or was rejected.
    public var error: String?
    public var containerID: String?
    public var timestamp: Date?
    /// `Spec.ContainerSpec`: the service's container spec as it was when swarm made the task.
    public var containerSpec: JSONValue?

    public init(id: String, serviceID: String, slot: Int? = nil, desiredState: TaskState, state: TaskState,
                error: String? = nil, containerID: String? = nil, timestamp: Date? = nil, containerSpec: JSONValue? = nil) {
        self.id = id
        self.serviceID = serviceID
        self.slot = slot
        self.desiredState = desiredState
        self.state = state
        self.error = error
        self.containerID = containerID
        self.timestamp = timestamp
        self.containerSpec = containerSpec
    }

    /// The fields of a container spec a redeploy changes (image, command, env, labels, configs,
    /// secrets, mounts); the engine fills others in differently for a service and its tasks.
    static let specFields = ["Image", "Command", "Args", "Env", "Labels", "Configs", "Secrets", "Mounts", "User", "Dir"]

    /// Whether the task runs the service's current spec, as far as the engine said (a task or service
    /// without a spec, as in tests built by hand, counts as current).
    public func isUpToDate(with service: SwarmService) -> Bool {
        guard case .object(let own)? = containerSpec, case .object(let current)? = service.containerSpec else { return true }
        return Self.specFields.allSatisfy { own[$0] == current[$0] }
    }

    public struct TaskState: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let new = TaskState(rawValue: "new")
        public static let pending = TaskState(rawValue: "pending")
        public static let assigned = TaskState(rawValue: "assigned")
        public static let accepted = TaskState(rawValue: "accepted")
        public static let preparing = TaskState(rawValue: "preparing")
        public static let ready = TaskState(rawValue: "ready")
        public static let starting = TaskState(rawValue: "starting")
        public static let running = TaskState(rawValue: "running")
        public static let complete = TaskState(rawValue: "complete")
        public static let shutdown = TaskState(rawValue: "shutdown")
        public static let failed = TaskState(rawValue: "failed")
        public static let rejected = TaskState(rawValue: "rejected")
        public static let remove = TaskState(rawValue: "remove")
        public static let orphaned = TaskState(rawValue: "orphaned")
    }
}

public enum ContainerHealth: String, Sendable, Equatable {
    /// The container has no healthcheck.
    case none
    case starting, healthy, unhealthy
}

/// What `docker inspect` says about a container's state.
public struct ContainerState: Sendable, Equatable {
    /// created, running, paused, restarting, removing, exited or dead.
    public var status: String
    public var health: ContainerHealth
    public var exitCode: Int
    /// What the last healthcheck printed (trimmed), when there is one: the why of an unhealthy container.
    public var lastHealthOutput: String?

    public init(status: String, health: ContainerHealth = .none, exitCode: Int = 0, lastHealthOutput: String? = nil) {
        self.status = status
        self.health = health
        self.exitCode = exitCode
        self.lastHealthOutput = lastHealthOutput
    }
}

/// One entry of the container list.
public struct ContainerSummary: Sendable, Equatable {
    public var id: String
    /// Without the leading slash.
    public var names: [String]
    public var image: String
    public var labels: [String: String]
    /// created, running, exited, …
    public var state: String
    /// The human phrase: "Up 3 minutes (healthy)".
    public var status: String

    public init(id: String, names: [String] = [], image: String = "", labels: [String: String] = [:], state: String,
                status: String = "") {
        self.id = id
        self.names = names
        self.image = image
        self.labels = labels
        self.state = state
        self.status = status
    }
}

/// One engine event (`docker events`).
public struct DockerEvent: Sendable, Equatable {
    /// container, service, network, volume, …
    public var type: String
    /// create, start, die, health_status: healthy, …
    public var action: String
    public var actorID: String
    public var attributes: [String: String]
    public var time: Date

    public init(type: String, action: String, actorID: String, attributes: [String: String] = [:], time: Date) {
        self.type = type
        self.action = action
        self.actorID = actorID
        self.attributes = attributes
        self.time = time
    }
}

/// Something a container mounts: a volume, a bind mount, a tmpfs.
public struct ContainerMount: Sendable, Equatable {
    /// volume, bind, tmpfs, …
    public var type: String
    /// The volume's name; nil for anything but a volume.
    public var name: String?
    /// Where the data is on the node (a volume's folder, a bind's source).
    public var source: String
    /// Where it is mounted in the container.
    public var destination: String

    public init(type: String, name: String? = nil, source: String = "", destination: String) {
        self.type = type
        self.name = name
        self.source = source
        self.destination = destination
    }
}

/// A Docker volume.
public struct DockerVolume: Sendable, Equatable {
    public var name: String
    public var driver: String
    public var labels: [String: String]
    /// Where the local driver keeps its files on the node.
    public var mountpoint: String
    public var createdAt: Date?

    public init(name: String, driver: String = "local", labels: [String: String] = [:], mountpoint: String = "",
                createdAt: Date? = nil) {
        self.name = name
        self.driver = driver
        self.labels = labels
        self.mountpoint = mountpoint
        self.createdAt = createdAt
    }
}

/// A swarm secret or config (never its value).
public struct SwarmObject: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case secret, config
    }

    public var kind: Kind
    public var id: String
    public var name: String
    public var labels: [String: String]
    public var createdAt: Date?

    public init(kind: Kind, id: String, name: String, labels: [String: String] = [:], createdAt: Date? = nil) {
        self.kind = kind
        self.id = id
        self.name = name
        self.labels = labels
        self.createdAt = createdAt
    }
}

/// What a command run in a container did: its exit code and what it wrote on each stream.
public struct ExecResult: Sendable, Equatable {
    public var exitCode: Int32
    public var stdout: Data
    public var stderr: Data

    public init(exitCode: Int32, stdout: Data = Data(), stderr: Data = Data()) {
        self.exitCode = exitCode
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// Something a stack put on the engine, as teardown lists and removes it.
public struct DeployedObject: Sendable, Equatable, CustomStringConvertible {
    /// In the order teardown removes them: services first (swarm stops scheduling), then their
    /// containers, then what containers were using.
    public enum Kind: String, Sendable, CaseIterable {
        case service, container, volume, network, secret, config
    }

    public var kind: Kind
    public var id: String
    public var name: String

    public init(kind: Kind, id: String, name: String) {
        self.kind = kind
        self.id = id
        self.name = name
    }

    /// "volume app_ci_example_content".
    public var description: String { "\(kind.rawValue) \(name)" }
}
