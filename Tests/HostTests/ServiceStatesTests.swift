import Foundation
@testable import HostBase
@testable import HostDocker
import Testing

/// What plugins are told of each service, decided from the engine's tasks and containers.
@Suite("Service states for plugins")
struct ServiceStatesTests {
    static let stack = "app_ci_example"

    static func task(_ id: String, of service: String, desired: SwarmTask.TaskState = .running,
                     state: SwarmTask.TaskState = .running) -> SwarmTask {
        SwarmTask(id: "t-\(id)", serviceID: service, slot: 1, desiredState: desired, state: state, containerID: id)
    }

    @Test("per service: running containers of tasks swarm wants running, the replicas wanted, the worst health",
          arguments: [
            // (containers of the app's running tasks, expected running, expected health)
            ([ContainerState(status: "running", health: .healthy)], 1, "healthy"),
            ([ContainerState(status: "running", health: .healthy), ContainerState(status: "running", health: .starting)], 2, "starting"),
            ([ContainerState(status: "running", health: .starting), ContainerState(status: "running", health: .unhealthy)], 2, "unhealthy"),
            ([ContainerState(status: "running")], 1, "none"),
            ([ContainerState(status: "exited", health: .unhealthy, exitCode: 1)], 0, "none"),
            ([], 0, "none"),
          ] as [([ContainerState], Int, String)])
    func statesFromTheEngine(states: [ContainerState], running: Int, health: String) {
        let services = [SwarmService(id: "s-app", name: "\(Self.stack)_app", replicas: states.count)]
        let tasks = states.indices.map { Self.task("c\($0)", of: "s-app") } + [Self.task("old", of: "s-app", desired: .shutdown, state: .failed)]
        var containers = Dictionary(uniqueKeysWithValues: states.enumerated().map { ("c\($0.offset)", $0.element) })
        containers["old"] = ContainerState(status: "running", health: .unhealthy)  // a task swarm no longer wants counts for nothing
        let found = ServiceStates.evaluate(stack: Self.stack, services: services, tasks: tasks, containers: containers)
        #expect(found == ["app": AppContext.ServiceState(running: running, wanted: states.count, health: health)])
    }

    @Test("read from the engine: a container gone between listing its task and inspecting it does not run")
    func readSkipsGoneContainers() throws {
        let folder = try TemporaryDirectory()
        let docker = FakeDocker(root: folder.url) {
            $0.services[Self.stack] = [SwarmService(id: "s-db", name: "\(Self.stack)_db", replicas: 2)]
            $0.tasks[Self.stack] = [Self.task("c1", of: "s-db"), Self.task("gone", of: "s-db")]
            $0.containerStates["c1"] = ContainerState(status: "running", health: .healthy)
        }
        let found = try ServiceStates.read(from: docker, stack: Self.stack)
        #expect(found == ["db": AppContext.ServiceState(running: 1, wanted: 2, health: "healthy")])
        #expect(!docker.calls.contains { $0.hasPrefix("exec") })
    }
}
