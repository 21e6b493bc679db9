import Foundation
import Logging
import PluginChannel

/// What to run: a recipe's repository, the head under test, an optional base, the tiers.
public struct RunRequest: Sendable {
    public var recipe: String
    public var repository: String
    /// The code under test: a tag, branch or commit; default: the latest release.
    public var headRef: String?
    /// The version install deploys; default: the canonical (see `canonicalVersion`), else the
    /// release before the head.
    public var base: String?
    /// The recipe's canonical version, the default base of an upgrade to a newer head.
    public var canonicalVersion: String?
    public var stages: [Tier]
    public var trigger: RunRecord.Trigger
    public var baseDomain: String
    /// The app's own settings over `.env.sample` (the operator's `recipes[].env`).
    public var environment: [String: String]
    /// Typed-check parameters from the operator's configuration, over the plugins' defaults.
    public var checkArguments: [String: [String: ArgumentValue]]
    /// The path readiness checks ask (the operator's `recipes[].readiness`), over the recipe plugins'.
    public var readinessPath: String?
    /// Keep the app's volumes after a run that passed every tier (the sweep's cold release runs:
    /// what a promotion makes the canonical's data).
    public var retainData: Bool
    /// Start from a copy of this canonical's data, at its version (a warm run; never promoted).
    public var warmFrom: Canonical?
    /// A warm run that skips what it can (the caller chooses fewer tiers); recorded as `quick`.
    public var quick: Bool

    public init(recipe: String, repository: String, headRef: String? = nil, base: String? = nil,
                stages: [Tier] = Tier.allCases, trigger: RunRecord.Trigger = .manual, baseDomain: String = "ci.example",
                environment: [String: String] = [:], checkArguments: [String: [String: ArgumentValue]] = [:],
                readinessPath: String? = nil, canonicalVersion: String? = nil, retainData: Bool = false,
                warmFrom: Canonical? = nil, quick: Bool = false) {
        self.recipe = recipe
        self.repository = repository
        self.headRef = headRef
        self.base = base
        self.stages = stages.sorted()
        self.trigger = trigger
        self.baseDomain = baseDomain
        self.environment = environment
        self.checkArguments = checkArguments
        self.readinessPath = readinessPath
        self.canonicalVersion = canonicalVersion
        self.retainData = retainData
        self.warmFrom = warmFrom
        self.quick = quick
    }
}

/// How the engine waits for a stack to converge (the Engine API watcher in production).
public typealias ConvergenceWaiter = @Sendable (_ stack: String, _ deadline: Date) -> (converged: Bool, reasons: [String])

/// The tier engine: one app, deployed once, pushed through the selected tiers in order; each tier's
/// op runs once (owned by the host), then the generic suite and the overlays judge the same state;
/// diagnostics are captured and everything is torn down, whatever happened.
public final class RunEngine {
    public let deployer: any Deployer
    public let plugins: [ResolvedPlugin]
    /// The head checkout's repo-local overlays the allowlist approves (resolved once the head is
    /// checked out); nil when overlays are not considered. An error (a broken allowlist, say) stops
    /// the run before anything is deployed.
    public var overlays: (@Sendable (_ checkout: String) throws -> [ResolvedPlugin])?
    public let launcher: WorkerLauncher
    public let runsDirectory: URL
    public let waitForConvergence: ConvergenceWaiter
    public let progress: @Sendable (String) -> Void
    /// Test hook: deploy the base this many times (the deploy-count guard must trip above 1).
    public var installDeploys = 1
    /// Where canonicals' data is kept: runs retain into it and warm runs copy from it (labelled with
    /// the state folder, the runs folder's parent).
    public var retainedVolumes: RetainedVolumes
    /// For the docker command lines the run engine still builds itself (marker exec, deploy labels,
    /// diagnostics); `deployer.docker` answers each of them.
    let dockerCLI = DockerCLI()
    private let logger = Logger(label: "cchost.run")

    public init(deployer: any Deployer, plugins: [ResolvedPlugin], launcher: WorkerLauncher, runsDirectory: URL,
                waitForConvergence: @escaping ConvergenceWaiter, progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.deployer = deployer
        self.plugins = plugins
        self.launcher = launcher
        self.runsDirectory = runsDirectory
        self.waitForConvergence = waitForConvergence
        self.progress = progress
        retainedVolumes = RetainedVolumes(docker: deployer.docker, stateDirectory: runsDirectory.deletingLastPathComponent().path)
    }

