#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Where a deployed stack stands.
public enum ConvergenceState: Sendable, Equatable, CustomStringConvertible {
    /// Every service runs its desired replicas, no update or rollback is under way, and every
    /// container with a healthcheck is healthy.
    case converged
    /// Not there yet; each reason says what is still awaited.
    case waiting(reasons: [String])
    /// It will not get there by waiting; each reason says what went wrong.
    case failed(reasons: [String])

    public var description: String {
        switch self {
        case .converged: "converged"
        case .waiting(let reasons): "still waiting: " + reasons.joined(separator: "; ")
        case .failed(let reasons): "failed: " + reasons.joined(separator: "; ")
        }
    }
}

/// Is a stack converged, as abra sees it? A pure decision over what the engine reports (`evaluate`),
/// and a loop that polls the Engine API for it (`wait`).
///
/// A failed task is the restart policy at work: apps restart until their database is up (swarm
/// ignores `depends_on`), so waiting goes on until the deadline. It stops early only when swarm
/// itself gives up, or what it retries cannot succeed.
public enum Convergence {
    /// Decides whether the stack described by `services`, their `tasks` and the `containers` of
    /// their tasks (keyed by container ID) is converged:
    /// - every service runs as many up-to-date tasks as it wants replicas (a task counts when both
    ///   its desired and its actual state are `running`; a global service, every task it wants running);
    /// - no service is `updating`; a `paused` update or any rollback is a failure;
    /// - every running container of an up-to-date task is, when it has a healthcheck, healthy; a
    ///   running `unhealthy` one (the engine says so only after the healthcheck's retries) is a
    ///   failure. An exited container's health does not matter: its task failed, and swarm replaces it.
    /// - a failed task is waited out, unless swarm will not replace it: its service's restart
    ///   condition is `none`, or a slot's failures used up `max_attempts`; or retrying cannot help:
    ///   the image cannot be found, or no node suits a pending task. Only tasks of the service's
    ///   current spec whose timestamp is not before `failuresSince` (when given) count.
    ///
    /// No services at all is waiting: the stack is not deployed (yet).
    public static func evaluate(services: [SwarmService], tasks: [SwarmTask], containers: [String: ContainerState],
                                failuresSince: Date? = nil) -> ConvergenceState {
        guard !services.isEmpty else { return .waiting(reasons: ["the stack has no services yet"]) }
        var waiting: [String] = [], failures: [String] = []
        for service in services.sorted(by: { $0.name < $1.name }) {
            let own = tasks.filter { $0.serviceID == service.id }
            let verdict = evaluate(service, tasks: own, containers: containers, failuresSince: failuresSince)
            waiting += verdict.waiting
            failures += verdict.failures + givenUp(service, tasks: own, failuresSince: failuresSince)
        }
        if !failures.isEmpty { return .failed(reasons: failures) }
        if !waiting.isEmpty { return .waiting(reasons: waiting) }
        return .converged
    }

    private static func evaluate(_ service: SwarmService, tasks: [SwarmTask], containers: [String: ContainerState],
                                 failuresSince: Date?) -> (waiting: [String], failures: [String]) {
        let name = service.name
        var waiting: [String] = [], failures: [String] = []
        let update = service.updateMessage.map { ": \($0)" } ?? ""
        switch service.updateState {
        case nil, .completed?:
            break
        case .updating?:
            waiting.append("service \(name) is still updating")
        case .paused?:
            failures.append("service \(name)'s update is paused after a failure\(update)")
        case let state? where [.rollbackStarted, .rollbackPaused, .rollbackCompleted].contains(state):
            failures.append("service \(name)'s update failed and was rolled back (\(state.rawValue))\(update)")
        case let other?:
            waiting.append("service \(name) is in update state \(other.rawValue)")
        }

        let wanted = tasks.filter { $0.desiredState == .running }.sorted { ($0.slot ?? 0, $0.id) < ($1.slot ?? 0, $1.id) }
        // Right after a redeploy, and during a start-first update, tasks of the previous spec still
        // run: the stack has not converged on what was deployed until swarm has replaced them.
        for task in wanted where !task.isUpToDate(with: service) {
            waiting.append("service \(name): task \(label(task)) still runs the previous spec")
        }
        let active = wanted.filter { $0.isUpToDate(with: service) }
        let running = active.filter { $0.state == .running }
        for task in active {
            guard let id = task.containerID, let container = containers[id] else {
                if task.state == .running { waiting.append("service \(name): the container of running task \(label(task)) is not inspected yet") }
                continue
            }
            guard container.status == "running" else {
                // Exited (or not started yet): whatever its healthcheck said, swarm replaces the task.
                if task.state == .running { waiting.append("service \(name): container \(short(id)) of task \(label(task)) is \(container.status)") }
                continue
            }
            switch container.health {
            case .unhealthy:
                let output = container.lastHealthOutput.map { "; its last healthcheck said: \($0)" } ?? ""
                failures.append("service \(name): container \(short(id)) of task \(label(task)) is unhealthy\(output)")
            case .starting where task.state == .running:
                waiting.append("service \(name): container \(short(id)) of task \(label(task)) is not healthy yet")
            case .none, .healthy, .starting:
                break
            }
        }

        let desired = service.replicas ?? active.count
        if running.count != desired || (service.replicas == nil && active.isEmpty) {
            let others = active.filter { $0.state != .running }
                .map { "\(label($0)) \($0.state.rawValue)" + ($0.error.map { " (\($0))" } ?? "") }
            let detail = others.isEmpty ? "" : "; " + others.joined(separator: ", ")
            waiting.append("service \(name): \(running.count)/\(service.replicas.map(String.init) ?? "global") replicas running\(detail)")
        }
        // What the restart policy is working through, so that a wait that ends at the deadline says why.
        let failed = recent(tasks, of: service, since: failuresSince).filter { $0.state == .failed || $0.state == .rejected }
        if !waiting.isEmpty, let last = failed.max(by: { ($0.timestamp ?? .distantPast) < ($1.timestamp ?? .distantPast) }) {
            waiting.append("service \(name): \(failed.count) task(s) failed and swarm replaces them, the last with: \(last.error ?? last.state.rawValue)")
        }
        return (waiting, failures)
    }

