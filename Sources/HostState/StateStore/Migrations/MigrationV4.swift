internal import GRDB

/// Locks any cchost process sharing this database respects (see StateLock).
enum MigrationV4 {
    static let identifier = "v4 locks"

    static func migrate(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE lock (
                name TEXT PRIMARY KEY NOT NULL,
                token TEXT NOT NULL,
                host TEXT NOT NULL,
                boot_id TEXT NOT NULL,
                pid INTEGER NOT NULL,
                process_start TEXT NOT NULL,
                acquired_at DATETIME NOT NULL,
                expires_at DATETIME NOT NULL
            );
            """)
    }
}
