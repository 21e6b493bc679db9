internal import GRDB

extension StateStore {
    /// The schema, one migration per version, each a function of its own file (MigrationV1…).
    ///
    /// Migrations are frozen: a migration produces the same database whatever the code around it
    /// becomes, so it calls nothing of today's types (no RunRecord, no Judgement, no RunReport, not
    /// even the store's own row filling): only its SQL and, where it must read a record, a private
    /// copy of the rules as they were when it shipped. Never edit a shipped migration: append one.
    /// The identifiers are what GRDB recorded in existing databases; they never change.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration(MigrationV1.identifier, migrate: MigrationV1.migrate)
        migrator.registerMigration(MigrationV2.identifier, migrate: MigrationV2.migrate)
        migrator.registerMigration(MigrationV3.identifier, migrate: MigrationV3.migrate)
        migrator.registerMigration(MigrationV4.identifier, migrate: MigrationV4.migrate)
        migrator.registerMigration(MigrationV5.identifier, migrate: MigrationV5.migrate)
        migrator.registerMigration(MigrationV6.identifier, migrate: MigrationV6.migrate)
        return migrator
    }
}
