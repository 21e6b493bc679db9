import Foundation
@testable import HostBase
@testable import HostDocker
@testable import HostRuns
@testable import HostState
import PluginChannel
import Synchronization
import Testing

/// The whole tier loop on in-memory fakes of the deployer and Docker: every op, every abort path,
/// cancellation, events and recording, in milliseconds and without a swarm. (What only a real
/// engine can show stays in the swarm suites.)
@Suite("The run engine on fakes")
struct RunEngineTests {
    /// The fixture recipes as git repositories (git only; no Docker).
    static let repositories = Result { try SwarmRuns.repositories("engine-fakes") }

    /// A run engine over fakes, with no plugins (no worker starts).
    struct Harness {
        let state: TemporaryDirectory
        let docker: FakeDocker
        let deployer: FakeDeployer
        let engine: RunEngine
        let events = Events()

        final class Events: Sendable {
            let list = Mutex<[RunEvent]>([])
            func append(_ event: RunEvent) { list.withLock { $0.append(event) } }
        }

        /// A builtin plugin that declares nothing: the generic suite is there, and no worker starts.
        static let quietGeneric = ResolvedPlugin(
            path: "/nonexistent/libcchost-generic.so", origin: .builtin,
            info: PluginInfo(description: PluginDescription(name: "generic", version: "0", abiMajor: 1, abiMinor: 0, structSize: 0,
                                                            checks: [], installSteps: [], hooks: [], metadataJSON: "{}"),
                             metadata: try! PluginMetadata(json: #"{"recipes": ["*"]}"#)),
            profile: .operatorDefault)

        init(plugins: [ResolvedPlugin] = [quietGeneric], _ configure: (inout FakeDeployer.Behaviour) -> Void = { _ in },
             docker configureDocker: (inout FakeDocker.State) -> Void = { _ in }) throws {
            state = try TemporaryDirectory("engine-fakes-state")
            docker = FakeDocker(root: state.url.appendingPathComponent("volumes"), configureDocker)
            deployer = FakeDeployer(docker: docker, configure)
            let events = events
            engine = RunEngine(deployer: deployer, plugins: plugins, launcher: .forTests(),
                               runsDirectory: state.url.appendingPathComponent("runs"),
                               retainedData: RetainedVolumes(docker: docker, stateDirectory: state.path),
                               events: { event in events.append(event) })
        }

        func run(_ recipe: String = "static-site", ref: String? = nil, base: String? = nil, stages: [Tier] = Tier.allCases,
                 cancellation: RunCancellation = RunCancellation(), retainData: Bool = false) throws -> RunRecord {
            let repository = try RunEngineTests.repositories.get().file(recipe)
            return try engine.run(RunRequest(recipe: recipe, repository: repository, headRef: ref, base: base, stages: stages,
                                             retainData: retainData, cancellation: cancellation))
        }

        var eventLines: [String] { events.list.withLock { $0.map(\.line) } }
    }

    static func tier(_ record: RunRecord, _ tier: Tier) throws -> RunRecord.TierRecord {
        try #require(record.tiers.first { $0.tier == tier }, "no \(tier) in \(record.tiers.map(\.tier))")
    }

    @Test("a recipe goes green through every tier: one deploy, the chaos upgrade to the head, backup, restore, teardown")
    func greenRun() throws {
        let harness = try Harness()
        let record = try harness.run()
        #expect(record.isGreen, "\(RunReport.console(record))")
        #expect(record.tiers.map(\.tier) == Tier.allCases)
        #expect(record.tiers.map(\.op) == [.lint, .deploy, .chaosRedeploy, .backup, .restore, .none])
        #expect(try Self.tier(record, .install).opRef == "1.1.0+1.36.1" && Self.tier(record, .upgrade).opRef == "2.0.0+2.0.0")
        #expect(record.deployCount == 1 && record.teardown?.isClean == true && record.level != nil)
        // A backup after the upgrade (the marker must be in it), the backup tier's, the restore.
        #expect(harness.deployer.calls == ["install 1.1.0+1.36.1", "upgrade 2.0.0+2.0.0", "backup 2.0.0+2.0.0", "backup 2.0.0+2.0.0",
                                           "restore 2.0.0+2.0.0", "teardown"])
        // The marker was seeded in the backed-up volume by the helper once the app was up, changed
        // before the restore (in place: the fake gives no fresh volumes) and read back after it;
        // nothing ran in the app's containers.
        let stack = AppNaming.stackName(forDomain: record.domain)
        #expect(harness.deployer.fakeHelper.calls == ["mark \(stack)_content .", "write \(stack)_content .cchost-marker",
                                                      "read \(stack)_content .cchost-marker"],
                "\(harness.deployer.fakeHelper.calls)")
        let intact = try #require(Self.tier(record, .upgrade).checks.first { $0.name == "data-intact" })
        #expect(intact.verdict == .pass && intact.detail == "all 1 marker(s) seeded before the upgrade are in the backup after it", "\(intact.detail)")
        let proof = try #require(Self.tier(record, .restore).checks.first { $0.name == "data-proof" })
        #expect(proof.verdict == .pass && proof.detail.hasPrefix("restored in place (the fake backend"), "\(proof.detail)")
        #expect(harness.docker.calls.filter { $0.hasPrefix("exec") }.isEmpty)
    }

    @Test("a failed install aborts the run: later tiers are not run, the run is RED at L0, and teardown still runs")
    func failedInstallAborts() throws {
        let harness = try Harness { $0.failures["install"] = DeployError(operation: "deploy", stack: "s", reason: "no such image") }
        let record = try harness.run()
        let install = try Self.tier(record, .install)
        #expect(install.opVerdict == .fail && install.opDetail.contains("no such image"))
        for tier in [Tier.upgrade, .backup, .restore, .custom] {
            #expect(try Self.tier(record, tier).opDetail == "not run: an earlier stage aborted (install failed)")
            #expect(try Self.tier(record, tier).verdict == .unverified)
        }
        #expect(record.aborted == "install failed" && !record.isGreen && record.level == 0)
        #expect(harness.deployer.calls.last == "teardown")
        #expect(record.exitStatus == 1)
    }

    @Test("an install that does not converge aborts with that reason")
    func installThatDoesNotConverge() throws {
        let harness = try Harness(docker: { $0.convergence = [.failed(reasons: ["app: task failed: exit 1"])] })
        let record = try harness.run(stages: [.install, .upgrade])
        #expect(try Self.tier(record, .install).opDetail
                == "did not converge: app: task failed: exit 1; services run under the operator's ceilings (2 GiB memory, 2 CPUs each)")
        #expect(record.aborted == "install did not converge")
        #expect(try Self.tier(record, .upgrade).verdict == .unverified)
    }

    /// A harness whose install puts `label` as the app's `coop-cloud.<stack>.timeout` deploy label.
    static func withTimeoutLabel(_ label: String) throws -> Harness {
        let harness = try Harness()
        harness.deployer.behaviour.withLock { behaviour in
            behaviour.afterDeploy = { [docker = harness.docker] app, _ in
                docker.update { $0.labels["\(app.stack)/app", default: [:]]["coop-cloud.\(app.stack).timeout"] = label }
            }
        }
        return harness
    }

    @Test("the recipe's coop-cloud.<stack>.timeout label is how long convergence is waited for")
    func timeoutLabelIsTheDeadline() throws {
        let harness = try Self.withTimeoutLabel("42")
        let started = Date()
        _ = try harness.run(stages: [.install])
        let deadline = try #require(harness.docker.state.withLock { $0.deadlines.first })
        #expect(abs(deadline.timeIntervalSince(started) - 42) < 5, "waited until \(deadline.timeIntervalSince(started)) s after the start")
    }

    @Test("a timeout label that is not a positive number is ignored with a note: the configured timeout is waited for",
          arguments: ["soon", "0", "-3"])
    func badTimeoutLabelIsIgnored(label: String) throws {
        let harness = try Self.withTimeoutLabel(label)
        let started = Date()
        let record = try harness.run(stages: [.install])
        let deadline = try #require(harness.docker.state.withLock { $0.deadlines.first })
        #expect(abs(deadline.timeIntervalSince(started) - Double(harness.deployer.defaultTimeout)) < 2)
        #expect(harness.eventLines.contains { $0.contains("timeout=\"\(label)\": not a positive number of seconds") }, "\(harness.eventLines)")
        #expect(try Self.tier(record, .install).opVerdict == .pass)
    }

    @Test("restarts since the deploy are counted from the engine's die events and reported; containers swarm stopped on purpose are not")
    func restartsAreReported() throws {
        let harness = try Harness()
        harness.deployer.behaviour.withLock { behaviour in
            behaviour.afterDeploy = { [docker = harness.docker] app, _ in
                func died(_ service: String, task: String) -> DockerEvent {
                    DockerEvent(type: "container", action: "die", actorID: "c-\(task)", attributes: [
                        "com.docker.swarm.service.name": "\(app.stack)_\(service)", "com.docker.swarm.task.id": task,
                    ], time: Date())
                }
                docker.update { state in
                    state.events[app.stack] = [died("app", task: "t1"), died("app", task: "t2"), died("app", task: "replaced"),
                                               DockerEvent(type: "container", action: "start", actorID: "c-t3", time: Date())]
                    state.tasks[app.stack] = [SwarmTask(id: "replaced", serviceID: "s", desiredState: .shutdown, state: .shutdown)]
                }
            }
        }
        let record = try harness.run(stages: [.install])
        #expect(try Self.tier(record, .install).opDetail == "1.1.0+1.36.1 converged; restarts: app 2")
    }

    @Test("restarts the engine's events no longer show (a busy engine keeps only its last few hundred) are counted from the tasks that failed since the deploy")
    func restartsFromTasks() throws {
        let harness = try Harness()
        harness.deployer.behaviour.withLock { behaviour in
            behaviour.afterDeploy = { [docker = harness.docker] app, _ in
                let deployed = Date()
                func task(_ id: String, _ state: SwarmTask.TaskState, _ seconds: Double) -> SwarmTask {
                    SwarmTask(id: id, serviceID: "s-app", desiredState: .shutdown, state: state,
                              timestamp: deployed.addingTimeInterval(seconds))
                }
                docker.update { state in
                    state.events[app.stack] = []
                    state.services[app.stack] = [SwarmService(id: "s-app", name: "\(app.stack)_app", labels: [:], containerLabels: [:],
                                                              image: "a:1", replicas: 1)]
                    state.tasks[app.stack] = [task("before", .failed, -60), task("t1", .failed, 2), task("t2", .failed, 9),
                                              task("t3", .complete, 15), task("replaced", .shutdown, 20)]
                }
            }
        }
        let record = try harness.run(stages: [.install])
        #expect(try Self.tier(record, .install).opDetail == "1.1.0+1.36.1 converged; restarts: app 3")
    }

    @Test("a deploy without restarts says only that it converged")
    func noRestartsNoNote() throws {
        let record = try Harness().run(stages: [.install])
        #expect(try Self.tier(record, .install).opDetail == "1.1.0+1.36.1 converged")
    }

    @Test("an upgrade whose chaos-version is not the head fails, and nothing after it runs")
    func wrongChaosVersion() throws {
        let harness = try Harness { $0.chaosVersion = "0000000" }
        let record = try harness.run(stages: [.install, .upgrade, .backup])
        #expect(try Self.tier(record, .upgrade).opDetail.hasPrefix("deployed chaos-version is 0000000, expected the head"))
        #expect(record.aborted == "upgrade failed")
        #expect(try Self.tier(record, .backup).opDetail == "not run: an earlier stage aborted (upgrade failed)")
        #expect(!harness.deployer.calls.contains { $0.hasPrefix("backup") })
    }

    @Test("deploy labels Docker cannot read make the upgrade unverified with Docker's message, never a missing chaos-version")
    func unreadableLabels() throws {
        let harness = try Harness()
        harness.deployer.behaviour.withLock { behaviour in
            behaviour.afterDeploy = { [docker = harness.docker] _, kind in
                if case .chaosUpgrade = kind {
                    docker.update { $0.failures["serviceLabels"] = DockerError(.unreachable, operation: "inspect the service", message: "socket closed") }
                }
            }
        }
        let record = try harness.run(stages: [.install, .upgrade])
        let upgrade = try Self.tier(record, .upgrade)
        #expect(upgrade.opVerdict == .unverified && upgrade.opDetail.contains("socket closed"), "\(upgrade.opDetail)")
        #expect(!upgrade.opDetail.contains("missing"))
        #expect(!record.isGreen)
    }

    @Test("a recipe that cannot be read makes backup and restore unverified with the cause, never n/a")
    func unreadableRecipeIsNotNotApplicable() throws {
        let harness = try Harness {
            $0.afterDeploy = { app, _ in
                try? "services: [unclosed".write(toFile: app.checkout.directory + "/compose.yml", atomically: true, encoding: .utf8)
            }
        }
        let record = try harness.run(stages: [.install, .backup, .restore])
        for tier in [Tier.backup, .restore] {
            let recorded = try Self.tier(record, tier)
            #expect(recorded.verdict == .unverified && recorded.notApplicable == nil, "\(recorded)")
            #expect(recorded.opDetail.hasPrefix("which services are backed up is unknown"), "\(recorded.opDetail)")
        }
        #expect(!record.isGreen)
    }

    @Test("a recipe without backup labels has n/a backup and restore, flagged as not declared, and stays green")
    func notApplicableBackups() throws {
        let record = try Harness().run("no-backup")
        for tier in [Tier.backup, .restore] {
            let recorded = try Self.tier(record, tier)
            #expect(recorded.notApplicable == "no service has backupbot.backup=true" && recorded.notApplicableExpected == false)
        }
        #expect(record.isGreen)
    }

    @Test("the first release has no earlier release: upgrade is n/a")
    func firstReleaseHasNoUpgrade() throws {
        let record = try Harness().run(ref: "1.0.0+1.35.0", stages: [.install, .upgrade])
        #expect(try Self.tier(record, .upgrade).notApplicable == "there is no earlier release to upgrade from")
        #expect(record.base == nil && record.isGreen)
    }

    @Test("a failed backup leaves restore unverified, with why")
    func failedBackup() throws {
        let harness = try Harness { $0.failures["backup"] = DeployError(operation: "backup", stack: "s", reason: "tar: short write") }
        let record = try harness.run(stages: [.install, .backup, .restore])
        #expect(try Self.tier(record, .backup).opDetail.contains("tar: short write"))
        #expect(try Self.tier(record, .restore).opDetail == "no backup of this run to restore (the backup tier was not selected or did not succeed)")
        #expect(record.judgement.verdict == .fail)
    }

    @Test("a marker the helper cannot write leaves the data checks unverified with the helper's own message, never proven")
    func markerWriteFails() throws {
        let harness = try Harness()
        harness.deployer.fakeHelper.fail("mark", with: DeployError(operation: "write .cchost-marker in s_content", stack: "s",
                                                                     reason: "sh: can't create .cchost-marker: Read-only file system"))
        let record = try harness.run(stages: [.install, .upgrade, .backup, .restore])
        #expect(try Self.tier(record, .install).opVerdict == .pass, "the install itself worked")
        for (tier, name) in [(Tier.upgrade, "data-intact"), (.restore, "data-proof")] {
            let check = try #require(Self.tier(record, tier).checks.first { $0.name == name })
            #expect(check.verdict == .unverified && check.detail.contains("Read-only file system"), "\(tier): \(check.detail)")
        }
        #expect(record.judgement.verdict == .unverified && record.level == 1, "\(RunReport.console(record))")
    }

    @Test("a restore in place that does not bring the changed marker back is RED, naming the file")
    func restoreInPlaceThatDoesNothingIsRed() throws {
        let harness = try Harness()
        // The restore "succeeds" but writes nothing back.
        harness.deployer.behaviour.withLock { $0.restoreWritesNothing = true }
        let record = try harness.run(stages: [.install, .backup, .restore])
        let proof = try #require(Self.tier(record, .restore).checks.first { $0.name == "data-proof" })
        #expect(proof.verdict == .fail && proof.detail.contains("app:content/.cchost-marker holds 'mutated'"), "\(proof.detail)")
        #expect(record.judgement.verdict == .fail)
    }

    @Test("the deploy-count guard trips when the base is deployed twice, and aborts the run")
    func deployCountGuard() throws {
        let harness = try Harness()
        harness.engine.installDeploys = 2
        let record = try harness.run(stages: [.install, .upgrade])
        #expect(record.deployCount == 2 && record.aborted == "deploy-count guard: 2 deploys in one run, expected 1")
        #expect(try Self.tier(record, .upgrade).verdict == .unverified && !record.isGreen)
    }

    @Test("a run cancelled during install does not start another tier, still tears down, keeps no data, and is RED saying so")
    func cancelledRun() throws {
        let cancellation = RunCancellation()
        let harness = try Harness { $0.afterDeploy = { _, _ in cancellation.cancel("SIGINT received") } }
        let record = try harness.run(stages: [.install, .upgrade, .backup], cancellation: cancellation, retainData: true)
        #expect(try Self.tier(record, .upgrade).opDetail == "not run: the run was cancelled (SIGINT received)")
        #expect(record.aborted == "cancelled: SIGINT received" && !record.isGreen)
        #expect(harness.deployer.calls == ["install 1.1.0+1.36.1", "teardown"])
        #expect(record.retainedVolumes == nil)
    }

    @Test("a wait for convergence the cancellation stops makes the op unverified, never the recipe's failure")
    func cancelledWaitIsUnverified() throws {
        let cancellation = RunCancellation()
        let harness = try Harness({ $0.afterDeploy = { _, _ in cancellation.cancel("SIGTERM received") } },
                                  docker: { $0.convergence = [.waiting(reasons: ["stopped waiting: the run was cancelled"])] })
        let record = try harness.run(stages: [.install, .upgrade], cancellation: cancellation)
        let install = try Self.tier(record, .install)
        #expect(install.opVerdict == .unverified && install.opDetail.contains("stopped waiting"), "\(install)")
        #expect(record.judgement.failed == 0 && !record.isGreen)
    }

    @Test("a run without the builtin generic suite (it could not be loaded) is unverified, never GREEN")
    func missingGenericSuite() throws {
        let record = try Harness(plugins: []).run(stages: [.install])
        #expect(record.generic.hasPrefix("missing: the builtin generic suite is not among the run's plugins"))
        #expect(record.judgement.verdict == .unverified && record.exitStatus == 1 && record.level == 0)
        #expect(PromoteGate.decide(PromotionCandidate(record, fromPullRequest: false)) != .promote(version: "2.0.0+2.0.0"))
    }

    @Test("a run cancelled while it plans deploys nothing and leaves no checkout behind")
    func cancelledWhilePlanning() throws {
        let cancellation = RunCancellation()
        cancellation.cancel("SIGINT received")
        let harness = try Harness()
        #expect { try harness.run(stages: [.install], cancellation: cancellation) } throws: {
            "\($0)".contains("cancelled before anything was deployed (SIGINT received)")
        }
        #expect(harness.deployer.calls.isEmpty)
        let runs = try FileManager.default.contentsOfDirectory(atPath: harness.state.file("runs"))
        for run in runs where run != "active" {
            #expect(try FileManager.default.contentsOfDirectory(atPath: harness.state.file("runs/\(run)")) == ["artifacts"])
        }
    }

    @Test("a plan that fails after checking out leaves no checkout behind")
    func failedPlanCleansUp() throws {
        let harness = try Harness()
        // The head is checked out, then the base cannot be.
        #expect(throws: PlanError.self) { try harness.run(base: "no-such-base", stages: [.install]) }
        let runs = try FileManager.default.contentsOfDirectory(atPath: harness.state.file("runs"))
        #expect(!runs.isEmpty)
        for run in runs where run != "active" {
            #expect(try FileManager.default.contentsOfDirectory(atPath: harness.state.file("runs/\(run)")) == ["artifacts"])
        }
    }

    @Test("events: started, each tier started and finished in order, then finished with the judged record")
    func events() throws {
        let harness = try Harness()
        let record = try harness.run(stages: [.lint, .install])
        let lines = harness.eventLines
        #expect(lines.first?.hasPrefix("run \(record.id) of static-site as ") == true, "\(lines)")
        #expect(lines.filter { $0.hasPrefix("[") && ($0.hasSuffix("starting") || $0.contains(" in ")) }
                == ["[lint] starting", "[lint] \(record.tiers[0].verdict.rawValue) in 0 s", "[install] starting",
                    "[install] pass in 0 s"], "\(lines)")
        #expect(lines.last == "run \(record.id) finished: \(record.judgement.line), \(record.judgement.levelText)")
    }

    /// Records what it is told, or fails where asked.
    final class Recorder: RunRecorder {
        let records = Mutex<[(String, RunRecord)]>([])
        let failStart: Bool
        init(failStart: Bool = false) { self.failStart = failStart }
        func started(_ record: RunRecord) throws {
            struct Refused: Error {}
            if failStart { throw Refused() }
            records.withLock { $0.append(("started", record)) }
        }
        func finished(_ record: RunRecord) throws { records.withLock { $0.append(("finished", record)) } }
        func interrupted(runID: String, reason: String) throws {}
    }

    @Test("the run is recorded before anything is deployed, and again, judged, when it finishes")
    func recordedAtStartAndFinish() throws {
        let harness = try Harness()
        let recorder = Recorder()
        harness.engine.recorder = recorder
        let record = try harness.run(stages: [.install])
        let recorded = recorder.records.withLock { $0 }
        #expect(recorded.map(\.0) == ["started", "finished"])
        #expect(recorded[0].1.tiers.isEmpty && recorded[0].1.finishedAt == nil && !recorded[0].1.isGreen)
        #expect(recorded[1].1 == record && record.verdict == .pass)
    }

    @Test("a run without the engine's proxy is a plan error saying how to start it, and nothing is deployed")
    func missingProxyDeploysNothing() throws {
        let harness = try Harness()
        harness.deployer.fakeProxy.state.withLock { $0.problem = "its service cchost-proxy_traefik is not running: start it with scripts/proxy" }
        let error = #expect(throws: PlanError.self) { try harness.run(stages: [.install]) }
        #expect(error?.description == "apps are reached through the engine's proxy, and its service cchost-proxy_traefik is not running: start it with scripts/proxy")
        #expect(harness.deployer.calls.isEmpty)
    }

    @Test("a backend tool the backend refuses is a plan error naming it, and nothing is deployed")
    func refusedToolDeploysNothing() throws {
        let refusal = DeployError(operation: "abra --version", stack: "", reason: "abra 0.9.2 is older than 0.10")
        let harness = try Harness { $0.toolVersion = .failure(refusal) }
        let error = #expect(throws: PlanError.self) { try harness.run(stages: [.install]) }
        #expect(error?.description == "the fake backend cannot run: abra --version failed: abra 0.9.2 is older than 0.10")
        #expect(harness.deployer.calls.isEmpty)
    }

    @Test("the backend's tool version is recorded in the run and shown beside the backend in the console report")
    func toolVersionRecorded() throws {
        let record = try Harness { $0.toolVersion = .success("0.10.1-beta-5e9b8d1") }.run(stages: [.install])
        #expect(record.backendVersion == "0.10.1-beta-5e9b8d1")
        #expect(RunReport.console(record).contains("  backend    fake 0.10.1-beta-5e9b8d1\n"))
        let decoded = try RunReport.decode(try RunReport.json(record))
        #expect(decoded.backendVersion == "0.10.1-beta-5e9b8d1")
    }

    @Test("a backend that cannot back up yet leaves backup and restore unverified with its reason, runs neither, and the run is not green")
    func backendWithoutBackups() throws {
        let harness = try Harness { $0.backupUnsupported = "not supported by the fake backend yet" }
        let record = try harness.run(stages: [.install, .backup, .restore])
        for tier in [Tier.backup, .restore] {
            let result = try Self.tier(record, tier)
            #expect(result.verdict == .unverified && result.opDetail == "not supported by the fake backend yet", "\(tier): \(result.opDetail)")
        }
        #expect(!harness.deployer.calls.contains { $0.hasPrefix("backup") || $0.hasPrefix("restore") }, "\(harness.deployer.calls)")
        #expect(record.judgement.verdict == .unverified)
    }

    @Test("a run that cannot be recorded or registered at its start is a plan error, and nothing is deployed")
    func unrecordableRunDeploysNothing() throws {
        let harness = try Harness()
        harness.engine.recorder = Recorder(failStart: true)
        #expect(throws: PlanError.self) { try harness.run(stages: [.install]) }

        let unregistrable = try Harness()
        try FileManager.default.createDirectory(at: unregistrable.state.url.appendingPathComponent("runs"), withIntermediateDirectories: true)
        try Data().write(to: unregistrable.state.url.appendingPathComponent("runs/active"))
        #expect { try unregistrable.run(stages: [.install]) } throws: { "\($0)".contains("could not be registered") }
        #expect(harness.deployer.calls.isEmpty && unregistrable.deployer.calls.isEmpty)
    }

    @Test("diagnostics Docker cannot give are kept as a problem artifact and change no verdict")
    func diagnosticsProblems() throws {
        let harness = try Harness(docker: { $0.failures["events"] = DockerError(.unreachable, operation: "events", message: "socket closed") })
        let record = try harness.run(stages: [.install])
        let problems = try #require(record.artifacts.first { $0.hasSuffix("diagnostics-problems.txt") })
        #expect(try String(contentsOfFile: problems, encoding: .utf8).contains("socket closed"))
        #expect(record.isGreen)
    }
}

