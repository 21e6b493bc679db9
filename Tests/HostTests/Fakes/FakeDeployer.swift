import Foundation
@testable import HostBase
@testable import HostDocker
import Synchronization

/// `Deployer` in memory, over a `FakeDocker`: a deploy makes every service of the recipe "run" in
/// the fake (one container each, every named volume mounted at `/data/<volume>`, the deploy labels
/// the swarm backend writes), so the run engine's whole tier loop runs without a swarm. The test
/// sets failures and answers; the fake records every call.
final class FakeDeployer: Deployer {
    struct Behaviour {
        /// Per op (`install`, `upgrade`, `backup`, `restore`): the error it throws.
        var failures: [String: DeployError] = [:]
        /// The `chaos-version` an upgrade writes; nil: the head's short commit, as the swarm backend does.
        var chaosVersion: String?
        var teardown = TeardownResult(removed: ["the stack"], leftovers: [], seconds: 0)
        /// Runs after each successful deploy (a test breaking the checkout, cancelling the run…).
        var afterDeploy: (@Sendable (AppDeployment, DeployKind) -> Void)?
        /// A restore that reports success and writes nothing back.
        var restoreWritesNothing = false
        /// What `toolVersion()` answers (a backend that drives a tool, as abra's does).
        var toolVersion: Result<String?, DeployError> = .success(nil)
        /// A backend that cannot back up yet (as abra's).
        var backupUnsupported: String?
        var calls: [String] = []
    }

    let name = "fake"
    let fake: FakeDocker
    var docker: any Docker { fake }
    /// Volumes of the fake helper live beside the fake Docker's.
    let fakeHelper: FakeHelper
    var helper: any Helper { fakeHelper }
    let fakeProxy = FakeProxy()
    var proxy: any AppProxy { fakeProxy }
    let defaultTimeout = 5
    let secrets = SecretLedger()
    let behaviour: Mutex<Behaviour>

    init(docker: FakeDocker, _ configure: (inout Behaviour) -> Void = { _ in }) {
        fake = docker
        fakeHelper = FakeHelper(root: docker.root.appendingPathComponent("helper-volumes"))
        var initial = Behaviour()
        configure(&initial)
        behaviour = Mutex(initial)
    }

    var calls: [String] { behaviour.withLock { $0.calls } }

    private func called(_ op: String, _ app: AppDeployment) throws(DeployError) {
        let failure = behaviour.withLock { state -> DeployError? in
            state.calls.append("\(op) \(app.checkout.ref)")
            return state.failures[op]
        }
        if let failure { throw failure }
    }

    func deploy(_ app: AppDeployment, as kind: DeployKind) throws(DeployError) -> RenderedDeploy? {
        let recipe = try recipe(of: app)
        try StackPreparation.check(recipe, app: app)
        switch kind {
        case .install(let ref):
            try called("install", app)
            fake.update { state in
                for service in recipe.compose.services.values {
                    let container = "\(app.stack)-\(service.name)"
                    state.containers["\(app.stack)/\(service.name)"] = [container]
                    state.mounts[container] = Dictionary(uniqueKeysWithValues: service.volumes.map { ("\(app.stack)_\($0)", "/data/\($0)") })
                    state.labels["\(app.stack)/\(service.name)"] = service.deployLabels
                        .merging(["coop-cloud.\(app.stack).version": ref]) { $1 }
                    // What the engine reports of it: one running task whose container runs.
                    state.services[app.stack, default: []].append(SwarmService(id: container, name: "\(app.stack)_\(service.name)", replicas: 1))
                    state.tasks[app.stack, default: []].append(SwarmTask(id: "task-\(container)", serviceID: container, slot: 1,
                                                                         desiredState: .running, state: .running, containerID: container))
                    state.containerStates[container] = ContainerState(status: "running")
                }
            }
        case .chaosUpgrade:
            try called("upgrade", app)
            let chaos = behaviour.withLock { $0.chaosVersion } ?? String(app.checkout.commit.prefix(7))
            fake.update { state in
                for service in recipe.compose.services.values {
                    state.labels["\(app.stack)/\(service.name)", default: [:]]["coop-cloud.\(app.stack).chaos-version"] = chaos
                }
            }
        }
        behaviour.withLock { $0.afterDeploy }?(app, kind)
        // The fake deploys no file; what it would have handed docker is not written.
        return nil
    }

    let givesFreshVolumes = false
    var backupUnsupported: String? { behaviour.withLock { $0.backupUnsupported } }

    func toolVersion() throws(DeployError) -> String? { try behaviour.withLock { $0.toolVersion }.get() }

    func freshVolumes(_ app: AppDeployment) throws(DeployError) {
        throw DeployError(operation: "fresh volumes", stack: app.stack, reason: "not supported by the fake backend")
    }

    /// Each backed-up volume, as the fake helper holds it, archived with the real `tar` into the
    /// run's folder (`<folder>/<service>/<volume>.tar`, as the swarm backend lays it out).
    func backup(_ app: AppDeployment, into folder: String) throws(DeployError) -> BackupRecord {
        try called("backup", app)
        var archives: [BackupArchive] = []
        for service in BackupLabels.backedUpServices(try recipe(of: app).compose) {
            for selection in BackupLabels.selections(service) {
                let file = app.workDirectory.appendingPathComponent("\(folder)/\(service.name)/\(selection.volume).tar")
                let volume = fakeHelper.folder("\(app.stack)_\(selection.volume)")
                try? FileManager.default.createDirectory(at: volume, withIntermediateDirectories: true)
                try? FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
                try tar(["-cf", file.path, "-C", volume.path, "."], app: app)
                let bytes = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0
                archives.append(BackupArchive(service: service.name, volume: selection.volume, paths: selection.paths, file: file.path, bytes: bytes))
            }
        }
        return BackupRecord(archives: archives)
    }

    /// Each archive written back into the fake helper's volume.
    func restore(_ app: AppDeployment, from record: BackupRecord) throws(DeployError) {
        try called("restore", app)
        if behaviour.withLock({ $0.restoreWritesNothing }) { return }
        for archive in record.archives {
            try tar(["-xf", archive.file, "-C", fakeHelper.folder("\(app.stack)_\(archive.volume)").path], app: app)
        }
    }

    private func tar(_ arguments: [String], app: AppDeployment) throws(DeployError) {
        let result: CommandOutput
        do { result = try Command.run("/usr/bin/tar", arguments, environment: [:], timeout: 30) } catch {
            throw DeployError(operation: "tar", stack: app.stack, reason: "\(error)")
        }
        guard result.succeeded else { throw DeployError(operation: "tar", stack: app.stack, reason: result.stderrText) }
    }

    func teardown(_ app: AppDeployment) -> TeardownResult {
        behaviour.withLock { state in
            state.calls.append("teardown")
            return state.teardown
        }
    }
}
