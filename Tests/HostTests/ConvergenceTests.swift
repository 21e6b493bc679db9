import Foundation
import HostBase
import HostDocker
import Testing

/// `Convergence.evaluate` as a truth table: what the engine reports in, converged / waiting / failed out.
@Suite("Convergence decision")
struct ConvergenceTests {
    /// The expected answer, with a phrase every reason list of that kind must contain.
    enum Expected: Sendable, CustomStringConvertible {
        case converged
        case waiting(String)
        case failed(String)

        var description: String {
            switch self {
            case .converged: "converged"
            case .waiting(let phrase): "waiting (\(phrase))"
            case .failed(let phrase): "failed (\(phrase))"
            }
        }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var services: [SwarmService]
        var tasks: [SwarmTask]
        var containers: [String: ContainerState] = [:]
        var failuresSince: Date? = nil
        var expected: Expected
        var testDescription: String { "\(name) → \(expected)" }
    }

    static let start = Date(timeIntervalSince1970: 1_700_000_000)

    static func service(_ name: String = "app", replicas: Int? = 1, update: SwarmService.UpdateState? = nil,
                        message: String? = nil, restart: SwarmService.RestartPolicy = .init()) -> SwarmService {
        SwarmService(id: "svc-\(name)", name: "stack_\(name)", replicas: replicas, updateState: update, updateMessage: message,
                     restartPolicy: restart)
    }

    static func task(_ id: String, of service: String = "app", slot: Int? = 1, desired: SwarmTask.TaskState = .running,
                     state: SwarmTask.TaskState, error: String? = nil, container: String? = nil,
                     at offset: TimeInterval = 10) -> SwarmTask {
        SwarmTask(id: id, serviceID: "svc-\(service)", slot: slot, desiredState: desired, state: state, error: error,
                  containerID: container, timestamp: start.addingTimeInterval(offset))
    }

    static let running = ContainerState(status: "running")
    static let healthy = ContainerState(status: "running", health: .healthy)

    /// A container spec as the engine reports it, with the image and a field the engine fills in.
    static func spec(_ image: String, grace: Int64? = nil) -> JSONValue {
        var fields: [String: JSONValue] = ["Image": .string(image), "Env": .array([.string("A=1")])]
        if let grace { fields["StopGracePeriod"] = .integer(grace) }
        return .object(fields)
    }

    static func redeployed(_ tasks: [SwarmTask]) -> Case {
        var service = service()
        service.containerSpec = spec("app:2", grace: 10_000_000_000)
        return Case(name: "", services: [service], tasks: tasks, containers: ["c1": running, "c2": running], expected: .converged)
    }

    static func withSpec(_ task: SwarmTask, _ image: String) -> SwarmTask {
        var task = task
        task.containerSpec = spec(image)
        return task
    }

