import Foundation
@testable import HostBase
@testable import HostDocker
@testable import HostRuns
@testable import HostState
import PluginChannel
import Synchronization
import Testing

/// Recipes that take more than an operator allows a run (Tests/Fixtures/hostile-recipes/ceiling-*),
/// on the real swarm: memory beyond the services' ceiling, a run that would wait past its deadline,
/// a backup bigger than the run folder's budget. Each proves the act happens, then that the ceiling
/// stops it and the run says which ceiling did.
@Suite("Hostile recipes: per-run ceilings", .serialized)
struct HostileCeilingTests {
    static let repositories = Result {
        try SwarmRuns.repositories("ceiling-recipes", fixtures: "hostile-recipes") { source in try zeroLimits(in: source) }
    }

    /// ceiling-zero-limits: the memory hog writing `limits: {memory: "0", cpus: "0"}`, docker's "no limit".
    static func zeroLimits(in source: URL) throws {
        let files = FileManager.default
        try files.copyItem(at: source.appendingPathComponent("ceiling-memory-hog"), to: source.appendingPathComponent("ceiling-zero-limits"))
        try files.copyItem(at: source.appendingPathComponent("ceiling-memory-hog.releases"),
                           to: source.appendingPathComponent("ceiling-zero-limits.releases"))
        let compose = source.appendingPathComponent("ceiling-zero-limits/compose.yml")
        let text = try String(contentsOf: compose, encoding: .utf8)
        let deploy = "    deploy:\n      update_config:\n"
        guard text.contains(deploy) else { throw GitFixtureError(description: "ceiling-memory-hog's compose.yml has no \(deploy)") }
        try Data(text.replacingOccurrences(of: deploy, with: "    deploy:\n      resources:\n        limits: {memory: \"0\", cpus: \"0\"}\n"
                                           + "      update_config:\n").utf8).write(to: compose)
    }

    static func repository(_ name: String) throws -> String {
        try repositories.get().url.appendingPathComponent(name).path
    }

    /// What docker said of the app's `app` service while it was still deployed (right after install).
    struct Inspection: Sendable {
        var memoryLimit = ""
        var nanoCPUs = ""
        var taskErrors = ""
        var logs = ""
        var peakMemory = ""
        /// The size of the run's backup of the content volume, after the run (0: none).
        var backupBytes: UInt64 = 0
    }

    /// Runs `recipe` with `ceilings`, inspecting its `app` service when install is over.
    static func run(_ recipe: String, ceilings: RunCeilings, stages: [Tier]) throws -> (RunRecord, Inspection, TimeInterval) {
        let state = try TemporaryDirectory("ceiling-state")
        let inspection = Mutex(Inspection())
        let stackName = Mutex<String?>(nil)
        let deployer = SwarmDeployer(defaultTimeout: 90)
        let engine = RunEngine(deployer: deployer, plugins: [try SwarmRuns.generic()], launcher: .forTests(),
                               runsDirectory: state.url.appendingPathComponent("runs"),
                               retainedData: RetainedVolumes(docker: deployer.docker, stateDirectory: state.path),
                               events: { event in
                                   switch event {
                                   case .started(_, _, let stack, _): stackName.withLock { $0 = stack }
                                   case .tierFinished(let tier) where tier.tier == .install:
                                       guard let stack = stackName.withLock({ $0 }) else { return }
                                       inspection.withLock { $0 = inspect(stack: stack) }
                                   default: return
                                   }
                               })
        let started = Date()
        let record = try engine.run(RunRequest(recipe: recipe, repository: try repository(recipe), stages: stages, ceilings: ceilings))
        let elapsed = Date().timeIntervalSince(started)
        #expect(record.teardown?.isClean == true, "\(record.teardown.map { "\($0.leftovers)" } ?? "no teardown")")
        #expect(SwarmRuns.leftovers(AppNaming.stackName(forDomain: record.domain)).isEmpty)
        var inspected = inspection.withLock { $0 }
        let archive = state.url.appendingPathComponent("runs/\(record.id)/backup/app/content.tar").path
        inspected.backupBytes = ((try? FileManager.default.attributesOfItem(atPath: archive))?[.size] as? NSNumber)?.uint64Value ?? 0
        return (record, inspected, elapsed)
    }

