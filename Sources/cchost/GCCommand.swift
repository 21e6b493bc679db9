import ArgumentParser
import Foundation
import HostBase
import HostState

/// Prunes past run folders (backups, logs, artifacts) as the configuration's `retention` says.
struct GCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Remove past run folders beyond the retention policy (never a canonical's run or a live run).",
        discussion: """
            Keeps the newest retention.keep_runs folders of each recipe (recipes[].retention.keep_runs over it), \
            then removes the oldest while all run folders together hold more than retention.max_size; a \
            canonical's run (its backups are what warm runs compare against), a live run and each recipe's \
            newest run always stay. The state database keeps every run's record. The sweep prunes the same \
            way when it ends. Exit status: 0 done, 1 a folder could not be removed, 2 configuration error.
            """)

    @Flag(help: "List what would be removed and why; remove nothing.") var dryRun = false

    func run() throws {
        let (folders, removals) = try failingClearly { () throws -> (RunFolders, [Retention.Removal]) in
            let configuration = try Configuration.load()
            let folders = RunFolders(stateDirectory: configuration.stateDirectory,
                                     store: try StateStore(stateDirectory: configuration.stateDirectory))
            return (folders, try folders.removals(policy: configuration.retention))
        }
        if removals.isEmpty { printLine("nothing to remove: every run folder is within the retention policy") }
        let failures = dryRun ? [] : folders.remove(removals)
        for removal in removals where !failures.contains(where: { $0.0 == removal }) {
            printLine((dryRun ? "would remove " : "removed ") + RunFolders.line(removal))
        }
        for (removal, why) in failures { printError("cchost: run folder \(removal.folder.runID) was not removed: \(why)") }
        if !failures.isEmpty { throw ExitCode(1) }
    }
}
