import Foundation
import HostBase
import HostDocker
import PluginChannel

/// The run engine: one app, deployed once, pushed through the selected tiers in order, then
/// finished whatever happened. Read top to bottom:
///
/// 1. **plan** (`RunPlan`): the head and base checked out, the test domain; a `PlanError` here
///    means nothing was deployed;
/// 2. **tiers**: for each, `TierPolicy` says run, `n/a` or not run; a tier that runs has its op
///    (`Tier.op`, one small type per tier in `Ops/`) run once by the host, then the plugins' checks
///    (`PluginCalls`) judge the same post-op state; the policy says whether the run can go on;
/// 3. **finish**: diagnostics, the data retained (when asked and green so far), teardown, the one
///    judgement (`Judgement`), the record written and recorded.
///
/// The plan fixes a `RunContext` that never changes after; what the tiers find is a `RunState`
/// value the engine passes into each op and takes back from its result (`OpResult.state`).
/// Progress is a stream of `RunEvent`s; a run can be cancelled from outside (`RunCancellation`)
/// and still tears down and records itself.
public final class RunEngine {
    public let deployer: any Deployer
    public let plugins: [ResolvedPlugin]
    /// The head checkout's repo-local overlays the allowlist approves; nil when overlays are not
    /// considered. An error (a broken allowlist) stops the run before anything is deployed.
    public var overlays: (@Sendable (_ checkout: String) throws -> [ResolvedPlugin])?
    public let launcher: WorkerLauncher
    public let runsDirectory: URL
    public let events: @Sendable (RunEvent) -> Void
    /// Records each run as it starts and as it finishes (the state database); nil: not recorded.
    public var recorder: (any RunRecorder)?
    /// Where canonicals' data is kept: runs retain into it and warm runs copy from it.
    public let retainedData: any RetainedData
    /// Test hook: deploy the base this many times (the deploy-count guard must trip above 1).
    public var installDeploys = 1

    public init(deployer: any Deployer, plugins: [ResolvedPlugin], launcher: WorkerLauncher, runsDirectory: URL,
                retainedData: any RetainedData, events: @escaping @Sendable (RunEvent) -> Void = { _ in }) {
        self.deployer = deployer
        self.plugins = plugins
        self.launcher = launcher
        self.runsDirectory = runsDirectory
        self.events = Self.redacting(events, with: deployer.secrets)
        self.retainedData = retainedData
    }

    /// Every event as people see it: whatever the app, its hooks or plugins printed into a note or
    /// a tier's record is redacted before it is shown.
    static func redacting(_ events: @escaping @Sendable (RunEvent) -> Void, with secrets: SecretLedger) -> @Sendable (RunEvent) -> Void {
        { event in
            let redactor = secrets.redactor
            switch event {
            case .note(let tier, let text): events(.note(tier: tier, redactor.redact(text)))
            case .tierFinished(let record): events(.tierFinished(RunReport.redacted(record, by: redactor)))
            case .finished(let record): events(.finished(RunReport.redacted(record, by: redactor)))
            case .started, .tierStarted: events(event)
            }
        }
    }

    public func run(_ request: RunRequest) throws(PlanError) -> RunRecord {
        // The repository's credential is redacted like a generated secret, wherever it turns up.
        RepositoryAddress.credentials(request.repository).forEach(deployer.secrets.record)
        // The whole run's deadline cancels it the way Ctrl-C does: the tiers stop, teardown and the record still happen.
        var request = request
        request.cancellation = request.cancellation.until(Date().addingTimeInterval(request.ceilings.deadline),
                                                          reason: request.ceilings.deadlineReason)
        do { return try planAndRun(request) } catch {
            throw PlanError(description: deployer.secrets.redact(error.description))
        }
    }

    private func planAndRun(_ request: RunRequest) throws(PlanError) -> RunRecord {
        // 1. Plan.
        let plan = try RunPlan(request, runsDirectory: runsDirectory, backend: deployer.name)
        defer { plan.removeCheckouts() }
        let approvedOverlays: [ResolvedPlugin]
        do { approvedOverlays = try overlays?(plan.head.directory) ?? [] } catch {
            throw PlanError(description: "the head's repo-local overlays could not be considered: \(error)")
        }
        // Stopped while planning: nothing was deployed, so there is nothing to tear down or record.
        if let reason = request.cancellation.reason {
            throw PlanError(description: "cancelled before anything was deployed (\(reason))")
        }
        // Every HTTP check reaches the app through the engine's proxy: without it, nothing is deployed.
        if let problem = deployer.proxy.problem() {
            throw PlanError(description: "apps are reached through the engine's proxy, and \(problem)")
        }
        // The tool the backend drives (abra), checked before anything is deployed.
        let toolVersion: String?
        do { toolVersion = try deployer.toolVersion() } catch {
            throw PlanError(description: "the \(deployer.name) backend cannot run: \(error)")
        }
        // What the run creates carries the state folder's identity: only this folder's janitor reaps it.
        let owner: String
        do { owner = try StateIdentity.of(stateDirectory: runsDirectory.deletingLastPathComponent()) } catch {
            throw PlanError(description: "\(error)")
        }
        let app = RunState.app(of: request, plan: plan, owner: owner)
        let run = RunContext(request: request, plan: plan, deployer: deployer, plugins: plugins + approvedOverlays,
                             launcher: launcher, retainedData: retainedData, installDeploys: installDeploys, app: app, emit: events)
        var state = run.start(app, backendVersion: toolVersion)
        let registry = ActiveRuns(directory: runsDirectory.appendingPathComponent("active"))
        do {
            try registry.register(runID: plan.runID, stack: app.stack)
            try recorder?.started(RunReport.redacted(state.record, by: deployer.secrets.redactor))
        } catch {
            registry.unregister(runID: plan.runID)
            throw PlanError(description: "run \(plan.runID) could not be registered before deploying: \(error)")
        }
        defer { registry.unregister(runID: plan.runID) }
        events(.started(runID: plan.runID, recipe: request.recipe, stack: app.stack, stages: request.stages))

        // 2. Tiers: each op gets the state the last one left, and hands back its own.
        var abort: String?
        for tier in request.stages {
            let outcome = self.tier(tier, of: run, from: state, abort: abort)
            (state, abort) = (outcome.state, outcome.abort)
            state.record.tiers.append(outcome.record)
        }

        // 3. Finish.
        return finish(run, state)
    }

