import Foundation
@testable import HostBase
@testable import HostDocker
@testable import HostRuns
import Testing

/// Teardown through the `Docker` seam: every listing and every removal that fails is recorded, and
/// a listing that failed is never "no leftovers". On the in-memory fake (milliseconds each), then on
/// the real swarm.
@Suite("Teardown")
struct TeardownTests {
    static let stack = "td-5b1e77aa_ci_example"

    /// One object of each kind, as a deployed stack has them.
    static let objects: [DeployedObject] = DeployedObject.Kind.allCases.map { kind in
        DeployedObject(kind: kind, id: "\(kind.rawValue)-id", name: "\(stack)_\(kind.rawValue)")
    }

    static func docker(_ folder: TemporaryDirectory, _ configure: (inout FakeDocker.State) -> Void = { _ in }) -> FakeDocker {
        FakeDocker(root: folder.url) {
            $0.stackObjects[stack] = objects
            configure(&$0)
        }
    }

    static func judged(_ result: TeardownResult) -> Judgement.Outcome {
        var record = Facts.green(Facts.Shape(stages: [.install], backupNotApplicable: false, recipeCheck: false))
        record.teardown = result
        return Judgement.teardownOutcome(record)
    }

    @Test("a clean teardown removes every kind of object, services first, and passes")
    func cleanTeardown() throws {
        let folder = try TemporaryDirectory()
        let docker = Self.docker(folder)
        let result = StackTeardown(docker: docker).run(stack: Self.stack)
        #expect(result.leftovers == [] && result.unknown == [])
        #expect(result.removed == Self.objects.map(\.description))
        let removals = docker.calls.filter { $0.hasPrefix("remove.") }
        #expect(removals.first == "remove.service \(Self.stack)_service")
        #expect(Self.judged(result).verdict == .pass)
    }

    @Test("a listing that fails at the end is unknown, never no leftovers: teardown unverified, naming it",
          arguments: DeployedObject.Kind.allCases)
    func failedListing(kind: DeployedObject.Kind) throws {
        let folder = try TemporaryDirectory()
        let docker = Self.docker(folder) {
            $0.failures["stackObjects.\(kind.rawValue)"] = DockerError(.unreachable, operation: "list the \(kind.rawValue)s",
                                                                       message: "connection refused")
        }
        let result = StackTeardown(docker: docker).run(stack: Self.stack)
        #expect(result.leftovers == [])
        #expect(result.unknown.last == "the \(kind.rawValue)s could not be listed: connection refused")
        // Services that could not be listed were not waited for either, and that is said too.
        #expect(result.unknown.count == (kind == .service ? 2 : 1), "\(result.unknown)")
        #expect(!result.isClean)
        let outcome = Self.judged(result)
        #expect(outcome.verdict == .unverified)
        #expect(outcome.reason.contains("the \(kind.rawValue)s could not be listed: connection refused"))
        // Everything it could list, it removed.
        #expect(result.removed == Self.objects.filter { $0.kind != kind }.map(\.description))
    }

    @Test("a removal that fails leaves a leftover with Docker's reason: teardown fails, and only what was removed is said removed",
          arguments: DeployedObject.Kind.allCases)
    func failedRemoval(kind: DeployedObject.Kind) throws {
        let folder = try TemporaryDirectory()
        let docker = Self.docker(folder) {
            $0.failures["remove.\(kind.rawValue)"] = DockerError(.conflict, operation: "remove", message: "in use by something")
        }
        let result = StackTeardown(docker: docker, timeout: 0.5).run(stack: Self.stack)
        let object = try #require(Self.objects.first { $0.kind == kind })
        #expect(result.leftovers == ["\(object) (in use by something)"])
        #expect(!result.removed.contains(object.description))
        #expect(result.removed.count == Self.objects.count - 1)
        let outcome = Self.judged(result)
        #expect(outcome.verdict == .fail)
        #expect(outcome.reason.contains("\(object) (in use by something)"))
    }

