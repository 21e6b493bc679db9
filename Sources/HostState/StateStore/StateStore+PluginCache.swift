import Foundation
internal import GRDB
import HostBase

/// The plugin metadata cache as rows of `plugin_cache`: what each plugin library is, keyed by path +
/// size + mtime + sha256 (see PluginCatalog). Every process sharing the database reads and adds to it.
extension StateStore: PluginCache {
    /// Every cached library, by path.
    public func pluginCacheEntries() throws(CatalogError) -> [CatalogEntry] {
        do { return try pluginCacheRows() } catch { throw .cacheUnreadable(path, reason: error.message) }
    }

    /// Inserts or replaces the rows of `entries`, in one transaction. Rows of other libraries are left
    /// as they are: another process may have just written them.
    public func savePluginCache(_ entries: [CatalogEntry]) throws(CatalogError) {
        do { try savePluginCacheRows(entries) } catch { throw .cacheUnwritable(path, reason: error.message) }
    }

    private func pluginCacheRows() throws(StateStoreError) -> [CatalogEntry] {
        try Self.attempt(path, "read the plugin cache") {
            try pool.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT path, size, modified_ns, sha256, probed_at, state FROM plugin_cache ORDER BY path
                    """).compactMap { row -> CatalogEntry? in
                    // The one decoding failure tolerated: a state written by an older PluginState
                    // shape is skipped, which only costs re-probing that library. It cannot improve a
                    // verdict: the re-probe judges the library afresh in the sandbox, and trust (the
                    // allowlist's digests) is never read from this cache.
                    guard let state = try? JSONDecoder().decode(PluginState.self, from: Data((row["state"] as String).utf8)) else {
                        return nil
                    }
                    return CatalogEntry(path: row["path"], size: row["size"], modifiedNanoseconds: row["modified_ns"],
                                        sha256: row["sha256"], probedAt: try StoredDate.date(row["probed_at"]), state: state)
                }
            }
        }
    }

    private func savePluginCacheRows(_ entries: [CatalogEntry]) throws(StateStoreError) {
        try Self.attempt(path, "save the plugin cache") {
            let rows = try entries.map { entry in
                (entry, String(decoding: try JSONEncoder().encode(entry.state), as: UTF8.self))
            }
            try pool.write { db in
                for (entry, state) in rows { try Self.upsertPluginCacheRow(db, entry, state: state) }
            }
        }
    }

    /// Writes one row with `state` as given, JSON of any shape: tests store what an older
    /// PluginState looked like.
    func savePluginCacheRow(_ entry: CatalogEntry, state: String) throws(StateStoreError) {
        try Self.attempt(path, "save the plugin cache entry of \(entry.path)") {
            try pool.write { db in try Self.upsertPluginCacheRow(db, entry, state: state) }
        }
    }

    private static func upsertPluginCacheRow(_ db: Database, _ entry: CatalogEntry, state: String) throws {
        try db.execute(sql: """
            INSERT INTO plugin_cache (path, size, modified_ns, sha256, probed_at, state) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (path) DO UPDATE SET size = excluded.size, modified_ns = excluded.modified_ns,
                sha256 = excluded.sha256, probed_at = excluded.probed_at, state = excluded.state
            """, arguments: [entry.path, entry.size, entry.modifiedNanoseconds, entry.sha256,
                             StoredDate.text(entry.probedAt), state])
    }
}