    /// Why waiting for `service` cannot help: swarm will not replace a failed task, or what it
    /// retries cannot succeed. Empty while swarm's restart policy may still get there.
    private static func givenUp(_ service: SwarmService, tasks: [SwarmTask], failuresSince: Date?) -> [String] {
        let name = service.name, policy = service.restartPolicy
        let recent = recent(tasks, of: service, since: failuresSince)
        let failed = recent.filter { $0.state == .failed || $0.state == .rejected }
        var reasons: [String] = []
        func why(_ task: SwarmTask) -> String { task.error.map { ": \($0)" } ?? "" }

        if policy.condition == "none", let task = failed.last {
            reasons.append("service \(name): task \(label(task)) \(task.state.rawValue)\(why(task)), and its restart condition is none")
        }
        // Swarm restarts a slot `max_attempts` times, then gives up: the first try and every restart
        // failed. (With a `window`, only attempts within it count, which tasks alone cannot tell; and
        // swarm keeps only a few old tasks per slot, so a large `max_attempts` is waited out.)
        if policy.condition != "none", policy.maxAttempts > 0, policy.window == 0 {
            for (slot, slotFailures) in Dictionary(grouping: failed, by: \.slot).sorted(by: { ($0.key ?? 0) < ($1.key ?? 0) })
            where slotFailures.count > policy.maxAttempts {
                let last = slotFailures.max { ($0.timestamp ?? .distantPast) < ($1.timestamp ?? .distantPast) }
                reasons.append("service \(name): \(slot.map { "slot #\($0)" } ?? "its tasks") failed \(slotFailures.count) times"
                               + ", using up max_attempts \(policy.maxAttempts)\(last.map(why) ?? "")")
            }
        }
        // The engine's words: "No such image: x:1", "pull access denied for x, repository does not exist …".
        if let task = failed.last(where: { task in
            task.error.map { $0.localizedCaseInsensitiveContains("no such image") || $0.contains("does not exist") } ?? false
        }) {
            reasons.append("service \(name): the image of task \(label(task)) cannot be found\(why(task))")
        }
        if let task = recent.last(where: { $0.state == .pending && ($0.error?.localizedCaseInsensitiveContains("no suitable node") ?? false) }) {
            reasons.append("service \(name): task \(label(task)) cannot be placed\(why(task))")
        }
        return reasons
    }

    /// The tasks of `service`'s current spec whose timestamp is not before `since` (when given).
    private static func recent(_ tasks: [SwarmTask], of service: SwarmService, since: Date?) -> [SwarmTask] {
        tasks.filter { task in
            task.isUpToDate(with: service) && (since.map { since in task.timestamp.map { $0 >= since } ?? true } ?? true)
        }
    }

    /// Polls the Engine API (services, tasks, then the containers of the tasks meant to run) every
    /// `interval` until the stack `stack` is converged or failed, or `deadline` passes; then it
    /// answers `.waiting` with what it was still waiting for. Each poll is a few requests on the
    /// engine's socket: no process is spawned per poll.
    ///
    /// Tasks failed before this call do not count (see `evaluate`), so a stack redeployed after
    /// earlier trouble is judged on what happens now. Objects vanishing between two requests
    /// of one poll (a task replaced, a container removed) make that poll wait, not fail.
    public static func wait(api: DockerAPI, stack: String, deadline: Date, interval: TimeInterval = 0.25,
                            stop: () -> Bool = { false }) throws(DockerAPIError) -> ConvergenceState {
        // A second of slack: the engine's task timestamps and this clock may round differently.
        let since = Date().addingTimeInterval(-1)
        while true {
            let state = try observe(api: api, stack: stack, since: since)
            if case .waiting(let reasons) = state {
                let left = deadline.timeIntervalSinceNow
                guard left > 0 else { return state }
                guard !stop() else { return .waiting(reasons: ["stopped waiting: the run was cancelled"] + reasons) }
                sleep(seconds: min(max(interval, 0.01), left))
                continue
            }
            return state
        }
    }

    /// One poll: what the engine says now, evaluated.
    public static func observe(api: DockerAPI, stack: String, since: Date? = nil) throws(DockerAPIError) -> ConvergenceState {
        let services = try api.services(stack: stack)
        let tasks: [SwarmTask]
        do {
            tasks = try api.tasks(services: services.map(\.id))
        } catch where error.status == 404 {
            return .waiting(reasons: ["a service of the stack disappeared while it was being read: \(error.engineMessage ?? "")"])
        }
        var containers: [String: ContainerState] = [:]
        for task in tasks where task.desiredState == .running {
            guard let id = task.containerID else { continue }
            do {
                containers[id] = try api.container(id: id)
            } catch where error.status == 404 {
                continue
            }
        }
        return evaluate(services: services, tasks: tasks, containers: containers, failuresSince: since)
    }

    private static func sleep(seconds: TimeInterval) {
        let whole = seconds.rounded(.down)
        var request = timespec(tv_sec: Int(whole), tv_nsec: Int((seconds - whole) * 1e9))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }

    private static func label(_ task: SwarmTask) -> String {
        task.slot.map { "#\($0)" } ?? short(task.id)
    }

    private static func short(_ id: String) -> String { String(id.prefix(12)) }
}