    /// A tier done: its record, the run's state after it, and why the run cannot go on, if it cannot.
    struct TierOutcome {
        var record: RunRecord.TierRecord
        var state: RunState
        var abort: String?
    }

    /// One tier: the policy's decision, else the op once, then the checks on the post-op state.
    /// `abort`: why an earlier tier stopped the run; the one place a new reason is written.
    func tier(_ tier: Tier, of run: RunContext, from start: RunState, abort earlier: String?) -> TierOutcome {
        events(.tierStarted(tier))
        let started = Date()
        var (state, abort) = (start, earlier)
        var record: RunRecord.TierRecord
        switch TierPolicy.start(run.situation(for: tier, in: state, abort: abort)) {
        case .notApplicable(let reason):
            record = .init(tier: tier, verdict: .skip, op: .none, opVerdict: .skip, opDetail: reason, checks: [], seconds: 0,
                           notApplicable: reason, notApplicableExpected: run.plugins.expectedNotApplicable.contains(tier))
        case .unverified(let op, let reason):
            // A tier skipped because the run was stopped: the run stopped early.
            if let why = run.request.cancellation.reason.map({ "cancelled: \($0)" }) ?? abort {
                state.record.aborted = state.record.aborted ?? why
            }
            record = .init(tier: tier, verdict: .unverified, op: op, opVerdict: .unverified, opDetail: reason, checks: [], seconds: 0)
        case .run:
            let result = tier.op.run(run, from: state)
            state = result.state
            state.prove(by: result.checks)
            let pluginChecks = result.verdict == .pass && tier != .lint ? run.plugins.checks(after: tier, in: run, at: state) : []
            let checks = result.steps + pluginChecks + result.checks
            record = .init(tier: tier, verdict: RunRecord.tierVerdict(op: result.verdict, checks: checks.map(\.verdict)),
                           op: result.op, opRef: result.ref, opVerdict: result.verdict, opDetail: result.detail, checks: checks,
                           seconds: 0, lintWarnings: result.lintWarnings)
            abort = TierPolicy.abort(after: tier, opVerdict: result.verdict, opAbort: result.abort,
                                     deployCount: state.record.deployCount,
                                     runFolder: run.runFolderUsage()) ?? abort
        }
        record.seconds = Date().timeIntervalSince(started)
        events(.tierFinished(record))
        return TierOutcome(record: record, state: state, abort: abort)
    }

    /// Diagnostics before teardown, then the data kept (if asked and every tier passed), then
    /// teardown, whatever happened; then the judgement, and the record written and recorded.
    func finish(_ run: RunContext, _ state: RunState) -> RunRecord {
        let app = state.app
        var record = state.record
        run.note("capturing diagnostics of \(app.stack)")
        record.artifacts = Diagnostics.capture(stack: app.stack, docker: deployer.docker, since: record.startedAt,
                                               into: run.plan.artifacts, redacting: deployer.secrets.redactor)
        if run.request.retainData && run.request.cancellation.reason == nil && record.judgement.isGreenBeforeTeardown {
            run.note("retaining the data of \(app.stack)")
            do {
                record.retainedVolumes = try retainedData.retain(stack: app.stack, recipe: run.request.recipe, runID: run.plan.runID)
            } catch {
                record.retentionProblem = error.description
            }
        }
        run.plugins.closeSessions()
        run.note("tearing down \(app.stack)")
        record.teardown = deployer.teardown(app)
        record.finishedAt = Date()
        if let cancelled = run.request.cancellation.reason, record.aborted == nil { record.aborted = "cancelled: \(cancelled)" }
        // Whatever the app or its hooks printed may hold a secret: none reaches the record.
        record = RunReport.redacted(record, by: deployer.secrets.redactor)
        record.judge()
        // A record that cannot be stored is the host's fault: the run is then unverified (no exit 0,
        // no promotion rests on a run nobody can look up), and says why.
        func unstored(_ why: String) {
            run.note("warning: \(why)")
            record.aborted = record.aborted ?? why
            record.judge()
        }
        do { try RunReport.json(record).write(to: run.plan.work.appendingPathComponent("run.json")) } catch {
            unstored("the run record was not written to \(run.plan.work.path)/run.json: \(error)")
        }
        do { try recorder?.finished(record) } catch {
            unstored("run \(run.plan.runID) is recorded as unfinished in the state database: \(error)")
        }
        events(.finished(record))
        return record
    }
}
