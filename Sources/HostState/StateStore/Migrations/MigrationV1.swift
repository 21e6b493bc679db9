internal import GRDB

/// Canonicals, their promotion history and runs (each with its whole record as JSON).
enum MigrationV1 {
    static let identifier = "v1"

    static func migrate(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE canonical (
                recipe TEXT PRIMARY KEY NOT NULL,
                version TEXT NOT NULL,
                "commit" TEXT NOT NULL,
                promoted_at DATETIME NOT NULL,
                status TEXT NOT NULL,
                run_id TEXT NOT NULL,
                volumes TEXT NOT NULL CHECK (json_valid(volumes) AND json_type(volumes) = 'array')
            );
            CREATE TABLE promotion (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                recipe TEXT NOT NULL REFERENCES canonical(recipe),
                version TEXT NOT NULL,
                "commit" TEXT NOT NULL,
                promoted_at DATETIME NOT NULL,
                run_id TEXT NOT NULL,
                previous_version TEXT,
                volumes TEXT NOT NULL CHECK (json_valid(volumes) AND json_type(volumes) = 'array')
            );
            CREATE INDEX promotion_by_recipe ON promotion(recipe, id);
            CREATE TABLE run (
                id TEXT PRIMARY KEY NOT NULL,
                recipe TEXT NOT NULL,
                "trigger" TEXT NOT NULL,
                head_ref TEXT NOT NULL,
                head_commit TEXT NOT NULL,
                head_version TEXT,
                base_version TEXT,
                verdict TEXT NOT NULL,
                started_at DATETIME NOT NULL,
                finished_at DATETIME,
                quick BOOLEAN NOT NULL,
                record TEXT NOT NULL CHECK (json_valid(record))
            );
            CREATE INDEX run_by_recipe ON run(recipe, started_at);
            """)
    }
}
