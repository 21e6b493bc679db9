import Foundation
internal import GRDB
import Logging

/// A named lock in the state database, respected by every cchost process that shares it: a whole
/// sweep holds `sweep`, each recipe's run-and-promote holds `recipe:<name>`. A second taker is
/// refused at once, naming the holder: sweeps never interleave.
///
/// A holder that dies never blocks the next one. On the same machine (same host name, boot and
/// process table), a holder whose process is gone is taken over at once; its pid counts only with
/// the start time it had, so a reused pid is not mistaken for it. A holder on another machine renews
/// a lease while it lives and is taken over once the lease has run out.
///
/// Which process holds what (a sweep runs each recipe's run in a process of its own, see
/// `ChildSweepRuns`): the sweep process holds `sweep`, and each recipe's `recipe:<name>` from before
/// it starts that recipe's run process until after the promotion; the run process holds none of them
/// and cannot take one while the sweep lives, so it can never promote (`Promoter.promote` asks for
/// the recipe's lock, `isHeld`). A warm or quick run's `canonical-read:` lock (`CanonicalReader`) is held by the
/// process that runs it. A lock dies with its process: a dead holder on this machine is stale at once.
///
/// What cannot be read never frees a lock: a holder whose machine or process cannot be told apart
/// from this one's keeps the lock until its lease runs out, and a lease whose expiry cannot be read
/// keeps it for good, the refusal saying why.
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
        /// Why the holder counts as alive when cchost could not tell, e.g. an expiry it cannot read.
        public var reason: String?
        public var description: String {
            "another cchost process holds the lock \(name) (\(holder)); "
                + (reason.map { "\($0); remove its row from the lock table once that process is known to be gone" }
                    ?? "try again when it has finished")
        }
    }

    /// Takes the lock or throws `Busy` at once.
    public init(_ name: String, store: StateStore, lease: TimeInterval = StateLock.defaultLease) throws {
        self.name = name
        self.store = store
        let me = Holder.current
        let now = Date()
        let row = LockRow(name: name, token: token, host: me.host ?? Holder.unknown, bootID: me.bootID ?? Holder.unknown,
                          pid: me.pid, processStart: me.processStart ?? Holder.unknown,
                          acquiredAt: StoredDate.text(now), expiresAt: StoredDate.text(now.addingTimeInterval(lease)))
        if let (holder, standing) = try store.takeLock(row, standing: { Self.standing(of: $0) }) {
            throw Busy(name: name, holder: "pid \(holder.pid) on \(holder.host) since \(holder.acquiredAt)", reason: standing.reason)
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

    /// Whether the lock's row is still this holder's (false once another process took it over).
    public func isHeld() throws(StateStoreError) -> Bool { try store.holdsLock(name, token: token) }

    deinit {
        renewal.cancel()
        do { try store.releaseLock(name, token: token) } catch {
            // Once this process is gone the row is stale and the next taker takes it over.
            Self.logger.warning("lock \(name) not released: \(error)")
        }
    }

    /// Whether the holder recorded in `row` is gone.
    static func isStale(_ row: LockRow) -> Bool { standing(of: row) == .gone }

    /// Whether the holder recorded in `row` is gone, or still holds the lock, and why when cchost
    /// could not tell.
    enum Standing: Equatable {
        case gone
        /// `reason` says why the holder counts as alive without being seen to be, else nil.
        case held(reason: String?)

        var reason: String? { if case let .held(reason) = self { reason } else { nil } }
    }

    static func standing(of row: LockRow) -> Standing {
        standing(of: row, me: .current, now: Date(), process: Holder.process)
    }

    /// The decision, from the row, this process's own identity, the time and the process table.
    static func standing(of row: LockRow, me: Holder, now: Date, process: (Int32) -> ProcessState) -> Standing {
        if let machine = me.machine, machine == Holder.machine(host: row.host, bootID: row.bootID) {
            switch (process(row.pid), Holder.known(row.processStart)) {
            case (.gone, _): return .gone
            case let (.started(start), recorded?): return start == recorded ? .held(reason: nil) : .gone
            // A process lives under that pid, and which one cannot be told: the lease decides.
            case (.started, nil), (.unknown, _): break
            }
        }
        guard let expires = try? StoredDate.date(row.expiresAt) else {
            // Kept because an unreadable expiry holds the lock: it can never free it.
            return .held(reason: "its lease's expiry \"\(row.expiresAt)\" cannot be read, so it counts as held")
        }
        return expires < now ? .gone : .held(reason: nil)
    }

    /// What the process table says of a pid.
    enum ProcessState: Equatable {
        /// Running, started at this many clock ticks after boot.
        case started(String)
        /// No process has that pid.
        case gone
        /// Whether and which process has it cannot be read.
        case unknown
    }

    /// Who this process is, as a lock row records it. Each part that cannot be read is nil, and is
    /// written to the row as `Holder.unknown`.
    struct Holder {
        var host: String?
        var bootID: String?
        var pid: Int32
        var processStart: String?

        /// Written for a part of a holder's identity that could not be read; neither a host name,
        /// a boot id nor a start time can look like it.
        static let unknown = "(unknown)"

        /// The machine (host, boot and process table) this holder's pid and start time mean
        /// something on; nil when any part of it is unknown, so no unknown matches another.
        var machine: String? { Self.machine(host: host, bootID: bootID) }

        static func machine(host: String?, bootID: String?) -> String? {
            guard let host = known(host), let bootID = known(bootID) else { return nil }
            return host + "\n" + bootID
        }

        /// `text` unless it is what a holder writes for a part it could not read (or what earlier
        /// versions wrote: "unknown-host", "unknown-boot", "unknown").
        static func known(_ text: String?) -> String? {
            guard let text, ![unknown, "unknown-host", "unknown-boot", "unknown", ""].contains(text) else { return nil }
            return text
        }

        static let current: Holder = {
            var name = [CChar](repeating: 0, count: 256)
            let host = gethostname(&name, name.count) == 0
                ? String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil
            let start: String? = if case let .started(start) = process(getpid()) { start } else { nil }
            return Holder(host: host, bootID: bootAndProcessTable(), pid: getpid(), processStart: start)
        }()

        /// The boot id and this process's pid namespace: pids and start times compare only within
        /// one process table, and two containers with one host name on one kernel share a boot id.
        /// Nil when either cannot be read.
        static func bootAndProcessTable() -> String? {
            guard let boot = try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8) else {
                // Kept because nil makes this machine unknown, so holders' leases decide: never looser.
                return nil
            }
            var link = [CChar](repeating: 0, count: 256)
            let length = readlink("/proc/self/ns/pid", &link, link.count - 1)
            guard length > 0 else { return nil }
            let namespace = String(decoding: link.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return boot.trimmingCharacters(in: .whitespacesAndNewlines) + " " + namespace
        }

        /// Field 22 of /proc/PID/stat (the start time in clock ticks since boot) when the process
        /// runs; `.gone` only when the kernel says no process has that pid.
        static func process(_ pid: Int32) -> ProcessState {
            guard pid > 0 else { return .unknown }
            let stat: String
            do { stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) } catch {
                // Unreadable is not gone (a /proc mounted with hidepid hides other users' processes).
                return kill(pid, 0) == -1 && errno == ESRCH ? .gone : .unknown
            }
            guard let end = stat.lastIndex(of: ")") else { return .unknown }
            // After "pid (comm)", fields start at 3 (state); the start time is field 22.
            let fields = stat[stat.index(after: end)...].split(separator: " ")
            return fields.count > 19 ? .started(String(fields[19])) : .unknown
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
    /// Writes `row` unless a live holder has the lock; returns that holder and its standing then.
    /// One IMMEDIATE transaction, so two takers never both succeed.
    func takeLock(_ row: LockRow, standing: (LockRow) -> StateLock.Standing) throws(StateStoreError) -> (LockRow, StateLock.Standing)? {
        try Self.attempt(path, "take the lock \(row.name)") {
            try pool.writeWithoutTransaction { db in
                var holder: (LockRow, StateLock.Standing)?
                try db.inTransaction(.immediate) {
                    if let current = try LockRow.fetchOne(db, key: row.name) {
                        let currentStanding = standing(current)
                        if currentStanding != .gone {
                            holder = (current, currentStanding)
                            return .rollback
                        }
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

    func holdsLock(_ name: String, token: String) throws(StateStoreError) -> Bool {
        try Self.attempt(path, "read the lock \(name)") {
            try pool.read { db in
                try String.fetchOne(db, sql: "SELECT token FROM lock WHERE name = ?", arguments: [name]) == token
            }
        }
    }

    func releaseLock(_ name: String, token: String) throws(StateStoreError) {
        try Self.attempt(path, "release the lock \(name)") {
            try pool.write { db in try db.execute(sql: "DELETE FROM lock WHERE name = ? AND token = ?", arguments: [name, token]) }
        }
    }
}
