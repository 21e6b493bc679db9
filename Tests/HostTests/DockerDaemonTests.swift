import Foundation
@testable import HostDocker
import Testing

// The `Docker` seam as cchost runs it (DockerDaemon, over the Engine API) against the real engine,
// in the suite of DockerAPITests: its shared service is the `app` service of a stack, with the
// stack's volume mounted at /data.
extension DockerAPITests {
    var docker: DockerDaemon { DockerDaemon(api: api) }

    func sharedContainer() throws -> ServiceContainer {
        let fixture = try ConvergedService.require()
        return try docker.runningContainer(stack: fixture.service.stack, service: fixture.service.short)
    }

    // MARK: Containers

    @Test("Docker: runningContainer finds the running container of a stack's service")
    func seamRunningContainer() throws {
        let fixture = try ConvergedService.require()
        let container = try sharedContainer()
        #expect(container.id == (try runningContainer()))
        #expect(container.stack == fixture.service.stack)
        #expect(container.service == "app")
    }

    @Test("Docker: no running container of a service is .missing, naming the service and the stack")
    func seamNoRunningContainer() throws {
        let fixture = try ConvergedService.require()
        let error = #expect(throws: DockerError.self) { try docker.runningContainer(stack: fixture.service.stack, service: "db") }
        #expect(error?.kind == .missing)
        #expect(error?.description == "find the running container of db (stack \(fixture.service.stack)) failed: no container of service \(fixture.service.stack)_db is running")
    }

    @Test("Docker: mountPoint says where the stack's volume is mounted, and .missing for a volume it does not mount")
    func seamMountPoint() throws {
        let fixture = try ConvergedService.require()
        let container = try sharedContainer()
        #expect(try docker.mountPoint(of: fixture.service.volume, in: container) == "/data")
        let error = #expect(throws: DockerError.self) { try docker.mountPoint(of: "\(fixture.service.stack)_other", in: container) }
        #expect(error?.kind == .missing)
        #expect(error?.message.contains(fixture.service.volume) == true, "\(String(describing: error))")
    }

    // MARK: Exec

    @Test("Docker: exec answers exit code, stdout and stderr, with stdin fed in")
    func seamExec() throws {
        let container = try sharedContainer()
        let deadline = Date().addingTimeInterval(20)
        let result = try docker.exec(["sh", "-c", "cat; echo err >&2; exit 3"], in: container, stdin: Data("in\n".utf8), deadline: deadline)
        #expect(result == ExecResult(exitCode: 3, stdout: Data("in\n".utf8), stderr: Data("err\n".utf8)))
        // A shell that does not find a program ran: its 127 is a result.
        let missing = try docker.exec(["sh", "-c", "no-such-program"], in: container, deadline: deadline)
        #expect(missing.exitCode == 127)
        #expect(String(decoding: missing.stderr, as: UTF8.self).contains("no-such-program"))
    }

