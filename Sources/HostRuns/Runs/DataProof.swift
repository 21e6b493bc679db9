import Foundation
import HostDocker

/// The data proof: what the recipe's own backup holds, compared across backups. At the restore:
/// `D_backup` (the backup tier's), `D_fresh` (of a fresh install, volumes new, before the restore)
/// and `D_restored` (after the restore). The restore passes when everything the backup held beyond a
/// fresh install is back: `(D_backup − D_fresh) ⊆ D_restored`, and that difference is not empty. A
/// warm run proves the canonical's data the same way, with the canonical run's own backups as
/// `D_backup` and `D_fresh` and a backup of the warm app as `D_restored`.
///
/// Items: a service with a backup pre-hook is proven by what the hook dumps, its text files line by
/// line (a live app's own later writes cannot turn it red; timestamps of dump tools are ignored;
/// binary files such as the database's own, which a restore rebuilds, are left out); a service
/// without one by the SHA-256 of each file it backs up.
///
/// Across an upgrade, lines may change for good reasons (a migration adds a column to every row),
/// so the upgrade is proven by cchost's own markers instead: each one seeded before the upgrade must
/// still be somewhere in what the recipe backs up after it.
enum DataProof {
    /// The items of `archives` (one backup); `hooked` names the services with a pre-hook.
    static func items(of archives: [BackupArchive], hooked: Set<String>) throws -> Set<String> {
        var items = Set<String>()
        for archive in archives {
            let listing = try TarListing(file: URL(fileURLWithPath: archive.file), contents: true)
            for member in listing.members where member.kind == .file {
                let place = "\(archive.service):\(archive.volume)/\(member.path)"
                if hooked.contains(archive.service) {
                    guard let text = member.text else { continue }
                    for line in text.split(whereSeparator: \.isNewline) where !isNoise(line) {
                        items.insert("\(place): \(line)")
                    }
                } else if let digest = member.digest {
                    items.insert("\(place) sha256:\(digest.prefix(16))")
                }
            }
        }
        return items
    }

    /// Lines that differ between two dumps of the same data: blank ones, the times dump tools write
    /// (mysqldump's "-- Dump completed on …", pg_dump's "-- Started on" / "-- Completed on"), and
    /// the random key pg_dump fences its output with (`\restrict KEY` … `\unrestrict KEY`).
    static func isNoise(_ line: Substring) -> Bool {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        return trimmed.isEmpty || ["-- Dump completed on", "-- Started on", "-- Completed on", "\\restrict ", "\\unrestrict "]
            .contains { trimmed.hasPrefix($0) }
    }

    /// A fresh marker of run `runID`: `cchost-<run>-<8 hex>`, or `cchost-seed-…` for one seeded
    /// through the app. Its shape is what `markers(in:)` finds again.
    static func freshMarker(runID: String, seed: Bool = false) -> String {
        "cchost-\(seed ? "seed-" : "")\(runID)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// The cchost markers anywhere in `text`.
    static func markers(in text: String) -> Set<String> {
        Set(text.matches(of: /cchost-(?:seed-)?[0-9a-f]{8}-[0-9a-f]{8}/).map { String($0.output) })
    }

    /// What a search of a backup for markers saw: the markers in its text files, and the files it
    /// could not search (binary, e.g. a compressed dump or a database's own file, or over 16 MiB),
    /// where a marker would not be seen.
    struct MarkerSearch {
        var markers: Set<String> = []
        var unsearchable: [String] = []

        /// "…, and N file(s) could not be searched (…)", or "" when every file was.
        var unsearchedNote: String {
            unsearchable.isEmpty ? ""
                : "; \(unsearchable.count) backed-up file(s) could not be searched for it (binary, or over 16 MiB): \(named(unsearchable))"
        }
    }

    /// The cchost markers anywhere in the text files of `archives`.
    static func search(_ archives: [BackupArchive]) throws -> MarkerSearch {
        var search = MarkerSearch()
        for archive in archives {
            for member in try TarListing(file: URL(fileURLWithPath: archive.file), contents: true).members where member.kind == .file {
                if let text = member.text { search.markers.formUnion(markers(in: text)) } else {
                    search.unsearchable.append("\(archive.service):\(archive.volume)/\(member.path)")
                }
            }
        }
        return search
    }

    /// The archives a backup left in `folder` (`<service>/<volume>.tar`, as the backends write them),
    /// sorted; empty when there is no such folder.
    static func archives(in folder: URL) throws -> [BackupArchive] {
        let files = FileManager.default
        guard files.fileExists(atPath: folder.path) else { return [] }
        var archives: [BackupArchive] = []
        for service in try files.contentsOfDirectory(atPath: folder.path).sorted() {
            let serviceFolder = folder.appendingPathComponent(service)
            for name in try files.contentsOfDirectory(atPath: serviceFolder.path).sorted() where name.hasSuffix(".tar") {
                let file = serviceFolder.appendingPathComponent(name)
                let bytes = (try files.attributesOfItem(atPath: file.path)[.size] as? NSNumber)?.intValue ?? 0
                archives.append(BackupArchive(service: service, volume: String(name.dropLast(4)), paths: [], file: file.path, bytes: bytes))
            }
        }
        return archives
    }

    /// How `after` compares with what `before` held beyond `fresh`.
    enum Comparison: Equatable {
        /// `before` holds nothing `fresh` lacks: nothing was seeded, nothing can be proven.
        case nothingSeeded(items: Int)
        /// Items `before` held beyond `fresh` that `after` lacks (sorted), of how many.
        case lost([String], of: Int)
        /// All of them are in `after`.
        case kept(Int)
    }

    static func compare(before: Set<String>, fresh: Set<String>, after: Set<String>) -> Comparison {
        let seeded = before.subtracting(fresh)
        guard !seeded.isEmpty else { return .nothingSeeded(items: before.count) }
        let lost = seeded.subtracting(after)
        return lost.isEmpty ? .kept(seeded.count) : .lost(lost.sorted(), of: seeded.count)
    }

    /// The verdict on a restore, and what it found.
    static func judge(backup: Set<String>, fresh: Set<String>, restored: Set<String>) -> (verdict: Verdict, detail: String) {
        switch compare(before: backup, fresh: fresh, after: restored) {
        case .nothingSeeded(let items):
            (.unverified, "nothing seeded: the backup holds nothing a fresh install lacks (\(items) item(s), all also in a fresh install); \(seedAdvice)")
        case .lost(let lost, let seeded):
            (.fail, "the restore lost \(lost.count) of the \(seeded) item(s) the backup held beyond a fresh install: \(named(lost))")
        case .kept(let seeded):
            (.pass, "all \(seeded) item(s) the backup held beyond a fresh install are back after restoring into fresh volumes")
        }
    }

    static let seedAdvice = "seed data (a folder the backup takes, the recipe's data_seed, or a plugin's install step) so that the data can be proven"

    /// Up to three items, quoted and cut to a line's length.
    static func named(_ items: [String]) -> String {
        items.prefix(3).map { "'\($0.prefix(120))'" }.joined(separator: ", ") + (items.count > 3 ? ", …" : "")
    }
}
