import Foundation

/// Moves a recipe's canonical forward after the gate said yes, crash-safely:
/// 1. the run's retained data (its backup archives) is copied into a new folder
///    `<state_dir>/canon/<recipe>/<run id>` (written as `.partial`, then renamed), which nothing
///    references yet;
/// 2. one database transaction replaces the canonical and appends to the history;
/// 3. the previous canonical's folder is removed.
/// Killed after 1, the old canonical stands whole (the new folder is unreferenced garbage); killed
/// after 2, the new one stands whole (the old folder is garbage). The sweep removes such garbage.
public struct Promoter: Sendable {
    public let store: StateStore
    public let stateDirectory: String

    /// The points between the steps of a promotion, where a crash must leave state whole.
    public enum Step: Sendable, CaseIterable { case dataCopied, dataInPlace, databaseCommitted }
    /// Test hook: called after each step; throwing stops the promotion there, as a crash would.
    var afterStep: @Sendable (Step) throws -> Void = { _ in }

    public init(store: StateStore, stateDirectory: String) {
        self.store = store
        self.stateDirectory = stateDirectory
    }

    func folder(_ recipe: String) -> URL {
        URL(fileURLWithPath: stateDirectory).appendingPathComponent("canon").appendingPathComponent(recipe)
    }

    public func promote(_ record: RunRecord, version: String) throws -> Canonical {
        let previous = try store.canonical(recipe: record.recipe)
        let target = folder(record.recipe).appendingPathComponent(record.id)
        let partial = target.appendingPathExtension("partial")
        let manager = FileManager.default
        try? manager.removeItem(at: partial)
        try manager.createDirectory(at: partial, withIntermediateDirectories: true)
        var retained: [String] = []
        for archive in record.backupArchives {
            let name = (archive as NSString).lastPathComponent
            try manager.copyItem(atPath: archive, toPath: partial.appendingPathComponent(name).path)
            retained.append(target.appendingPathComponent(name).path)
        }
        try afterStep(.dataCopied)
        try? manager.removeItem(at: target)
        try manager.moveItem(at: partial, to: target)
        try afterStep(.dataInPlace)
        let canonical = Canonical(recipe: record.recipe, version: version, commit: record.head.commit,
                                  promotedAt: record.finishedAt ?? Date(), status: "promoted", runID: record.id, volumes: retained)
        try store.promote(canonical, previous: previous?.version)
        try afterStep(.databaseCommitted)
        if let previous, previous.runID != record.id {
            try? manager.removeItem(at: folder(record.recipe).appendingPathComponent(previous.runID))
        }
        collectGarbage(recipe: record.recipe, keep: record.id)
        return canonical
    }

    /// Removes canonical folders no canonical references (left by a promotion that was killed).
    public func collectGarbage(recipe: String, keep: String? = nil) {
        let current = (try? store.canonical(recipe: recipe))?.runID
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: folder(recipe).path)) ?? []
        for entry in entries where entry != current && entry != keep {
            try? FileManager.default.removeItem(at: folder(recipe).appendingPathComponent(entry))
        }
    }
}