@Suite("The tier policy")
struct TierPolicyTests {
    typealias Situation = TierPolicy.Situation
    static let unreadable = DeployError(operation: "read recipe", stack: "s", reason: "bad yaml")

    @Test("which tiers run, are n/a or are not run", arguments: [
        ("lint runs even after an abort", Situation(tier: .lint, abort: "install failed"), TierPolicy.Start.run),
        ("an abort stops every later tier", Situation(tier: .upgrade, abort: "install failed"),
         .unverified(.none, "not run: an earlier stage aborted (install failed)")),
        ("a cancellation stops every tier, lint too", Situation(tier: .lint, cancelled: "SIGINT"), .unverified(.none, "not run: the run was cancelled (SIGINT)")),
        ("a cancellation wins over an abort", Situation(tier: .backup, abort: "x", cancelled: "SIGTERM"),
         .unverified(.none, "not run: the run was cancelled (SIGTERM)")),
        ("no earlier release: upgrade n/a", Situation(tier: .upgrade, hasEarlierRelease: false),
         .notApplicable("there is no earlier release to upgrade from")),
        ("no earlier release does not matter to install", Situation(tier: .install, hasEarlierRelease: false), .run),
        ("no backup labels: backup n/a", Situation(tier: .backup, backedUp: .success(false)), .notApplicable("no service has backupbot.backup=true")),
        ("no backup labels: restore n/a", Situation(tier: .restore, backedUp: .success(false)), .notApplicable("no service has backupbot.backup=true")),
        ("an unreadable recipe is unverified, never n/a", Situation(tier: .backup, backedUp: .failure(unreadable)),
         .unverified(.backup, "which services are backed up is unknown: read recipe of s failed: bad yaml")),
        ("restore without this run's backup is unverified", Situation(tier: .restore, hasBackup: false),
         .unverified(.restore, "no backup of this run to restore (the backup tier was not selected or did not succeed)")),
        ("restore with a backup runs", Situation(tier: .restore, hasBackup: true), .run),
        ("a backend that cannot back up: backup unverified", Situation(tier: .backup, backupUnsupported: "not supported by the abra backend yet"),
         .unverified(.backup, "not supported by the abra backend yet")),
        ("a backend that cannot back up: restore unverified", Situation(tier: .restore, hasBackup: false, backupUnsupported: "not supported by the abra backend yet"),
         .unverified(.restore, "not supported by the abra backend yet")),
        ("a backend that cannot back up: no backup labels stay n/a", Situation(tier: .backup, backedUp: .success(false), backupUnsupported: "x"),
         .notApplicable("no service has backupbot.backup=true")),
        ("custom runs", Situation(tier: .custom), .run),
    ])
    func start(name: String, situation: Situation, expected: TierPolicy.Start) {
        #expect(TierPolicy.start(situation) == expected, "\(name)")
    }

    @Test("when the run cannot go on", arguments: [
        (Tier.install, Verdict.pass, nil as String?, 1, nil as String?),
        (.install, .fail, nil, 1, "install failed"),
        (.install, .fail, "install did not converge", 1, "install did not converge"),
        (.upgrade, .unverified, nil, 1, "upgrade failed"),
        (.backup, .fail, nil, 1, nil),               // a failed backup leaves the app up: restore says why it cannot run
        (.custom, .fail, "install failed", 1, "install failed"),
        (.upgrade, .pass, nil, 2, "deploy-count guard: 2 deploys in one run, expected 1"),
        (.install, .fail, "install failed", 3, "deploy-count guard: 3 deploys in one run, expected 1"),
    ])
    func abort(tier: Tier, verdict: Verdict, opAbort: String?, deploys: Int, expected: String?) {
        #expect(TierPolicy.abort(after: tier, opVerdict: verdict, opAbort: opAbort, deployCount: deploys) == expected)
    }
}
