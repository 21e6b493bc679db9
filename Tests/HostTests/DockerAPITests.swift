import Foundation
import HostBase
@testable import HostDocker
import Testing

// The Engine API client against the real engine: a swarm service made for the suite, watched with
// `Convergence.wait`, then read, exec'd into and removed. Everything the suite creates carries a
// label with this process's run ID; the suite fails if anything with that label is left.

/// What the suite creates, and how it is checked gone.
enum DockerFixture {
    static let docker = "/usr/bin/docker"
    static let image = "cchost-test/busybox:engine-tests"
    static let runLabel = "cchost.test.engine-run"
    static let runID = UUID().uuidString.lowercased()

    struct Failure: Error, CustomStringConvertible { var description: String }

    /// A throwaway busybox image built from the busybox-static binary (nothing can be pulled here).
    /// Built once per process; left in place afterwards, it is cheap.
    static let imageReady: Result<String, Failure> = {
        do {
            if try run(docker, ["image", "inspect", "--format", "{{.Id}}", image]).status == 0 { return .success(image) }
            let folder = try TemporaryDirectory("cchost-busybox")
            let root = folder.url.appendingPathComponent("root")
            let bin = root.appendingPathComponent("bin")
            try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(at: root.appendingPathComponent("tmp"), withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: bin.appendingPathComponent("busybox").path)
            let applets = try run("/bin/busybox", ["--list"]).stdout.split(separator: "\n").map(String.init)
            for applet in applets where applet != "busybox" {
                try FileManager.default.createSymbolicLink(atPath: bin.appendingPathComponent(applet).path, withDestinationPath: "busybox")
            }
            let tar = folder.file("busybox.tar")
            let packed = try run("/bin/tar", ["-C", root.path, "-cf", tar, "."])
            guard packed.status == 0 else { return .failure(Failure(description: "tar failed: \(packed.stderr)")) }
            let imported = try run(docker, ["import", "--change", "ENV PATH=/bin", tar, image])
            guard imported.status == 0 else { return .failure(Failure(description: "docker import failed: \(imported.stderr)")) }
            return .success(image)
        } catch {
            return .failure(Failure(description: "cannot build \(image): \(error)"))
        }
    }()

    /// A uniquely named stack's `app` service (named `<stack>_app`, as `docker stack deploy` names
    /// it), labelled with the run, with the stack's volume `<stack>_data` mounted at /data.
    struct Service: Sendable {
        let name: String
        let stack: String
        /// The service's name within its stack.
        let short = "app"
        var volume: String { "\(stack)_data" }

        init() {
            let unique = UUID().uuidString.lowercased().prefix(13).replacingOccurrences(of: "-", with: "")
            stack = "cchost-engine-test-\(unique)"
            name = "\(stack)_\(short)"
        }

        /// `docker service create`, not waiting (`--detach`) and not asking a registry for the image's digest.
        func create(healthCommand: String, command: [String]) throws {
            let image = try imageReady.get()
            let created = try run(docker, [
                "service", "create", "--detach", "--no-resolve-image", "--quiet",
                "--name", name,
                "--label", "com.docker.stack.namespace=\(stack)", "--label", "\(runLabel)=\(runID)",
                "--container-label", "com.docker.stack.namespace=\(stack)", "--container-label", "\(runLabel)=\(runID)",
                "--label", "cchost.test.on=service", "--container-label", "cchost.test.on=container",
                "--mount", "type=volume,source=\(volume),target=/data,volume-label=\(runLabel)=\(runID)",
                "--health-cmd", healthCommand, "--health-interval", "1s", "--health-timeout", "2s", "--health-retries", "1",
                "--stop-grace-period", "1s", "--restart-delay", "1s",
                image,
            ] + command)
            guard created.status == 0 else { throw Failure(description: "docker service create \(name) failed: \(created.stderr)") }
        }

