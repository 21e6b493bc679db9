import Foundation
@testable import HostDocker
import Synchronization

/// `Docker` in memory, for fast tests of its callers: the test sets the containers, mounts, labels,
/// exec answers, volumes, convergence results and failures; the fake records every call. Volumes
/// get real folders under `root`, so callers that copy files through mountpoints work as on a node.
final class FakeDocker: Docker {
    /// One call, as the test reads it back: the method and what it named, e.g.
    /// `"exec c1 cat /data/x"`, `"runningContainer s/app"`, `"createVolume v"`.
    typealias Call = String

    struct State {
        /// Per `stack/service`: the containers successive calls find, the last one for every call
        /// after it; nil: none is running then.
        var containers: [String: [String?]] = [:]
        /// Per container: volume name → where it is mounted.
        var mounts: [String: [String: String]] = [:]
        /// How exec answers (by default: exit 0, no output).
        var exec: @Sendable (_ command: [String], _ container: ServiceContainer, _ stdin: Data?) throws(DockerError) -> ExecResult = { _, _, _ in
            ExecResult(exitCode: 0)
        }
        /// Per `stack/service`: deploy labels. A service not here is `.missing`.
        var labels: [String: [String: String]] = [:]
        var services: [String: [SwarmService]] = [:]
        var tasks: [String: [SwarmTask]] = [:]
        /// Per container id: its state; a container not here is `.missing`.
        var containerStates: [String: ContainerState] = [:]
        var logs: [String: String] = [:]
        var events: [String: [DockerEvent]] = [:]
        /// What successive waits answer, the last one for every wait after it.
        var convergence: [ConvergenceState] = [.converged]
        /// The deadline of each wait, in order.
        var deadlines: [Date] = []
        var stacks: [SwarmStack] = []
        /// Per stack: what teardown finds of it; removals take objects out.
        var stackObjects: [String: [DeployedObject]] = [:]
        /// Objects that come back once after their removal (a container a lagging agent starts).
        var reappearing: [DeployedObject] = []
        /// Objects whose removal fails (per `failures["remove.<kind>"]`) and still takes them off the
        /// listing: an engine that dropped its record and kept the data.
        var vanishingOnFailure: [DeployedObject] = []
        /// Tasks swarm is still removing, per service ID; each `awaitStackEvent` finishes one round.
        var unfinishedTasks: [[SwarmTask]] = [[]]
        var swarmObjects: [SwarmObject] = []
        /// By name; created ones get a folder under `root`.
        var volumes: [String: DockerVolume] = [:]
        /// Per method name (`"volumes"`, `"exec"`, …): the error every call of it throws.
        var failures: [String: DockerError] = [:]
        var calls: [Call] = []
    }

    let root: URL
    let state: Mutex<State>

    /// `root`: where volume folders go (a test's temporary folder).
    init(root: URL, _ configure: (inout State) -> Void = { _ in }) {
        self.root = root
        var initial = State()
        configure(&initial)
        state = Mutex(initial)
    }

    /// Changes what the fake answers from now on.
    func update(_ change: (inout State) -> Void) { state.withLock { change(&$0) } }

    var calls: [Call] { state.withLock { $0.calls } }

    /// Records the call, then throws the failure set for `method`, if any.
    private func called(_ method: String, _ detail: String) throws(DockerError) {
        let failure = state.withLock { state -> DockerError? in
            state.calls.append("\(method) \(detail)")
            return state.failures[method]
        }
        if let failure { throw failure }
    }

    /// The next of a list of answers, keeping the last for good.
    private static func next<T>(_ answers: inout [T]) -> T? {
        answers.count > 1 ? answers.removeFirst() : answers.first
    }

    // MARK: Containers

    func runningContainer(stack: String, service: String) throws(DockerError) -> ServiceContainer {
        try called("runningContainer", "\(stack)/\(service)")
        let id = state.withLock { Self.next(&$0.containers["\(stack)/\(service)", default: []]) ?? nil }
        guard let id else {
            throw DockerError(.missing, operation: "find the running container of \(service)", stack: stack,
                              message: "no container of service \(stack)_\(service) is running")
        }
        return ServiceContainer(id: id, stack: stack, service: service)
    }

    func mountPoint(of volume: String, in container: ServiceContainer) throws(DockerError) -> String {
        try called("mountPoint", "\(container.id) \(volume)")
        guard let mount = state.withLock({ $0.mounts[container.id]?[volume] }) else {
            throw DockerError(.missing, operation: "find where volume \(volume) is mounted", stack: container.stack,
                              container: container.id, message: "the container does not mount it")
        }
        return mount
    }

    func exec(_ command: [String], in container: ServiceContainer, stdin: Data?, deadline: Date) throws(DockerError) -> ExecResult {
        try called("exec", "\(container.id) \(command.joined(separator: " "))")
        return try state.withLock { $0.exec }(command, container, stdin)
    }

    // MARK: Services

    func services(stack: String) throws(DockerError) -> [SwarmService] {
        try called("services", stack)
        return state.withLock { $0.services[stack] ?? [] }
    }

    func serviceLabels(stack: String, service: String) throws(DockerError) -> [String: String] {
        try called("serviceLabels", "\(stack)/\(service)")
        guard let labels = state.withLock({ $0.labels["\(stack)/\(service)"] }) else {
            throw DockerError(.missing, operation: "read the deploy labels of \(service)", stack: stack,
                              message: "service \(stack)_\(service) not found")
        }
        return labels
    }

