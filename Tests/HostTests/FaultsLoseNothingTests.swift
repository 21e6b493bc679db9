import Foundation
@testable import HostBase
@testable import HostDocker
@testable import HostRuns
@testable import HostState
import Testing

/// Faults lose nothing: the janitor touches only what its own state folder made.
@Suite("Faults lose nothing")
struct FaultsLoseNothingTests {
    /// A stack deployed with plain `docker stack deploy` (no cchost involved), with `labels` on its
    /// one service: a service of no replicas, so nothing runs. Returns its name.
    static func plainStack(_ prefix: String, labels: [String: String] = [:], in folder: TemporaryDirectory) throws -> String {
        let stack = "\(prefix)\(UUID().uuidString.prefix(8).lowercased())_ci_example"
        let labelLines = labels.map { "          \($0.key): \"\($0.value)\"" }.joined(separator: "\n")
        let compose = """
            version: "3.8"
            services:
              idle:
                image: cchost-test/busybox:engine-tests
                command: ["sleep", "3600"]
                deploy:
                  replicas: 0
            \(labels.isEmpty ? "" : "      labels:\n" + labelLines)

            """
        let file = folder.url.appendingPathComponent("\(stack).yml")
        try Data(compose.utf8).write(to: file)
        let deployed = try run("/usr/bin/docker", ["stack", "deploy", "-c", file.path, stack])
        #expect(deployed.status == 0, "\(deployed.stderr)")
        return stack
    }

    static func removeStack(_ stack: String) {
        _ = try? run("/usr/bin/docker", ["stack", "rm", stack])
    }

    @Test("the janitor of one state folder never picks another state's stack, a stack cchost never made, or a secret it did not make", .requiresDocker)
    func janitorTouchesOnlyItsOwn() throws {
        let stateA = try TemporaryDirectory("state-a"), stateB = try TemporaryDirectory("state-b")
        // State B's run, dead (its registry names a pid no process has), and a plain `docker stack deploy`.
        let stackB = try Self.plainStack("stb", labels: ["cchost.state": "state-b-\(UUID().uuidString)"], in: stateB)
        defer { Self.removeStack(stackB) }
        let registryB = ActiveRuns(directory: stateB.url.appendingPathComponent("runs/active"))
        try FileManager.default.createDirectory(at: registryB.directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        try encoder.encode(ActiveRuns.Entry(runID: "dead", stack: stackB, pid: Int32.max, startedAt: Date()))
            .write(to: registryB.directory.appendingPathComponent("dead.json"))
        let foreign = try Self.plainStack("stf", in: stateA)
        defer { Self.removeStack(foreign) }
        let secret = "sts\(UUID().uuidString.prefix(8).lowercased())_ci_example_db_password_v1"
        #expect(try run("/bin/sh", ["-c", "printf x | docker secret create \(secret) -"]).status == 0)
        defer { _ = try? run("/usr/bin/docker", ["secret", "rm", secret]) }

        let janitorA = try Janitor(deployer: SwarmDeployer(), registry: ActiveRuns(directory: stateA.url.appendingPathComponent("runs/active")),
                                   baseDomain: "ci.example")
        // Only candidates (what `reap` tears down), at age 0: reaping would tear down other tests' stacks too.
        let picked = try janitorA.candidates(olderThan: 0).map(\.stack)
        #expect(!picked.contains(stackB), "state A's janitor picked state B's stack \(stackB)")
        #expect(!picked.contains(foreign), "state A's janitor picked \(foreign), which cchost never deployed")
        #expect(!picked.contains { secret.hasPrefix($0 + "_") }, "state A's janitor picked the secret \(secret), which it never made")
        // State B's own janitor does pick its dead run's stack: the one above was not passed over by accident.
        let janitorB = try Janitor(deployer: SwarmDeployer(), registry: registryB, baseDomain: "ci.example")
        #expect(try janitorB.candidates(olderThan: 3600).map(\.stack).contains(stackB))
    }
}