        /// Removes the service, its containers (no waiting out grace periods) and its volume, then
        /// answers what of it is still there, as the docker CLI sees it.
        func remove() -> [String] {
            _ = try? run(docker, ["service", "rm", name])
            let containerFilter = "label=com.docker.swarm.service.name=\(name)"
            let deadline = Date().addingTimeInterval(60)
            var left: [String] = []
            repeat {
                let containers = (try? run(docker, ["ps", "-aq", "--filter", containerFilter]))?.stdout
                    .split(separator: "\n").map(String.init) ?? ["(docker ps failed)"]
                if !containers.isEmpty { _ = try? run(docker, ["rm", "-f"] + containers) }
                let services = (try? run(docker, ["service", "ls", "-q", "--filter", "name=\(name)"]))?.stdout
                    .split(separator: "\n").map(String.init) ?? ["(docker service ls failed)"]
                let remaining = (try? run(docker, ["ps", "-aq", "--filter", containerFilter]))?.stdout
                    .split(separator: "\n").map(String.init) ?? ["(docker ps failed)"]
                if remaining.isEmpty { _ = try? run(docker, ["volume", "rm", "-f", volume]) }
                let volumes = (try? run(docker, ["volume", "ls", "-q", "--filter", "name=\(volume)"]))?.stdout
                    .split(separator: "\n").map(String.init).filter { $0 == volume } ?? ["(docker volume ls failed)"]
                left = services.map { "service \($0)" } + remaining.map { "container \($0)" } + volumes.map { "volume \($0)" }
                if left.isEmpty { break }
                Thread.sleep(forTimeInterval: 0.5)
            } while Date() < deadline
            return left
        }
    }

    /// Runs `body` with a fresh service, and always removes it, recording anything left as an issue.
    static func withService<T>(healthCommand: String, command: [String] = ["sleep", "300"],
                               _ body: (Service) throws -> T) throws -> T {
        let service = Service()
        defer {
            let left = service.remove()
            #expect(left.isEmpty, "\(service.name) was not removed: \(left)")
        }
        try service.create(healthCommand: healthCommand, command: command)
        return try body(service)
    }

    /// `docker stack deploy` of a uniquely named stack (`cchost-test-<prefix>…`) whose one `app`
    /// service runs the suite's busybox image: `app` is the service's YAML below `image:`, `rest`
    /// the file's top-level sections after `services:`, both indented as in the file; `environment`
    /// is the deploy's per-call environment (the file's interpolation).
    static func deployStack(_ prefix: String, app: String, rest: String = "", environment: [String: String] = [:],
                            in folder: TemporaryDirectory) throws -> String {
        let stack = "cchost-test-\(prefix)\(UUID().uuidString.prefix(6).lowercased())"
        let compose = folder.url.appendingPathComponent("compose.yml")
        try "version: \"3.8\"\nservices:\n  app:\n    image: \(try imageReady.get())\n\(app)\n\(rest)\n"
            .write(to: compose, atomically: true, encoding: .utf8)
        try DockerCLI().deployStack(stack, composeFiles: [compose.path], environment: environment)
        return stack
    }

    /// Everything this process labelled, as the docker CLI lists it.
    static func leftovers() throws -> [String] {
        let services = try run(docker, ["service", "ls", "-q", "--filter", "label=\(runLabel)=\(runID)"])
        let containers = try run(docker, ["ps", "-aq", "--filter", "label=\(runLabel)=\(runID)"])
        let volumes = try run(docker, ["volume", "ls", "-q", "--filter", "label=\(runLabel)=\(runID)"])
        let secrets = try run(docker, ["secret", "ls", "-q", "--filter", "label=\(runLabel)=\(runID)"])
        let configs = try run(docker, ["config", "ls", "-q", "--filter", "label=\(runLabel)=\(runID)"])
        return (services.stdout.split(separator: "\n").map { "service \($0)" }
            + containers.stdout.split(separator: "\n").map { "container \($0)" }
            + volumes.stdout.split(separator: "\n").map { "volume \($0)" }
            + secrets.stdout.split(separator: "\n").map { "secret \($0)" }
            + configs.stdout.split(separator: "\n").map { "config \($0)" })
    }
}

