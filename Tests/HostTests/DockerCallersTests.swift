import Foundation
@testable import HostBase
@testable import HostDocker
@testable import HostRuns
@testable import HostState
import Testing

/// The callers of the `Docker` seam, against the in-memory fake: no engine, milliseconds each.
@Suite("Callers of Docker, on an in-memory Docker")
struct DockerCallersTests {
    static let stack = "app-3f9a0c1d_ci_example"

    static func app(_ folder: TemporaryDirectory) -> AppDeployment {
        AppDeployment(runID: "3f9a0c1d", recipe: "static-site", domain: "app-3f9a0c1d.ci.example",
                      checkout: Checkout(directory: folder.path, ref: "1.0.0+1", commit: String(repeating: "a", count: 40)),
                      workDirectory: folder.url)
    }

    static func gateway(_ docker: FakeDocker, _ folder: TemporaryDirectory, deadline: Double = 5,
                        proxy: FakeProxy = FakeProxy()) -> SwarmGateway {
        var gateway = SwarmGateway(docker: docker, proxy: proxy, app: app(folder))
        gateway.execDeadline = deadline
        gateway.routeDeadline = deadline
        gateway.retryInterval = 0.001
        return gateway
    }

    static func output(_ text: String) -> ExecResult { ExecResult(exitCode: 0, stdout: Data(text.utf8)) }

    // MARK: SwarmGateway: exec in a service of the app

    @Test("exec finds the service's container anew on each attempt and runs once the container is back")
    func execWaitsForTheContainer() throws {
        let folder = try TemporaryDirectory()
        let docker = FakeDocker(root: folder.url) {
            $0.containers["\(Self.stack)/app"] = [nil, nil, "c2"]
            $0.exec = { command, container, _ in Self.output("\(command.joined(separator: " ")) in \(container.id)") }
        }
        let started = Date()
        let result = try Self.gateway(docker, folder).exec(service: "app", argv: ["cat", "/etc/hostname"])
        #expect(result.exitCode == 0)
        #expect(String(decoding: result.output, as: UTF8.self) == "cat /etc/hostname in c2")
        #expect(docker.calls == Array(repeating: "runningContainer \(Self.stack)/app", count: 3) + ["exec c2 cat /etc/hostname"])
        #expect(Date().timeIntervalSince(started) < 1)
    }

    @Test("a container that goes away between finding it and exec is found again")
    func execFollowsAReplacedContainer() throws {
        let folder = try TemporaryDirectory()
        let docker = FakeDocker(root: folder.url) {
            $0.containers["\(Self.stack)/app"] = ["c1", "c2"]
            $0.exec = { _, container, _ throws(DockerError) in
                guard container.id == "c2" else {
                    throw DockerError(.missing, operation: "exec true", stack: container.stack, container: container.id,
                                      message: "No such container: \(container.id)")
                }
                return Self.output("ran")
            }
        }
        let result = try Self.gateway(docker, folder).execRetrying(service: "app", argv: ["true"])
        #expect(result == Self.output("ran"))
        #expect(docker.calls.filter { $0.hasPrefix("exec") } == ["exec c1 true", "exec c2 true"])
    }

