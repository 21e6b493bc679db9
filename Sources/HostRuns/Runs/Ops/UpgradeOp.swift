import Foundation
import HostBase
import HostDocker

/// Upgrade: the head redeployed in place (chaos) over the base's data, converged, and the deployed
/// `chaos-version` label must name the head's commit; what was seeded before must still be there
/// (`cchost/data-intact`, and the recipe's `data_seed` probe).
struct UpgradeOp: TierOp {
    func run(_ run: RunContext) -> OpResult {
        if let failed = run.deployIfNeeded() { return failed }
        let head = run.plan.head
        run.plugins.runHooks(.upgrade, in: run)
        run.app.checkout = head
        func result(_ verdict: Verdict, _ detail: String) -> OpResult {
            var result = OpResult(op: .chaosRedeploy, ref: head.ref, verdict: verdict, detail: detail)
            if verdict == .pass, let intact = run.dataIntactCheck() { result.checks.append(intact) }
            if verdict == .pass, let seeded = run.seededDataCheck(after: .upgrade) { result.checks.append(seeded) }
            return result
        }
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
        return result(.pass, "converged at \(head.shortCommit) (chaos-version matches the head)\(wait.restarts)")
    }
}