    /// A run that could not even start (no such repository, ref or release).
    public struct PlanError: Error, CustomStringConvertible {
        public var description: String
    }

    public func run(_ request: RunRequest) throws(PlanError) -> RunRecord {
        let runID = String(UUID().uuidString.lowercased().prefix(8))
        let work = runsDirectory.appendingPathComponent(runID)
        let artifacts = work.appendingPathComponent("artifacts")
        do { try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true) } catch {
            throw PlanError(description: "the run's folder \(artifacts.path) cannot be created: \(error)")
        }
        defer {
            // The checkouts and mirror go with the run; the record and artifacts stay.
            for folder in ["base", "head", "source"] { try? FileManager.default.removeItem(at: work.appendingPathComponent(folder)) }
        }

        // Plan: which commits, which domain.
        let source: GitRepository
        let releases: ReleaseListing
        do {
            source = try RecipeSource.open(request.repository, scratch: work.appendingPathComponent("source").path)
            releases = try ReleaseListing(source: request.repository, repository: source)
        } catch { throw PlanError(description: "\(error)") }
        guard let headRef = request.headRef ?? releases.latest else {
            throw PlanError(description: "\(request.repository) has no release tag; give --ref to test a branch or commit")
        }
        // A warm run's data is the canonical's, so its base is the canonical's version.
        if let canonical = request.warmFrom, let base = request.base, base != canonical.version {
            throw PlanError(description: "a warm or quick run starts from the canonical's data, which is at \(canonical.version); it cannot use base \(base)")
        }
        let baseRef = request.warmFrom?.version ?? request.base
            ?? Self.defaultBase(head: headRef, canonical: request.canonicalVersion,
                                releases: releases.releases.filter { !$0.prerelease }.map(\.tag))
        let head: Checkout
        var base: Checkout?
        do {
            head = try source.checkout(headRef, into: work.appendingPathComponent("head").path)
            if let baseRef { base = try source.checkout(baseRef, into: work.appendingPathComponent("base").path) }
        } catch { throw PlanError(description: "\(error)") }
        let headVersion = releases.releases.first { $0.tag == headRef }?.tag
        let domain: String
        do {
            let headRecipe = try Recipe.load(directory: head.directory)
            let objects = AppNaming.objects(in: headRecipe.compose)
            domain = try TestDomain.make(recipe: request.recipe, runID: runID, baseDomain: request.baseDomain,
                                         longestObjectName: AppNaming.longestObjectName(in: objects) ?? "x")
        } catch { throw PlanError(description: "\(error)") }

        var record = RunRecord(
            id: runID, trigger: request.trigger, recipe: request.recipe, repository: request.repository, backend: deployer.name,
            domain: domain, base: base.map { RunRecord.Ref(ref: $0.reference, commit: $0.commit, version: $0.reference) },
            head: RunRecord.Ref(ref: headRef, commit: head.commit, version: headVersion), stages: request.stages,
            startedAt: Date(), finishedAt: nil, tiers: [], deployCount: 0, generic: "", teardown: nil, artifacts: [],
            verdict: .unverified, aborted: nil)
        if let canonical = request.warmFrom {
            record.start = request.quick ? .quick : .warm
            record.startedFrom = .init(version: canonical.version, commit: canonical.commit, runID: canonical.runID, volumes: canonical.volumes)
        }
        let app = AppDeployment(runID: runID, recipe: request.recipe, domain: domain, checkout: base ?? head,
                                overrides: request.environment, workDirectory: work)
        let registry = ActiveRuns(directory: runsDirectory.appendingPathComponent("active"))
        registry.register(runID: runID, stack: app.stack)
        defer { registry.unregister(runID: runID) }

        let approvedOverlays: [ResolvedPlugin]
        do { approvedOverlays = try overlays?(head.directory) ?? [] } catch {
            throw PlanError(description: "the head's repo-local overlays could not be considered: \(error)")
        }
        var state = RunState(app: app, head: head, base: base, headVersion: headVersion, record: record, artifacts: artifacts,
                             plugins: plugins + approvedOverlays, checkArguments: request.checkArguments,
                             warmFrom: request.warmFrom)
        // One readiness path for every plugin: the operator's, else the first recipe plugin's declaration.
        state.readinessPath = request.readinessPath
            ?? state.plugins.first { $0.origin != .builtin && $0.info.metadata.readiness != nil }?.info.metadata.readiness?.path
        tiers(request, &state)
        record = state.record

