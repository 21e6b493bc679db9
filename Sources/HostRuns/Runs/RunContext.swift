import Foundation
import HostBase
import HostDocker
import PluginChannel

/// One run as its plan fixed it: what never changes once the plan is made. The engine passes it to
/// every op beside the run's `RunState`, the value the ops hand back with what they found.
struct RunContext {
    let request: RunRequest
    let plan: RunPlan
    let deployer: any Deployer
    let retainedData: any RetainedData
    /// How many times the base is deployed: 1, except in the deploy-count guard's own test.
    let installDeploys: Int
    let emit: @Sendable (RunEvent) -> Void
    /// Hooks, install steps and checks of the plugins (operator, builtin, approved overlays).
    let plugins: PluginCalls
    /// What the recipe content policy decided of the base and head, before anything is deployed.
    let policy: ContentPolicy

    var docker: any Docker { deployer.docker }

    /// `app`: the app the run starts with (`RunState.app(of:plan:owner:)`), which the policy reads.
    init(request: RunRequest, plan: RunPlan, deployer: any Deployer, plugins: [ResolvedPlugin], launcher: WorkerLauncher,
         retainedData: any RetainedData, installDeploys: Int = 1, app: AppDeployment, emit: @escaping @Sendable (RunEvent) -> Void) {
        self.request = request
        self.plan = plan
        self.deployer = deployer
        self.retainedData = retainedData
        self.installDeploys = installDeploys
        self.emit = emit
        policy = ContentPolicy(checkouts: [plan.base, plan.head].compactMap { $0 }, app: app, deployer: deployer,
                               allowance: request.allowance, maxTasks: request.ceilings.tasks)
        // One readiness path for every plugin: the operator's, else the first recipe plugin's declaration.
        let readiness = request.readinessPath
            ?? plugins.first { $0.origin != .builtin && $0.info.metadata.readiness != nil }?.info.metadata.readiness?.path
        self.plugins = PluginCalls(plugins: plugins, launcher: launcher, checkArguments: request.checkArguments,
                                   readinessPath: readiness, artifacts: plan.artifacts)
    }

    /// The state the run starts from: `app` not deployed yet, the plan's record with what the
    /// policy allowed, whether the generic suite runs, and the backend's tool version.
    func start(_ app: AppDeployment, backendVersion: String?) -> RunState {
        var record = plan.record
        record.allowances = policy.allowed.isEmpty ? nil : policy.allowed
        record.generic = plugins.skipsGeneric ? "skipped: a recipe plugin sets skip_generic"
            : plugins.plugins.contains { $0.origin == .builtin } ? "ran"
            : "\(RunRecord.genericMissing): the builtin generic suite is not among the run's plugins (see `cchost plugins list`)"
        record.backendVersion = backendVersion
        return RunState(app: app, record: record)
    }

    func note(_ text: String, tier: Tier? = nil) { emit(.note(tier: tier, text)) }

    /// What the engine knows before `tier` starts, for `TierPolicy`: `state` and why an earlier tier stopped the run.
    func situation(for tier: Tier, in state: RunState, abort: String?) -> TierPolicy.Situation {
        let backedUp: Result<Bool, DeployError>
        do { backedUp = .success(!(try backedUpServices(of: state.app)).isEmpty) } catch { backedUp = .failure(error) }
        return TierPolicy.Situation(tier: tier, abort: abort, cancelled: request.cancellation.reason,
                                    hasEarlierRelease: plan.base.map { $0.commit != plan.head.commit } ?? false,
                                    backedUp: backedUp, hasBackup: state.backup != nil, backupUnsupported: deployer.backupUnsupported)
    }

    /// The services whose volumes the recipe (as `app` deploys it) backs up.
    func backedUpServices(of app: AppDeployment) throws(DeployError) -> [ComposeProject.Service] {
        BackupLabels.backedUpServices(try deployer.recipe(of: app).compose)
    }

    /// How a wait for convergence ended.
    struct ConvergenceWait {
        /// nil once converged; else what the wait earns and why: `fail` when the app did not
        /// converge, `unverified` when the run was cancelled or Docker did not answer (not the recipe's doing).
        var failure: (verdict: Verdict, reasons: [String])?
        /// "; restarts: app 2" when containers restarted since the deploy, else "" (what an op's detail ends with).
        var restarts: String
    }

