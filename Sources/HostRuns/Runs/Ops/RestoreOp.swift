import Foundation
import HostDocker

/// Restore, as after a disaster: the app gets fresh volumes (its services stopped and started again
/// on new, empty ones; not a deploy) and converges, a backup of that fresh install is taken, then the
/// restore hooks, this run's own archives restored, and the app converged again; a last backup is
/// taken, and the data proof (`cchost/data-proof`, see `DataProof`) compares the three. A backend
/// that cannot give the app fresh volumes restores in place, over marker files changed after the backup.
struct RestoreOp: TierOp {
    func run(_ run: RunContext) -> OpResult {
        guard let backup = run.backup else {
            return OpResult(op: .restore, verdict: .unverified, detail: "no backup of this run to restore (the backup tier was not selected or did not succeed)")
        }
        let started = Date()
        var fresh: BackupRecord?
        do {
            if run.deployer.givesFreshVolumes {
                run.note("giving \(run.app.stack) fresh volumes", tier: .restore)
                try run.deployer.freshVolumes(run.app)
                let wait = run.waitForConvergence(since: started)
                if let (verdict, reasons) = wait.failure {
                    return OpResult(op: .restore, verdict: verdict, detail: "did not converge on fresh volumes: \(reasons.joined(separator: "; "))\(wait.restarts)")
                }
                fresh = try run.deployer.backup(run.app, into: "backup-fresh")
            } else {
                // Restored in place: the marker changes first, so that a restore that does nothing is caught.
                try run.mutateMarker()
            }
        } catch {
            return OpResult(op: .restore, verdict: (error as? DeployError)?.verdict ?? .fail, detail: "\(error)")
        }
        do {
            run.plugins.runHooks(.restore, in: run)
            try run.deployer.restore(run.app, from: backup)
        } catch {
            return OpResult(op: .restore, verdict: error.verdict, detail: "\(error)")
        }
        let wait = run.waitForConvergence(since: started)
        if let (verdict, reasons) = wait.failure {
            return OpResult(op: .restore, verdict: verdict,
                            detail: "did not converge after restore: \(reasons.joined(separator: "; "))\(wait.restarts)")
        }
        let into = fresh == nil ? "in place" : "into fresh volumes"
        var result = OpResult(op: .restore, verdict: .pass, detail: "restored \(backup.archives.count) archive(s) \(into)\(wait.restarts)")
        result.checks = [run.restoreProof(backup: backup, fresh: fresh)] + [run.seededDataCheck(after: .restore)].compactMap { $0 }
        return result
    }
}
