import Foundation
@testable import HostBase
@testable import HostDocker
@testable import HostRuns
import Testing

/// The ceilings as the swarm backend writes them and as a run's cancellation keeps its deadline.
@Suite("Service ceilings and the run deadline")
struct ServiceCeilingsTests {
    static func service(_ name: String, memory: String? = nil, cpus: String? = nil) -> ComposeProject.Service {
        var service = ComposeProject.Service(name: name, location: .init(file: "compose.yml", line: 1))
        service.memoryLimit = memory
        service.cpuLimit = cpus
        return service
    }

    /// (memory written, cpus written, memory to write, cpus to write): nil where the recipe's own stays.
    @Test("only a positive limit at or below the ceiling stays; none, zero, negative, unreadable or higher gets the ceiling", arguments: [
        (nil, nil, UInt64(64 << 20) as UInt64?, 2 as Double?),
        ("0", "0", 64 << 20, 2),
        ("0b", "0.0", 64 << 20, 2),
        ("0M", "0.000", 64 << 20, 2),
        ("0.0", ".0", 64 << 20, 2),
        ("0.5b", "0", 64 << 20, 2),
        ("-1", "-1", 64 << 20, 2),
        ("${MEM}", "lots", 64 << 20, 2),
        ("1g", "4", 64 << 20, 2),
        ("64MiB", "2", nil, nil),
        ("32M", "0.5", nil, nil),
        ("1", ".25", nil, nil),
        ("16M", "inf", nil, 2),
        ("16M", "nan", nil, 2),
        ("16M", "0x1p0", nil, 2),
        ("16M", "1/2", nil, 2),
        ("16M", "1e-1", nil, 2),
        ("16M", "1.2.3", nil, 2),
        ("1.2.3M", "1", 64 << 20, nil),
    ] as [(String?, String?, UInt64?, Double?)])
    func limitDecision(memory: String?, cpus: String?, writesMemory: UInt64?, writesCPUs: Double?) {
        let ceilings = ServiceCeilings(memoryBytes: 64 << 20, cpus: 2)
        let limits = ceilings.limits(for: Self.service("app", memory: memory, cpus: cpus))
        #expect(limits == ServiceCeilings.Limits(memoryBytes: writesMemory, cpus: writesCPUs))
    }

    @Test("a service asking for no limit with zero (memory \"0\", cpus \"0\") gets the ceilings in the run's compose file")
    func zeroLimitsGetTheCeilings() throws {
        let checkout = try TemporaryDirectory("zero-limits")
        try Data("""
            version: "3.8"
            services:
              app:
                image: a:1
                deploy:
                  resources:
                    limits: {memory: "0", cpus: "0"}
            """.utf8).write(to: checkout.url.appendingPathComponent("compose.yml"))
        try Data("DOMAIN=z.ci.example\n".utf8).write(to: checkout.url.appendingPathComponent(".env.sample"))
        let recipe = try Recipe.load(directory: checkout.path)
        let app = AppDeployment(runID: "r1", recipe: "zero", domain: "z.ci.example",
                                checkout: Checkout(directory: checkout.path, ref: "1.0.0", commit: String(repeating: "a", count: 40)),
                                workDirectory: checkout.url, serviceCeilings: ServiceCeilings(memoryBytes: 64 << 20, cpus: 0.5))
        let limits = SwarmDeployer().withAdditions(recipe, app: app, kind: .install(ref: "1.0.0"))["services"]?["app"]?["deploy"]?["resources"]?["limits"]
        #expect(limits?["memory"]?.text == "67108864")
        #expect(limits?["cpus"]?.text == "0.5")
    }

    @Test("compose memory sizes read as docker reads them", arguments: [
        ("512M", UInt64(512) << 20), ("1.5g", 3 << 29), ("2GiB", 2 << 30), ("64mb", 64 << 20), ("1048576", 1 << 20), ("100k", 100 << 10),
    ])
    func memorySizes(text: String, bytes: UInt64) {
        #expect(ServiceCeilings.memoryBytes(text) == bytes)
    }

    @Test("sizes docker would not read are unreadable", arguments: ["${MEM}", "lots", "12x", "", "-1", "1.2.3M"])
    func unreadableSizes(text: String) {
        #expect(ServiceCeilings.memoryBytes(text) == nil)
    }

    @Test("a run's cancellation passes its deadline, and is cancelled with the one it was made from")
    func deadline() {
        let outer = RunCancellation()
        let passed = outer.until(Date().addingTimeInterval(-1), reason: "the run passed its 1 min deadline")
        #expect(passed.reason == "the run passed its 1 min deadline")
        #expect(outer.reason == nil, "one run's deadline never cancels the sweep")
        let running = outer.until(Date().addingTimeInterval(3600), reason: "the run passed its 60 min deadline")
        #expect(running.reason == nil)
        outer.cancel("SIGINT received")
        #expect(running.reason == "SIGINT received")
    }

    @Test("the run folder past its budget stops the run naming the ceiling; within it, or unknown, as said", arguments: [
        (UInt64(3 << 20), UInt64(1 << 20), "ceiling: the run folder holds 3 MiB, over its 1 MiB budget (ceilings.run_folder)" as String?),
        (1 << 20, 1 << 20, nil),
    ])
    func runFolderBudget(bytes: UInt64, budget: UInt64, abort: String?) {
        #expect(TierPolicy.abort(after: .backup, opVerdict: .pass, opAbort: nil, deployCount: 1,
                                 runFolder: .success((bytes, budget))) == abort)
        #expect(TierPolicy.abort(after: .backup, opVerdict: .pass, opAbort: nil, deployCount: 1,
                                 runFolder: .failure(.init(reason: "gone"))) == "ceiling: the run folder's size is unknown, so its budget cannot be kept: gone")
    }
}