    /// Waits for `app`, deployed at `deploy`, to converge, until the recipe's timeout or a
    /// cancellation, and counts its services' restarts since the deploy.
    func waitForConvergence(of app: AppDeployment, since deploy: Date) -> ConvergenceWait {
        let cancellation = request.cancellation
        let failure: (verdict: Verdict, reasons: [String])?
        do {
            switch try docker.waitForConvergence(stack: app.stack, deadline: Date().addingTimeInterval(convergenceTimeout(of: app)),
                                                 stop: { cancellation.reason != nil }) {
            case .converged: failure = nil
            case .waiting(let reasons), .failed(let reasons):
                // A service killed for its memory dies like a crashing one: say what it ran under.
                let ceilings = app.serviceCeilings.map { ["services run under the operator's ceilings (\($0.text) each)"] } ?? []
                failure = (cancellation.reason == nil ? .fail : .unverified, reasons + ceilings)
            }
        } catch {
            failure = (.unverified, ["the Docker engine did not answer: \(error)"])
        }
        return ConvergenceWait(failure: failure, restarts: restarts(of: app, since: deploy))
    }

    /// What the run's folder holds now (its checkouts, which go with the run, not counted) against
    /// its budget.
    func runFolderUsage() -> Result<(bytes: UInt64, budget: UInt64), TierPolicy.RunFolderUnknown> {
        do {
            return .success((try DiskUsage.bytes(of: plan.work, skipping: RunPlan.checkoutFolders), request.ceilings.runFolderBytes))
        } catch {
            return .failure(TierPolicy.RunFolderUnknown(reason: "\(plan.work.path): \(error.localizedDescription)"))
        }
    }

    /// Seconds a deploy may take to converge: the recipe's `coop-cloud.<stack>.timeout` deploy
    /// label on the app service, as abra reads it, else the deployer's configured timeout.
    func convergenceTimeout(of app: AppDeployment) -> Double {
        let configured = Double(deployer.defaultTimeout)
        let key = "coop-cloud.\(app.stack).timeout"
        let label: String?
        do { label = try docker.serviceLabels(stack: app.stack, service: "app")[key] } catch {
            note("the deploy labels could not be read (\(error)); waiting the configured \(Int(configured)) s")
            return configured
        }
        guard let label else { return configured }
        guard let seconds = Double(label.trimmingCharacters(in: .whitespaces)), seconds > 0, seconds.isFinite else {
            note("ignoring \(key)=\"\(label)\": not a positive number of seconds; waiting the configured \(Int(configured)) s")
            return configured
        }
        return seconds
    }

    /// "; restarts: app 2" for the containers of `app`'s services that died since `deploy` on
    /// their own, "" when none did. Counting them never changes a verdict: when Docker cannot say,
    /// the detail says so.
    func restarts(of app: AppDeployment, since deploy: Date) -> String {
        do {
            let events = try docker.events(stack: app.stack, since: deploy, until: Date())
            let counts = Restarts.count(events: events, tasks: try docker.tasks(stack: app.stack),
                                        services: try docker.services(stack: app.stack), stack: app.stack, since: deploy)
            return Restarts.summary(counts).map { "; restarts: \($0)" } ?? ""
        } catch {
            return "; restarts could not be counted: \(error)"
        }
    }

    /// What plugins see of the app in `state`: its services, its deploy labels once deployed, the
    /// versions, what cchost seeded and proved. An app that cannot be read is an error, never an empty description.
    func appContext(tier: Tier, in state: RunState) throws -> AppContext {
        let app = state.app
        let recipe = try deployer.recipe(of: app)
        let labels = state.deployed ? try docker.serviceLabels(stack: app.stack, service: "app") : [:]
        var context = AppContext(recipe: request.recipe, domain: app.domain, services: recipe.compose.services.keys.sorted(),
                                 labels: labels,
                                 baseVersion: plan.baseVersion, headVersion: plan.headVersion,
                                 headCommit: plan.head.commit, tier: tier.rawValue)
        if state.markers.marker != nil || state.dataProof != nil {
            // A warm run seeds no marker of its own (its data is the canonical's): `marker` is empty.
            var backup = state.markers.marker ?? AppContext.BackupMarker(marker: "", files: [])
            (backup.seed, backup.proof) = (state.markers.seed, state.dataProof)
            context.backup = backup
        }
        if state.deployed { context.serviceStates = try ServiceStates.read(from: docker, stack: app.stack) }
        return context
    }
}
