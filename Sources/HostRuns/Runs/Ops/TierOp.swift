import Foundation
import HostBase
import HostDocker
import PluginChannel

/// What a tier does to the app, once, owned by the host: one small type per tier. An op never
/// throws: whatever goes wrong is its verdict and detail. It starts from the run's state as the
/// engine hands it over and returns what it found (the app it deployed, the markers it seeded, its
/// backup) in its result's `state`, which the engine passes on to the next tier.
protocol TierOp {
    func run(_ run: RunContext, from state: RunState) -> OpResult
}

/// An op's outcome as the tier records it, and the run's state as the op leaves it.
struct OpResult {
    var op: RunRecord.Op
    /// The ref a deploy put up.
    var ref: String? = nil
    var verdict: Verdict
    var detail: String
    /// Why the run cannot go on, when the op knows better than "<tier> failed" (a deploy that did
    /// not converge, the canonical's data that could not be copied). `TierPolicy` decides.
    var abort: String? = nil
    /// The host's own checks of the tier (lint rules, a warm app's canonical data), beside the plugins'.
    var checks: [RunRecord.CheckRecord] = []
    /// The lint op's warnings.
    var lintWarnings: Int? = nil
    /// The plugins' hooks and install steps the op ran: judged with the tier, before its checks.
    var steps: [RunRecord.CheckRecord] = []
    /// The run's state as the op leaves it, whatever its verdict.
    var state: RunState
}

extension Tier {
    /// The op this tier runs.
    var op: any TierOp {
        switch self {
        case .lint: LintOp()
        case .install: InstallOp()
        case .upgrade: UpgradeOp()
        case .backup: BackupOp()
        case .restore: RestoreOp()
        case .custom: CustomOp()
        }
    }
}

extension RunContext {
    /// Deploys the base, once per run (the deploy-count guard watches), and waits for convergence;
    /// a warm run first copies the canonical's data into the app's volumes, a cold one seeds its
    /// data markers once the app is up. `hooksFor`: the tier whose hooks run before the deploy.
    func deployBase(hooksFor tier: Tier?, from start: RunState) -> OpResult {
        var state = start
        var steps: [RunRecord.CheckRecord] = []
        let ref = state.app.checkout.ref
        func failed(_ detail: String, abort: String, verdict: Verdict = .fail) -> OpResult {
            OpResult(op: .deploy, ref: ref, verdict: verdict, detail: detail, abort: abort, steps: steps, state: state)
        }
        // The recipe is untrusted: what the content policy refuses is never deployed, hooks included.
        if let refusal = policy.refusal { return failed(refusal, abort: "the recipe content policy refused it") }
        if let tier { steps = plugins.runHooks(tier, in: self, at: state) }
        var from = ""
        if let canonical = request.warmFrom {
            note("copying the canonical's data (\(canonical.version), run \(canonical.runID)) into \(state.app.stack)")
            do {
                let created = try retainedData.seed(stack: state.app.stack, recipe: request.recipe, from: canonical)
                from = " on a copy of the canonical's data (\(canonical.version), run \(canonical.runID): \(created.count) volume(s))"
            } catch {
                // The canonical's data is the host's, never the recipe under test's.
                return failed("\(error)", abort: "the canonical's data could not be copied", verdict: .unverified)
            }
        }
        let started = Date()
        do {
            // The app gets the env `abra app new` gives it, from this `.env.sample`: later deploys read it.
            state.app.environment = try deployer.recipe(of: state.app).envSample.values
            for _ in 0..<installDeploys {
                let rendered = try deployer.deploy(state.app, as: .install(ref: ref))
                state.record.deployCount += 1
                state.record.renderedStacks = (state.record.renderedStacks ?? []) + [rendered].compactMap { $0 }
            }
        } catch {
            return failed(error.description, abort: "install failed", verdict: error.verdict)
        }
        state.deployed = true
        note("waiting for \(state.app.stack) to converge")
        let wait = waitForConvergence(of: state.app, since: started)
        if let (verdict, reasons) = wait.failure {
            return failed("did not converge: \(reasons.joined(separator: "; "))\(wait.restarts)", abort: "install did not converge",
                          verdict: verdict)
        }
        if request.warmFrom == nil {
            // The install itself worked: a marker that cannot be written leaves the data checks unverified.
            do { (state.markers.marker, state.markers.places) = try seedMarkers(in: state.app) } catch {
                let problem = "the data markers could not be written when the app came up: \(error)"
                state.markers.problem = problem
                note(problem)
            }
        }
        return OpResult(op: .deploy, ref: ref, verdict: .pass, detail: "\(ref) converged\(from)\(wait.restarts)", steps: steps, state: state)
    }

    /// For a tier that needs the app: the state with the app up (deployed now if it was not), or
    /// the failed deploy to record instead.
    func deployIfNeeded(from state: RunState) -> (state: RunState, failure: OpResult?) {
        guard !state.deployed else { return (state, nil) }
        let result = deployBase(hooksFor: nil, from: state)
        return (result.state, result.verdict == .pass ? nil : result)
    }
}

extension DeployError {
    /// The verdict of what this error stopped: the host's fault is `unverified`, the recipe's `fail`.
    var verdict: Verdict { isHostFault ? .unverified : .fail }
}