/// The healthy service the suite's tests share, converged once.
struct ConvergedService: Sendable {
    var service: DockerFixture.Service
    var created: Date
    var convergence: ConvergenceState
    var secondsToConverge: Double
    /// The engine's events of the service's containers, read right after convergence: the engine
    /// replays past events from a small in-memory buffer, which other tests' execs soon overwrite.
    var eventsAtConvergence: Result<[DockerEvent], DockerAPIError>
    /// The same moment's events of the stack, asked through the `Docker` seam.
    var stackEventsAtConvergence: Result<[DockerEvent], DockerError>

    @TaskLocal static var current: Result<ConvergedService, DockerFixture.Failure>?

    static func require() throws -> ConvergedService {
        let current = try #require(current, "the suite's service was not set up")
        return try current.get()
    }
}

/// Creates the shared service before the suite, removes it after, and fails the suite if anything
/// labelled with this run is left, whatever happened in between.
struct SharedDockerService: SuiteTrait, TestScoping {
    static let printed = "cchost-engine-test says hello on stdout"
    static let printedOnStderr = "cchost-engine-test says hello on stderr"

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let service = DockerFixture.Service()
        let setup: Result<ConvergedService, DockerFixture.Failure>
        do {
            try service.create(healthCommand: "true", command: [
                "sh", "-c", "echo '\(Self.printed)'; echo '\(Self.printedOnStderr)' >&2; exec sleep 300"])
            let created = Date()
            let state = try Convergence.wait(api: DockerAPI(), stack: service.stack, deadline: created.addingTimeInterval(90))
            let seconds = Date().timeIntervalSince(created)
            let events = Result { () throws(DockerAPIError) -> [DockerEvent] in
                try DockerAPI().events(since: created.addingTimeInterval(-5), until: Date(),
                                          filters: ["label": ["com.docker.stack.namespace=\(service.stack)"], "type": ["container"]])
            }
            let stackEvents = Result { () throws(DockerError) -> [DockerEvent] in
                try DockerDaemon().events(stack: service.stack, since: created.addingTimeInterval(-5), until: Date())
            }
            print("DockerAPI suite: \(service.name) \(state) after \(String(format: "%.2f", seconds)) s")
            setup = .success(ConvergedService(service: service, created: created, convergence: state, secondsToConverge: seconds,
                                              eventsAtConvergence: events, stackEventsAtConvergence: stackEvents))
        } catch {
            setup = .failure(error as? DockerFixture.Failure ?? DockerFixture.Failure(description: "\(error)"))
        }
        do {
            try await ConvergedService.$current.withValue(setup) { try await function() }
        } catch {
            let left = service.remove()
            #expect(left.isEmpty, "\(service.name) was not removed: \(left)")
            throw error
        }
        let left = service.remove()
        #expect(left.isEmpty, "\(service.name) was not removed: \(left)")
        let labelled = try DockerFixture.leftovers()
        #expect(labelled.isEmpty, "objects labelled \(DockerFixture.runLabel)=\(DockerFixture.runID) are left: \(labelled)")
    }
}

extension Trait where Self == SharedDockerService {
    static var sharedDockerService: Self { Self() }
}

@Suite("DockerAPI against the real engine", .requiresDocker, .sharedDockerService)
struct DockerAPITests {
    let api = DockerAPI()

    // MARK: Convergence and state

    @Test("a service whose healthcheck passes converges through Convergence.wait")
    func healthyServiceConverges() throws {
        let fixture = try ConvergedService.require()
        #expect(fixture.convergence == .converged)
        #expect(fixture.secondsToConverge < 60)
    }

    @Test("services(stack:) lists the stack's service with its labels, replicas, image and update state")
    func servicesOfStack() throws {
        let fixture = try ConvergedService.require()
        let services = try api.services(stack: fixture.service.stack)
        let service = try #require(services.first)
        #expect(services.count == 1)
        #expect(service.name == fixture.service.name)
        #expect(service.replicas == 1)
        #expect(service.image == DockerFixture.image)
        #expect(service.labels["com.docker.stack.namespace"] == fixture.service.stack)
        #expect(service.containerLabels[DockerFixture.runLabel] == DockerFixture.runID)
        #expect(service.labels["cchost.test.on"] == "service")
        #expect(service.containerLabels["cchost.test.on"] == "container")
        #expect(service.updateState == nil)
        #expect(try api.services(stack: fixture.service.stack + "-none").isEmpty)
    }

