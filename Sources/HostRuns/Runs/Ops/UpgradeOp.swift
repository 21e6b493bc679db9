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
        var notes: [String] = []
        let secrets = UpgradeDrift.addedSecrets(base: baseRecipe, head: headRecipe)
        if !secrets.isEmpty {
            notes.append("the head adds secret(s) \(secrets.map(\.key).joined(separator: ", ")): operators must generate them before upgrading (abra app secret generate \(run.app.domain) \(secrets.map(\.key).joined(separator: " ")))")
        }
        func result(_ verdict: Verdict, _ detail: String) -> OpResult {
            var result = OpResult(op: .chaosRedeploy, ref: head.ref, verdict: verdict, detail: ([detail] + notes).joined(separator: "; "))
            if verdict == .pass, let intact = run.dataIntactCheck() { result.checks.append(intact) }
            if verdict == .pass, let seeded = run.seededDataCheck(after: .upgrade) { result.checks.append(seeded) }
            return result
        }
        var missing = UpgradeDrift.missingVariables(head: headRecipe)
        let documented = UpgradeDrift.documented(missing, head: headRecipe, version: run.plan.headVersion)
        if !documented.isEmpty {
            // Operators follow the release notes: the variables go into the app's env, as they would.
            for variable in documented { run.app.environment?[variable.name] = headRecipe.envSample.values[variable.name] }
            notes.append("the release notes tell operators to add \(documented.map(\.name).joined(separator: ", ")) to their app's env; cchost added it as they would")
            missing.removeAll { variable in documented.contains { $0.name == variable.name } }
        }
        guard missing.isEmpty else { return result(.fail, UpgradeDrift.missingDetail(missing, in: headRecipe, version: run.plan.headVersion)) }
        let started = Date()
        do {
            try run.deployer.deploy(run.app, as: .chaosUpgrade)
        } catch {
            return result(error.verdict, error.description)
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
