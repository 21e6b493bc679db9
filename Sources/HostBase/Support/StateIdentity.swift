import Foundation

/// A state folder's identity: a random id kept in `<state_dir>/state-id`, written on first use and
/// never changed. Every Docker object a run of the state folder creates carries it as the label
/// `cchost.state`, so the janitor of one state folder touches only what that folder made: never the
/// runs of another state folder on the same engine, nor a stack cchost did not deploy.
public enum StateIdentity {
    public static let label = "cchost.state"

    public struct Problem: Error, CustomStringConvertible {
        public var file: String
        public var reason: String
        public var description: String { "the state folder's identity \(file) \(reason)" }
    }

    /// The id of the state folder at `stateDirectory`, created if it has none yet.
    public static func of(stateDirectory: URL) throws(Problem) -> String {
        let file = stateDirectory.appendingPathComponent("state-id")
        if FileManager.default.fileExists(atPath: file.path) { return try read(file) }
        let id = UUID().uuidString.lowercased()
        let aside = stateDirectory.appendingPathComponent(".state-id-\(id)")
        do {
            try FileManager.default.createDirectory(at: stateDirectory, withIntermediateDirectories: true)
            try Data((id + "\n").utf8).write(to: aside)
        } catch {
            throw Problem(file: file.path, reason: "could not be written: \(error.localizedDescription)")
        }
        defer { unlink(aside.path) }
        // Linked into place, never overwritten: of two processes creating it at once, both read the first.
        guard link(aside.path, file.path) == 0 || errno == EEXIST else {
            throw Problem(file: file.path, reason: "could not be written: \(String(cString: strerror(errno)))")
        }
        return try read(file)
    }

    private static func read(_ file: URL) throws(Problem) -> String {
        let text: String
        do { text = try String(contentsOf: file, encoding: .utf8) } catch {
            throw Problem(file: file.path, reason: "could not be read: \(error.localizedDescription)")
        }
        let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !id.isEmpty, id.count <= 64, id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
            throw Problem(file: file.path, reason: "is not an id (letters, digits and -): restore it, or remove it to start a new identity (the janitor then no longer knows this folder's older leftovers)")
        }
        return id
    }
}