    @Test("a container started after the first round (an agent still preparing its task) is removed in the next round")
    func lateContainer() throws {
        let folder = try TemporaryDirectory()
        let container = try #require(Self.objects.first { $0.kind == .container })
        let service = try #require(Self.objects.first { $0.kind == .service })
        let preparing = SwarmTask(id: "t1", serviceID: service.id, desiredState: .remove, state: .preparing)
        let docker = Self.docker(folder) {
            $0.reappearing = [container]
            $0.unfinishedTasks = [[preparing], [preparing], []]
        }
        let result = StackTeardown(docker: docker).run(stack: Self.stack)
        #expect(result.isClean)
        #expect(docker.calls.filter { $0 == "remove.container \(container.name)" }.count == 2)
        #expect(docker.calls.contains("awaitStackEvent \(Self.stack)"))
    }

    @Test("a network the engine still holds after its removal (endpoints being released) is removed again, and teardown is clean")
    func networkStillReleasing() throws {
        let folder = try TemporaryDirectory()
        let network = try #require(Self.objects.first { $0.kind == .network })
        let docker = Self.docker(folder) { $0.reappearing = [network] }
        let result = StackTeardown(docker: docker).run(stack: Self.stack)
        #expect(result.isClean, "\(result)")
        #expect(docker.calls.filter { $0 == "remove.network \(network.name)" }.count == 2)
    }

    @Test("a volume whose removal failed but which is no longer listed is not known gone: teardown unverified, naming it")
    func vanishedAfterFailedRemoval() throws {
        let folder = try TemporaryDirectory()
        let volume = try #require(Self.objects.first { $0.kind == .volume })
        let docker = Self.docker(folder) {
            $0.failures["remove.volume"] = DockerError(.failed, operation: "remove", message: "driver failed to remove the data")
            $0.vanishingOnFailure = [volume]
        }
        let result = StackTeardown(docker: docker).run(stack: Self.stack)
        #expect(result.leftovers == [])
        #expect(result.unknown == ["\(volume): its removal failed (driver failed to remove the data) and it is no longer listed"])
        #expect(!result.removed.contains(volume.description))
        #expect(Self.judged(result).verdict == .unverified)
    }

    @Test("a network whose removal failed but which is no longer listed is gone: it holds no data, teardown stays clean")
    func networkGoneAfterFailedRemoval() throws {
        let folder = try TemporaryDirectory()
        let network = try #require(Self.objects.first { $0.kind == .network })
        let docker = Self.docker(folder) {
            // What a swarm network being removed answers a second removal: "not found", with a 500.
            $0.failures["remove.network"] = DockerError(.failed, operation: "remove", message: "network \(network.id) not found")
            $0.vanishingOnFailure = [network]
        }
        let result = StackTeardown(docker: docker).run(stack: Self.stack)
        #expect(result.leftovers == [] && result.unknown == [], "\(result)")
        #expect(Self.judged(result).verdict == .pass)
    }

    @Test("events that cannot be read only slow the rounds down: a late container is still killed and teardown is clean")
    func eventsUnreadable() throws {
        let folder = try TemporaryDirectory()
        let container = try #require(Self.objects.first { $0.kind == .container })
        let service = try #require(Self.objects.first { $0.kind == .service })
        let preparing = SwarmTask(id: "t1", serviceID: service.id, desiredState: .running, state: .preparing)
        let docker = Self.docker(folder) {
            $0.reappearing = [container]
            $0.unfinishedTasks = [[preparing], []]
            $0.failures["awaitStackEvent"] = DockerError(.unreachable, operation: "watch the events", message: "connection reset")
        }
        let result = StackTeardown(docker: docker).run(stack: Self.stack)
        #expect(result.isClean, "\(result)")
        #expect(docker.calls.filter { $0 == "remove.container \(container.name)" }.count == 2)
    }

    @Test("services that could not be listed were not waited for: teardown unverified even when nothing is seen left")
    func servicesUnlistedAtTheStart() throws {
        let folder = try TemporaryDirectory()
        let docker = Self.docker(folder) { $0.stackObjects[Self.stack] = [] }
        docker.update { $0.failures["stackObjects.service"] = DockerError(.failed, operation: "list", message: "busy") }
        let result = StackTeardown(docker: docker, timeout: 0.5).run(stack: Self.stack)
        #expect(result.unknown.contains { $0.hasPrefix("the services could not be listed, so their tasks were not waited for") })
        #expect(Self.judged(result).verdict == .unverified)
    }