    func serviceLogs(stack: String, service: String, tail: Int) throws(DockerError) -> String {
        try called("serviceLogs", "\(stack)/\(service)")
        return state.withLock { $0.logs["\(stack)/\(service)"] ?? "" }
    }

    func tasks(stack: String) throws(DockerError) -> [SwarmTask] {
        try called("tasks", stack)
        return state.withLock { $0.tasks[stack] ?? [] }
    }

    func containerState(id: String, stack: String) throws(DockerError) -> ContainerState {
        try called("containerState", id)
        guard let found = state.withLock({ $0.containerStates[id] }) else {
            throw DockerError(.missing, operation: "inspect the container", stack: stack, message: "no such container: \(id)")
        }
        return found
    }

    func events(stack: String, since: Date, until: Date) throws(DockerError) -> [DockerEvent] {
        try called("events", stack)
        return state.withLock { $0.events[stack] ?? [] }.filter { $0.time >= since && $0.time <= until }
    }

    func waitForConvergence(stack: String, deadline: Date, stop: @Sendable () -> Bool) throws(DockerError) -> ConvergenceState {
        try called("waitForConvergence", stack)
        return state.withLock { state in
            state.deadlines.append(deadline)
            return Self.next(&state.convergence)
        } ?? .waiting(reasons: ["the stack has no services yet"])
    }

    func removeServices(stack: String, timeout: Double) throws(DockerError) {
        try called("removeServices", stack)
        state.withLock { $0.services[stack] = nil }
    }

    // MARK: Teardown
    // Failures per kind: `failures["stackObjects.volume"]`, `failures["remove.secret"]`.

    func stackObjects(_ kind: DeployedObject.Kind, stack: String) throws(DockerError) -> [DeployedObject] {
        try called("stackObjects.\(kind.rawValue)", stack)
        return state.withLock { $0.stackObjects[stack, default: []].filter { $0.kind == kind }.sorted { $0.name < $1.name } }
    }

    func remove(_ object: DeployedObject) throws(DockerError) {
        if state.withLock({ $0.vanishingOnFailure.contains(object) }) {
            state.withLock { state in for stack in state.stackObjects.keys { state.stackObjects[stack]?.removeAll { $0 == object } } }
        }
        try called("remove.\(object.kind.rawValue)", object.name)
        state.withLock { state in
            for stack in state.stackObjects.keys where state.stackObjects[stack]?.contains(object) == true {
                state.stackObjects[stack]?.removeAll { $0 == object }
                // Started again once, as by an agent that was still preparing its task.
                if let again = state.reappearing.firstIndex(of: object) {
                    state.reappearing.remove(at: again)
                    state.stackObjects[stack]?.append(object)
                }
            }
        }
    }

    func unfinishedTasks(ofServices serviceIDs: Set<String>) throws(DockerError) -> [SwarmTask] {
        try called("unfinishedTasks", serviceIDs.sorted().joined(separator: ","))
        return state.withLock { Self.next(&$0.unfinishedTasks) ?? [] }.filter { serviceIDs.contains($0.serviceID) }
    }

    func awaitStackEvent(stack: String, since: Date, timeout: Double) throws(DockerError) -> Bool {
        try called("awaitStackEvent", stack)
        return true
    }

    func freshVolumes(stack: String, timeout: Double) throws(DockerError) {
        try called("freshVolumes", stack)
    }

    // MARK: What the swarm holds

    func stacks() throws(DockerError) -> [SwarmStack] {
        try called("stacks", "")
        return state.withLock { $0.stacks }
    }

    func swarmObjects(_ kind: SwarmObject.Kind) throws(DockerError) -> [SwarmObject] {
        try called("swarmObjects", kind.rawValue)
        return state.withLock { $0.swarmObjects.filter { $0.kind == kind } }
    }

    // MARK: Volumes

    func volumes(labels: [String: String]) throws(DockerError) -> [DockerVolume] {
        try called("volumes", DockerAPI.labelSelectors(labels).joined(separator: ","))
        return state.withLock { $0.volumes.values }
            .filter { volume in labels.allSatisfy { key, value in volume.labels[key].map { value.isEmpty || $0 == value } ?? false } }
            .sorted { $0.name < $1.name }
    }

    func createVolume(_ name: String, labels: [String: String]) throws(DockerError) {
        try called("createVolume", name)
        let folder = root.appendingPathComponent("volumes/\(name)/_data")
        do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
            throw DockerError(.failed, operation: "create volume \(name)", message: "\(error)")
        }
        state.withLock { $0.volumes[name] = DockerVolume(name: name, labels: labels, mountpoint: folder.path) }
    }

    func volumeMountpoint(_ name: String) throws(DockerError) -> String {
        try called("volumeMountpoint", name)
        guard let volume = state.withLock({ $0.volumes[name] }) else {
            throw DockerError(.missing, operation: "find the folder of volume \(name)", message: "get \(name): no such volume")
        }
        return volume.mountpoint
    }

    func removeVolumes(_ names: [String]) throws(DockerError) {
        try called("removeVolumes", names.joined(separator: " "))
        for name in names {
            guard let volume = state.withLock({ $0.volumes.removeValue(forKey: name) }) else { continue }
            try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: volume.mountpoint).deletingLastPathComponent().path)
        }
    }
}
