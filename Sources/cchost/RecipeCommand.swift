import ArgumentParser
import Foundation
import Host

struct RecipeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recipe", abstract: "Read a recipe's releases and lint it.",
        subcommands: [Versions.self])

    struct Versions: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List a recipe's releases, oldest to newest, with their commits, and name the latest.",
            discussion: """
                PATH_OR_URL is a local git repository (a checkout or a bare mirror) or a URL (https, file, \
                ssh) that is cloned into a temporary folder and removed afterwards. Tags that are not \
                release versions are reported, never ordered. Exit status: 0, or 2 on error.
                """)

        @Argument(help: "A recipe repository: local path or URL.") var pathOrURL: String
        @Flag(help: "Print JSON instead of a table.") var json = false

        func run() throws {
            let listing = try failingClearly { () throws -> ReleaseListing in
                let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("cchost-versions-\(UUID().uuidString)")
                defer { try? FileManager.default.removeItem(at: scratch) }
                let repository = try RecipeSource.open(pathOrURL, scratch: scratch.path)
                return try ReleaseListing(source: pathOrURL, repository: repository)
            }
            if json {
                try printJSON(listing)
                return
            }
            let rows = [["RELEASE", "COMMIT", "TAG"]] + listing.releases.map {
                [$0.tag + ($0.prerelease ? " (pre-release)" : ""), String($0.commit.prefix(12)), $0.annotated ? "annotated" : "lightweight"]
            }
            let widths = (0..<3).map { column in rows.map { $0[column].count }.max() ?? 0 }
            for row in rows {
                print(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
                    .joined(separator: "  ").trimmingCharacters(in: .whitespaces))
            }
            if let latest = listing.latest, let release = listing.releases.first(where: { $0.tag == latest }) {
                print("latest: \(latest) (\(release.commit.prefix(12)))")
            } else {
                print("latest: none (no release tag)")
            }
            for tag in listing.unparseable { print("not a release: \(tag.tag): \(tag.reason)") }
        }
    }
}