        // Diagnostics before teardown, then the data kept (if asked and every tier passed), then
        // teardown, whatever happened.
        progress("capturing diagnostics of \(state.app.stack)")
        record.artifacts = captureDiagnostics(state.app, since: record.startedAt, into: artifacts)
        if request.retainData && record.judgement.isGreenBeforeTeardown {
            progress("retaining the data of \(state.app.stack)")
            do {
                record.retainedVolumes = try retainedVolumes.retain(stack: state.app.stack, recipe: request.recipe, runID: runID)
            } catch {
                record.retentionProblem = error.description
            }
        }
        progress("tearing down \(state.app.stack)")
        state.sessions.values.forEach { $0.close() }
        record.teardown = deployer.teardown(state.app)
        record.finishedAt = Date()
        record.judge()
        do { try RunReport.json(record).write(to: work.appendingPathComponent("run.json")) } catch {
            progress("warning: the run record was not written to \(work.path)/run.json: \(error)")
        }
        return record
    }

    /// Everything the tiers share.
    struct RunState {
        var app: AppDeployment
        let head: Checkout
        let base: Checkout?
        let headVersion: String?
        var record: RunRecord
        let artifacts: URL
        /// Operator plugins, the builtin generic suite, and the head's approved overlays.
        let plugins: [ResolvedPlugin]
        var sessions: [String: WorkerSession] = [:]
        var deployed = false
        var backup: BackupRecord?
        var marker: AppContext.BackupMarker?
        var abortReason: String?
        /// The operator's typed-check parameters for this run.
        var checkArguments: [String: [String: ArgumentValue]] = [:]
        /// Hooks and install steps run since the last tier record: they belong to the next one.
        var stepRecords: [RunRecord.CheckRecord] = []
        /// The canonical a warm run starts from, and the data markers its volumes hold.
        var warmFrom: Canonical?
        var canonicalMarkers: [CanonicalMarker] = []
        /// The path readiness checks ask; nil: `/`.
        var readinessPath: String?
    }

    /// A backup marker found in the canonical's data (its run's backup tier wrote it): a warm app
    /// must show it, after install and after the upgrade.
    struct CanonicalMarker {
        var service: String
        var volume: String
        /// The file's path inside the volume.
        var path: String
        var value: String
    }

    func tiers(_ request: RunRequest, _ state: inout RunState) {
        let skipGeneric = state.plugins.contains { $0.origin != .builtin && $0.info.metadata.skipGeneric }
        state.record.generic = skipGeneric ? "skipped: a recipe plugin sets skip_generic" : "ran"
        let expectedNA = Set(state.plugins.flatMap(\.info.metadata.expectedNA))
        for tier in request.stages {
            let started = Date()
            progress("[\(tier.rawValue)] starting")
            var tierRecord: RunRecord.TierRecord
            if let abort = state.abortReason, tier != .lint {
                tierRecord = RunRecord.TierRecord(tier: tier, verdict: .unverified, op: .none, opVerdict: .unverified,
                                                  opDetail: "not run: an earlier stage aborted (\(abort))", checks: [], seconds: 0)
                state.record.tiers.append(tierRecord)
                continue
            }
            tierRecord = runTier(tier, request: request, state: &state, skipGeneric: skipGeneric, expectedNA: expectedNA)
            tierRecord.seconds = Date().timeIntervalSince(started)
            if let reason = tierRecord.notApplicable { progress("[\(tier.rawValue)] n/a: \(reason)") }
            else { progress("[\(tier.rawValue)] \(tierRecord.verdict.rawValue) in \(Int(tierRecord.seconds)) s") }
            state.record.tiers.append(tierRecord)
            // The deploy-count guard: one fresh deploy per run.
            if state.record.deployCount > 1 {
                state.abortReason = "deploy-count guard: \(state.record.deployCount) deploys in one run, expected 1"
                state.record.aborted = state.abortReason
            }
        }
    }

    func runTier(_ tier: Tier, request: RunRequest, state: inout RunState, skipGeneric: Bool,
                 expectedNA: Set<Tier>) -> RunRecord.TierRecord {
        var op = RunRecord.Op.none, opRef: String?, opVerdict = Verdict.pass, opDetail = ""
        func notApplicable(_ reason: String) -> RunRecord.TierRecord {
            RunRecord.TierRecord(tier: tier, verdict: .skip, op: .none, opVerdict: .skip, opDetail: reason, checks: [], seconds: 0,
                                 notApplicable: reason, notApplicableExpected: expectedNA.contains(tier))
        }
        switch tier {
        case .lint:
            let report = RecipeLint.lint(directory: state.head.directory, tags: try? GitRepository.open(state.head.directory).tags())
            let checks = RecipeLint.rules.map { rule -> RunRecord.CheckRecord in
                let findings = report.findings.filter { $0.code == rule.code }
                let verdict: Verdict = findings.contains { $0.severity == .error } ? .fail : .pass
                let detail = findings.map { ($0.location.map { "\($0): " } ?? "") + $0.message }.joined(separator: "; ")
                return RunRecord.CheckRecord(plugin: "lint", name: rule.code, verdict: verdict,
                                             detail: detail.isEmpty ? rule.title : "\(findings.first?.severity.rawValue ?? ""): \(detail)",
                                             cause: nil, seconds: 0)
            }
            return RunRecord.TierRecord(tier: tier, verdict: RunRecord.tierVerdict(op: .pass, checks: checks.map(\.verdict)),
                                        op: .lint, opVerdict: .pass, opDetail: "\(report.errors) error(s), \(report.warnings) warning(s)",
                                        checks: checks, seconds: 0, lintWarnings: report.warnings)

        case .install:
            (op, opRef) = (.deploy, state.app.checkout.reference)
            (opVerdict, opDetail) = ensureDeployed(&state, hooksFor: tier)
            // A warm app's data is already set up: install steps would set it up twice.
            if opVerdict == .pass && state.warmFrom == nil { runInstallSteps(&state) }

        case .upgrade:
            if !state.deployed { let (v, d) = ensureDeployed(&state, hooksFor: nil); if v != .pass { state.abortReason = d } }
            guard state.abortReason == nil else { break }
            guard let base = state.base, base.commit != state.head.commit else {
                return notApplicable("there is no earlier release to upgrade from")
            }
            (op, opRef) = (.chaosRedeploy, state.head.reference)
            runHooks(tier, &state)
            state.app.checkout = state.head
            do {
                try deployer.deploy(state.app, as: .chaosUpgrade(headRef: state.head.reference))
                let (converged, reasons) = waitForConvergence(state.app.stack, Date().addingTimeInterval(Double(deployer.defaultTimeout)))
                let labels = deployedLabels(state.app)
                let chaosVersion = labels["coop-cloud.\(state.app.stack).chaos-version"]
                if !converged {
                    (opVerdict, opDetail) = (.fail, "did not converge: \(reasons.joined(separator: "; "))")
                } else if !Self.chaosVersion(chaosVersion, matches: state.head.commit) {
                    (opVerdict, opDetail) = (.fail, "deployed chaos-version is \(chaosVersion ?? "missing"), expected the head \(state.head.shortCommit)")
                } else {
                    opDetail = "converged at \(state.head.shortCommit) (chaos-version matches the head)"
                }
            } catch {
                (opVerdict, opDetail) = (.fail, error.description)
            }

        case .backup:
            guard backedUpServices(state).count > 0 else { return notApplicable("no service has backupbot.backup=true") }
            if !state.deployed { let (v, d) = ensureDeployed(&state, hooksFor: nil); if v != .pass { state.abortReason = d } }
            guard state.abortReason == nil else { break }
            op = .backup
            do {
                state.marker = try seedMarker(state)
                runHooks(tier, &state)
                state.backup = try deployer.backup(state.app)
                opDetail = "\(state.backup!.archives.count) archive(s), \(state.backup!.archives.map(\.bytes).reduce(0, +)) bytes"
            } catch {
                (opVerdict, opDetail) = (.fail, "\(error)")
            }

        case .restore:
            guard backedUpServices(state).count > 0 else { return notApplicable("no service has backupbot.backup=true") }
            guard let backup = state.backup else {
                return RunRecord.TierRecord(tier: tier, verdict: .unverified, op: .restore, opVerdict: .unverified,
                                            opDetail: "no backup of this run to restore (select the backup tier)", checks: [], seconds: 0)
            }
            op = .restore
            do {
                try mutate(state)
                runHooks(tier, &state)
                try deployer.restore(state.app, from: backup)
                let (converged, reasons) = waitForConvergence(state.app.stack, Date().addingTimeInterval(Double(deployer.defaultTimeout)))
                if converged { opDetail = "restored \(backup.archives.count) archive(s)" }
                else { (opVerdict, opDetail) = (.fail, "did not converge after restore: \(reasons.joined(separator: "; "))") }
            } catch {
                (opVerdict, opDetail) = (.fail, "\(error)")
            }

        case .custom:
            if !state.deployed { let (v, d) = ensureDeployed(&state, hooksFor: nil); if v != .pass { state.abortReason = d } }
            op = .none
        }
        if state.abortReason != nil && opVerdict == .pass && tier != .install {
            (opVerdict, opDetail) = (.unverified, "not run: \(state.abortReason!)")
        }
        // Hooks and steps that ran for this tier are judged with it; a failing one makes the tier red.
        let steps = state.stepRecords
        state.stepRecords = []
        var checks = steps + (opVerdict == .pass ? runChecks(tier, &state, skipGeneric: skipGeneric) : [])
        if opVerdict == .pass && state.warmFrom != nil && (tier == .install || tier == .upgrade) {
            checks.append(canonicalDataCheck(state))
        }
        if opVerdict != .pass && state.abortReason == nil && (tier == .install || tier == .upgrade) {
            state.abortReason = "\(tier.rawValue) failed"
        }
        return RunRecord.TierRecord(tier: tier, verdict: RunRecord.tierVerdict(op: opVerdict, checks: checks.map(\.verdict)),
                                    op: op, opRef: opRef, opVerdict: opVerdict, opDetail: opDetail, checks: checks, seconds: 0)
    }

    /// Deploys the base (once per run: the deploy-count guard watches), then waits for convergence.
    func ensureDeployed(_ state: inout RunState, hooksFor tier: Tier?) -> (Verdict, String) {
        if state.deployed { return (.pass, "already deployed") }
        if let tier { runHooks(tier, &state) }
        let version = state.app.checkout.reference
        var from = ""
        if let canonical = state.warmFrom {
            progress("copying the canonical's data (\(canonical.version), run \(canonical.runID)) into \(state.app.stack)")
            do {
                let created = try retainedVolumes.seed(stack: state.app.stack, from: canonical)
                state.canonicalMarkers = try canonicalMarkers(state, canonical: canonical)
                from = " on a copy of the canonical's data (\(canonical.version), run \(canonical.runID): \(created.count) volume(s))"
            } catch {
                state.abortReason = "the canonical's data could not be copied"
                return (.fail, error.description)
            }
        }
        do {
            for _ in 0..<installDeploys {
                try deployer.deploy(state.app, as: .install(version: version))
                state.record.deployCount += 1
            }
        } catch {
            state.abortReason = "install failed"
            return (.fail, error.description)
        }
        state.deployed = true
        progress("waiting for \(state.app.stack) to converge")
        let (converged, reasons) = waitForConvergence(state.app.stack, Date().addingTimeInterval(Double(deployer.defaultTimeout)))
        guard converged else {
            state.abortReason = "install did not converge"
            return (.fail, "did not converge: \(reasons.joined(separator: "; "))")
        }
        return (.pass, "\(version) converged\(from)")
    }

    /// The backup markers in the canonical's retained volumes, read on this host. A volume without
    /// a marker has none to expect; a volume that cannot be read is an error.
    func canonicalMarkers(_ state: RunState, canonical: Canonical) throws(DeployError) -> [CanonicalMarker] {
        var markers: [CanonicalMarker] = []
        for service in backedUpServices(state) {
            for (volume, path) in BackupLabels.volumePaths(service) {
                let retained = RetainedVolumes.name(recipe: canonical.recipe, runID: canonical.runID, volume: volume)
                guard canonical.volumes.contains(retained) else { continue }
                let root = try retainedVolumes.mountpoint(retained)
                let file = BackupLabels.markerFile(inPath: path)
                guard let value = try? String(contentsOfFile: "\(root)/\(file)", encoding: .utf8) else { continue }
                markers.append(CanonicalMarker(service: service.name, volume: volume, path: file, value: value))
            }
        }
        return markers
    }

    /// Whether the warm app holds the canonical's data: every marker the canonical's volumes hold,
    /// read back from the running app.
    func canonicalDataCheck(_ state: RunState) -> RunRecord.CheckRecord {
        let started = Date()
        func check(_ verdict: Verdict, _ detail: String) -> RunRecord.CheckRecord {
            .init(plugin: "cchost", name: "canonical-data", verdict: verdict, detail: detail, cause: nil,
                  seconds: Date().timeIntervalSince(started))
        }
        guard !state.canonicalMarkers.isEmpty else {
            return check(.skip, "the canonical's data holds no backup marker (its run had no backup tier)")
        }
        var found: [String] = [], problems: [String] = []
        for marker in state.canonicalMarkers {
            let place = "\(marker.service):\(marker.volume)/\(marker.path)"
            do {
                let container = try deployer.docker.runningContainer(stack: state.app.stack, service: marker.service)
                let mount = try deployer.docker.mountPoint(of: "\(state.app.stack)_\(marker.volume)", in: container)
                let output = try dockerCLI.output(["exec", container.id, "cat", "\(mount)/\(marker.path)"], timeout: 30)
                if output.succeeded && output.stdoutText == marker.value { found.append(place) }
                else if output.succeeded { problems.append("\(place) holds '\(output.stdoutText.prefix(60))', not the canonical's marker \(marker.value)") }
                else { problems.append("\(place) is missing: \(DockerCLI.message(output))") }
            } catch {
                problems.append("\(place): \(error)")
            }
        }
        return problems.isEmpty
            ? check(.pass, "the canonical's data is there: marker \(state.canonicalMarkers[0].value) in \(found.joined(separator: ", "))")
            : check(.fail, problems.joined(separator: "; "))
    }

    func backedUpServices(_ state: RunState) -> [ComposeProject.Service] {
        guard let recipe = try? deployer.recipe(of: state.app) else { return [] }
        return BackupLabels.backedUpServices(recipe.compose)
    }

    /// Writes a fresh marker into every backed-up volume path: data continuity is proven when the
    /// marker comes back after restore.
    func seedMarker(_ state: RunState) throws -> AppContext.BackupMarker {
        let marker = "cchost-\(state.app.runID)-\(UUID().uuidString.prefix(8))"
        var files: [AppContext.BackupMarker.MarkerFile] = []
        for service in backedUpServices(state) {
            let container = try deployer.docker.runningContainer(stack: state.app.stack, service: service.name)
            for (volume, path) in BackupLabels.volumePaths(service) {
                let mount = try deployer.docker.mountPoint(of: "\(state.app.stack)_\(volume)", in: container)
                let file = "\(mount)/\(BackupLabels.markerFile(inPath: path))"
                try dockerCLI.run(["exec", container.id, "sh", "-c", "printf %s \"$1\" > \"$2\"", "sh", marker, file])
                files.append(.init(service: service.name, path: file))
            }
        }
        return AppContext.BackupMarker(marker: marker, files: files)
    }

    /// Changes the data after the backup, so that a restore that does nothing is caught.
    func mutate(_ state: RunState) throws {
        for file in state.marker?.files ?? [] {
            let container = try deployer.docker.runningContainer(stack: state.app.stack, service: file.service)
            try dockerCLI.run(["exec", container.id, "sh", "-c", "printf mutated > \"$1\"", "sh", file.path])
        }
    }

    func runHooks(_ tier: Tier, _ state: inout RunState) {
        let hooked = state.plugins.filter { $0.info.description.hooks.contains { $0.tiers.contains(tier.rawValue) } }
        guard !hooked.isEmpty else { return }
        let context = appContext(state, tier: tier)
        for plugin in hooked {
            for hook in plugin.info.description.hooks where hook.tiers.contains(tier.rawValue) {
                guard let session = session(for: plugin, &state, context: context) else { continue }
                let started = Date()
                let outcome = CheckOutcome.judging(session.invoke(Invocation(kind: .hook, name: hook.name, tier: tier.rawValue)))
                progress("[\(tier.rawValue)] hook \(plugin.info.description.name)/\(hook.name): \(outcome.verdict.rawValue)")
                state.stepRecords.append(record(outcome, plugin: plugin, name: "hook:\(hook.name)", session: session, started: started))
            }
        }
    }

    func runInstallSteps(_ state: inout RunState) {
        let stepped = state.plugins.filter { !$0.info.description.installSteps.isEmpty }
        guard !stepped.isEmpty else { return }
        let context = appContext(state, tier: .install)
        for plugin in stepped {
            for step in plugin.info.description.installSteps {
                guard let session = session(for: plugin, &state, context: context) else { continue }
                let started = Date()
                let outcome = CheckOutcome.judging(session.invoke(Invocation(kind: .installStep, name: step.name, tier: "install")))
                progress("[install] step \(plugin.info.description.name)/\(step.name): \(outcome.verdict.rawValue)")
                state.stepRecords.append(record(outcome, plugin: plugin, name: "step:\(step.name)", session: session, started: started))
            }
        }
    }

    /// The generic suite and the overlays, each check once, on the same post-op state.
    func runChecks(_ tier: Tier, _ state: inout RunState, skipGeneric: Bool) -> [RunRecord.CheckRecord] {
        var records: [RunRecord.CheckRecord] = []
        // One look at the app per tier: every check judges the same post-op state.
        let context = appContext(state, tier: tier)
        for plugin in state.plugins where !(skipGeneric && plugin.origin == .builtin) {
            let name = plugin.info.description.name
            for check in plugin.info.description.checks where check.tiers.contains(tier.rawValue) {
                let started = Date()
                guard let session = session(for: plugin, &state, context: context) else {
                    records.append(.init(plugin: name, name: check.name, verdict: .unverified, detail: "",
                                         cause: "the plugin's worker could not start", seconds: 0))
                    continue
                }
                var arguments: [String: ArgumentValue] = plugin.info.metadata.config[check.name] ?? [:]
                arguments.merge(state.checkArguments[check.name] ?? [:]) { $1 }
                if let parameters = check.parameters, !parameters.isEmpty, arguments.isEmpty {
                    records.append(.init(plugin: name, name: check.name, verdict: .skip,
                                         detail: "not configured for \(state.record.recipe) (parameters: \(parameters.map(\.name).joined(separator: ", ")))",
                                         cause: nil, seconds: 0))
                    continue
                }
                arguments = arguments.filter { key, _ in check.parameters?.contains { $0.name == key } ?? false }
                let outcome = CheckOutcome.judging(session.invoke(Invocation(kind: .check, name: check.name, tier: tier.rawValue,
                                                                            arguments: arguments)))
                records.append(record(outcome, plugin: plugin, name: check.name, session: session, started: started))
            }
        }
        return records
    }

    /// A judged check, hook or step as the record keeps it. A plugin may print whatever it read,
    /// secrets included: they never reach the record.
    func record(_ outcome: CheckOutcome, plugin: ResolvedPlugin, name: String, session: WorkerSession,
                started: Date) -> RunRecord.CheckRecord {
        let logs = session.services.takeLogs().map(\.message).joined(separator: "; ")
        let secrets = deployer.secrets.all
        return RunRecord.CheckRecord(plugin: plugin.info.description.name, name: name, verdict: outcome.verdict,
                                     detail: RunReport.redact(outcome.detail.isEmpty ? logs : outcome.detail, secrets: secrets),
                                     cause: outcome.cause.map { RunReport.redact($0, secrets: secrets) },
                                     seconds: Date().timeIntervalSince(started))
    }

    /// One worker per plugin per run, kept across tiers; the app context follows the run.
    func session(for plugin: ResolvedPlugin, _ state: inout RunState, context: AppContext) -> WorkerSession? {
        if let session = state.sessions[plugin.path] {
            session.services.app = context
            return session
        }
        let port = Int(context.labels.first { $0.key.hasSuffix(".loadbalancer.server.port") }?.value ?? "") ?? 80
        let configuration = state.readinessPath.map { ["readiness_path": $0] } ?? [:]
        let services = HostServices(app: context, configuration: configuration,
                                    artifactsDirectory: state.artifacts.appendingPathComponent(plugin.info.description.name),
                                    gateway: SwarmGateway(deployer: deployer, app: state.app, port: port),
                                    logger: Logger(label: "cchost.plugin.\(plugin.info.description.name)"))
        do {
            let session = try WorkerSession(plugin: plugin.path, launcher: launcher, services: services, profile: plugin.profile)
            state.sessions[plugin.path] = session
            return session
        } catch {
            logger.error("plugin worker did not start", metadata: ["plugin": "\(plugin.path)", "error": "\(error)"])
            return nil
        }
    }

    func appContext(_ state: RunState, tier: Tier) -> AppContext {
        let recipe = try? deployer.recipe(of: state.app)
        var context = AppContext(recipe: state.record.recipe, domain: state.app.domain,
                                 services: recipe.map { Array($0.compose.services.keys).sorted() } ?? [],
                                 labels: state.deployed ? deployedLabels(state.app) : [:],
                                 baseVersion: state.base?.reference, headVersion: state.headVersion,
                                 headRef: state.head.commit, tier: tier.rawValue)
        context.backup = state.marker
        return context
    }

    /// The app service's deploy labels as the swarm has them.
    func deployedLabels(_ app: AppDeployment) -> [String: String] {
        guard let text = try? dockerCLI.run(["service", "inspect", "\(app.stack)_app", "--format", "{{json .Spec.Labels}}"]),
              let labels = try? JSONDecoder().decode([String: String].self, from: Data(text.utf8)) else { return [:] }
        return labels
    }

    /// Service logs, task errors and the engine's events, saved as artifacts before teardown.
    func captureDiagnostics(_ app: AppDeployment, since started: Date, into folder: URL) -> [String] {
        var saved: [String] = []
        func save(_ name: String, _ text: String) {
            let file = folder.appendingPathComponent(name)
            if (try? Data(text.utf8).write(to: file)) != nil { saved.append(file.path) }
        }
        let services = (try? dockerCLI.lines(["service", "ls", "-q", "--filter", "label=com.docker.stack.namespace=\(app.stack)"])) ?? []
        for service in services {
            let name = (try? dockerCLI.run(["service", "inspect", "--format", "{{.Spec.Name}}", service]))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? service
            if let logs = try? dockerCLI.output(["service", "logs", "--no-task-ids", "--tail", "500", service], timeout: 30) {
                save("logs-\(name).txt", logs.stdoutText + logs.stderrText)
            }
            if let tasks = try? dockerCLI.run(["service", "ps", "--no-trunc", "--format", "{{.Name}} {{.CurrentState}} {{.Error}}", service]) {
                save("tasks-\(name).txt", tasks)
            }
        }
        // The engine's events of the stack's containers (what the engine still keeps of them).
        if let events = try? DockerAPI().events(since: started.addingTimeInterval(-1), until: Date(),
                                                   filters: ["label": ["com.docker.stack.namespace=\(app.stack)"]]) {
            let formatter = ISO8601DateFormatter()
            save("events.txt", events.map { event in
                "\(formatter.string(from: event.time)) \(event.type) \(event.action) \(event.attributes["name"] ?? String(event.actorID.prefix(12)))"
            }.joined(separator: "\n") + "\n")
        }
        return saved
    }

    /// Whether a deployed `chaos-version` label names `commit`: a short commit (abra writes 8
    /// characters, the swarm backend 7) that the full commit starts with, and not marked `+U`
    /// (uncommitted changes: not the code under test).
    public static func chaosVersion(_ label: String?, matches commit: String) -> Bool {
        guard let label, label.count >= 7, !label.hasSuffix("+U") else { return false }
        return commit.hasPrefix(label)
    }

    /// The base when none is given: the canonical when the head is a newer release or not a release
    /// at all (a branch or commit under review) and the canonical's tag exists; else the release just
    /// before the head (or the latest release when the head is not a release).
    /// `releases`: the release tags (pre-releases excluded), oldest to newest. Pure.
    static func defaultBase(head: String, canonical: String?, releases: [String]) -> String? {
        let headIndex = releases.firstIndex(of: head)
        if let canonical, let canonicalIndex = releases.firstIndex(of: canonical), headIndex.map({ $0 > canonicalIndex }) ?? true {
            return canonical
        }
        if let headIndex { return headIndex > 0 ? releases[headIndex - 1] : nil }
        return releases.last
    }
}

/// The registry of runs in progress, so that `cchost janitor` can tell a killed run's leftovers
/// from a live run's stack.
public struct ActiveRuns: Sendable {
    public let directory: URL

    public struct Entry: Codable, Sendable {
        public var runID: String
        public var stack: String
        public var pid: Int32
        public var startedAt: Date
    }

    public init(directory: URL) { self.directory = directory }

    public func register(runID: String, stack: String) {
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let entry = Entry(runID: runID, stack: stack, pid: getpid(), startedAt: Date())
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        try? encoder.encode(entry).write(to: directory.appendingPathComponent("\(runID).json"), options: .atomic)
    }

    public func unregister(runID: String) {
        try? FileManager.default.removeItem(at: directory.appendingPathComponent("\(runID).json"))
    }

    public func entries() -> [Entry] {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let files = (try? FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)) ?? []
        return files.compactMap { try? decoder.decode(Entry.self, from: Data(contentsOf: $0)) }
    }
}
