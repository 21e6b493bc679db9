import Foundation
import HostDocker
import Logging

/// The registry of runs in progress, so that `cchost janitor` can tell a killed run's leftovers
/// from a live run's stack, and Ctrl-C can tear down this process's apps.
public struct ActiveRuns: Sendable {
    public let directory: URL

    public struct Entry: Codable, Sendable {
        public var runID: String
        public var stack: String
        public var pid: Int32
        public var startedAt: Date

        /// Whether the process that registered the run still lives (a process of another user too).
        public var processIsAlive: Bool { kill(pid, 0) == 0 || errno == EPERM }
    }

    public init(directory: URL) { self.directory = directory }

    /// Registers a run before it deploys; a run that cannot be registered must not deploy (the
    /// janitor could reap it, and Ctrl-C would not tear it down).
    public func register(runID: String, stack: String) throws {
        let entry = Entry(runID: runID, stack: stack, pid: getpid(), startedAt: Date())
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try encoder.encode(entry).write(to: directory.appendingPathComponent("\(runID).json"), options: .atomic)
    }

    /// Removes the run's entry. One that cannot be removed is logged, not thrown (teardown has run by
    /// then): while this process lives, the janitor takes that stack for a live run's.
    public func unregister(runID: String) {
        let file = directory.appendingPathComponent("\(runID).json")
        do { try FileManager.default.removeItem(at: file) } catch {
            guard FileManager.default.fileExists(atPath: file.path) else { return }
            Logger(label: "cchost.run").error("the active run \(runID) could not be unregistered: \(error); the janitor takes its stack for live while this process lives",
                                              metadata: ["run": "\(runID)"])
        }
    }

    /// The runs registered now. An entry that cannot be read is an error naming it, never a run
    /// skipped (the janitor would take its live stack for a dead one's).
    public func entries() throws(DeployError) -> [Entry] {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard FileManager.default.fileExists(atPath: directory.path) else { return [] }
        do {
            return try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
                .filter { $0.pathExtension == "json" }
                .compactMap { file in
                    do { return try decoder.decode(Entry.self, from: Data(contentsOf: file)) } catch {
                        // A run that finished between the listing and the read is simply not active.
                        guard FileManager.default.fileExists(atPath: file.path) else { return nil }
                        throw DeployError(operation: "read the active run \(file.path)", stack: "", reason: "\(error)")
                    }
                }
        } catch let error as DeployError {
            throw error
        } catch {
            throw DeployError(operation: "list the active runs in \(directory.path)", stack: "", reason: "\(error)")
        }
    }
}
