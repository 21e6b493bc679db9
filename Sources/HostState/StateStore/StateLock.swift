import Foundation
internal import GRDB
import Logging

/// A named lock in the state database, respected by every cchost process that shares it: a whole
/// sweep holds `sweep`, each recipe's run-and-promote holds `recipe:<name>`. A second taker is
/// refused at once, naming the holder: sweeps never interleave.
///
/// A holder that dies never blocks the next one. On the same machine (same host name and boot), a
/// holder whose process is gone is taken over at once; its pid counts only with the start time it
/// had, so a reused pid is not mistaken for it. A holder on another machine renews a lease while it
/// lives and is taken over once the lease has run out.
public final class StateLock: @unchecked Sendable {
    public let name: String
    private let store: StateStore
    private let token = UUID().uuidString
    private let renewal: DispatchSourceTimer
    private static let logger = Logger(label: "cchost.lock")

    /// How long a holder on another machine keeps the lock without renewing it.
    public static let defaultLease: TimeInterval = 300
    public static let sweep = "sweep"
    public static func recipe(_ name: String) -> String { "recipe:\(name)" }

    public struct Busy: Error, CustomStringConvertible {
        public var name: String
        /// `pid N on HOST since TIME`.
        public var holder: String
        public var description: String { "another cchost process holds the lock \(name) (\(holder)); try again when it has finished" }
    }

    /// Takes the lock or throws `Busy` at once.
    public init(_ name: String, store: StateStore, lease: TimeInterval = StateLock.defaultLease) throws {
        self.name = name
        self.store = store
        let me = Holder.current
        let now = Date()
        let row = LockRow(name: name, token: token, host: me.host, bootID: me.bootID, pid: me.pid, processStart: me.processStart,
                          acquiredAt: StoredDate.text(now), expiresAt: StoredDate.text(now.addingTimeInterval(lease)))
        if let holder = try store.takeLock(row, isStale: Self.isStale) {
            throw Busy(name: name, holder: "pid \(holder.pid) on \(holder.host) since \(holder.acquiredAt)")
        }
        // Renewed well before it runs out, for holders on other machines to see that it lives.
        renewal = DispatchSource.makeTimerSource(queue: .global())
        renewal.schedule(deadline: .now() + lease / 3, repeating: lease / 3)
        renewal.setEventHandler { [store, token] in
            do {
                if try !store.renewLock(name, token: token, until: Date().addingTimeInterval(lease)) {
                    Self.logger.error("lock \(name) was taken over by another process while held")
                }
            } catch {
                Self.logger.warning("lock \(name) not renewed: \(error)")
            }
        }
        renewal.resume()
    }

    deinit {
        renewal.cancel()
        do { try store.releaseLock(name, token: token) } catch {
            // Once this process is gone the row is stale and the next taker takes it over.
            Self.logger.warning("lock \(name) not released: \(error)")
        }
    }

    /// Whether the holder recorded in `row` is gone.
    static func isStale(_ row: LockRow) -> Bool {
        let me = Holder.current
        if row.host == me.host && row.bootID == me.bootID {
            return Holder.processStart(of: row.pid) != row.processStart
        }
        guard let expires = try? StoredDate.date(row.expiresAt) else { return true }
        return expires < Date()
    }

    /// Who this process is, as a lock row records it.
    struct Holder {
        var host: String
        var bootID: String
        var pid: Int32
        var processStart: String

        static let current: Holder = {
            var name = [CChar](repeating: 0, count: 256)
            let host = gethostname(&name, name.count) == 0
                ? String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "unknown-host"
            let boot = (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown-boot"
            return Holder(host: host, bootID: boot, pid: getpid(), processStart: processStart(of: getpid()) ?? "unknown")
        }()

        /// The process's start time in clock ticks since boot (field 22 of /proc/PID/stat); nil when
        /// there is no such process.
        static func processStart(of pid: Int32) -> String? {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let end = stat.lastIndex(of: ")") else { return nil }
            // After "pid (comm)", fields start at 3 (state); the start time is field 22.
            let fields = stat[stat.index(after: end)...].split(separator: " ")
            return fields.count > 19 ? String(fields[19]) : nil
        }
    }
}

/// One row of the `lock` table.
struct LockRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "lock"
    enum CodingKeys: String, CodingKey, ColumnExpression {
        case name, token, host, bootID = "boot_id", pid, processStart = "process_start"
        case acquiredAt = "acquired_at", expiresAt = "expires_at"
    }

    var name: String
    var token: String
    var host: String
    var bootID: String
    var pid: Int32
    var processStart: String
    var acquiredAt: String
    var expiresAt: String
}

extension StateStore {
    /// Writes `row` unless a live holder has the lock; returns that holder then. One IMMEDIATE
    /// transaction, so two takers never both succeed.
    func takeLock(_ row: LockRow, isStale: (LockRow) -> Bool) throws(StateStoreError) -> LockRow? {
        try Self.attempt(path, "take the lock \(row.name)") {
            try pool.writeWithoutTransaction { db in
                var holder: LockRow?
                try db.inTransaction(.immediate) {
                    if let current = try LockRow.fetchOne(db, key: row.name), !isStale(current) {
                        holder = current
                        return .rollback
                    }
                    try row.upsert(db)
                    return .commit
                }
                return holder
            }
        }
    }

    /// Moves the lease on; false when the lock is no longer this token's.
    func renewLock(_ name: String, token: String, until: Date) throws(StateStoreError) -> Bool {
        try Self.attempt(path, "renew the lock \(name)") {
            try pool.write { db in
                try db.execute(sql: "UPDATE lock SET expires_at = ? WHERE name = ? AND token = ?",
                               arguments: [StoredDate.text(until), name, token])
                return db.changesCount == 1
            }
        }
    }

    func releaseLock(_ name: String, token: String) throws(StateStoreError) {
        try Self.attempt(path, "release the lock \(name)") {
            try pool.write { db in try db.execute(sql: "DELETE FROM lock WHERE name = ? AND token = ?", arguments: [name, token]) }
        }
    }
}