    @Test("tasks(service:) shows one running task whose container is running and healthy")
    func tasksAndContainer() throws {
        let fixture = try ConvergedService.require()
        let service = try #require(try api.services(stack: fixture.service.stack).first)
        let tasks = try api.tasks(service: fixture.service.name)
        #expect(tasks == (try api.tasks(stack: fixture.service.stack)))
        let task = try #require(tasks.first { $0.desiredState == .running })
        #expect(task.serviceID == service.id)
        #expect(task.state == .running)
        #expect(task.slot == 1)
        #expect(task.error == nil)
        let timestamp = try #require(task.timestamp)
        #expect(abs(timestamp.timeIntervalSince(fixture.created)) < 120)
        let container = try api.container(id: try #require(task.containerID))
        #expect(container.status == "running")
        #expect(container.health == .healthy)
        #expect(container.exitCode == 0)
    }

    @Test("containers(labels:all:) finds the service's container by its labels, and nothing for another stack")
    func containersByLabel() throws {
        let fixture = try ConvergedService.require()
        let found = try api.containers(labels: ["com.docker.stack.namespace": fixture.service.stack,
                                                   "com.docker.swarm.service.name": fixture.service.name], all: false)
        let task = try #require(try api.tasks(service: fixture.service.name).first { $0.state == .running })
        #expect(found.map(\.id) == [task.containerID])
        #expect(found.first?.state == "running")
        #expect(found.first?.names.first?.hasPrefix(fixture.service.name + ".1.") == true)
        #expect(try api.containers(labels: ["com.docker.stack.namespace": fixture.service.stack + "-none"], all: true).isEmpty)
    }

    // MARK: Exec

    /// The ID of the shared service's running container.
    func runningContainer() throws -> String {
        let fixture = try ConvergedService.require()
        let task = try #require(try api.tasks(service: fixture.service.name).first { $0.state == .running })
        return try #require(task.containerID)
    }

    @Test("exec separates stdout from stderr and reports exit code 0")
    func execSeparatesStreams() throws {
        let result = try api.exec(container: try runningContainer(),
                                     command: ["sh", "-c", "echo out-one; echo err-one >&2; echo out-two"], timeout: 20)
        #expect(result.exitCode == 0)
        #expect(String(decoding: result.stdout, as: UTF8.self) == "out-one\nout-two\n")
        #expect(String(decoding: result.stderr, as: UTF8.self) == "err-one\n")
    }

    @Test("exec reports a command's non-zero exit code")
    func execNonZeroExit() throws {
        let result = try api.exec(container: try runningContainer(), command: ["sh", "-c", "echo failing >&2; exit 3"], timeout: 20)
        #expect(result.exitCode == 3)
        #expect(String(decoding: result.stderr, as: UTF8.self) == "failing\n")
        #expect(result.stdout.isEmpty)
    }

    @Test("exec streams stdin into the command and closes it, a megabyte round trip through cat")
    func execStreamsStdin() throws {
        var generator = SystemRandomNumberGenerator()
        let input = Data((0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let result = try api.exec(container: try runningContainer(), command: ["cat"], stdin: input, timeout: 30)
        #expect(result.exitCode == 0)
        #expect(result.stdout.count == input.count)
        #expect(result.stdout == input)
        #expect(result.stderr.isEmpty)
    }

    @Test("exec of a tar stream restores files, as a backup restore does")
    func execRestoresTar() throws {
        let container = try runningContainer()
        let packed = try api.exec(container: container, command: ["sh", "-c", "mkdir -p /tmp/src && echo marker-42 > /tmp/src/marker && tar -C /tmp/src -cf - ."], timeout: 20)
        #expect(packed.exitCode == 0)
        let restored = try api.exec(container: container, command: ["sh", "-c", "mkdir -p /tmp/dst && tar -C /tmp/dst -xf - && cat /tmp/dst/marker"],
                                       stdin: packed.stdout, timeout: 20)
        #expect(restored.exitCode == 0, "\(String(decoding: restored.stderr, as: UTF8.self))")
        #expect(String(decoding: restored.stdout, as: UTF8.self) == "marker-42\n")
    }

    @Test("exec of a command that does not exist is exit 126 or 127 with the runtime's message, never an empty success")
    func execMissingCommand() throws {
        let result = try api.exec(container: try runningContainer(), command: ["/no/such/command"], timeout: 20)
        #expect(result.exitCode == 126 || result.exitCode == 127)
        let said = String(decoding: result.stdout + result.stderr, as: UTF8.self)
        #expect(said.contains("/no/such/command"), "the runtime's message is missing: \(said)")
    }

    @Test("exec past its timeout throws execTimedOut instead of returning partial output")
    func execTimesOut() throws {
        let container = try runningContainer()
        let started = Date()
        let error = #expect(throws: DockerAPIError.self) {
            try api.exec(container: container, command: ["sh", "-c", "echo early; sleep 5"], timeout: 1)
        }
        #expect(error == .execTimedOut(container: container, command: ["sh", "-c", "echo early; sleep 5"], seconds: 1))
        #expect(Date().timeIntervalSince(started) < 3)
    }

    @Test("exec in a container that does not exist is an error naming the container")
    func execMissingContainer() throws {
        let missing = "cchost-no-such-container-\(UUID().uuidString.lowercased())"
        let error = #expect(throws: DockerAPIError.self) {
            try api.exec(container: missing, command: ["true"], timeout: 10)
        }
        #expect(error?.status == 404)
        #expect(error?.description.contains("POST /containers/\(missing)/exec") == true)
        #expect(error?.engineMessage?.contains(missing) == true)
    }

    // MARK: Diagnostics

    @Test("serviceLogs returns what the service printed on stdout and stderr")
    func serviceLogs() throws {
        let fixture = try ConvergedService.require()
        // The engine collects service logs from the node's log driver; give it a moment to have them.
        var logs = ""
        let deadline = Date().addingTimeInterval(10)
        repeat {
            logs = try api.serviceLogs(service: fixture.service.name, tail: 50)
            if logs.contains(SharedDockerService.printedOnStderr) { break }
            Thread.sleep(forTimeInterval: 0.25)
        } while Date() < deadline
        #expect(logs.contains(SharedDockerService.printed + "\n"))
        #expect(logs.contains(SharedDockerService.printedOnStderr + "\n"))
        #expect(!logs.contains("\u{1}\u{0}\u{0}\u{0}"), "frame headers were left in the logs")
    }

    @Test("events since the service was created include its container's start and health")
    func events() throws {
        let fixture = try ConvergedService.require()
        let events = try fixture.eventsAtConvergence.get()
        let actions = Set(events.map(\.action))
        #expect(actions.contains("start"), "\(actions)")
        #expect(actions.contains("health_status: healthy"), "\(actions)")
        #expect(events.allSatisfy { $0.type == "container" && $0.attributes["com.docker.swarm.service.name"] == fixture.service.name })
        let start = try #require(events.first { $0.action == "start" })
        #expect(abs(start.time.timeIntervalSince(fixture.created)) < 120)
    }

    // MARK: Errors and the API version

    @Test("the engine's API version is the one the docker CLI reports")
    func version() throws {
        let cli = try run(DockerFixture.docker, ["version", "--format", "{{.Server.APIVersion}}"])
        #expect(try api.version() == cli.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(try api.apiVersion() == DockerAPI.negotiate(preferred: DockerAPI.preferredAPIVersion,
                                                                 engineMaximum: try api.version(), engineMinimum: nil))
    }

    @Test("an error carries the method, path, status and the engine's own message")
    func errorsCarryTheEngineMessage() throws {
        let missing = "cchost-no-such-container-\(UUID().uuidString.lowercased())"
        do {
            _ = try api.container(id: missing)
            Issue.record("inspecting \(missing) did not fail")
        } catch {
            #expect(error == .rejected(method: "GET", path: "/containers/\(missing)/json", status: 404,
                                       message: "No such container: \(missing)"))
            #expect(error.description == "the Docker engine refused GET /containers/\(missing)/json with HTTP 404: No such container: \(missing)")
        }
    }

    // MARK: Fresh volumes

    @Test("fresh volumes: a stack's service scaled to 0 and back with its spec otherwise untouched, on a new, empty volume")
    func freshVolumesKeepTheSpec() throws {
        let folder = try TemporaryDirectory()
        let stack = try DockerFixture.deployStack("fresh", app: """
                command: ["sleep", "600"]
                init: true
                volumes: [data:/data]
                labels: [cchost.test.on=container]
                deploy: {labels: [cchost.test.on=service]}
            """, rest: """
            volumes:
              data:
            """, in: folder)
        let docker = DockerDaemon(api: api)
        defer { #expect(StackTeardown(docker: docker).run(stack: stack).isClean) }
        #expect(try Convergence.wait(api: api, stack: stack, deadline: Date().addingTimeInterval(60)) == .converged)
        let before = try api.service("\(stack)_app")
        try "old".write(toFile: try api.volume("\(stack)_data").mountpoint + "/old", atomically: true, encoding: .utf8)

        try docker.freshVolumes(stack: stack, timeout: 30)
        let after = try api.service("\(stack)_app")
        #expect(after.replicas == 1)
        #expect(after.labels == before.labels && after.containerLabels == before.containerLabels && after.image == before.image)
        #expect(after.containerSpec == before.containerSpec)
        #expect(try Convergence.wait(api: api, stack: stack, deadline: Date().addingTimeInterval(60)) == .converged)
        #expect(!FileManager.default.fileExists(atPath: try api.volume("\(stack)_data").mountpoint + "/old"))
    }

    @Test("fresh volumes of a stack with no replicated service is an error, never a silent no-op")
    func freshVolumesWithoutServices() throws {
        let stack = "cchost-engine-test-none\(UUID().uuidString.prefix(6).lowercased())"
        #expect(throws: DockerError.self) { try DockerDaemon(api: api).freshVolumes(stack: stack, timeout: 5) }
    }

    // MARK: A service that must not converge

    @Test("a service whose healthcheck always fails does not converge")
    func unhealthyServiceDoesNotConverge() throws {
        let started = Date()
        let state = try DockerFixture.withService(healthCommand: "false") { service in
            try Convergence.wait(api: api, stack: service.stack, deadline: Date().addingTimeInterval(20))
        }
        print("DockerAPI suite: the never-healthy service \(state) after \(String(format: "%.2f", Date().timeIntervalSince(started))) s (removal included)")
        switch state {
        case .converged:
            Issue.record("a service that is never healthy converged")
        case .failed(let reasons):
            #expect(reasons.contains { $0.contains("unhealthy") || $0.contains("failed") }, "\(reasons)")
        case .waiting(let reasons):
            #expect(!reasons.isEmpty)
        }
    }
}