    static let cases: [Case] = [
        {
            var old = redeployed([withSpec(task("t1", state: .running, container: "c1"), "app:1")])
            old.name = "right after a redeploy, the only running task still runs the previous spec"
            old.expected = .waiting("still runs the previous spec")
            return old
        }(),
        {
            var both = redeployed([withSpec(task("t1", state: .running, container: "c1"), "app:1"),
                                   withSpec(task("t2", state: .running, container: "c2", at: 20), "app:2")])
            both.name = "during a start-first update, the old task still runs beside the new one"
            both.expected = .waiting("still runs the previous spec")
            return both
        }(),
        {
            var done = redeployed([withSpec(task("t1", desired: .shutdown, state: .running, container: "c1"), "app:1"),
                                   withSpec(task("t2", state: .running, container: "c2", at: 20), "app:2")])
            done.name = "the new task runs the service's spec (fields the engine fills in differ), the old one is shutting down"
            return done
        }(),
        Case(name: "one replica running without a healthcheck",
             services: [service()], tasks: [task("t1", state: .running, container: "c1")],
             containers: ["c1": running], expected: .converged),
        Case(name: "one replica running and healthy",
             services: [service()], tasks: [task("t1", state: .running, container: "c1")],
             containers: ["c1": healthy], expected: .converged),
        Case(name: "a running task whose healthcheck has not passed yet",
             services: [service()], tasks: [task("t1", state: .running, container: "c1")],
             containers: ["c1": ContainerState(status: "running", health: .starting)], expected: .waiting("not healthy yet")),
        Case(name: "a task swarm holds in starting until its container is healthy",
             services: [service()], tasks: [task("t1", state: .starting, container: "c1")],
             containers: ["c1": ContainerState(status: "running", health: .starting)],
             expected: .waiting("0/1 replicas running; #1 starting")),
        Case(name: "an unhealthy container, after its retries",
             services: [service()], tasks: [task("t1", state: .starting, container: "c1")],
             containers: ["c1": ContainerState(status: "running", health: .unhealthy, lastHealthOutput: "connection refused")],
             expected: .failed("is unhealthy; its last healthcheck said: connection refused")),
        Case(name: "one of two replicas running",
             services: [service(replicas: 2)],
             tasks: [task("t1", state: .running, container: "c1"), task("t2", slot: 2, state: .preparing)],
             containers: ["c1": running], expected: .waiting("1/2 replicas running; #2 preparing")),
        Case(name: "more tasks running than replicas while an update overlaps old and new",
             services: [service(replicas: 1)],
             tasks: [task("t1", state: .running, container: "c1"), task("t2", state: .running, container: "c2")],
             containers: ["c1": running, "c2": running], expected: .waiting("2/1 replicas running")),
        Case(name: "an update in progress, even with the replicas running",
             services: [service(update: .updating)], tasks: [task("t1", state: .running, container: "c1")],
             containers: ["c1": running], expected: .waiting("is still updating")),
        Case(name: "a completed update",
             services: [service(update: .completed)], tasks: [task("t1", state: .running, container: "c1")],
             containers: ["c1": running], expected: .converged),
        Case(name: "a paused update",
             services: [service(update: .paused, message: "update paused due to failure")],
             tasks: [task("t1", state: .running, container: "c1")],
             containers: ["c1": running], expected: .failed("update is paused after a failure: update paused due to failure")),
        Case(name: "a rollback under way",
             services: [service(update: .rollbackStarted)], tasks: [task("t1", state: .running, container: "c1")],
             containers: ["c1": running], expected: .failed("rolled back (rollback_started)")),
        Case(name: "a completed rollback, with the old version running",
             services: [service(update: .rollbackCompleted)], tasks: [task("t1", state: .running, container: "c1")],
             containers: ["c1": running], expected: .failed("rolled back (rollback_completed)")),
        Case(name: "a paused rollback",
             services: [service(update: .rollbackPaused)], tasks: [task("t1", state: .running, container: "c1")],
             containers: ["c1": running], expected: .failed("rollback_paused")),
        Case(name: "a task restarting again and again (its database is not up yet) is waited for",
             services: [service()],
             tasks: [task("t1", desired: .shutdown, state: .failed, error: "task: non-zero exit (1)", at: 1),
                     task("t2", desired: .shutdown, state: .failed, error: "task: non-zero exit (2)", at: 3),
                     task("t3", desired: .shutdown, state: .failed, error: "task: non-zero exit (3)", at: 2),
                     task("t4", state: .preparing)],
             expected: .waiting("3 task(s) failed and swarm replaces them, the last with: task: non-zero exit (2)")),
        Case(name: "an exited container that was unhealthy is ignored: its task failed and swarm replaces it",
             services: [service()],
             tasks: [task("t1", state: .failed, error: "task: non-zero exit (143)", container: "c1")],
             containers: ["c1": ContainerState(status: "exited", health: .unhealthy, exitCode: 143)],
             expected: .waiting("0/1 replicas running; #1 failed")),
        Case(name: "a running up-to-date container that is unhealthy fails",
             services: [service()], tasks: [task("t1", state: .running, container: "c1")],
             containers: ["c1": ContainerState(status: "running", health: .unhealthy)], expected: .failed("is unhealthy")),
        Case(name: "a running unhealthy container of the previous spec is waited out, not judged",
             services: [{ var s = service(); s.containerSpec = spec("app:2"); return s }()],
             tasks: [withSpec(task("t1", state: .running, container: "c1"), "app:1")],
             containers: ["c1": ContainerState(status: "running", health: .unhealthy)],
             expected: .waiting("still runs the previous spec")),
        Case(name: "a failed task of a service whose restart condition is none fails: swarm will not replace it",
             services: [service(restart: .init(condition: "none"))],
             tasks: [task("t1", desired: .shutdown, state: .failed, error: "task: non-zero exit (1)")],
             expected: .failed("failed: task: non-zero exit (1), and its restart condition is none")),
        Case(name: "a slot whose failures used up max_attempts fails: swarm gave up",
             services: [service(restart: .init(condition: "on-failure", maxAttempts: 2))],
             tasks: [task("t1", desired: .shutdown, state: .failed, error: "exit 1", at: 1),
                     task("t2", desired: .shutdown, state: .failed, error: "exit 1", at: 2),
                     task("t3", desired: .shutdown, state: .failed, error: "exit 3", at: 3)],
             expected: .failed("slot #1 failed 3 times, using up max_attempts 2: exit 3")),
        Case(name: "a slot with restarts left under max_attempts is waited for",
             services: [service(restart: .init(condition: "on-failure", maxAttempts: 2))],
             tasks: [task("t1", desired: .shutdown, state: .failed, error: "exit 1", at: 1),
                     task("t2", desired: .shutdown, state: .failed, error: "exit 1", at: 2),
                     task("t3", state: .starting, at: 3)],
             expected: .waiting("0/1 replicas running")),
        Case(name: "max_attempts with a window is waited out: only attempts within the window count",
             services: [service(restart: .init(condition: "any", maxAttempts: 1, window: 60))],
             tasks: [task("t1", desired: .shutdown, state: .failed, at: 1), task("t2", desired: .shutdown, state: .failed, at: 2),
                     task("t3", state: .pending, at: 3)],
             expected: .waiting("0/1 replicas running")),
        Case(name: "an image that cannot be found fails",
             services: [service()],
             tasks: [task("t1", desired: .shutdown, state: .rejected, error: "No such image: gone:1", at: 1),
                     task("t2", state: .pending, at: 2)],
             expected: .failed("the image of task #1 cannot be found: No such image: gone:1")),
        Case(name: "an image whose repository does not exist fails",
             services: [service()],
             tasks: [task("t1", state: .rejected,
                          error: "pull access denied for gone, repository does not exist or may require 'docker login'")],
             expected: .failed("cannot be found: pull access denied")),
        Case(name: "a pending task no node suits fails",
             services: [service()],
             tasks: [task("t1", state: .pending, error: "no suitable node (scheduling constraints not satisfied on 1 node)")],
             expected: .failed("task #1 cannot be placed: no suitable node")),
        Case(name: "failures of the previous spec do not use up the current spec's max_attempts",
             services: [{ var s = service(restart: .init(maxAttempts: 1)); s.containerSpec = spec("app:2"); return s }()],
             tasks: [withSpec(task("t1", desired: .shutdown, state: .failed, at: 1), "app:1"),
                     withSpec(task("t2", desired: .shutdown, state: .failed, at: 2), "app:1"),
                     withSpec(task("t3", state: .running, container: "c3", at: 3), "app:2")],
             containers: ["c3": healthy], expected: .converged),
        Case(name: "a healthy running up-to-date container converges after earlier restarts",
             services: [service()],
             tasks: [task("t1", desired: .shutdown, state: .failed, error: "exit 1", at: 1),
                     task("t2", state: .running, container: "c2", at: 2)],
             containers: ["c2": healthy], expected: .converged),
        Case(name: "earlier failures do not matter once the service runs",
             services: [service()],
             tasks: [task("t1", desired: .shutdown, state: .failed, at: 1), task("t2", desired: .shutdown, state: .failed, at: 2),
                     task("t3", desired: .shutdown, state: .failed, at: 3), task("t4", state: .running, container: "c4")],
             containers: ["c4": running], expected: .converged),
        Case(name: "failures from before the deploy being watched do not count",
             services: [service(restart: .init(condition: "none"))],
             tasks: [task("t1", desired: .shutdown, state: .failed, at: 1), task("t2", desired: .shutdown, state: .failed, at: 2),
                     task("t3", desired: .shutdown, state: .failed, at: 3), task("t4", state: .preparing, at: 20)],
             failuresSince: start.addingTimeInterval(5), expected: .waiting("0/1 replicas running")),
        Case(name: "a task history of shut-down tasks does not count as running",
             services: [service()],
             tasks: [task("old", desired: .shutdown, state: .running, container: "c0"), task("t1", state: .assigned)],
             containers: ["c0": running], expected: .waiting("0/1 replicas running; #1 assigned")),
        Case(name: "no services: nothing deployed yet",
             services: [], tasks: [], expected: .waiting("no services yet")),
        Case(name: "a service scaled to zero",
             services: [service(replicas: 0)], tasks: [], expected: .converged),
        Case(name: "a global service with every task running",
             services: [service(replicas: nil)],
             tasks: [task("t1", slot: nil, state: .running, container: "c1"), task("t2", slot: nil, state: .running, container: "c2")],
             containers: ["c1": running, "c2": healthy], expected: .converged),
        Case(name: "a global service with a task still preparing",
             services: [service(replicas: nil)],
             tasks: [task("t1", slot: nil, state: .running, container: "c1"), task("t2", slot: nil, state: .preparing)],
             containers: ["c1": running], expected: .waiting("1/global replicas running")),
        Case(name: "a global service with no task scheduled yet",
             services: [service(replicas: nil)], tasks: [], expected: .waiting("0/global replicas running")),
        Case(name: "a running task whose container is not inspected yet",
             services: [service()], tasks: [task("t1", state: .running, container: "c1")],
             expected: .waiting("is not inspected yet")),
        Case(name: "a running task whose container has exited",
             services: [service()], tasks: [task("t1", state: .running, container: "c1")],
             containers: ["c1": ContainerState(status: "exited", exitCode: 1)], expected: .waiting("is exited")),
        Case(name: "one converged service and one still starting",
             services: [service("db"), service("web")],
             tasks: [task("d1", of: "db", state: .running, container: "cd"), task("w1", of: "web", state: .pending)],
             containers: ["cd": healthy], expected: .waiting("stack_web: 0/1 replicas running")),
        Case(name: "tasks of other services do not count",
             services: [service("web")],
             tasks: [task("d1", of: "db", state: .running, container: "cd")],
             containers: ["cd": running], expected: .waiting("stack_web: 0/1 replicas running")),
        Case(name: "a failure in one service fails the stack while another still waits",
             services: [service("db"), service("web")],
             tasks: [task("d1", of: "db", state: .starting, container: "cd"), task("w1", of: "web", state: .pending)],
             containers: ["cd": ContainerState(status: "running", health: .unhealthy)], expected: .failed("stack_db")),
    ]

