import Foundation
@testable import HostDocker
import Testing

// The Engine API client's services, mounts, secrets, configs and volumes against the real engine,
// in the suite of DockerAPITests (its shared service, its check that nothing labelled is left).
extension DockerAPITests {
    /// A name no other test or run uses.
    static func uniqueName(_ what: String) -> String {
        "cchost-engine-test-\(what)-\(UUID().uuidString.lowercased().prefix(8))"
    }

    // MARK: Services

    @Test("service(_:) reads one service by name with its labels and creation time; a missing one is a 404")
    func serviceByName() throws {
        let fixture = try ConvergedService.require()
        let service = try api.service(fixture.service.name)
        #expect(service.name == fixture.service.name)
        #expect(service.labels["cchost.test.on"] == "service")
        let created = try #require(service.createdAt)
        #expect(abs(created.timeIntervalSince(fixture.created)) < 60)
        let missing = Self.uniqueName("service")
        let error = #expect(throws: DockerAPIError.self) { try api.service(missing) }
        #expect(error?.status == 404)
        #expect(error?.engineMessage?.contains(missing) == true)
    }

    @Test("services(labels:) finds services by a label's presence or value")
    func servicesByLabel() throws {
        let fixture = try ConvergedService.require()
        let byValue = try api.services(labels: [DockerFixture.runLabel: DockerFixture.runID, "cchost.test.on": "service"])
        #expect(byValue.map(\.name).contains(fixture.service.name))
        let byPresence = try api.services(labels: ["com.docker.stack.namespace": ""])
        #expect(byPresence.map(\.name).contains(fixture.service.name))
        #expect(try api.services(labels: [DockerFixture.runLabel: "no-such-run"]).isEmpty)
    }

    @Test("removeService removes the service and the engine stops its container")
    func removeService() throws {
        try DockerFixture.withService(healthCommand: "true") { service in
            _ = try Convergence.wait(api: api, stack: service.stack, deadline: Date().addingTimeInterval(60))
            #expect(try api.containers(labels: ["com.docker.swarm.service.name": service.name], all: true).count == 1)
            try api.removeService(service.name)
            #expect(throws: DockerAPIError.self) { try api.service(service.name) }
            let deadline = Date().addingTimeInterval(30)
            while try !api.containers(labels: ["com.docker.swarm.service.name": service.name], all: true).isEmpty, Date() < deadline {
                Thread.sleep(forTimeInterval: 0.1)
            }
            #expect(try api.containers(labels: ["com.docker.swarm.service.name": service.name], all: true).isEmpty)
        }
    }

    // MARK: Mounts

    @Test("mounts(container:) shows the stack's volume mounted at /data")
    func containerMounts() throws {
        let fixture = try ConvergedService.require()
        let mounts = try api.mounts(container: try runningContainer())
        let mount = try #require(mounts.first { $0.name == fixture.service.volume })
        #expect(mount.type == "volume")
        #expect(mount.destination == "/data")
        #expect(mount.source == (try api.volume(fixture.service.volume).mountpoint))
    }

    // MARK: Secrets and configs

    @Test("swarmObjects lists secrets and configs by name, with labels and creation time, never values", arguments: SwarmObject.Kind.allCases)
    func swarmObjects(kind: SwarmObject.Kind) throws {
        let name = Self.uniqueName(kind.rawValue)
        let started = Date()
        let created = try run("/bin/sh", ["-c", "printf value | docker \(kind.rawValue) create --label \(DockerFixture.runLabel)=\(DockerFixture.runID) \(name) -"])
        try #require(created.status == 0, "\(created.stderr)")
        defer { _ = try? run(DockerFixture.docker, [kind.rawValue, "rm", name]) }
        let found = try #require(try api.swarmObjects(kind).first { $0.name == name })
        #expect(found.kind == kind)
        #expect(found.labels == [DockerFixture.runLabel: DockerFixture.runID])
        #expect(abs(try #require(found.createdAt).timeIntervalSince(started)) < 60)
        #expect(try !api.swarmObjects(kind == .secret ? .config : .secret).contains { $0.name == name })
    }

    // MARK: Volumes

    @Test("a volume is created with labels, listed by label, inspected for its mountpoint and removed")
    func volumeLifecycle() throws {
        let name = Self.uniqueName("volume")
        let labels = [DockerFixture.runLabel: DockerFixture.runID, "cchost.test.volume": name]
        defer { try? api.removeVolume(name, force: true) }
        let created = try api.createVolume(name, labels: labels)
        #expect(created.name == name)
        #expect(created.labels == labels)
        #expect(created.driver == "local")
        #expect(created.mountpoint.hasSuffix("/\(name)/_data"))
        #expect(try api.volumes(labels: ["cchost.test.volume": name]) == [try api.volume(name)])
        #expect(try api.volumes(labels: ["cchost.test.volume": ""]).map(\.name).contains(name))
        #expect(try api.volume(name).mountpoint == created.mountpoint)

        try api.removeVolume(name)
        #expect(try api.volumes(labels: ["cchost.test.volume": name]).isEmpty)
        let error = #expect(throws: DockerAPIError.self) { try api.volume(name) }
        #expect(error?.status == 404)
        let again = #expect(throws: DockerAPIError.self) { try api.removeVolume(name) }
        #expect(again?.status == 404)
    }

    @Test("a volume a container uses is not removed: 409 with the engine's reason")
    func volumeInUse() throws {
        let fixture = try ConvergedService.require()
        let error = #expect(throws: DockerAPIError.self) { try api.removeVolume(fixture.service.volume) }
        #expect(error?.status == 409)
        #expect(error?.engineMessage?.contains("in use") == true, "\(String(describing: error))")
    }
}
