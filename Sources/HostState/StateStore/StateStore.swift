import Foundation
internal import GRDB
import HostBase
import HostRuns

/// A state database operation that failed, with the database's path and SQLite's own message.
public struct StateStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    /// What the store was doing, as a verb phrase ("promote recipe-a 1.2.0+1.0.0").
    public var operation: String
    public var message: String

    public init(path: String, operation: String, message: String) {
        self.path = path
        self.operation = operation
        self.message = message
    }

    public var description: String { "Could not \(operation) in the state database \(path): \(message)." }
}

/// The host's state: canonicals, their append-only promotion history, runs with their per-tier and
/// per-check results (StateStore+RunResults), locks (StateLock) and the plugin metadata cache, in an
/// embedded SQLite database (`<stateDirectory>/cchost.sqlite`, WAL, versioned migrations).
///
/// Several stores — in this process or in others — may open the same database: every write is one
/// transaction and waits for the others' locks, so nothing here assumes one process owns it.
public final class StateStore: Sendable {
    public let path: String
    /// Internal so that the store's other files (locks, plugin cache) use the same connections.
    let pool: DatabasePool

    /// Opens (creating it and its folder if needed) and migrates the database in `stateDirectory`.
    /// `readOnly`: opens an existing database only to read it, creating and migrating nothing, so
    /// that commands that only show state work on a read-only state folder. A database a check found
    /// corrupt (see `checkIntegrity`) is refused to every writer until it is recovered; one a newer
    /// cchost migrated is refused to everyone, untouched; one with migrations pending is copied
    /// aside (`cchost.sqlite.before-vN`) before a writer migrates it (see `prepareUpgrade`).
    public convenience init(stateDirectory: String, readOnly: Bool = false) throws(StateStoreError) {
        try self.init(stateDirectory: stateDirectory, migratingUpTo: nil, readOnly: readOnly)
        if readOnly {
            let current = try Self.attempt(path, "read") { try pool.read { db in try Self.migrator.hasCompletedMigrations(db) } }
            guard current else {
                throw StateStoreError(path: path, operation: "read", message: "its schema is older than this cchost's; any command that writes (a run, a sweep) migrates it")
            }
        }
    }

    /// `migratingUpTo`: stop after that migration (tests build older databases with it).
    init(stateDirectory: String, migratingUpTo lastMigration: String?, readOnly: Bool = false) throws(StateStoreError) {
        let path = URL(fileURLWithPath: stateDirectory).appendingPathComponent("cchost.sqlite").path
        self.path = path
        if !readOnly, let problems = Self.markedProblems(path) {
            throw Self.corrupt(path, problems: problems)
        }
        var configuration = GRDB.Configuration()
        configuration.foreignKeysEnabled = true
        // Other stores (other processes, other hosts' jobs) may hold the write lock: wait for it.
        configuration.busyMode = .timeout(30)
        configuration.label = "cchost.state"
        // Before anything writes: refuse a newer schema, copy aside before migrating (StateStore+Upgrade).
        try Self.prepareUpgrade(path, upTo: lastMigration, copy: !readOnly)
        // A state folder nothing has run with yet gets its (empty) database as before.
        if readOnly && FileManager.default.fileExists(atPath: path) {
            configuration.readonly = true
            pool = try Self.attempt(path, "open to read") { try DatabasePool(path: path, configuration: configuration) }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        } catch {
            throw StateStoreError(path: path, operation: "create the state folder", message: "\(error)")
        }
        pool = try Self.attempt(path, "open and migrate") {
            let pool = try DatabasePool(path: path, configuration: configuration)
            if let lastMigration { try Self.migrator.migrate(pool, upTo: lastMigration) } else { try Self.migrator.migrate(pool) }
            return pool
        }
    }

    /// `PRAGMA integrity_check`'s lines: `["ok"]` for a sound database.
    func integrityCheck() throws(StateStoreError) -> [String] {
        try Self.attempt(path, "check integrity") {
            try pool.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
        }
    }

    /// Runs `body`, turning any failure into a `StateStoreError` carrying SQLite's message.
    static func attempt<T>(_ path: String, _ operation: String,
                                   _ body: () throws -> T) throws(StateStoreError) -> T {
        do {
            return try body()
        } catch let error as StateStoreError {
            throw error
        } catch let error as DatabaseError {
            throw StateStoreError(path: path, operation: operation,
                                  message: error.message ?? "SQLite error \(error.resultCode.rawValue)")
        } catch {
            throw StateStoreError(path: path, operation: operation, message: "\(error)")
        }
    }
}
