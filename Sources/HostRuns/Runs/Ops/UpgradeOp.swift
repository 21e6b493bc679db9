import Foundation
import HostBase
import HostDocker

/// Upgrade: the head redeployed in place (chaos) over the base's data, converged, and the deployed
/// `chaos-version` label must name the head's commit; what was seeded before must still be there
/// (`cchost/data-intact`, and the recipe's `data_seed` probe). The head deploys with the env the app
/// was installed with, and what operators would have to do by hand is said (see `UpgradeDrift`).
struct UpgradeOp: TierOp {
    func run(_ run: RunContext) -> OpResult {
        if let failed = run.deployIfNeeded() { return failed }
        let head = run.plan.head
        run.plugins.runHooks(.upgrade, in: run)
        let baseRecipe: Recipe, headRecipe: Recipe
        do {
            baseRecipe = try run.deployer.recipe(of: run.app)
            run.app.checkout = head
            headRecipe = try run.deployer.recipe(of: run.app)
        } catch {
            return OpResult(op: .chaosRedeploy, ref: head.ref, verdict: .fail, detail: error.description)
        }
        // What operators must do by hand before this upgrade, said in the op's detail.
        let secrets = UpgradeDrift.addedSecrets(base: baseRecipe, head: headRecipe)
        let secretNote = secrets.isEmpty ? ""
            : "; the head adds secret(s) \(secrets.map(\.key).joined(separator: ", ")): operators must generate them before upgrading (abra app secret generate \(run.app.domain) \(secrets.map(\.key).joined(separator: " "))); cchost generated them to go on"
        func result(_ verdict: Verdict, _ detail: String) -> OpResult {
            var result = OpResult(op: .chaosRedeploy, ref: head.ref, verdict: verdict, detail: detail + secretNote)
            if verdict == .pass, let intact = run.dataIntactCheck() { result.checks.append(intact) }
            if verdict == .pass, let seeded = run.seededDataCheck(after: .upgrade) { result.checks.append(seeded) }
            return result
        }
        let missing = UpgradeDrift.missingVariables(head: headRecipe)
        guard missing.isEmpty else { return result(.fail, UpgradeDrift.missingDetail(missing, in: headRecipe)) }
        let started = Date()
        do {
            try run.deployer.deploy(run.app, as: .chaosUpgrade)
        } catch {
            return result(.fail, error.description)
        }
        let wait = run.waitForConvergence(since: started)
        if let (verdict, reasons) = wait.failure {
            return result(verdict, "did not converge: \(reasons.joined(separator: "; "))\(wait.restarts)")
        }
        let labels: [String: String]
        do { labels = try run.docker.serviceLabels(stack: run.app.stack, service: "app") } catch {
            return result(.unverified, "the deployed labels could not be read: \(error)")
        }
        let chaosVersion = labels["coop-cloud.\(run.app.stack).chaos-version"]
        guard RunEngine.chaosVersion(chaosVersion, matches: head.commit) else {
            return result(.fail, "deployed chaos-version is \(chaosVersion ?? "missing"), expected the head \(head.shortCommit)")
        }
        let leftRunning: [String]
        do { leftRunning = UpgradeDrift.leftRunning(try run.docker.services(stack: run.app.stack), stack: run.app.stack, head: headRecipe) } catch {
            return result(.unverified, "the stack's services could not be listed after the upgrade: \(error)")
        }
        let leftNote = leftRunning.isEmpty ? ""
            : "; service(s) \(leftRunning.joined(separator: ", ")) keep running though the head no longer declares them (abra deploys without pruning: operators remove them with docker service rm)"
        return result(.pass, "converged at \(head.shortCommit) (chaos-version matches the head)\(wait.restarts)\(leftNote)")
    }
}
