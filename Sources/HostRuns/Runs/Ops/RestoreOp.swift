import Foundation
import HostDocker

/// Restore: the marker changed (a restore that does nothing is caught), the restore hooks, this
/// run's own archives restored, and the app converged again.
struct RestoreOp: TierOp {
    func run(_ run: RunContext) -> OpResult {
        guard let backup = run.backup else {
            return OpResult(op: .restore, verdict: .unverified, detail: "no backup of this run to restore (the backup tier was not selected or did not succeed)")
        }
        let started = Date()
        do {
            try run.mutateMarker()
            run.plugins.runHooks(.restore, in: run)
            try run.deployer.restore(run.app, from: backup)
        } catch {
            return OpResult(op: .restore, verdict: .fail, detail: "\(error)")
        }
        let wait = run.waitForConvergence(since: started)
        if let (verdict, reasons) = wait.failure {
            return OpResult(op: .restore, verdict: verdict,
                            detail: "did not converge after restore: \(reasons.joined(separator: "; "))\(wait.restarts)")
        }
        return OpResult(op: .restore, verdict: .pass, detail: "restored \(backup.archives.count) archive(s)\(wait.restarts)")
    }
}
