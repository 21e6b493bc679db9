import Foundation
import HostBase
import HostRuns

/// The run folders under `<state>/runs/`: scanned for `Retention`, and pruned as it decides.
/// Database rows stay (the history is append-only); `cchost runs show` says when a run's folder is gone.
public struct RunFolders: Sendable {
    public let runsDirectory: URL
    public let store: StateStore

    public init(stateDirectory: String, store: StateStore) {
        runsDirectory = URL(fileURLWithPath: stateDirectory).appendingPathComponent("runs")
        self.store = store
    }

    /// Whether `name` is a run's folder: runs are named by 8 lowercase hex characters (see `RunPlan`);
    /// anything else under `runs/` (the registry of active runs) is never a candidate.
    static func isRunID(_ name: String) -> Bool {
        name.count == 8 && name.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }

    /// Every run folder, with its recipe and start from the state database, else its own run.json,
    /// else (a run killed before it was recorded) the folder's modification time and no recipe.
    public func scan() throws -> [Retention.Folder] {
        guard FileManager.default.fileExists(atPath: runsDirectory.path) else { return [] }
        let names = try FileManager.default.contentsOfDirectory(atPath: runsDirectory.path).filter(Self.isRunID).sorted()
        return try names.map { name in
            let folder = runsDirectory.appendingPathComponent(name)
            let bytes = try DiskUsage.bytes(of: folder)
            if let stored = try store.run(id: name), stored.id == name {
                return Retention.Folder(runID: name, recipe: stored.recipe, startedAt: stored.startedAt, bytes: bytes,
                                        finished: stored.finishedAt != nil)
            }
            if let record = Self.ownRecord(in: folder) {
                return Retention.Folder(runID: name, recipe: record.recipe, startedAt: record.startedAt, bytes: bytes, finished: true)
            }
            let modified = try FileManager.default.attributesOfItem(atPath: folder.path)[.modificationDate] as? Date ?? Date()
            return Retention.Folder(runID: name, recipe: nil, startedAt: modified, bytes: bytes, finished: false)
        }
    }

    /// The recipe and start a finished run wrote into its folder's run.json.
    static func ownRecord(in folder: URL) -> (recipe: String, startedAt: Date)? {
        struct Head: Decodable { var recipe: String; var startedAt: Date }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.dateDecodingStrategy = .iso8601
        // Kept: a record that cannot be read leaves the folder one of no known recipe, unfinished, kept
        // for `unfinishedGrace`. Canonicals' and live runs' folders are protected from the database
        // and the registry of active runs, read with their errors surfaced; no verdict reads this.
        guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent("run.json").path),
              let head = try? decoder.decode(Head.self, from: data) else { return nil }
        return (head.recipe, head.startedAt)
    }

    /// What `policy` removes now: canonicals' runs come from the state database, live runs from the
    /// registry of active runs (an unreadable registry stops the decision: a live run could go).
    public func removals(policy: RetentionPolicy, now: Date = Date()) throws -> [Retention.Removal] {
        let canonical = Set(try store.canonicals().map(\.runID))
        let live = Set(try ActiveRuns(directory: runsDirectory.appendingPathComponent("active")).entries().map(\.runID))
        return Retention.removals(try scan(), policy: policy, canonicalRuns: canonical, liveRuns: live, now: now)
    }

    /// Removes the folders; returns the ones that could not be removed, with why.
    public func remove(_ removals: [Retention.Removal]) -> [(Retention.Removal, String)] {
        removals.compactMap { removal in
            do {
                try FileManager.default.removeItem(at: runsDirectory.appendingPathComponent(removal.folder.runID))
                return nil
            } catch {
                return (removal, "\(error.localizedDescription)")
            }
        }
    }

    /// One line for a removal: `3f2a9c01  static-site  2026-11-30T12:00:00Z  12 MiB  why`.
    public static func line(_ removal: Retention.Removal) -> String {
        let folder = removal.folder
        return "\(folder.runID)  \(folder.recipe ?? "-")  \(ISO8601DateFormatter().string(from: folder.startedAt))  "
            + "\(ByteSize.text(folder.bytes))  \(removal.reason)"
    }
}
