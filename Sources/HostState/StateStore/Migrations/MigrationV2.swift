internal import GRDB

/// The history is append-only for every writer, not only for this API.
enum MigrationV2 {
    static let identifier = "v2"

    static func migrate(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TRIGGER promotion_no_update BEFORE UPDATE ON promotion
            BEGIN SELECT RAISE(ABORT, 'the promotion history is append-only'); END;
            CREATE TRIGGER promotion_no_delete BEFORE DELETE ON promotion
            BEGIN SELECT RAISE(ABORT, 'the promotion history is append-only'); END;
            """)
    }
}
