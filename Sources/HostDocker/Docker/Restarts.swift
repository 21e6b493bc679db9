import Foundation

/// How often the containers of a stack's services stopped on their own since a deploy. Two witnesses,
/// each of which can miss some: the engine's `die` events (it keeps only its last few hundred, which
/// a busy engine's healthchecks overwrite within seconds) and the tasks that ended on their own
/// (swarm keeps only a few old tasks per slot). Per service, the larger count is the one that
/// missed less.
public enum Restarts {
    /// Per service (its name in the stack, without `<stack>_`): the larger of the `die` events of
    /// its containers in `events` (except those of tasks swarm stopped on purpose: an update
    /// replacing the task, a scale-down, as far as `tasks` still shows them) and its tasks that
    /// failed or completed since `deploy`. Services without one are left out.
    public static func count(events: [DockerEvent], tasks: [SwarmTask], services: [SwarmService], stack: String,
                             since deploy: Date) -> [String: Int] {
        let prefix = stack + "_"
        func short(_ service: String) -> String { service.hasPrefix(prefix) ? String(service.dropFirst(prefix.count)) : service }
        let stopped = Set(tasks.filter { $0.desiredState != .running && $0.state == .shutdown }.map(\.id))
        var died: [String: Int] = [:]
        for event in events where event.type == "container" && event.action == "die" {
            guard let service = event.attributes["com.docker.swarm.service.name"],
                  !stopped.contains(event.attributes["com.docker.swarm.task.id"] ?? "") else { continue }
            died[short(service), default: 0] += 1
        }
        let names = Dictionary(services.map { ($0.id, short($0.name)) }, uniquingKeysWith: { first, _ in first })
        var ended: [String: Int] = [:]
        for task in tasks where task.state == .failed || task.state == .complete {
            // A task with no time is not known to be this deploy's: not counted.
            guard let name = names[task.serviceID], let time = task.timestamp, time >= deploy else { continue }
            ended[name, default: 0] += 1
        }
        return died.merging(ended) { max($0, $1) }
    }

    /// "app 2, db 1", sorted by service; nil when nothing restarted.
    public static func summary(_ counts: [String: Int]) -> String? {
        counts.isEmpty ? nil : counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }
}