/// The wire format pieces, and an engine that does not answer: no engine needed.
@Suite("DockerAPI wire format")
struct DockerAPIWireTests {
    @Test("a socket nobody listens on is unreachable, with what to check")
    func unreachableSocket() throws {
        let folder = try TemporaryDirectory("cchost-engine")
        let api = DockerAPI(address: try EngineAddress(socketPath: folder.file("docker.sock")))
        do {
            _ = try api.version()
            Issue.record("a missing socket answered")
        } catch {
            guard case .unreachable(let socketPath, "GET", "/version", _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(socketPath == folder.file("docker.sock"))
            #expect(error.description.contains("check that dockerd is running"))
        }
    }

    @Test("chunked bodies decode whatever way the bytes are split, with extensions and trailers")
    func chunked() throws {
        let wire = Array("4;name=x\r\nWiki\r\n6\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\nTrailer: yes\r\n\r\n".utf8)
        for split in [1, 3, 7, wire.count] {
            var decoder = ChunkedDecoder()
            var buffer: [UInt8] = []
            for start in stride(from: 0, to: wire.count, by: split) {
                buffer += wire[start..<min(wire.count, start + split)]
                try decoder.consume(&buffer)
            }
            #expect(decoder.finished)
            #expect(String(decoding: decoder.body, as: UTF8.self) == "Wikipedia in \r\n\r\nchunks.")
        }
        var unfinished = ChunkedDecoder()
        var partial = Array("5\r\nhel".utf8)
        try unfinished.consume(&partial)
        #expect(!unfinished.finished)
        var broken = Array("zz\r\nhello\r\n".utf8)
        #expect(throws: ChunkedDecoder.Problem.self) { try unfinished.consume(&broken) }
    }

    @Test("multiplexed frames split into stdout and stderr; a TTY stream is all stdout")
    func multiplexed() {
        func frame(_ stream: UInt8, _ text: String) -> [UInt8] {
            let payload = Array(text.utf8)
            let n = UInt32(payload.count)
            return [stream, 0, 0, 0, UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)] + payload
        }
        let streams = Multiplexed(frame(1, "out ") + frame(2, "err") + frame(1, "put"))
        #expect(String(decoding: streams.stdout, as: UTF8.self) == "out put")
        #expect(String(decoding: streams.stderr, as: UTF8.self) == "err")
        #expect(String(decoding: streams.combined, as: UTF8.self) == "out errput")
        #expect(String(decoding: Multiplexed(Array("plain tty output".utf8)).stdout, as: UTF8.self) == "plain tty output")
    }

