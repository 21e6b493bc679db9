import Foundation
import HostBase

/// The Docker daemon of this machine, through its Engine API: the `Docker` cchost runs with.
/// Every call is a few requests on the engine's socket; no process is spawned.
public struct DockerDaemon: Docker {
    public let api: DockerAPI
    /// Seconds between two looks at a stack while waiting for it to converge.
    public var pollInterval: Double = 0.25

    public init(api: DockerAPI = DockerAPI()) {
        self.api = api
    }

    static let stackLabel = "com.docker.stack.namespace"

    // MARK: Containers

    public func runningContainer(stack: String, service: String) throws(DockerError) -> ServiceContainer {
        let operation = "find the running container of \(service)"
        let name = "\(stack)_\(service)"
        let running = try asking(operation, stack: stack) { () throws(DockerAPIError) -> ContainerSummary? in
            let found = try api.containers(labels: ["com.docker.swarm.service.name": name], all: false).filter { $0.state == "running" }
            guard !found.isEmpty else { return nil }
            // During a start-first update the old task's container still runs for a while: the
            // service's container is the one of an up-to-date task swarm wants running.
            let service = try api.service(name)
            let current = Set(try api.tasks(service: name).filter { $0.desiredState == .running && $0.isUpToDate(with: service) }
                .compactMap(\.containerID))
            return found.first { current.contains($0.id) }
        }
        guard let running else {
            throw DockerError(.missing, operation: operation, stack: stack, message: "no container of service \(name) is running")
        }
        return ServiceContainer(id: running.id, stack: stack, service: service)
    }

    public func mountPoint(of volume: String, in container: ServiceContainer) throws(DockerError) -> String {
        let operation = "find where volume \(volume) is mounted"
        let mounts = try asking(operation, stack: container.stack, container: container.id) { () throws(DockerAPIError) in
            try api.mounts(container: container.id)
        }
        guard let mount = mounts.first(where: { $0.name == volume }) else {
            throw DockerError(.missing, operation: operation, stack: container.stack, container: container.id,
                              message: "the container does not mount it (it mounts \(mounts.compactMap(\.name).joined(separator: ", ")))")
        }
        return mount.destination
    }

    public func exec(_ command: [String], in container: ServiceContainer, stdin: Data?, deadline: Date) throws(DockerError) -> ExecResult {
        let operation = "exec \(Self.shortened(command))"
        let result = try asking(operation, stack: container.stack, container: container.id) { () throws(DockerAPIError) in
            try api.exec(container: container.id, command: command, stdin: stdin, timeout: max(0, deadline.timeIntervalSinceNow))
        }
        if let refusal = Self.runtimeRefusal(result) {
            throw DockerError(.notStarted, operation: operation, stack: container.stack, container: container.id, message: refusal)
        }
        return result
    }

