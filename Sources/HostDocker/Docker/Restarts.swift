import Foundation

/// How often the containers of a stack's services stopped on their own since a deploy. Swarm keeps
/// only a few old tasks per slot, so the engine's `die` events are counted, not tasks.
public enum Restarts {
    /// Per service (its name in the stack, without `<stack>_`): the `die` events of its containers
    /// in `events`, except those of tasks swarm stopped on purpose (an update replacing the task, a
    /// scale-down), as far as `tasks` still shows them. Services without one are left out.
    public static func count(events: [DockerEvent], tasks: [SwarmTask], stack: String) -> [String: Int] {
        let stopped = Set(tasks.filter { $0.desiredState != .running && $0.state == .shutdown }.map(\.id))
        var counts: [String: Int] = [:]
        for event in events where event.type == "container" && event.action == "die" {
            guard let service = event.attributes["com.docker.swarm.service.name"],
                  !stopped.contains(event.attributes["com.docker.swarm.task.id"] ?? "") else { continue }
            let prefix = stack + "_"
            counts[service.hasPrefix(prefix) ? String(service.dropFirst(prefix.count)) : service, default: 0] += 1
        }
        return counts
    }

    /// "app 2, db 1", sorted by service; nil when nothing restarted.
    public static func summary(_ counts: [String: Int]) -> String? {
        counts.isEmpty ? nil : counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }
}
