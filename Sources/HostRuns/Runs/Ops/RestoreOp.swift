import Foundation
import HostDocker

/// Restore, as after a disaster: the app gets fresh volumes (its services stopped and started again
/// on new, empty ones; not a deploy) and converges, a backup of that fresh install is taken, then the
/// restore hooks, this run's own archives restored, and the app converged again; a last backup is
/// taken, and the data proof (`cchost/data-proof`, see `DataProof`) compares the three. A backend
/// that cannot give the app fresh volumes restores in place, over marker files changed after the backup.
struct RestoreOp: TierOp {
    func run(_ run: RunContext, from state: RunState) -> OpResult {
        func result(_ verdict: Verdict, _ detail: String, steps: [RunRecord.CheckRecord] = []) -> OpResult {
            OpResult(op: .restore, verdict: verdict, detail: detail, steps: steps, state: state)
        }
        guard let backup = state.backup else {
            return result(.unverified, "no backup of this run to restore (the backup tier was not selected or did not succeed)")
        }
        let app = state.app
        let started = Date()
        var fresh: BackupRecord?
        do {
            if run.deployer.givesFreshVolumes {
                run.note("giving \(app.stack) fresh volumes", tier: .restore)
                try run.deployer.freshVolumes(app)
                let wait = run.waitForConvergence(of: app, since: started)
                if let (verdict, reasons) = wait.failure {
                    return result(verdict, "did not converge on fresh volumes: \(reasons.joined(separator: "; "))\(wait.restarts)")
                }
                fresh = try run.deployer.backup(app, into: "backup-fresh")
            } else {
                // Restored in place: the marker changes first, so that a restore that does nothing is caught.
                try run.mutateMarkers(state.markers, in: app)
            }
        } catch {
            return result((error as? DeployError)?.verdict ?? .fail, "\(error)")
        }
        let hooks = run.plugins.runHooks(.restore, in: run, at: state)
        do {
            try run.deployer.restore(app, from: backup)
        } catch {
            return result(error.verdict, "\(error)", steps: hooks)
        }
        let wait = run.waitForConvergence(of: app, since: started)
        if let (verdict, reasons) = wait.failure {
            return result(verdict, "did not converge after restore: \(reasons.joined(separator: "; "))\(wait.restarts)", steps: hooks)
        }
        let into = fresh == nil ? "in place" : "into fresh volumes"
        var restored = result(.pass, "restored \(backup.archives.count) archive(s) \(into)\(wait.restarts)", steps: hooks)
        restored.checks = [run.restoreProof(backup: backup, fresh: fresh, in: state)]
            + [run.seededDataCheck(after: .restore, in: state)].compactMap { $0 }
        return restored
    }
}