    @Test("when the tasks being removed cannot be listed, a container may still start: teardown unverified")
    func unlistedTasks() throws {
        let folder = try TemporaryDirectory()
        let docker = Self.docker(folder) {
            $0.failures["unfinishedTasks"] = DockerError(.failed, operation: "list the tasks being removed", message: "engine busy")
        }
        let result = StackTeardown(docker: docker).run(stack: Self.stack)
        #expect(result.leftovers == [])
        #expect(result.unknown == ["the tasks of the removed services could not be listed (a container may still start): engine busy"])
        #expect(Self.judged(result).verdict == .unverified)
    }

    @Test("tasks that never stop by the deadline are said, and teardown is unverified")
    func tasksNeverStop() throws {
        let folder = try TemporaryDirectory()
        let service = try #require(Self.objects.first { $0.kind == .service })
        let docker = Self.docker(folder) {
            $0.unfinishedTasks = [[SwarmTask(id: "t1", serviceID: service.id, desiredState: .remove, state: .running)]]
        }
        let result = StackTeardown(docker: docker, timeout: 0.2).run(stack: Self.stack)
        #expect(result.unknown.count == 1)
        #expect(result.unknown.first?.contains("1 task(s) of the removed services had not stopped") == true)
        #expect(Self.judged(result).verdict == .unverified)
    }

    @Test("a run record from before `unknown` existed reads with none")
    func oldRecordDecodes() throws {
        let json = #"{"removed":["stack x"],"leftovers":[],"seconds":1.5}"#
        let result = try JSONDecoder().decode(TeardownResult.self, from: Data(json.utf8))
        #expect(result == TeardownResult(removed: ["stack x"], leftovers: [], unknown: [], seconds: 1.5))
    }

    // MARK: On the real engine

    @Test("an engine that does not answer: teardown is unverified naming every kind, never clean", .requiresDocker)
    func unreachableEngine() throws {
        let docker = DockerDaemon(api: DockerAPI(address: try EngineAddress(socketPath: "/nonexistent/docker.sock"), requestTimeout: 2))
        let result = StackTeardown(docker: docker, timeout: 2).run(stack: Self.stack)
        #expect(!result.isClean)
        #expect(result.unknown.count >= DeployedObject.Kind.allCases.count)
        #expect(Self.judged(result).verdict == .unverified)
        #expect(SwarmDeployer(docker: docker).leftovers(stack: Self.stack).count == DeployedObject.Kind.allCases.count)
    }

    @Test("torn down while its tasks are still being prepared, a real stack leaves nothing on the swarm", .requiresDocker)
    func realStackRightAfterDeploy() throws {
        let folder = try TemporaryDirectory()
        try "not-a-secret-value".write(to: folder.url.appendingPathComponent("token"), atomically: true, encoding: .utf8)
        let stack = try DockerFixture.deployStack("td", app: """
                command: ["sleep", "600"]
                volumes: [data:/data]
                secrets: [token]
                configs: [{source: conf, target: /conf}]
                deploy: {replicas: 3}
            """, rest: """
            volumes:
              data:
            secrets:
              token: {file: ./token}
            configs:
              conf: {file: ./token}
            """, in: folder)
        let deployer = SwarmDeployer()
        #expect(!deployer.leftovers(stack: stack).isEmpty, "the deploy left nothing; the teardown below proves nothing")
        let result = deployer.teardown(stack: stack)
        #expect(result.isClean, "\(result)")
        #expect(result.removed.contains { $0.hasPrefix("secret ") } && result.removed.contains { $0.hasPrefix("config ") })
        // A container a lagging agent might still start would show up as an event of the stack.
        #expect(try !DockerDaemon().awaitStackEvent(stack: stack, since: Date(), timeout: 2))
        #expect(deployer.leftovers(stack: stack).isEmpty, "\(deployer.leftovers(stack: stack))")
    }
}
