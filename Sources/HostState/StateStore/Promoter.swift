import Foundation
import HostRuns

/// Moves a recipe's canonical forward after the gate said yes, crash-safely. The run already kept
/// its volumes as `warm-<recipe>-<run id>_<volume>` (see RetainedVolumes), which nothing references:
/// 1. check that every one of them is still there;
/// 2. one database transaction replaces the canonical and appends to the history;
/// 3. the caller removes the volumes no canonical references (`RetainedVolumes.collectGarbage`),
///    the previous canonical's among them, after a promotion and after a failed one alike.
/// Stopped after 1, the old canonical stands whole (the run's volumes are unreferenced garbage);
/// stopped after 2, the new one stands whole (the old volumes are garbage). Garbage a stopped
/// promotion left is removed by the recipe's next sweep.
public struct Promoter: Sendable {
    public let store: StateStore
    public let volumes: RetainedVolumes

    /// The points between the steps of a promotion, where a crash must leave state whole.
    public enum Step: String, Sendable, CaseIterable { case dataChecked = "data-checked", databaseCommitted = "database-committed" }
    /// Test hook: called after each step; throwing stops the promotion there, as a crash would.
    var afterStep: @Sendable (Step) throws -> Void = Promoter.killAfterStep

    /// With `CCHOST_TEST_KILL_AFTER_PROMOTE_STEP=<step>` in its environment, the process kills itself
    /// (SIGKILL) right after that step: how the tests prove a real `kill -9` mid-promotion loses nothing.
    static let killAfterStep: @Sendable (Step) -> Void = { step in
        if ProcessInfo.processInfo.environment["CCHOST_TEST_KILL_AFTER_PROMOTE_STEP"] == step.rawValue { kill(getpid(), SIGKILL) }
    }

    public init(store: StateStore, volumes: RetainedVolumes) {
        self.store = store
        self.volumes = volumes
    }

    public struct PromotionError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Promotes `record` to its recipe's canonical. `lock` is the recipe's lock, held by this
    /// process: only the sweep that holds it promotes, never a run's own process (which cannot
    /// take it while the sweep holds it) nor anyone whose lock was taken over.
    public func promote(_ record: RunRecord, version: String, holding lock: StateLock) throws -> Canonical {
        guard lock.name == StateLock.recipe(record.recipe) else {
            throw PromotionError(description: "run \(record.id) of \(record.recipe) is promoted only under the lock \(StateLock.recipe(record.recipe)), not \(lock.name); the canonical stays")
        }
        guard try lock.isHeld() else {
            throw PromotionError(description: "the lock \(lock.name) is no longer this process's; run \(record.id) is not promoted and the canonical stays")
        }
        if let problem = record.retentionProblem {
            throw PromotionError(description: "run \(record.id)'s data was not retained (\(problem)); the canonical stays")
        }
        guard let retained = record.retainedVolumes else {
            throw PromotionError(description: "run \(record.id) did not retain its data; the canonical stays")
        }
        let previous = try store.canonical(recipe: record.recipe)
        let present = Set(try volumes.list().filter { $0.runID == record.id }.map(\.name))
        let missing = retained.filter { !present.contains($0) }
        guard missing.isEmpty else {
            throw PromotionError(description: "run \(record.id)'s retained volumes are gone (\(missing.joined(separator: ", "))); the canonical stays")
        }
        try afterStep(.dataChecked)
        let canonical = Canonical(recipe: record.recipe, version: version, commit: record.head.commit,
                                  promotedAt: record.finishedAt ?? Date(), status: "promoted", runID: record.id, volumes: retained)
        try store.promote(canonical, previous: previous?.version)
        try afterStep(.databaseCommitted)
        return canonical
    }
}
