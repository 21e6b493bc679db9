import Foundation
import HostBase
import HostDocker
import Logging
import PluginChannel

/// The plugins' part of a run: their hooks before an op, install steps after the first deploy, and
/// their checks after each op, every call in the plugin's own sandboxed worker (one per plugin,
/// kept across tiers). Each call becomes a check record; the records of hooks and steps go back to
/// the op that ran them, to be judged with its tier. Every call sees the app as the run's state has it.
final class PluginCalls {
    let plugins: [ResolvedPlugin]
    let launcher: WorkerLauncher
    let checkArguments: [String: [String: ArgumentValue]]
    let readinessPath: String?
    let artifacts: URL
    /// A recipe plugin opts out of the generic suite.
    let skipsGeneric: Bool
    /// Tiers the recipe's plugins declare `n/a` on purpose.
    let expectedNotApplicable: Set<Tier>
    /// The plugins' workers, started on first use: resources kept across tiers, not run state.
    private var sessions: [String: WorkerSession] = [:]
    private let logger = Logger(label: "cchost.run")

    init(plugins: [ResolvedPlugin], launcher: WorkerLauncher, checkArguments: [String: [String: ArgumentValue]],
         readinessPath: String?, artifacts: URL) {
        self.plugins = plugins
        self.launcher = launcher
        self.checkArguments = checkArguments
        self.readinessPath = readinessPath
        self.artifacts = artifacts
        skipsGeneric = plugins.contains { $0.origin != .builtin && $0.info.metadata.skipGeneric }
        expectedNotApplicable = Set(plugins.flatMap(\.info.metadata.expectedNA))
    }

    /// The plugins' hooks for `tier`, run before its op on the app as `state` has it.
    func runHooks(_ tier: Tier, in run: RunContext, at state: RunState) -> [RunRecord.CheckRecord] {
        let context = Self.look(at: run, state, tier: tier)
        var records: [RunRecord.CheckRecord] = []
        for plugin in plugins {
            for hook in plugin.info.description.hooks where hook.tiers.contains(tier.rawValue) {
                let record = call(plugin, .hook, hook.name, tier: tier, context: context, in: run, app: state.app, recordedAs: "hook:\(hook.name)")
                run.note("hook \(plugin.info.description.name)/\(hook.name): \(record.verdict.rawValue)", tier: tier)
                records.append(record)
            }
        }
        return records
    }

    /// The plugins' install steps, run once after the first deploy on the app as `state` has it.
    func runInstallSteps(in run: RunContext, at state: RunState) -> [RunRecord.CheckRecord] {
        let context = Self.look(at: run, state, tier: .install)
        var records: [RunRecord.CheckRecord] = []
        for plugin in plugins {
            for step in plugin.info.description.installSteps {
                let record = call(plugin, .installStep, step.name, tier: .install, context: context, in: run, app: state.app,
                                  recordedAs: "step:\(step.name)")
                run.note("step \(plugin.info.description.name)/\(step.name): \(record.verdict.rawValue)", tier: .install)
                records.append(record)
            }
        }
        return records
    }

    /// The generic suite and the overlays, each check once, on the same post-op state.
    func checks(after tier: Tier, in run: RunContext, at state: RunState) -> [RunRecord.CheckRecord] {
        var records: [RunRecord.CheckRecord] = []
        // One look at the app per tier: every check judges the same post-op state.
        let context = Self.look(at: run, state, tier: tier)
        for plugin in plugins where !(skipsGeneric && plugin.origin == .builtin) {
            for check in plugin.info.description.checks where check.tiers.contains(tier.rawValue) {
                var arguments: [String: ArgumentValue] = plugin.info.metadata.config[check.name] ?? [:]
                arguments.merge(checkArguments[check.name] ?? [:]) { $1 }
                if let parameters = check.parameters, !parameters.isEmpty, arguments.isEmpty {
                    records.append(.init(plugin: plugin.info.description.name, name: check.name, verdict: .skip,
                                         detail: "not configured for \(run.request.recipe) (parameters: \(parameters.map(\.name).joined(separator: ", ")))",
                                         cause: nil, seconds: 0))
                    continue
                }
                arguments = arguments.filter { key, _ in check.parameters?.contains { $0.name == key } ?? false }
                records.append(call(plugin, .check, check.name, tier: tier, arguments: arguments, context: context, in: run,
                                    app: state.app, recordedAs: check.name))
            }
        }
        return records
    }

    /// Why the app could not be described to plugins.
    struct DescribeError: Error { var message: String }

    /// The app in `state` as plugins see it at this tier, read once for every call of the tier.
    static func look(at run: RunContext, _ state: RunState, tier: Tier) -> Result<AppContext, DescribeError> {
        do { return .success(try run.appContext(tier: tier, in: state)) } catch { return .failure(DescribeError(message: "\(error)")) }
    }

    func closeSessions() {
        sessions.values.forEach { $0.close() }
        sessions = [:]
    }

    /// One call into a plugin, judged. A plugin may print whatever it read, secrets included: they
    /// never reach the record. A call that cannot be made is `unverified` with why.
    private func call(_ plugin: ResolvedPlugin, _ kind: EntryKind, _ name: String, tier: Tier, arguments: [String: ArgumentValue] = [:],
                      context look: Result<AppContext, DescribeError>, in run: RunContext, app: AppDeployment,
                      recordedAs recordName: String) -> RunRecord.CheckRecord {
        let started = Date()
        let redactor = run.deployer.secrets.redactor
        func unverified(_ cause: String) -> RunRecord.CheckRecord {
            .init(plugin: plugin.info.description.name, name: recordName, verdict: .unverified, detail: "",
                  cause: redactor.redact(cause), seconds: Date().timeIntervalSince(started))
        }
        let context: AppContext
        switch look {
        case .success(let described): context = described
        case .failure(let error): return unverified("the app could not be described to the plugin: \(error.message)")
        }
        let session: WorkerSession
        do { session = try self.session(for: plugin, context: context, app: app, deployer: run.deployer) } catch {
            logger.error("plugin worker did not start", metadata: ["plugin": "\(plugin.path)", "error": "\(error)"])
            return unverified("the plugin's worker could not start: \(error)")
        }
        let outcome = CheckOutcome.judging(session.invoke(Invocation(kind: kind, name: name, tier: tier.rawValue, arguments: arguments)))
        let logs = session.services.takeLogs().map(\.message).joined(separator: "; ")
        return RunRecord.CheckRecord(plugin: plugin.info.description.name, name: recordName, verdict: outcome.verdict,
                                     detail: redactor.redact(outcome.detail.isEmpty ? logs : outcome.detail),
                                     cause: outcome.cause.map(redactor.redact),
                                     seconds: Date().timeIntervalSince(started))
    }

    /// One worker per plugin per run, kept across tiers; the app context follows the run.
    private func session(for plugin: ResolvedPlugin, context: AppContext, app: AppDeployment,
                         deployer: any Deployer) throws -> WorkerSession {
        if let session = sessions[plugin.path] {
            session.services.app = context
            return session
        }
        let services = HostServices(app: context, configuration: readinessPath.map { ["readiness_path": $0] } ?? [:],
                                    artifactsDirectory: artifacts.appendingPathComponent(plugin.info.description.name),
                                    gateway: SwarmGateway(deployer: deployer, app: app),
                                    logger: Logger(label: "cchost.plugin.\(plugin.info.description.name)"), secrets: deployer.secrets)
        let session = try WorkerSession(plugin: plugin.path, launcher: launcher, services: services, profile: plugin.profile)
        sessions[plugin.path] = session
        return session
    }
}
