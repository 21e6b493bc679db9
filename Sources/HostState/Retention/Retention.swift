import Foundation
import HostBase

/// Which past run folders go: a pure decision over what the folders are, what must stay and the
/// operator's policy. `RunFolders` scans and removes around it; truth tables in the tests.
///
/// Rules, in order:
/// 1. never a canonical's run (its folder holds the backups warm runs compare against), never a live
///    run, never a folder with no finished record younger than `unfinishedGrace` (a run still planning
///    has a folder before it is registered as live);
/// 2. of each recipe, the newest `keep_runs` folders stay (protected ones count among them); older ones go;
/// 3. while what stays holds more than `max_size`, the oldest go first, except each recipe's newest
///    run (a promotion may be about to make it the canonical).
public enum Retention {
    /// One run folder as the scan found it.
    public struct Folder: Sendable, Equatable {
        public var runID: String
        /// nil when neither the state database nor the folder's record names it.
        public var recipe: String?
        public var startedAt: Date
        public var bytes: UInt64
        /// The run has a finished record (the database's or its own run.json).
        public var finished: Bool

        public init(runID: String, recipe: String?, startedAt: Date, bytes: UInt64, finished: Bool = true) {
            self.runID = runID
            self.recipe = recipe
            self.startedAt = startedAt
            self.bytes = bytes
            self.finished = finished
        }
    }

    /// A folder to remove and why.
    public struct Removal: Sendable, Equatable {
        public var folder: Folder
        public var reason: String
    }

    /// An unfinished folder younger than this may belong to a run still planning.
    public static let unfinishedGrace: TimeInterval = 24 * 3600

    /// The folders to remove, oldest first, each with its reason.
    public static func removals(_ folders: [Folder], policy: RetentionPolicy, canonicalRuns: Set<String>,
                                liveRuns: Set<String>, now: Date) -> [Removal] {
        func isProtected(_ folder: Folder) -> Bool {
            canonicalRuns.contains(folder.runID) || liveRuns.contains(folder.runID)
                || (!folder.finished && now.timeIntervalSince(folder.startedAt) < unfinishedGrace)
        }
        var removals: [Removal] = []
        var removed = Set<String>()
        let byRecipe = Dictionary(grouping: folders, by: \.recipe)
        for (recipe, runs) in byRecipe {
            let keep = policy.keepRuns(for: recipe)
            for folder in newestFirst(runs).dropFirst(keep) where !isProtected(folder) {
                removals.append(Removal(folder: folder, reason: "older than the last \(keep) runs of \(recipe ?? "runs of no known recipe")"))
                removed.insert(folder.runID)
            }
        }
        let newestOfRecipe = Set(byRecipe.values.compactMap { newestFirst($0).first?.runID })
        var total = folders.filter { !removed.contains($0.runID) }.reduce(0) { $0 + $1.bytes }
        let overBudget = "the run folders hold more than \(ByteSize.text(policy.maxBytes)) (retention.max_size): oldest first"
        for folder in newestFirst(folders).reversed() where total > policy.maxBytes {
            guard !removed.contains(folder.runID), !isProtected(folder), !newestOfRecipe.contains(folder.runID) else { continue }
            removals.append(Removal(folder: folder, reason: overBudget))
            removed.insert(folder.runID)
            total -= folder.bytes
        }
        return removals.sorted { ($0.folder.startedAt, $0.folder.runID) < ($1.folder.startedAt, $1.folder.runID) }
    }

    private static func newestFirst(_ folders: [Folder]) -> [Folder] {
        folders.sorted { ($0.startedAt, $0.runID) > ($1.startedAt, $1.runID) }
    }
}