    @Test("Docker: a command the runtime cannot start is .notStarted with Docker's own message, never a result")
    func seamExecNotStarted() throws {
        let container = try sharedContainer()
        let error = #expect(throws: DockerError.self) {
            try docker.exec(["/no/such/command"], in: container, deadline: Date().addingTimeInterval(20))
        }
        #expect(error?.kind == .notStarted)
        #expect(error?.message.contains("/no/such/command") == true, "\(String(describing: error))")
        #expect(error?.description.hasPrefix("exec /no/such/command in container \(container.id.prefix(12)) (stack \(container.stack)) failed: ") == true,
                "\(String(describing: error))")
    }

    @Test("Docker: exec in a container that is gone is .missing with the engine's message; past its deadline, .timedOut")
    func seamExecFailures() throws {
        let fixture = try ConvergedService.require()
        let gone = ServiceContainer(id: "cchost-no-such-container-\(UUID().uuidString.lowercased())", stack: fixture.service.stack, service: "app")
        let error = #expect(throws: DockerError.self) { try docker.exec(["true"], in: gone, deadline: Date().addingTimeInterval(10)) }
        #expect(error?.kind == .missing)
        #expect(error?.message == "No such container: \(gone.id)")
        #expect(error?.stack == fixture.service.stack)

        let started = Date()
        let slow = #expect(throws: DockerError.self) {
            try docker.exec(["sleep", "5"], in: try sharedContainer(), deadline: Date().addingTimeInterval(1))
        }
        #expect(slow?.kind == .timedOut)
        #expect(Date().timeIntervalSince(started) < 3)
    }

    // MARK: Services

    @Test("Docker: serviceLabels are the service's deploy labels; a missing service is an error, never no labels")
    func seamServiceLabels() throws {
        let fixture = try ConvergedService.require()
        let labels = try docker.serviceLabels(stack: fixture.service.stack, service: "app")
        #expect(labels["cchost.test.on"] == "service")
        #expect(labels["com.docker.stack.namespace"] == fixture.service.stack)
        let error = #expect(throws: DockerError.self) { try docker.serviceLabels(stack: fixture.service.stack, service: "db") }
        #expect(error?.kind == .missing)
        #expect(error?.message.contains("\(fixture.service.stack)_db") == true, "\(String(describing: error))")
    }

    @Test("Docker: services, tasks and logs of a stack")
    func seamServicesTasksLogs() throws {
        let fixture = try ConvergedService.require()
        #expect(try docker.services(stack: fixture.service.stack).map(\.name) == [fixture.service.name])
        let tasks = try docker.tasks(stack: fixture.service.stack)
        #expect(tasks.contains { $0.state == .running && $0.containerID == (try? runningContainer()) })
        var logs = ""
        let deadline = Date().addingTimeInterval(10)
        repeat {
            logs = try docker.serviceLogs(stack: fixture.service.stack, service: "app", tail: 50)
            if logs.contains(SharedDockerService.printedOnStderr) { break }
            Thread.sleep(forTimeInterval: 0.25)
        } while Date() < deadline
        #expect(logs.contains(SharedDockerService.printed) && logs.contains(SharedDockerService.printedOnStderr), "\(logs)")
    }

    @Test("Docker: the events of a stack include its container's start")
    func seamEvents() throws {
        let fixture = try ConvergedService.require()
        let events = try fixture.stackEventsAtConvergence.get()
        #expect(events.contains { $0.type == "container" && $0.action == "start" && $0.attributes["com.docker.swarm.service.name"] == fixture.service.name },
                "\(events.map { "\($0.type) \($0.action)" })")
        #expect(events.allSatisfy { $0.attributes["com.docker.stack.namespace"] == fixture.service.stack })
    }

    @Test("Docker: waitForConvergence answers converged for the running stack, and waiting for a stack that is not there")
    func seamConvergence() throws {
        let fixture = try ConvergedService.require()
        #expect(try docker.waitForConvergence(stack: fixture.service.stack, deadline: Date().addingTimeInterval(30)) == .converged)
        let absent = try docker.waitForConvergence(stack: fixture.service.stack + "-none", deadline: Date().addingTimeInterval(0.3))
        #expect(absent == .waiting(reasons: ["the stack has no services yet"]))
    }

    @Test("Docker: removeServices removes a stack's services and returns once its containers are gone")
    func seamRemoveServices() throws {
        try DockerFixture.withService(healthCommand: "true") { service in
            _ = try docker.waitForConvergence(stack: service.stack, deadline: Date().addingTimeInterval(60))
            try docker.removeServices(stack: service.stack, timeout: 30)
            #expect(try docker.services(stack: service.stack).isEmpty)
            #expect(try api.containers(labels: ["com.docker.stack.namespace": service.stack], all: true).isEmpty)
            try docker.removeServices(stack: service.stack, timeout: 30) // nothing left: nothing to do
        }
    }

    // MARK: What the swarm holds

    @Test("Docker: stacks lists the stack with its services and creation time; swarmObjects lists a secret")
    func seamStacksAndSecrets() throws {
        let fixture = try ConvergedService.require()
        let stack = try #require(try docker.stacks().first { $0.name == fixture.service.stack })
        #expect(stack.services == 1)
        #expect(abs(try #require(stack.createdAt).timeIntervalSince(fixture.created)) < 60)

        let name = Self.uniqueName("secret")
        let created = try run("/bin/sh", ["-c", "printf value | docker secret create --label \(DockerFixture.runLabel)=\(DockerFixture.runID) \(name) -"])
        try #require(created.status == 0, "\(created.stderr)")
        defer { _ = try? run(DockerFixture.docker, ["secret", "rm", name]) }
        #expect(try docker.swarmObjects(.secret).contains { $0.name == name && $0.kind == .secret })
    }

    // MARK: Volumes

    @Test("Docker: volumes are created with labels, listed by label with their folder, and removed (a gone one too)")
    func seamVolumes() throws {
        let name = Self.uniqueName("volume")
        let labels = [DockerFixture.runLabel: DockerFixture.runID, "cchost.test.volume": name]
        defer { try? docker.removeVolumes([name]) }
        try docker.createVolume(name, labels: labels)
        let listed = try docker.volumes(labels: ["cchost.test.volume": name])
        #expect(listed.map(\.name) == [name])
        #expect(listed.first?.labels == labels)
        let folder = try docker.volumeMountpoint(name)
        #expect(listed.first?.mountpoint == folder)
        #expect(FileManager.default.fileExists(atPath: folder))
        try docker.removeVolumes([name, name + "-never-created"])
        #expect(try docker.volumes(labels: ["cchost.test.volume": name]).isEmpty)
        let error = #expect(throws: DockerError.self) { try docker.volumeMountpoint(name) }
        #expect(error?.kind == .missing)
        #expect(error?.description.contains("volume \(name)") == true)
    }

    @Test("Docker: a volume in use is not removed, and the error names it with Docker's reason")
    func seamVolumeInUse() throws {
        let fixture = try ConvergedService.require()
        let error = #expect(throws: DockerError.self) { try docker.removeVolumes([fixture.service.volume]) }
        #expect(error?.message.contains("\(fixture.service.volume): ") == true && error?.message.contains("in use") == true,
                "\(String(describing: error))")
    }
}