    @Test("evaluate decides", arguments: cases)
    func evaluate(_ example: Case) {
        let state = Convergence.evaluate(services: example.services, tasks: example.tasks, containers: example.containers,
                                         failuresSince: example.failuresSince)
        switch (example.expected, state) {
        case (.converged, .converged):
            break
        case (.waiting(let phrase), .waiting(let reasons)), (.failed(let phrase), .failed(let reasons)):
            #expect(reasons.contains { $0.contains(phrase) }, "no reason says \"\(phrase)\": \(reasons)")
        default:
            Issue.record("expected \(example.expected), got \(state)")
        }
    }

    @Test("a waiting stack says what each service still waits for, and nothing about converged ones")
    func waitingReasonsAreSpecific() {
        let state = Convergence.evaluate(
            services: [Self.service("db"), Self.service("web", replicas: 2)],
            tasks: [Self.task("d1", of: "db", state: .running, container: "cd"),
                    Self.task("w1", of: "web", state: .running, container: "cw"),
                    Self.task("w2", of: "web", slot: 2, state: .starting, container: "cx")],
            containers: ["cd": Self.healthy, "cw": Self.healthy, "cx": ContainerState(status: "running", health: .starting)])
        #expect(state == .waiting(reasons: ["service stack_web: 1/2 replicas running; #2 starting"]))
    }
}
