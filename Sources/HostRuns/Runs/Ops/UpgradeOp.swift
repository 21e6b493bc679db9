import Foundation
import HostBase
import HostDocker

/// Upgrade: the head redeployed in place (chaos) over the base's data, converged, and the deployed
/// `chaos-version` label must name the head's commit; what was seeded before must still be there
/// (`cchost/data-intact`, and the recipe's `data_seed` probe). The head deploys with the env the app
/// was installed with, and what operators would have to do by hand is said (see `UpgradeDrift`).
struct UpgradeOp: TierOp {
    func run(_ run: RunContext, from start: RunState) -> OpResult {
        let up = run.deployIfNeeded(from: start)
        if let failed = up.failure { return failed }
        var state = up.state
        let head = run.plan.head
        let hooks = run.plugins.runHooks(.upgrade, in: run, at: state)
        let baseRecipe: Recipe, headRecipe: Recipe
        do {
            baseRecipe = try run.deployer.recipe(of: state.app)
            state.app.checkout = head
            headRecipe = try run.deployer.recipe(of: state.app)
        } catch {
            return OpResult(op: .chaosRedeploy, ref: head.ref, verdict: .fail, detail: error.description, steps: hooks, state: state)
        }
        // What operators must do by hand before this upgrade, said in the op's detail.
        var notes = [Self.secretsNote(base: baseRecipe, head: headRecipe, domain: state.app.domain)].compactMap { $0 }
        func result(_ verdict: Verdict, _ detail: String) -> OpResult {
            var result = OpResult(op: .chaosRedeploy, ref: head.ref, verdict: verdict, detail: ([detail] + notes).joined(separator: "; "),
                                  steps: hooks, state: state)
            if verdict == .pass, let intact = run.dataIntactCheck(in: state) { result.checks.append(intact) }
            if verdict == .pass, let seeded = run.seededDataCheck(after: .upgrade, in: state) { result.checks.append(seeded) }
            return result
        }
        let (missing, followed) = Self.followReleaseNotes(head: headRecipe, version: run.plan.headVersion, app: &state.app)
        notes += [followed].compactMap { $0 }
        guard missing.isEmpty else { return result(.fail, UpgradeDrift.missingDetail(missing, in: headRecipe, version: run.plan.headVersion)) }
        let started = Date()
        do {
            let rendered = try run.deployer.deploy(state.app, as: .chaosUpgrade)
            state.record.renderedStacks = (state.record.renderedStacks ?? []) + [rendered].compactMap { $0 }
        } catch {
            return result(error.verdict, error.description)
        }
        let wait = run.waitForConvergence(of: state.app, since: started)
        if let (verdict, reasons) = wait.failure {
            return result(verdict, "did not converge: \(reasons.joined(separator: "; "))\(wait.restarts)")
        }
        let labels: [String: String]
        do { labels = try run.docker.serviceLabels(stack: state.app.stack, service: "app") } catch {
            return result(.unverified, "the deployed labels could not be read: \(error)")
        }
        let chaosVersion = labels["coop-cloud.\(state.app.stack).chaos-version"]
        guard RunEngine.chaosVersion(chaosVersion, matches: head.commit) else {
            return result(.fail, "deployed chaos-version is \(chaosVersion ?? "missing"), expected the head \(head.shortCommit)")
        }
        let leftRunning: [String]
        do { leftRunning = UpgradeDrift.leftRunning(try run.docker.services(stack: state.app.stack), stack: state.app.stack, head: headRecipe) } catch {
            return result(.unverified, "the stack's services could not be listed after the upgrade: \(error)")
        }
        let leftNote = leftRunning.isEmpty ? ""
            : "; service(s) \(leftRunning.joined(separator: ", ")) keep running though the head no longer declares them (abra deploys without pruning: operators remove them with docker service rm)"
        return result(.pass, "converged at \(head.shortCommit) (chaos-version matches the head)\(wait.restarts)\(leftNote)")
    }

    /// The secrets the head adds, which operators must generate before upgrading; nil when none.
    static func secretsNote(base: Recipe, head: Recipe, domain: String) -> String? {
        let secrets = UpgradeDrift.addedSecrets(base: base, head: head)
        guard !secrets.isEmpty else { return nil }
        return "the head adds secret(s) \(secrets.map(\.key).joined(separator: ", ")): operators must generate them before upgrading (abra app secret generate \(domain) \(secrets.map(\.key).joined(separator: " ")))"
    }

    /// What operators do following the head's release notes: the variables the head needs that
    /// the notes document go into `app`'s env, as operators would add them. The ones still
    /// missing, and a note of what was added (nil when nothing was).
    static func followReleaseNotes(head: Recipe, version: String?,
                                   app: inout AppDeployment) -> (missing: [ComposeProject.UnsetVariable], note: String?) {
        var missing = UpgradeDrift.missingVariables(head: head)
        let documented = UpgradeDrift.documented(missing, head: head, version: version)
        guard !documented.isEmpty else { return (missing, nil) }
        for variable in documented { app.environment?[variable.name] = head.envSample.values[variable.name] }
        missing.removeAll { variable in documented.contains { $0.name == variable.name } }
        return (missing, "the release notes tell operators to add \(documented.map(\.name).joined(separator: ", ")) to their app's env; cchost added it as they would")
    }
}
