import Foundation
internal import GRDB
import HostRuns

/// A corrupt state database is found where the check is cheap to matter — when a sweep starts and
/// after an unclean shutdown — and then written to by nobody until an operator recovers it.
extension StateStore {
    /// Opens the state folder's database to write, checked first (see `checkIntegrity`) when `check`
    /// says so (a sweep starting) or when a run of the folder ended uncleanly: its registry still
    /// names a run whose process is gone. Other commands open it unchecked, so they stay fast.
    public static func toWrite(stateDirectory: String, check: Bool = false) throws -> StateStore {
        let folder = URL(fileURLWithPath: stateDirectory)
        let registry = ActiveRuns(directory: folder.appendingPathComponent("runs/active"))
        // Checked through a read-only connection, before any writer opens (and migrates) it.
        if try check || registry.entries().contains(where: { !$0.processIsAlive }),
           FileManager.default.fileExists(atPath: folder.appendingPathComponent("cchost.sqlite").path) {
            try StateStore(stateDirectory: stateDirectory, migratingUpTo: nil, readOnly: true).checkIntegrity()
        }
        return try StateStore(stateDirectory: stateDirectory)
    }

    /// SQLite's `PRAGMA quick_check` (every page and b-tree, no index contents: fast enough for the
    /// start of a sweep). A database it finds damaged is marked (`cchost.sqlite.corrupt` beside it),
    /// so every later writer refuses it at open, and the error says how to recover.
    public func checkIntegrity() throws(StateStoreError) {
        let problems: [String]
        do {
            problems = try pool.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check") }
        } catch let error as DatabaseError where [.SQLITE_CORRUPT, .SQLITE_NOTADB].contains(error.resultCode.primaryResultCode) {
            problems = [error.message ?? "SQLite error \(error.resultCode.rawValue)"]
        } catch {
            throw StateStoreError(path: path, operation: "check", message: "\(error)")
        }
        guard problems != ["ok"] else { return }
        let summary = problems.prefix(3).joined(separator: "; ").replacingOccurrences(of: "\n", with: " ")
            + (problems.count > 3 ? "; and \(problems.count - 3) more" : "")
        var error = Self.corrupt(path, problems: summary)
        do {
            try Data((summary + "\n").utf8).write(to: URL(fileURLWithPath: Self.corruptionMark(path)))
        } catch let markError {
            // This error still stops the caller; the operator must know the next open will not.
            error.message += ". The mark \(Self.corruptionMark(path)) could not be written (\(markError.localizedDescription)):"
                + " the next command will not know the database is damaged until it is checked again"
        }
        throw error
    }

    static func corruptionMark(_ path: String) -> String { path + ".corrupt" }

    /// What the corruption mark beside the database says; nil only when there is no mark. Fail
    /// closed: a mark that exists but cannot be read (a folder, bytes that are not UTF-8, no
    /// permission), or that cannot even be looked for, still marks the database corrupt.
    static func markedProblems(_ path: String) -> String? {
        let mark = corruptionMark(path)
        var status = stat()
        guard lstat(mark, &status) == 0 else {
            // No mark, or no state folder to hold one (then there is no database either).
            if errno == ENOENT || errno == ENOTDIR { return nil }
            return "\(mark) could not be looked for: \(String(cString: strerror(errno)))"
        }
        do {
            return try String(contentsOfFile: mark, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            return "it is marked so, and the mark \(mark) could not be read: \(error)"
        }
    }

    static func corrupt(_ path: String, problems: String) -> StateStoreError {
        StateStoreError(path: path, operation: "trust what is stored", message: """
            it is corrupt (\(problems)), and cchost writes nothing to it until it is recovered. Stop every \
            cchost process (the sweep timer too) and copy the state folder aside; then \
            `sqlite3 \(path) .recover | sqlite3 \(path).recovered`, move \(path).recovered to \(path) \
            (removing \(path)-wal and \(path)-shm) and remove \(corruptionMark(path)); or restore a backup. \
            Read-only commands (canon show, runs list) still read it
            """)
    }
}