    /// When the runtime could not start the command at all, the engine answers 126 (not executable)
    /// or 127 (not found) with the runtime's error on stdout, e.g. `OCI runtime exec failed: exec
    /// failed: … "wget": executable file not found in $PATH: unknown`: that message. A command that
    /// ran and exited 126 or 127 itself (a shell not finding a program) is a result, not this.
    static func runtimeRefusal(_ result: ExecResult) -> String? {
        guard result.exitCode == 126 || result.exitCode == 127, result.stderr.isEmpty else { return nil }
        let said = String(decoding: result.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return said.hasPrefix("OCI runtime exec failed") || said.hasPrefix("exec failed") ? said : nil
    }

    // MARK: Services

    public func services(stack: String) throws(DockerError) -> [SwarmService] {
        try asking("list the services", stack: stack) { () throws(DockerAPIError) in try api.services(stack: stack) }
    }

    public func serviceLabels(stack: String, service: String) throws(DockerError) -> [String: String] {
        try asking("read the deploy labels of \(service)", stack: stack) { () throws(DockerAPIError) in
            try api.service("\(stack)_\(service)").labels
        }
    }

    public func serviceLogs(stack: String, service: String, tail: Int) throws(DockerError) -> String {
        try asking("read the logs of \(service)", stack: stack) { () throws(DockerAPIError) in
            try api.serviceLogs(service: "\(stack)_\(service)", tail: tail)
        }
    }

    public func tasks(stack: String) throws(DockerError) -> [SwarmTask] {
        try asking("list the tasks", stack: stack) { () throws(DockerAPIError) in try api.tasks(stack: stack) }
    }

    public func containerState(id: String, stack: String) throws(DockerError) -> ContainerState {
        try asking("inspect the container", stack: stack, container: id) { () throws(DockerAPIError) in try api.container(id: id) }
    }

    public func events(stack: String, since: Date, until: Date) throws(DockerError) -> [DockerEvent] {
        try asking("read the events", stack: stack) { () throws(DockerAPIError) in
            try api.events(since: since, until: until, filters: ["label": ["\(Self.stackLabel)=\(stack)"]])
        }
    }

    public func waitForConvergence(stack: String, deadline: Date, stop: @Sendable () -> Bool) throws(DockerError) -> ConvergenceState {
        try asking("watch the convergence", stack: stack) { () throws(DockerAPIError) in
            try Convergence.wait(api: api, stack: stack, deadline: deadline, interval: pollInterval, stop: stop)
        }
    }

    public func removeServices(stack: String, timeout: Double) throws(DockerError) {
        let operation = "remove the services"
        let deadline = Date().addingTimeInterval(timeout)
        try asking(operation, stack: stack) { () throws(DockerAPIError) in
            for service in try api.services(stack: stack) {
                do throws(DockerAPIError) { try api.removeService(service.id) } catch where error.status == 404 { continue }
            }
        }
        while true {
            let looked = Date()
            let left = try asking(operation, stack: stack) { () throws(DockerAPIError) in
                try api.containers(labels: [Self.stackLabel: stack], all: true)
            }
            if left.isEmpty { return }
            guard Date() < deadline else {
                throw DockerError(.timedOut, operation: operation, stack: stack,
                                  message: "\(left.count) container(s) of the stack did not stop within \(Int(timeout)) s")
            }
            awaitContainers(of: stack, since: looked, until: deadline)
        }
    }

    // MARK: Teardown

    public func stackObjects(_ kind: DeployedObject.Kind, stack: String) throws(DockerError) -> [DeployedObject] {
        let labels = [Self.stackLabel: stack]
        return try asking("list the \(kind.rawValue)s", stack: stack) { () throws(DockerAPIError) -> [DeployedObject] in
            switch kind {
            case .service:
                return try api.services(labels: labels).map { DeployedObject(kind: kind, id: $0.id, name: $0.name) }
            case .container:
                return try api.containers(labels: labels, all: true)
                    .map { DeployedObject(kind: kind, id: $0.id, name: $0.names.first ?? $0.id) }.sorted { $0.name < $1.name }
            case .volume:
                return try api.volumes(labels: labels).map { DeployedObject(kind: kind, id: $0.name, name: $0.name) }
            case .network:
                return try api.networks(labels: labels).map { DeployedObject(kind: kind, id: $0.id, name: $0.name) }
            case .secret, .config:
                let swarmKind: SwarmObject.Kind = kind == .secret ? .secret : .config
                return try api.swarmObjects(swarmKind)
                    .filter { $0.labels[Self.stackLabel] == stack || $0.name.hasPrefix(stack + "_") }
                    .map { DeployedObject(kind: kind, id: $0.id, name: $0.name) }
            }
        }
    }

    public func remove(_ object: DeployedObject) throws(DockerError) {
        do throws(DockerAPIError) {
            switch object.kind {
            case .service: try api.removeService(object.id)
            case .container: try api.removeContainer(object.id)
            // Not forced: a forced removal the driver fails still drops the engine's record of the
            // volume, and its data would stay with nothing left to say so.
            case .volume: try api.removeVolume(object.id)
            case .network: try api.removeNetwork(object.id)
            case .secret: try api.removeSwarmObject(.secret, id: object.id)
            case .config: try api.removeSwarmObject(.config, id: object.id)
            }
        } catch where error.status == 404 {
            return
        } catch {
            throw DockerError(error, operation: "remove \(object)")
        }
    }

    public func unfinishedTasks(ofServices serviceIDs: Set<String>) throws(DockerError) -> [SwarmTask] {
        guard !serviceIDs.isEmpty else { return [] }
        // Whatever their desired state: swarm marks a deleted service's tasks for removal a moment
        // after the deletion returns, and an agent preparing one may still start its container.
        let stopped: Set<SwarmTask.TaskState> = [.complete, .shutdown, .failed, .rejected, .remove, .orphaned]
        return try asking("list the tasks of the removed services") { () throws(DockerAPIError) in
            try api.allTasks().filter { serviceIDs.contains($0.serviceID) && !stopped.contains($0.state) }
        }
    }

    public func awaitStackEvent(stack: String, since: Date, timeout: Double) throws(DockerError) -> Bool {
        try asking("watch the events", stack: stack) { () throws(DockerAPIError) in
            try api.awaitEvent(since: since, filters: ["type": ["container"], "label": ["\(Self.stackLabel)=\(stack)"]],
                               timeout: timeout)
        }
    }

    public func freshVolumes(stack: String, timeout: Double) throws(DockerError) {
        let operation = "give the services fresh volumes"
        let replicated = try services(stack: stack).compactMap { service in service.replicas.map { (service, $0) } }
        guard !replicated.isEmpty else {
            throw DockerError(.failed, operation: operation, stack: stack, message: "the stack has no replicated service")
        }
        let deadline = Date().addingTimeInterval(timeout)
        var scaledDown: [(SwarmService, Int)] = []
        do {
            try asking(operation, stack: stack) { () throws(DockerAPIError) in
                for (service, replicas) in replicated {
                    try api.scaleService(service.id, replicas: 0)
                    scaledDown.append((service, replicas))
                }
            }
            try removeContainers(of: Set(replicated.map(\.0.name)), stack: stack, until: deadline, operation: operation)
            try removeVolumes(try volumes(labels: [Self.stackLabel: stack]).map(\.name))
        } catch {
            // The app is not left scaled down: what was scaled down comes back (on its old volumes).
            // Kept: the failure thrown is what the restore records (never a pass); a service this
            // cannot bring back is seen by teardown, which removes it whatever its scale.
            for (service, replicas) in scaledDown { try? api.scaleService(service.id, replicas: replicas) }
            throw error
        }
        try asking(operation, stack: stack) { () throws(DockerAPIError) in
            for (service, replicas) in replicated { try api.scaleService(service.id, replicas: replicas) }
        }
    }

    /// Waits, on the stack's container events, until no container of `services` (full names)
    /// runs, killing what still runs at the deadline (its data is being thrown away); then removes
    /// their containers. One swarm is already removing counts as removed.
    private func removeContainers(of services: Set<String>, stack: String, until deadline: Date, operation: String) throws(DockerError) {
        while true {
            let looked = Date()
            let left = try asking(operation, stack: stack) { () throws(DockerAPIError) in
                try api.containers(labels: [Self.stackLabel: stack], all: true)
                    .filter { services.contains($0.labels["com.docker.swarm.service.name"] ?? "") }
            }
            if left.isEmpty { return }
            if left.allSatisfy({ $0.state != "running" && $0.state != "restarting" }) || Date() >= deadline {
                try asking(operation, stack: stack) { () throws(DockerAPIError) in
                    for container in left {
                        do throws(DockerAPIError) { try api.removeContainer(container.id) } catch where [404, 409].contains(error.status) {
                            continue
                        }
                    }
                }
            }
            guard Date() < deadline.addingTimeInterval(5) else {
                throw DockerError(.timedOut, operation: operation, stack: stack,
                                  message: "\(left.count) container(s) of the stack were still there after they were killed")
            }
            awaitContainers(of: stack, since: looked, until: deadline.addingTimeInterval(5))
        }
    }

    /// Until the stack's next container event (a stop, a removal), at most a second: the bound only
    /// looks again in case one was missed, or the events cannot be read.
    private func awaitContainers(of stack: String, since looked: Date, until deadline: Date) {
        let bound = min(1, max(0.05, deadline.timeIntervalSinceNow))
        do { _ = try awaitStackEvent(stack: stack, since: looked, timeout: bound) } catch {
            Thread.sleep(forTimeInterval: bound)
        }
    }

    // MARK: What the swarm holds

    public func stacks() throws(DockerError) -> [SwarmStack] {
        let services = try asking("list the stacks") { () throws(DockerAPIError) in try api.services(labels: [Self.stackLabel: ""]) }
        let byStack = Dictionary(grouping: services) { $0.labels[Self.stackLabel] ?? "" }
        return byStack.map { name, services in
            SwarmStack(name: name, services: services.count, createdAt: services.compactMap(\.createdAt).min(),
                       owners: Set(services.compactMap { $0.labels[StateIdentity.label] }))
        }.sorted { $0.name < $1.name }
    }

    public func swarmObjects(_ kind: SwarmObject.Kind) throws(DockerError) -> [SwarmObject] {
        try asking("list the \(kind.rawValue)s") { () throws(DockerAPIError) in try api.swarmObjects(kind) }
    }

    // MARK: Volumes

    public func volumes(labels: [String: String]) throws(DockerError) -> [DockerVolume] {
        let selectors = DockerAPI.labelSelectors(labels).joined(separator: ", ")
        return try asking("list the volumes labelled \(selectors)") { () throws(DockerAPIError) in try api.volumes(labels: labels) }
    }

    public func createVolume(_ name: String, labels: [String: String]) throws(DockerError) {
        _ = try asking("create volume \(name)") { () throws(DockerAPIError) in try api.createVolume(name, labels: labels) }
    }

    public func volumeMountpoint(_ name: String) throws(DockerError) -> String {
        try asking("find the folder of volume \(name)") { () throws(DockerAPIError) in try api.volume(name).mountpoint }
    }

    public func removeVolumes(_ names: [String]) throws(DockerError) {
        var problems: [String] = []
        for name in names {
            do { try api.removeVolume(name, force: true) } catch where error.status == 404 { continue } catch {
                problems.append("\(name): \(error.engineMessage ?? error.description)")
            }
        }
        guard problems.isEmpty else {
            throw DockerError(.failed, operation: "remove volumes \(names.joined(separator: ", "))", message: problems.joined(separator: "; "))
        }
    }

    // MARK: Errors

    /// Runs one Engine API request (or a few) for `operation`, turning its failure into a `DockerError`.
    private func asking<T>(_ operation: String, stack: String? = nil, container: String? = nil,
                           _ body: () throws(DockerAPIError) -> T) throws(DockerError) -> T {
        do { return try body() } catch { throw DockerError(error, operation: operation, stack: stack, container: container) }
    }

    /// A command as an error names it: its words, at most 80 characters.
    static func shortened(_ command: [String]) -> String {
        let text = command.joined(separator: " ")
        return text.count > 80 ? text.prefix(79) + "…" : text
    }
}
