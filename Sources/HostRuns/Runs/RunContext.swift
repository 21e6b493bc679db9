import Foundation
import HostBase
import HostDocker
import PluginChannel

/// One run in progress: what its plan fixed, the app, and what the tiers found so far. The engine
/// and the tier ops share it (a reference, not state threaded `inout`); only the engine writes
/// `abort`, as `TierPolicy` decides.
final class RunContext {
    let request: RunRequest
    let plan: RunPlan
    let deployer: any Deployer
    let retainedData: any RetainedData
    /// How many times the base is deployed: 1, except in the deploy-count guard's own test.
    let installDeploys: Int
    let emit: @Sendable (RunEvent) -> Void
    /// Hooks, install steps and checks of the plugins (operator, builtin, approved overlays).
    let plugins: PluginCalls

    var app: AppDeployment
    var record: RunRecord
    /// The app was deployed (once: the deploy-count guard watches).
    var deployed = false
    var backup: BackupRecord?
    var marker: AppContext.BackupMarker?
    /// The data markers a warm run's copy of the canonical's volumes holds.
    var canonicalMarkers: [CanonicalMarker] = []
    /// Why the run cannot go on; written by the engine alone.
    var abort: String?

    var docker: any Docker { deployer.docker }

    init(request: RunRequest, plan: RunPlan, deployer: any Deployer, plugins: [ResolvedPlugin], launcher: WorkerLauncher,
         retainedData: any RetainedData, installDeploys: Int = 1, emit: @escaping @Sendable (RunEvent) -> Void) {
        self.request = request
        self.plan = plan
        self.deployer = deployer
        self.retainedData = retainedData
        self.installDeploys = installDeploys
        self.emit = emit
        app = AppDeployment(runID: plan.runID, recipe: request.recipe, domain: plan.domain, checkout: plan.base ?? plan.head,
                            overrides: request.environment, workDirectory: plan.work)
        record = plan.record
        // One readiness path for every plugin: the operator's, else the first recipe plugin's declaration.
        let readiness = request.readinessPath
            ?? plugins.first { $0.origin != .builtin && $0.info.metadata.readiness != nil }?.info.metadata.readiness?.path
        self.plugins = PluginCalls(plugins: plugins, launcher: launcher, checkArguments: request.checkArguments,
                                   readinessPath: readiness, artifacts: plan.artifacts)
        record.generic = self.plugins.skipsGeneric ? "skipped: a recipe plugin sets skip_generic"
            : plugins.contains { $0.origin == .builtin } ? "ran"
            : "\(RunRecord.genericMissing): the builtin generic suite is not among the run's plugins (see `cchost plugins list`)"
    }

    func note(_ text: String, tier: Tier? = nil) { emit(.note(tier: tier, text)) }

    /// What the engine knows before `tier` starts, for `TierPolicy`.
    func situation(for tier: Tier) -> TierPolicy.Situation {
        let backedUp: Result<Bool, DeployError>
        do { backedUp = .success(!(try backedUpServices()).isEmpty) } catch { backedUp = .failure(error) }
        return TierPolicy.Situation(tier: tier, abort: abort, cancelled: request.cancellation.reason,
                                    hasEarlierRelease: plan.base.map { $0.commit != plan.head.commit } ?? false,
                                    backedUp: backedUp, hasBackup: backup != nil)
    }

    /// The services whose volumes the recipe (as this app deploys it) backs up.
    func backedUpServices() throws(DeployError) -> [ComposeProject.Service] {
        BackupLabels.backedUpServices(try deployer.recipe(of: app).compose)
    }

    /// Waits for the app to converge, until the deployer's timeout or a cancellation.
    /// nil once converged; else what the wait earns and why: `fail` when the app did not converge,
    /// `unverified` when the run was cancelled or Docker did not answer (not the recipe's doing).
    func waitForConvergence() -> (verdict: Verdict, reasons: [String])? {
        let cancellation = request.cancellation
        do {
            switch try docker.waitForConvergence(stack: app.stack, deadline: Date().addingTimeInterval(Double(deployer.defaultTimeout)),
                                                 stop: { cancellation.reason != nil }) {
            case .converged: return nil
            case .waiting(let reasons), .failed(let reasons):
                return (cancellation.reason == nil ? .fail : .unverified, reasons)
            }
        } catch {
            return (.unverified, ["the Docker engine did not answer: \(error)"])
        }
    }

    /// What plugins see of the app now: its services, its deploy labels once deployed, the versions.
    /// An app that cannot be read is an error, never an empty description.
    func appContext(tier: Tier) throws -> AppContext {
        let recipe = try deployer.recipe(of: app)
        let labels = deployed ? try docker.serviceLabels(stack: app.stack, service: "app") : [:]
        var context = AppContext(recipe: record.recipe, domain: app.domain, services: recipe.compose.services.keys.sorted(),
                                 labels: labels,
                                 baseVersion: plan.baseVersion, headVersion: plan.headVersion,
                                 headCommit: plan.head.commit, tier: tier.rawValue)
        context.backup = marker
        return context
    }
}
