import Foundation
import HostBase

/// What the engine reports of each service of a stack, for plugins (`AppContext.serviceStates`):
/// read from tasks and container states, never by running anything in the app's images.
public enum ServiceStates {
    /// Per service (the stack's prefix removed): up-to-date tasks swarm wants running whose container
    /// runs, the replicas wanted, and the worst healthcheck verdict of those containers (unhealthy,
    /// then starting, then healthy, then none).
    public static func evaluate(stack: String, services: [SwarmService], tasks: [SwarmTask],
                                containers: [String: ContainerState]) -> [String: AppContext.ServiceState] {
        var states: [String: AppContext.ServiceState] = [:]
        for service in services {
            let name = service.name.hasPrefix(stack + "_") ? String(service.name.dropFirst(stack.count + 1)) : service.name
            let running = tasks
                .filter { $0.serviceID == service.id && $0.desiredState == .running && $0.state == .running && $0.isUpToDate(with: service) }
                .compactMap { $0.containerID.flatMap { containers[$0] } }
                .filter { $0.status == "running" }
            let health = [ContainerHealth.unhealthy, .starting, .healthy].first { verdict in running.contains { $0.health == verdict } } ?? .none
            states[name] = AppContext.ServiceState(running: running.count, wanted: service.replicas, health: health.rawValue)
        }
        return states
    }

    /// The stack's services as the engine reports them now. A container gone between listing its
    /// task and inspecting it does not run.
    public static func read(from docker: any Docker, stack: String) throws(DockerError) -> [String: AppContext.ServiceState] {
        let services = try docker.services(stack: stack)
        let tasks = try docker.tasks(stack: stack)
        var containers: [String: ContainerState] = [:]
        for task in tasks where task.desiredState == .running && task.state == .running {
            guard let id = task.containerID else { continue }
            do { containers[id] = try docker.containerState(id: id, stack: stack) } catch where error.kind == .missing { continue }
        }
        return evaluate(stack: stack, services: services, tasks: tasks, containers: containers)
    }
}