    @Test("exec that never runs fails after its deadline with Docker's own message, never as empty output")
    func execFailsWithDockersMessage() throws {
        let folder = try TemporaryDirectory()
        let docker = FakeDocker(root: folder.url) {
            $0.containers["\(Self.stack)/app"] = ["c1"]
            $0.exec = { command, container, _ throws(DockerError) in
                throw DockerError(.conflict, operation: "exec \(command.joined(separator: " "))", stack: container.stack,
                                  container: container.id, message: "Container c1 is not running")
            }
        }
        let error = #expect(throws: DeployError.self) {
            try Self.gateway(docker, folder, deadline: 0.05).execRetrying(service: "app", argv: ["true"])
        }
        #expect(error?.description == "exec in app of \(Self.stack) failed: did not run within 0.05 s: exec true in container c1 (stack \(Self.stack)) failed: Container c1 is not running")
        #expect(docker.calls.filter { $0.hasPrefix("exec") }.count > 1, "it was not retried")
    }

    @Test("a command the runtime cannot start fails at once with the runtime's message")
    func execNotStarted() throws {
        let folder = try TemporaryDirectory()
        let refusal = "OCI runtime exec failed: exec failed: container_linux.go:380: starting container process caused: exec: \"wget\": executable file not found in $PATH: unknown"
        let docker = FakeDocker(root: folder.url) {
            $0.containers["\(Self.stack)/app"] = ["c1"]
            $0.exec = { command, container, _ throws(DockerError) in
                throw DockerError(.notStarted, operation: "exec \(command[0])", stack: container.stack, container: container.id, message: refusal)
            }
        }
        let gateway = Self.gateway(docker, folder)
        let error = #expect(throws: DeployError.self) { try gateway.execRetrying(service: "app", argv: ["wget"]) }
        #expect(error?.reason == refusal)
        #expect(docker.calls.filter { $0.hasPrefix("exec") }.count == 1, "a command that cannot start was retried")
    }

    // MARK: SwarmGateway: HTTP to the app through the engine's proxy

    @Test("HTTP goes through the proxy to the app's domain and path; no container is looked for and nothing runs in the app's image")
    func httpThroughTheProxy() throws {
        let folder = try TemporaryDirectory()
        let docker = FakeDocker(root: folder.url)
        let proxy = FakeProxy()
        let answer = try Self.gateway(docker, folder, proxy: proxy).http(method: "GET", path: "/health", body: nil)
        #expect(answer.status == 200 && String(decoding: answer.body, as: UTF8.self) == "ok")
        #expect(proxy.calls == ["GET app-3f9a0c1d.ci.example/health"])
        #expect(docker.calls.isEmpty)
    }

    @Test("a request is repeated while Traefik answers its own 404 (no router for the domain yet), then the app's answer is returned")
    func httpWaitsForTheRouter() throws {
        let folder = try TemporaryDirectory()
        let proxy = FakeProxy([.success(.unrouted), .success(.unrouted), FakeProxy.answer(404, "no such note")])
        let answer = try Self.gateway(FakeDocker(root: folder.url), folder, proxy: proxy).http(method: "GET", path: "/", body: nil)
        #expect(answer.status == 404 && String(decoding: answer.body, as: UTF8.self) == "no such note", "the app's own 404 is not waited on")
        #expect(proxy.calls.count == 3)
    }

    @Test("Traefik's 404 still there at the route deadline is the answer, for the check to judge")
    func httpRouterNeverAppears() throws {
        let folder = try TemporaryDirectory()
        let proxy = FakeProxy([.success(.unrouted)])
        let started = Date()
        let answer = try Self.gateway(FakeDocker(root: folder.url), folder, deadline: 0.2, proxy: proxy).http(method: "GET", path: "/", body: nil)
        #expect(ProxyAnswer(status: answer.status, body: answer.body) == .unrouted)
        #expect(Date().timeIntervalSince(started) >= 0.2 && proxy.calls.count > 1)
    }

    @Test("Traefik's 502 (a wrong service port) is returned at once, not waited on", arguments: [502, 503, 504] as [Int32])
    func httpBadGatewayAtOnce(status: Int32) throws {
        let folder = try TemporaryDirectory()
        let proxy = FakeProxy([FakeProxy.answer(status, "Bad Gateway")])
        let answer = try Self.gateway(FakeDocker(root: folder.url), folder, proxy: proxy).http(method: "GET", path: "/", body: nil)
        #expect(answer.status == status && proxy.calls.count == 1)
    }

    @Test("a request that got no HTTP answer through the proxy is an error naming the app's stack, at once")
    func httpWithoutAnswer() throws {
        let folder = try TemporaryDirectory()
        let proxy = FakeProxy([.failure(DeployError(operation: "GET https://app-3f9a0c1d.ci.example/", stack: "", reason: "no HTTP answer"))])
        let error = #expect(throws: DeployError.self) { try Self.gateway(FakeDocker(root: folder.url), folder, proxy: proxy).http(method: "GET", path: "/", body: nil) }
        #expect(error?.stack == Self.stack && error?.reason == "no HTTP answer")
        #expect(proxy.calls.count == 1)
    }

    @Test("a method the gateway does not send fails at once, before any request")
    func httpUnsupportedMethod() throws {
        let folder = try TemporaryDirectory()
        let proxy = FakeProxy()
        let error = #expect(throws: DeployError.self) { try Self.gateway(FakeDocker(root: folder.url), folder, proxy: proxy).http(method: "DELETE", path: "/", body: nil) }
        #expect(error?.reason == "only GET, and POST with a body, reach the app")
        #expect(proxy.calls.isEmpty)
    }

    @Test("curl's output splits into the body and the status on its last line; 000 (no answer) is none",
          arguments: [("hello\n\n200", ProxyAnswer(status: 200, body: Data("hello\n".utf8))),
                      ("\n502", ProxyAnswer(status: 502, body: Data())),
                      ("\n000", nil), ("", nil)] as [(String, ProxyAnswer?)])
    func curlOutput(output: String, answer: ProxyAnswer?) {
        #expect(TraefikProxy.answer(in: Data(output.utf8)) == answer)
    }

    @Test("a command that ran is a result whatever its exit code, 127 included")
    func execExitCodeIsAResult() throws {
        let folder = try TemporaryDirectory()
        let docker = FakeDocker(root: folder.url) {
            $0.containers["\(Self.stack)/app"] = ["c1"]
            $0.exec = { _, _, _ in ExecResult(exitCode: 127, stderr: Data("sh: nope: not found\n".utf8)) }
        }
        let result = try Self.gateway(docker, folder).exec(service: "app", argv: ["sh", "-c", "nope"])
        #expect(result.exitCode == 127)
        #expect(String(decoding: result.output, as: UTF8.self) == "sh: nope: not found\n")
    }

    // MARK: RetainedVolumes: a canonical's data

    /// A fake node holding the stack's volume `data` with one file.
    static func nodeWithData(_ folder: TemporaryDirectory) throws -> FakeDocker {
        let docker = FakeDocker(root: folder.url)
        try docker.createVolume("\(stack)_data", labels: ["com.docker.stack.namespace": stack])
        try "kept".write(toFile: "\(try docker.volumeMountpoint("\(stack)_data"))/marker", atomically: true, encoding: .utf8)
        return docker
    }

    @Test("retain stops the stack's services, then copies each of its volumes into a labelled retained volume")
    func retainCopiesTheStacksVolumes() throws {
        let folder = try TemporaryDirectory()
        let docker = try Self.nodeWithData(folder)
        let volumes = RetainedVolumes(docker: docker, stateDirectory: "/var/lib/cchost")
        let retained = try volumes.retain(stack: Self.stack, recipe: "static-site", runID: "3f9a0c1d")
        #expect(retained == ["warm-static-site-3f9a0c1d_data"])
        let calls = docker.calls
        let stopped = try #require(calls.firstIndex(of: "removeServices \(Self.stack)"))
        #expect(stopped < (try #require(calls.firstIndex(of: "createVolume warm-static-site-3f9a0c1d_data"))), "\(calls)")
        #expect(try volumes.list() == [.init(name: "warm-static-site-3f9a0c1d_data", recipe: "static-site", runID: "3f9a0c1d", volume: "data")])
        let copy = try docker.volumeMountpoint("warm-static-site-3f9a0c1d_data")
        #expect(try String(contentsOfFile: "\(copy)/marker", encoding: .utf8) == "kept")
        #expect(try volumes.checksum("warm-static-site-3f9a0c1d_data") == (try volumes.checksum("\(Self.stack)_data")))
    }

    @Test("a warm app's volumes are copies of the canonical's, labelled as the stack's own; garbage collection keeps the canonical's")
    func seedAndCollectGarbage() throws {
        let folder = try TemporaryDirectory()
        let docker = try Self.nodeWithData(folder)
        let volumes = RetainedVolumes(docker: docker, stateDirectory: "/var/lib/cchost")
        let kept = try volumes.retain(stack: Self.stack, recipe: "static-site", runID: "aaaa")
        let stale = try volumes.retain(stack: Self.stack, recipe: "static-site", runID: "bbbb")
        let canonical = Canonical(recipe: "static-site", version: "1.0.0+1", commit: String(repeating: "a", count: 40), promotedAt: Date(),
                                  status: "promoted", runID: "aaaa", volumes: kept)
        #expect(try volumes.seed(stack: "warm-1234_ci_example", recipe: canonical.recipe, from: .init(canonical)) == ["warm-1234_ci_example_data"])
        let seeded = try #require(try docker.volumes(labels: ["com.docker.stack.namespace": "warm-1234_ci_example"]).first)
        #expect(try String(contentsOfFile: "\(seeded.mountpoint)/marker", encoding: .utf8) == "kept")
        #expect(try volumes.collectGarbage(recipes: ["static-site"], keep: ["aaaa"], dryRun: true) == stale)
        #expect(try volumes.list().count == 2, "a dry run removed something")
        #expect(try volumes.collectGarbage(recipes: nil, keep: ["aaaa"]) == stale)
        #expect(try volumes.list().map(\.name) == kept)
    }

    @Test("data whose containers do not stop is not retained: not quiescent")
    func retainRefusesDataStillInUse() throws {
        let folder = try TemporaryDirectory()
        let docker = try Self.nodeWithData(folder)
        docker.update {
            $0.failures["removeServices"] = DockerError(.timedOut, operation: "remove the services", stack: Self.stack,
                                                        message: "1 container(s) of the stack did not stop within 5 s")
        }
        let error = #expect(throws: DeployError.self) {
            try RetainedVolumes(docker: docker, stateDirectory: "/s").retain(stack: Self.stack, recipe: "r", runID: "1", stopTimeout: 5)
        }
        #expect(error?.description == "retain the data of \(Self.stack) failed: its containers did not stop within 5 s, so the data was not quiescent")
        #expect(try docker.volumes(labels: [RetainedVolumes.Label.state: "/s"]).isEmpty)
    }

    @Test("retained volumes Docker cannot list are an error with Docker's message, not an empty list")
    func listWithoutDocker() throws {
        let folder = try TemporaryDirectory()
        let docker = FakeDocker(root: folder.url) {
            $0.failures["volumes"] = DockerError(.unreachable, operation: "list the volumes labelled cchost.canon.state=/s",
                                                 message: "cannot reach the Docker engine at /run/no.sock")
        }
        let error = #expect(throws: DeployError.self) { try RetainedVolumes(docker: docker, stateDirectory: "/s").list() }
        #expect(error?.description == "list the volumes labelled cchost.canon.state=/s failed: cannot reach the Docker engine at /run/no.sock")
    }

    // MARK: Janitor: what killed runs left

    @Test("the janitor reaps a dead run's stack, its state folder's old test stacks and old secrets of gone stacks; never live, young, other states' or foreign stacks")
    func janitorCandidates() throws {
        let folder = try TemporaryDirectory()
        let hoursAgo = Date().addingTimeInterval(-2 * 3600)
        let mine: Set = ["state-a"], label = ["cchost.state": "state-a"]
        let docker = FakeDocker(root: folder.url) {
            $0.stacks = [
                SwarmStack(name: "dead-1_ci_example", services: 1, createdAt: Date(), owners: mine),
                SwarmStack(name: "old-2_ci_example", services: 2, createdAt: hoursAgo, owners: mine),
                SwarmStack(name: "young-3_ci_example", services: 1, createdAt: Date(), owners: mine),
                SwarmStack(name: "live-4_ci_example", services: 1, createdAt: hoursAgo, owners: mine),
                SwarmStack(name: "production_example_org", services: 1, createdAt: hoursAgo),
                SwarmStack(name: "other-7_ci_example", services: 1, createdAt: hoursAgo, owners: ["state-b"]),
                SwarmStack(name: "plain-8_ci_example", services: 1, createdAt: hoursAgo),
            ]
            $0.swarmObjects = [
                SwarmObject(kind: .secret, id: "s1", name: "gone-5_ci_example_db_password_v1", labels: label, createdAt: hoursAgo),
                SwarmObject(kind: .config, id: "c1", name: "gone-6_ci_example_nginx_conf_v1", labels: label, createdAt: Date()),
                SwarmObject(kind: .secret, id: "s2", name: "live-4_ci_example_db_password_v1", labels: label, createdAt: hoursAgo),
                SwarmObject(kind: .secret, id: "s3", name: "gone-9_ci_example_db_password_v1", labels: ["cchost.state": "state-b"], createdAt: hoursAgo),
                SwarmObject(kind: .secret, id: "s4", name: "gone-10_ci_example_db_password_v1", createdAt: hoursAgo),
            ]
        }
        let registry = ActiveRuns(directory: folder.url.appendingPathComponent("active"))
        try registry.register(runID: "live", stack: "live-4_ci_example")
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        // A pid no process has: the run was killed.
        try encoder.encode(ActiveRuns.Entry(runID: "dead", stack: "dead-1_ci_example", pid: Int32.max, startedAt: Date()))
            .write(to: registry.directory.appendingPathComponent("dead.json"))
        let janitor = Janitor(deployer: SwarmDeployer(docker: docker), registry: registry, owner: "state-a", baseDomain: "ci.example")
        let found = try janitor.candidates(olderThan: 3600)
        #expect(found.map(\.stack) == ["dead-1_ci_example", "old-2_ci_example", "gone-5_ci_example"])
        #expect(found.map(\.reason) == ["run dead (pid \(Int32.max)) is gone", "test stack of this state folder with no live run, created 120 min ago",
                                        "secrets left by a test stack that no longer runs, created 120 min ago"])
        #expect(docker.calls == ["stacks ", "swarmObjects secret", "swarmObjects config"])
    }

    @Test("a janitor that cannot ask Docker fails with Docker's message, never \"nothing to reap\"")
    func janitorWithoutDocker() throws {
        let folder = try TemporaryDirectory()
        let docker = FakeDocker(root: folder.url) {
            $0.failures["stacks"] = DockerError(.unreachable, operation: "list the stacks", message: "cannot reach the Docker engine at /run/no.sock")
        }
        let janitor = Janitor(deployer: SwarmDeployer(docker: docker), registry: ActiveRuns(directory: folder.url), owner: "state-a", baseDomain: "ci.example")
        let error = #expect(throws: DeployError.self) { try janitor.candidates(olderThan: 0) }
        #expect(error?.description == "list the stacks failed: cannot reach the Docker engine at /run/no.sock")
    }

    @Test("a janitor that cannot read an active run's entry stops, naming it, instead of taking that live run for a dead one")
    func janitorWithUnreadableEntry() throws {
        let folder = try TemporaryDirectory()
        let docker = FakeDocker(root: folder.url) { $0.stacks = [SwarmStack(name: "live-1_ci_example", services: 1, createdAt: .distantPast)] }
        let registry = ActiveRuns(directory: folder.url.appendingPathComponent("active"))
        try registry.register(runID: "live", stack: "live-1_ci_example")
        try Data("{\"run_id\": ".utf8).write(to: registry.directory.appendingPathComponent("torn.json"))
        let janitor = Janitor(deployer: SwarmDeployer(docker: docker), registry: registry, owner: "state-a", baseDomain: "ci.example")
        #expect { try janitor.candidates(olderThan: 0) } throws: { "\($0)".contains("torn.json") }
        #expect(!docker.calls.contains { $0.hasPrefix("removeServices") })
    }

    // MARK: Errors name what failed

    @Test("an error of no stack does not print an empty stack name")
    func errorsWithoutStack() {
        #expect(DeployError(operation: "docker exec 599c2f3c20bf", stack: "", reason: "exit 1").description == "docker exec 599c2f3c20bf failed: exit 1")
        let docker = DockerError(.missing, operation: "exec cat /data/x", stack: "", container: "599c2f3c20bf0123", message: "No such container: 599c2f3c20bf0123")
        #expect(docker.description == "exec cat /data/x in container 599c2f3c20bf failed: No such container: 599c2f3c20bf0123")
        #expect(DeployError(docker).description == "exec cat /data/x in container 599c2f3c20bf failed: No such container: 599c2f3c20bf0123")
        let inStack = DockerError(.missing, operation: "find the running container of db", stack: "s_ci_example", message: "none")
        #expect(DeployError(inStack).description == "find the running container of db of s_ci_example failed: none")
    }
}
