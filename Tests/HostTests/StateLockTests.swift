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
        try plant(name, host: host, bootID: bootID, pid: pid, processStart: processStart,
                  expiresAt: StoredDate.text(Date().addingTimeInterval(seconds)))
    }

    func plant(_ name: String, host: String, bootID: String, pid: Int32, processStart: String, expiresAt: String) throws {
        let sql = """
            INSERT INTO lock (name, token, host, boot_id, pid, process_start, acquired_at, expires_at)
            VALUES ('\(name)', 'planted', '\(host)', '\(bootID)', \(pid), '\(processStart)',
                    '\(StoredDate.text(Date()))', '\(expiresAt)');
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
        #expect(busy.holder.hasPrefix("pid \(getpid()) on \(try #require(StateLock.Holder.current.host)) since "), "\(busy.holder)")
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
        let (host, bootID) = (try #require(me.host), try #require(me.bootID))
        if kind == "dead process" {
            let gone = Process()
            gone.executableURL = URL(fileURLWithPath: "/bin/true")
            try gone.run()
            gone.waitUntilExit()
            try plant("sweep", host: host, bootID: bootID, pid: gone.processIdentifier, processStart: "1", expiresIn: 3600)
        } else {
            // This very pid, but started at another time: the holder was an earlier process.
            try plant("sweep", host: host, bootID: bootID, pid: getpid(), processStart: "1", expiresIn: 3600)
        }
        let lock = try StateLock(StateLock.sweep, store: store)
        #expect(try holderPID(StateLock.sweep) == "\(getpid())")
        withExtendedLifetime(lock) {}
    }

    @Test("a live holder on this machine keeps its lock even past its lease")
    func liveHolderKeepsItsLock() throws {
        let me = StateLock.Holder.current
        try plant("sweep", host: try #require(me.host), bootID: try #require(me.bootID), pid: getpid(),
                  processStart: try #require(me.processStart), expiresIn: -60)
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

    @Test("a holder on another machine whose lease expiry cannot be read keeps the lock, and the refusal says why")
    func unreadableExpiryIsHeld() throws {
        try plant("sweep", host: "other-host", bootID: "other-boot", pid: 1, processStart: "1", expiresAt: "next tuesday")
        let busy = try #require(throws: StateLock.Busy.self) { try StateLock(StateLock.sweep, store: store) }
        #expect(busy.holder.hasPrefix("pid 1 on other-host"), "\(busy.holder)")
        #expect("\(busy)".contains("expiry \"next tuesday\" cannot be read"), "\(busy)")
        #expect(try holderPID(StateLock.sweep) == "1")
        // A reader of retained data whose expiry cannot be read still keeps that data from collection.
        try plant(CanonicalReader.lockPrefix + "run-1:reader", host: "other-host", bootID: "other-boot", pid: 1, processStart: "1",
                  expiresAt: "next tuesday")
        #expect(try store.retainedRunsInUse() == ["run-1"])
    }

    @Test("a holder on this machine whose start time could not be recorded keeps the lock while its lease runs")
    func unrecordedStartKeepsItsLease() throws {
        let me = StateLock.Holder.current
        let (host, bootID) = (try #require(me.host), try #require(me.bootID))
        // This very process, as a holder that could not read its own start time would have written it.
        try plant("sweep", host: host, bootID: bootID, pid: getpid(), processStart: StateLock.Holder.unknown, expiresIn: 60)
        #expect(throws: StateLock.Busy.self) { _ = try StateLock(StateLock.sweep, store: store) }
        try plant("recipe:a", host: host, bootID: bootID, pid: getpid(), processStart: StateLock.Holder.unknown, expiresIn: -1)
        let lock = try StateLock(StateLock.recipe("a"), store: store)
        #expect(try holderPID("recipe:a") == "\(getpid())")
        withExtendedLifetime(lock) {}
    }

    /// One row of the decision's table: this process's identity and what the process table says.
    struct Case: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var me: (host: String?, bootID: String?)
        var row: (host: String, bootID: String, processStart: String)
        var process: StateLock.ProcessState
        var expiresIn: TimeInterval
        var held: Bool
    }

    static let cases: [Case] = [
        Case(testDescription: "same machine, process gone", me: ("h", "b"), row: ("h", "b", "7"), process: .gone, expiresIn: 60, held: false),
        Case(testDescription: "same machine, same process past its lease", me: ("h", "b"), row: ("h", "b", "7"), process: .started("7"), expiresIn: -60, held: true),
        Case(testDescription: "same machine, reused pid", me: ("h", "b"), row: ("h", "b", "7"), process: .started("8"), expiresIn: 60, held: false),
        Case(testDescription: "same machine, process unreadable, lease running", me: ("h", "b"), row: ("h", "b", "7"), process: .unknown, expiresIn: 60, held: true),
        Case(testDescription: "same machine, process unreadable, lease over", me: ("h", "b"), row: ("h", "b", "7"), process: .unknown, expiresIn: -60, held: false),
        Case(testDescription: "both hosts unknown, pid free here, lease running", me: (nil, "b"), row: ("(unknown)", "b", "7"), process: .gone, expiresIn: 60, held: true),
        Case(testDescription: "both boots unknown, pid free here, lease running", me: ("h", nil), row: ("h", "unknown-boot", "7"), process: .gone, expiresIn: 60, held: true),
        Case(testDescription: "another process table, pid free here, lease running", me: ("h", "b pid:[1]"), row: ("h", "b pid:[2]", "7"), process: .gone, expiresIn: 60, held: true),
        Case(testDescription: "another machine, lease over", me: ("h", "b"), row: ("g", "b", "7"), process: .started("7"), expiresIn: -60, held: false),
    ]

    @Test("what cannot be read about a holder never frees its lock; the lease decides then", arguments: cases)
    func standing(_ row: Case) {
        let now = Date()
        let lock = LockRow(name: "sweep", token: "t", host: row.row.host, bootID: row.row.bootID, pid: 42, processStart: row.row.processStart,
                           acquiredAt: StoredDate.text(now), expiresAt: StoredDate.text(now.addingTimeInterval(row.expiresIn)))
        let me = StateLock.Holder(host: row.me.host, bootID: row.me.bootID, pid: 1, processStart: "1")
        let standing = StateLock.standing(of: lock, me: me, now: now) { pid in pid == 42 ? row.process : .unknown }
        #expect((standing != .gone) == row.held)
    }

    @Test("the process table tells a running process from a finished one")
    func processTable() throws {
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        #expect(StateLock.Holder.process(finished.processIdentifier) == .gone)
        let me = StateLock.Holder.current
        #expect(StateLock.Holder.process(getpid()) == .started(try #require(me.processStart)))
        #expect(StateLock.Holder.process(0) == .unknown)
        #expect(try #require(me.bootID).contains("pid:["), "the process table is part of the machine: \(me.bootID ?? "nil")")
    }
}
