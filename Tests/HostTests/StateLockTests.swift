import Foundation
@testable import HostState
import Testing

/// Locks in the state database: who may take one, and when a dead holder's lock is taken over.
@Suite("StateLock: locks in the state database")
struct StateLockTests {
    let state: TemporaryDirectory
    let store: StateStore

    init() throws {
        state = try TemporaryDirectory("lock-state")
        store = try StateStore(stateDirectory: state.path)
    }

    /// Writes a lock row as another holder would have left it.
    func plant(_ name: String, host: String, bootID: String, pid: Int32, processStart: String, expiresIn seconds: TimeInterval) throws {
        let now = Date()
        let sql = """
            INSERT INTO lock (name, token, host, boot_id, pid, process_start, acquired_at, expires_at)
            VALUES ('\(name)', 'planted', '\(host)', '\(bootID)', \(pid), '\(processStart)',
                    '\(StoredDate.text(now))', '\(StoredDate.text(now.addingTimeInterval(seconds)))');
            """
        let result = try run("/usr/bin/sqlite3", [store.path, sql])
        guard result.status == 0 else { throw GitFixtureError(description: result.stderr) }
    }

    func holderPID(_ name: String) throws -> String {
        try run("/usr/bin/sqlite3", [store.path, "SELECT pid FROM lock WHERE name = '\(name)'"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("a second taker is refused at once naming the holder, other names are free, and the lock is free again once released")
    func refusedThenFree() throws {
        var first: StateLock? = try StateLock(StateLock.sweep, store: store)
        // Another store on the same folder, as another process would open it.
        let other = try StateStore(stateDirectory: state.path)
        let busy = try #require(throws: StateLock.Busy.self) { try StateLock(StateLock.sweep, store: other) }
        #expect(busy.holder.hasPrefix("pid \(getpid()) on \(StateLock.Holder.current.host) since "), "\(busy.holder)")
        #expect("\(busy)".contains("lock sweep"))
        #expect(throws: Never.self) { _ = try StateLock(StateLock.recipe("a"), store: other) }
        withExtendedLifetime(first) {}
        first = nil
        #expect(try holderPID(StateLock.sweep).isEmpty, "released locks leave no row")
        #expect(throws: Never.self) { _ = try StateLock(StateLock.sweep, store: other) }
    }

    @Test("a holder that died on this machine is taken over at once, also when its pid now belongs to another process",
          arguments: ["dead process", "reused pid"])
    func deadHolderOnThisMachine(_ kind: String) throws {
        let me = StateLock.Holder.current
        if kind == "dead process" {
            let gone = Process()
            gone.executableURL = URL(fileURLWithPath: "/bin/true")
            try gone.run()
            gone.waitUntilExit()
            try plant("sweep", host: me.host, bootID: me.bootID, pid: gone.processIdentifier, processStart: "1", expiresIn: 3600)
        } else {
            // This very pid, but started at another time: the holder was an earlier process.
            try plant("sweep", host: me.host, bootID: me.bootID, pid: getpid(), processStart: "1", expiresIn: 3600)
        }
        let lock = try StateLock(StateLock.sweep, store: store)
        #expect(try holderPID(StateLock.sweep) == "\(getpid())")
        withExtendedLifetime(lock) {}
    }

    @Test("a live holder on this machine keeps its lock even past its lease")
    func liveHolderKeepsItsLock() throws {
        let me = StateLock.Holder.current
        try plant("sweep", host: me.host, bootID: me.bootID, pid: getpid(), processStart: me.processStart, expiresIn: -60)
        #expect(throws: StateLock.Busy.self) { _ = try StateLock(StateLock.sweep, store: store) }
    }

    @Test("a holder on another machine keeps the lock while its lease runs, and loses it once the lease has run out")
    func holderElsewhereHasALease() throws {
        try plant("sweep", host: "other-host", bootID: "other-boot", pid: 1, processStart: "1", expiresIn: 60)
        let busy = try #require(throws: StateLock.Busy.self) { try StateLock(StateLock.sweep, store: store) }
        #expect(busy.holder.hasPrefix("pid 1 on other-host"), "\(busy.holder)")

        try plant("recipe:a", host: "other-host", bootID: "other-boot", pid: 1, processStart: "1", expiresIn: -1)
        let lock = try StateLock(StateLock.recipe("a"), store: store)
        #expect(try holderPID("recipe:a") == "\(getpid())")
        withExtendedLifetime(lock) {}
    }

    @Test("a held lock renews its lease while its holder lives")
    func leaseIsRenewed() throws {
        let lock = try StateLock(StateLock.sweep, store: store, lease: 0.9)
        func expiry() throws -> Date {
            try StoredDate.date(try run("/usr/bin/sqlite3", [store.path, "SELECT expires_at FROM lock WHERE name = 'sweep'"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let first = try expiry()
        Thread.sleep(forTimeInterval: 1.5)
        // Without renewal the lease would have run out by now.
        #expect(try expiry() > Date(), "the lease was not renewed")
        #expect(try expiry() > first)
        withExtendedLifetime(lock) {}
    }
}