    @Test("engine times keep their nanoseconds; the zero time is no time")
    func engineTimes() throws {
        let date = try #require(DockerTime.parse("2024-05-01T12:34:56.123456789Z"))
        #expect(abs(date.timeIntervalSince1970 - 1_714_566_896.123456789) < 1e-6)
        #expect(DockerTime.parse("2024-05-01T12:34:56Z")?.timeIntervalSince1970 == 1_714_566_896)
        #expect(DockerTime.parse("0001-01-01T00:00:00Z") == nil)
        #expect(DockerTime.parse("yesterday") == nil)
    }

    @Test("a service's restart policy is read from its task template; none given is swarm's default (any, never give up)")
    func restartPolicy() throws {
        let json = #"""
            {"ID": "s1", "Spec": {"Name": "st_app", "TaskTemplate": {"ContainerSpec": {"Image": "x:1"},
             "RestartPolicy": {"Condition": "on-failure", "MaxAttempts": 3, "Window": 30000000000}}}}
            """#
        let service = SwarmService(try JSONDecoder().decode(Wire.Service.self, from: Data(json.utf8)))
        #expect(service.restartPolicy == SwarmService.RestartPolicy(condition: "on-failure", maxAttempts: 3, window: 30))
        let bare = SwarmService(try JSONDecoder().decode(Wire.Service.self, from: Data(#"{"ID": "s2", "Spec": {"Name": "st_db"}}"#.utf8)))
        #expect(bare.restartPolicy == SwarmService.RestartPolicy(condition: "any", maxAttempts: 0, window: 0))
    }

    @Test("the API version is 1.41 unless the engine cannot speak it", arguments: [
        ("1.41", "1.12", "1.41"), ("1.43", "1.12", "1.41"), ("1.40", "1.12", "1.40"), ("1.51", "1.44", "1.44"),
    ])
    func negotiation(maximum: String, minimum: String, chosen: String) {
        #expect(DockerAPI.negotiate(preferred: "1.41", engineMaximum: maximum, engineMinimum: minimum) == chosen)
    }

    @Test("query values are escaped so the engine reads them back exactly")
    func queryEscaping() {
        #expect(DockerAPI.percentEncode("{\"label\":[\"a=b+c d\"]}") == "%7B%22label%22%3A%5B%22a%3Db%2Bc%20d%22%5D%7D")
        #expect(DockerAPI.timestamp(Date(timeIntervalSince1970: 1_700_000_000.5)) == "1700000000.500000000")
    }
}
