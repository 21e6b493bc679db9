import Foundation
internal import GRDB

/// A shared lock on a recipe's canonical data, held by a warm or quick run from the moment it reads
/// the canonical until its run ends: the retained volumes it copies stay while it lives, even if a
/// sweep promotes a newer canonical meanwhile. Readers never wait for one another; garbage
/// collection (`StateStore.retainedRunsInUse`) keeps whatever a live reader holds. A reader that
/// dies is stale at once on this machine (see `StateLock`), so it never pins data for good. The
/// lock belongs to the process that runs the warm or quick run (`cchost run`), never to a sweep that
/// started it: it goes with that process, whichever way it ends.
public final class CanonicalReader: Sendable {
    public let canonical: Canonical
    private let lock: StateLock
    static let lockPrefix = "canonical-read:"

    public struct NoCanonical: Error, CustomStringConvertible {
        public var recipe: String
        public var description: String {
            "\(recipe) has no canonical yet, and a warm or quick run starts from the canonical's data: run `cchost sweep` first, or run cold (without --warm/--quick)"
        }
    }

    /// Reads `recipe`'s canonical and holds it. The lock is taken, then the canonical read again: if
    /// a promotion came in between, the lock moves to the new canonical.
    public init(recipe: String, store: StateStore) throws {
        while true {
            guard let canonical = try store.canonical(recipe: recipe) else { throw NoCanonical(recipe: recipe) }
            let lock = try StateLock("\(Self.lockPrefix)\(canonical.runID):\(UUID().uuidString)", store: store)
            if try store.canonical(recipe: recipe)?.runID == canonical.runID {
                self.canonical = canonical
                self.lock = lock
                return
            }
        }
    }
}

extension StateStore {
    /// Run ids whose retained volumes garbage collection keeps: the canonicals', and those a live
    /// reader holds (read in the same transaction, so a reader that took its lock before is seen).
    public func retainedRunsInUse() throws(StateStoreError) -> Set<String> {
        try Self.attempt(path, "read which retained data is in use") {
            try pool.read { db in
                let canonicals = try String.fetchAll(db, sql: "SELECT run_id FROM canonical")
                let readers = try LockRow.fetchAll(db, sql: "SELECT * FROM lock WHERE name LIKE ?", arguments: [CanonicalReader.lockPrefix + "%"])
                    .filter { !StateLock.isStale($0) }
                    .compactMap { $0.name.dropFirst(CanonicalReader.lockPrefix.count).split(separator: ":").first.map(String.init) }
                return Set(canonicals + readers)
            }
        }
    }
}
