import Foundation
import HostDocker

/// Backup: the backup hooks, then the deployer's backup (backupbot's pre-hooks, the labelled paths
/// archived into the run's folder, post-hooks). The data markers went in when the app came up.
struct BackupOp: TierOp {
    func run(_ run: RunContext, from start: RunState) -> OpResult {
        let up = run.deployIfNeeded(from: start)
        if let failed = up.failure { return failed }
        var state = up.state
        let hooks = run.plugins.runHooks(.backup, in: run, at: state)
        do {
            let backup = try run.deployer.backup(state.app)
            state.backup = backup
            let retried = backup.failedAttempts.isEmpty ? ""
                : "; after \(backup.attempts) attempts (\(backup.failedAttempts.joined(separator: "; ")))"
            return OpResult(op: .backup, verdict: .pass,
                            detail: "\(backup.archives.count) archive(s), \(backup.archives.map(\.bytes).reduce(0, +)) bytes\(retried)",
                            steps: hooks, state: state)
        } catch {
            return OpResult(op: .backup, verdict: error.verdict, detail: "\(error)", steps: hooks, state: state)
        }
    }
}
