import Foundation
import HostRuns

/// The janitor's part for the state folder's canonicals.
extension Janitor {
    /// Retained volumes of a state folder that no canonical references: left by a sweep killed
    /// before its garbage collection, or belonging to a recipe no longer enrolled (which no sweep
    /// collects). Only while no sweep runs: the sweep lock is tried, never waited for, and `Busy`
    /// is thrown when a sweep holds it. With `dryRun`, only lists them.
    public static func unusedRetainedVolumes(store: StateStore, volumes: RetainedVolumes, dryRun: Bool) throws -> [String] {
        let lock = try StateLock(StateLock.sweep, store: store)
        defer { withExtendedLifetime(lock) {} }
        return try volumes.collectGarbage(recipes: nil, keep: try store.retainedRunsInUse(), dryRun: dryRun)
    }
}