    static func inspect(stack: String) -> Inspection {
        func docker(_ arguments: [String]) -> String {
            ((try? HostTests.run("/usr/bin/docker", arguments)).map { $0.stdout + $0.stderr } ?? "")
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let service = "\(stack)_app"
        var inspection = Inspection()
        inspection.memoryLimit = docker(["service", "inspect", service, "--format", "{{.Spec.TaskTemplate.Resources.Limits.MemoryBytes}}"])
        inspection.nanoCPUs = docker(["service", "inspect", service, "--format", "{{.Spec.TaskTemplate.Resources.Limits.NanoCPUs}}"])
        inspection.taskErrors = docker(["service", "ps", service, "--no-trunc", "--format", "{{.Error}}"])
        inspection.logs = docker(["service", "logs", "--raw", service])
        let container = docker(["ps", "-q", "--filter", "label=com.docker.swarm.service.name=\(service)"])
            .split(separator: "\n").first.map(String.init)
        if let container {
            inspection.peakMemory = docker(["exec", container, "cat", "/sys/fs/cgroup/memory/memory.max_usage_in_bytes"])
        }
        return inspection
    }

    static func ceilings(deadline: TimeInterval = 600, memory: UInt64 = 4 << 30, runFolder: UInt64 = 1 << 30) -> RunCeilings {
        RunCeilings(deadline: deadline, services: ServiceCeilings(memoryBytes: memory, cpus: 2), runFolderBytes: runFolder)
    }

    @Test("a service that takes 160 MiB gets it under a generous ceiling, and under a 64 MiB one is limited, killed and the run red naming the ceiling",
          .requiresDocker)
    func memoryBeyondTheCeiling() throws {
        // Before: the shell takes and holds its 160 MiB (the hostile act happens).
        let (generous, free, _) = try Self.run("ceiling-memory-hog", ceilings: Self.ceilings(), stages: [.install])
        let unlimited = try generous.tier(.install)
        #expect(unlimited.opVerdict == .pass, "\(unlimited.opDetail)")
        #expect(free.logs.contains("holding 16777"), "\(free.logs)")
        #expect((UInt64(free.peakMemory) ?? 0) > 150 << 20, "peak memory of the unlimited task: \(free.peakMemory)")

        // Under a 64 MiB ceiling: the limit is on the service, its tasks are killed (137), the run is red and says why.
        let (capped, limited, _) = try Self.run("ceiling-memory-hog", ceilings: Self.ceilings(memory: 64 << 20), stages: [.install])
        #expect(limited.memoryLimit == "\(64 << 20)", "docker service inspect: \(limited.memoryLimit)")
        #expect(limited.nanoCPUs == "2000000000", "docker service inspect: \(limited.nanoCPUs)")
        #expect(limited.taskErrors.contains("137"), "tasks: \(limited.taskErrors)")
        #expect(!limited.logs.contains("holding 16777"), "\(limited.logs)")
        #expect(capped.verdict == .fail || capped.verdict == .unverified)
        let install = try capped.tier(.install)
        #expect(install.opVerdict == .fail)
        #expect(install.opDetail.contains("64 MiB memory"), "\(install.opDetail)")
    }

    @Test("a service writing memory \"0\" and cpus \"0\" (no limit to docker) runs under the 64 MiB ceiling all the same: limited and killed",
          .requiresDocker)
    func zeroLimitsGetTheCeiling() throws {
        let (record, inspected, _) = try Self.run("ceiling-zero-limits", ceilings: Self.ceilings(memory: 64 << 20), stages: [.install])
        #expect(inspected.memoryLimit == "\(64 << 20)", "docker service inspect: \(inspected.memoryLimit)")
        #expect(inspected.nanoCPUs == "2000000000", "docker service inspect: \(inspected.nanoCPUs)")
        #expect(!inspected.logs.contains("holding 16777"), "\(inspected.logs)")
        #expect(try record.tier(.install).opVerdict == .fail)
    }

    @Test("a recipe that converges only after 40 s and asks to be waited for 60 s is stopped at the run's 8 s deadline, unverified naming it",
          .requiresDocker)
    func deadline() throws {
        let (record, _, elapsed) = try Self.run("ceiling-slow", ceilings: Self.ceilings(deadline: 8), stages: [.install, .custom])
        #expect(elapsed < 35, "the run took \(Int(elapsed)) s: the 8 s deadline did not end the wait")
        #expect(record.verdict == .unverified)
        #expect(try record.tier(.install).opVerdict == .unverified)
        #expect(record.aborted?.contains("the run passed its 8 s deadline") == true, "\(record.aborted ?? "not aborted")")
        #expect(record.judgement.line.contains("the run passed its 8 s deadline"), "\(record.judgement.line)")
    }

    @Test("a backup bigger than the run folder's 1 MiB budget stops the run, unverified naming the budget; teardown still happens",
          .requiresDocker)
    func runFolderBudget() throws {
        let (record, inspected, _) = try Self.run("ceiling-big-backup", ceilings: Self.ceilings(runFolder: 1 << 20),
                                          stages: [.install, .backup, .restore])
        // The act: the backup really holds more than the budget.
        #expect(inspected.backupBytes > 3 << 20, "the backup archive holds \(inspected.backupBytes) bytes")
        #expect(try record.tier(.backup).opVerdict == .pass)
        #expect(record.verdict == .unverified)
        #expect(record.aborted?.contains("over its 1 MiB budget") == true, "\(record.aborted ?? "not aborted")")
        #expect(try record.tier(.restore).verdict == .unverified)
    }
}
