internal import GRDB

/// What each plugin library is, keyed by path + size + mtime + sha256 (see PluginCatalog).
enum MigrationV5 {
    static let identifier = "v5 plugin cache"

    static func migrate(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE plugin_cache (
                path TEXT PRIMARY KEY NOT NULL,
                size INTEGER NOT NULL,
                modified_ns INTEGER NOT NULL,
                sha256 TEXT NOT NULL,
                probed_at DATETIME NOT NULL,
                state TEXT NOT NULL CHECK (json_valid(state))
            );
            """)
    }
}