/// What DockerDaemon decides from the engine's answers, without the engine.
@Suite("DockerDaemon decisions")
struct DockerDaemonDecisionTests {
    static let refusal = "OCI runtime exec failed: exec failed: container_linux.go:380: starting container process caused: exec: \"wget\": executable file not found in $PATH: unknown"

    @Test("only the runtime's refusal to start a command is a command that never ran", arguments: [
        (127, refusal + "\r\n", "", refusal), (126, "OCI runtime exec failed: permission denied", "", "OCI runtime exec failed: permission denied"),
        (127, "", "sh: wget: not found\n", nil), (127, refusal, "also on stderr", nil), (0, refusal, "", nil), (1, refusal, "", nil),
        (126, "plain output", "", nil),
    ] as [(Int32, String, String, String?)])
    func runtimeRefusal(exitCode: Int32, stdout: String, stderr: String, refusal: String?) {
        let result = ExecResult(exitCode: exitCode, stdout: Data(stdout.utf8), stderr: Data(stderr.utf8))
        #expect(DockerDaemon.runtimeRefusal(result) == refusal)
    }

    @Test("an Engine API failure keeps the engine's message and says what kind of failure it is", arguments: [
        (DockerAPIError.rejected(method: "GET", path: "/services/s_app", status: 404, message: "service s_app not found"), DockerError.Kind.missing, "service s_app not found"),
        (.rejected(method: "POST", path: "/containers/c/exec", status: 409, message: "Container c is not running"), .conflict, "Container c is not running"),
        (.rejected(method: "GET", path: "/volumes", status: 500, message: "boom"), .failed, "boom"),
        (.execTimedOut(container: "c", command: ["sleep", "9"], seconds: 1), .timedOut, DockerAPIError.execTimedOut(container: "c", command: ["sleep", "9"], seconds: 1).description),
        (.unreachable(socketPath: "/run/x.sock", method: "GET", path: "/version", reason: "No such file or directory"), .unreachable,
         DockerAPIError.unreachable(socketPath: "/run/x.sock", method: "GET", path: "/version", reason: "No such file or directory").description),
    ])
    func apiErrors(error: DockerAPIError, kind: DockerError.Kind, message: String) {
        let docker = DockerError(error, operation: "do it", stack: "s", container: "c")
        #expect(docker.kind == kind)
        #expect(docker.message == message)
        #expect(docker.description == "do it in container c (stack s) failed: \(message)")
    }
}
