import Foundation
internal import GRDB

/// What an existing database needs before this cchost opens it, decided through a read-only
/// connection so that nothing is written until it is known to be safe:
/// 1. a database a newer cchost migrated (it records migrations this one does not know) is refused,
///    left untouched: this cchost cannot tell what those migrations changed;
/// 2. before a writer applies any pending migration, the database is copied aside as it is, to
///    `cchost.sqlite.before-vN`, N the first pending version, so an upgrade can be undone by hand.
///    A new database, or one with nothing pending, is not copied.
extension StateStore {
    /// Where a database is copied before migration `identifier` (`v3 run results` → `…before-v3`).
    static func copyAside(_ path: String, before identifier: String) -> String {
        path + ".before-" + (identifier.split(separator: " ").first.map(String.init) ?? identifier)
    }

    /// Refuses a database from a newer schema; copies it aside when `copy` and a migration up to
    /// `lastMigration` (nil: all) is pending. Does nothing for a database that does not exist yet.
    static func prepareUpgrade(_ path: String, upTo lastMigration: String?, copy: Bool) throws(StateStoreError) {
        guard FileManager.default.fileExists(atPath: path) else { return }
        var configuration = GRDB.Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(30)
        let (applied, pending): (Set<String>, [String]) = try attempt(path, "read the schema version") {
            try DatabaseQueue(path: path, configuration: configuration).read { db in
                let applied = try migrator.appliedIdentifiers(db)
                var target = migrator.migrations
                if let lastMigration, let end = target.firstIndex(of: lastMigration) { target = Array(target[...end]) }
                return (applied, target.filter { !applied.contains($0) })
            }
        }
        let unknown = applied.subtracting(migrator.migrations).sorted()
        guard unknown.isEmpty else {
            throw StateStoreError(path: path, operation: "open", message: """
                it was written by a newer cchost: its schema has migrations this cchost does not know \
                (\(unknown.joined(separator: ", "))). Nothing was written to it; run the newer cchost, \
                or restore the copy a newer cchost made before it migrated (\(path).before-v…)
                """)
        }
        // Nothing applied yet: a database no cchost has written to is as good as new.
        guard copy, !applied.isEmpty, let first = pending.first else { return }
        let target = copyAside(path, before: first)
        // A snapshot through the read-only connection (committed WAL pages included), written
        // under a name of its own and renamed over any older copy: a crash mid-copy leaves the
        // last whole copy, and two stores opening at once do not write into one file.
        let partial = target + ".partial-" + UUID().uuidString
        let operation = "copy the database aside to \(target) before migrating it"
        defer { try? FileManager.default.removeItem(atPath: partial) }  // only there when the copy failed
        try attempt(path, operation) {
            // Outside a transaction: SQLite runs no VACUUM inside one.
            try DatabaseQueue(path: path, configuration: configuration).inDatabase { db in
                try db.execute(sql: "VACUUM INTO ?", arguments: [partial])
            }
        }
        guard rename(partial, target) == 0 else {
            throw StateStoreError(path: path, operation: operation, message: String(cString: strerror(errno)))
        }
    }
}
