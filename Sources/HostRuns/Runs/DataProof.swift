import Foundation
import HostDocker

/// The data proof: what the recipe's own backup holds, compared across three backups of one run —
/// `D_backup` (the backup tier's), `D_fresh` (of a fresh install, volumes new, before the restore)
/// and `D_restored` (after the restore). The restore passes when everything the backup held beyond a
/// fresh install is back: `(D_backup − D_fresh) ⊆ D_restored`, and that difference is not empty.
///
/// Items: a service with a backup pre-hook is proven by what the hook dumps, its text files line by
/// line (a live app's own later writes cannot turn it red; timestamps of dump tools are ignored;
/// binary files such as the database's own, which a restore rebuilds, are left out); a service
/// without one by the SHA-256 of each file it backs up.
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

    /// The verdict on a restore, and what it found.
    static func judge(backup: Set<String>, fresh: Set<String>, restored: Set<String>) -> (verdict: Verdict, detail: String) {
        let seeded = backup.subtracting(fresh)
        guard !seeded.isEmpty else {
            return (.unverified, "nothing seeded: the backup holds nothing a fresh install lacks (\(backup.count) item(s), all also in a fresh install); seed data (a folder the backup takes, the recipe's data_seed, or a plugin's install step) so that the restore can be proven")
        }
        let lost = seeded.subtracting(restored)
        guard lost.isEmpty else {
            let named = lost.sorted().prefix(3).map { "'\($0.prefix(120))'" }.joined(separator: ", ")
            return (.fail, "the restore lost \(lost.count) of the \(seeded.count) item(s) the backup held beyond a fresh install: \(named)\(lost.count > 3 ? ", …" : "")")
        }
        return (.pass, "all \(seeded.count) item(s) the backup held beyond a fresh install are back after restoring into fresh volumes")
    }
}
