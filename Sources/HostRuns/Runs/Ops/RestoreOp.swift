import Foundation
import HostDocker

/// Restore, as after a disaster: the app gets fresh volumes (its services stopped and started again
/// on new, empty ones; not a deploy) and converges, a backup of that fresh install is taken, then the
/// restore hooks, this run's own archives restored, and the app converged again; a last backup is
/// taken, and the data proof (`cchost/data-proof`, see `DataProof`) compares the three. A backend
/// that cannot give the app fresh volumes restores in place, and the proof says why it is missing.
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
            return OpResult(op: .restore, verdict: .fail, detail: "\(error)")
        }
        do {
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
        let into = fresh == nil ? "in place" : "into fresh volumes"
        var result = OpResult(op: .restore, verdict: .pass, detail: "restored \(backup.archives.count) archive(s) \(into)\(wait.restarts)")
        result.checks = [proof(run, backup: backup, fresh: fresh)] + [run.seededDataCheck(after: .restore)].compactMap { $0 }
        return result
    }

    /// The data proof, from the backup tier's backup, the fresh install's and one taken now.
    func proof(_ run: RunContext, backup: BackupRecord, fresh: BackupRecord?) -> RunRecord.CheckRecord {
        let started = Date()
        func check(_ verdict: Verdict, _ detail: String) -> RunRecord.CheckRecord {
            .init(plugin: "cchost", name: "data-proof", verdict: verdict, detail: detail, cause: nil, seconds: Date().timeIntervalSince(started))
        }
        guard let fresh else {
            return check(.skip, "the \(run.deployer.name) backend cannot give the app fresh volumes yet, so the restore was not proven against a fresh install")
        }
        do {
            let restored = try run.deployer.backup(run.app, into: "backup-restored")
            let hooked = Set(try run.backedUpServices().filter { $0.deployLabels["backupbot.backup.pre-hook"] != nil }.map(\.name))
            let judged = DataProof.judge(backup: try DataProof.items(of: backup.archives, hooked: hooked),
                                         fresh: try DataProof.items(of: fresh.archives, hooked: hooked),
                                         restored: try DataProof.items(of: restored.archives, hooked: hooked))
            return check(judged.verdict, judged.detail)
        } catch {
            return check(.fail, "the backup after the restore failed: \(error)")
        }
    }
}
