import Foundation
import Testing

/// `cchost recipe …` on real repositories built with git.
@Suite("The recipe command line")
struct RecipeCLITests {
    /// A recipe history with odd tags: legacy, v-prefix, a pre-release, a lightweight release, junk.
    static func history() throws -> (GitFixture, [String: String]) {
        let fixture = try GitFixture()
        var commits: [String: String] = [:]
        for (tag, annotated) in [("0.5.0_2", true), ("1.0.0+1.0", true), ("1.1.0+1.2", false), ("v1.1.0+1.10", true),
                                 ("2.0.0-beta.1+2.0", true), ("latest", true)] {
            commits[tag] = try fixture.commit("release: \(tag)\n")
            if annotated { try fixture.annotatedTag(tag) } else { try fixture.lightweightTag(tag) }
        }
        return (fixture, commits)
    }

    struct Listing: Decodable {
        struct Release: Decodable { var tag: String; var commit: String; var annotated: Bool; var prerelease: Bool }
        struct Unparseable: Decodable { var tag: String; var reason: String }
        var releases: [Release]
        var latest: String?
        var unparseable: [Unparseable]
    }

    @Test("versions --json lists releases oldest to newest with commits and tag kinds, and names the latest",
          arguments: [false, true])
    func versionsJSON(asURL: Bool) throws {
        let (fixture, commits) = try Self.history()
        let result = try run(TestPaths.cli, ["recipe", "versions", asURL ? "file://\(fixture.path)" : fixture.path, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let listing = try JSONDecoder().decode(Listing.self, from: Data(result.stdout.utf8))
        #expect(listing.releases.map(\.tag) == ["0.5.0_2", "1.0.0+1.0", "1.1.0+1.2", "v1.1.0+1.10", "2.0.0-beta.1+2.0"])
        #expect(listing.releases.allSatisfy { $0.commit == commits[$0.tag] })
        #expect(listing.releases.map(\.annotated) == [true, true, false, true, true])
        #expect(listing.releases.map(\.prerelease) == [false, false, false, false, true])
        #expect(listing.latest == "v1.1.0+1.10")
        #expect(listing.unparseable.map(\.tag) == ["latest"])
    }

    @Test("versions prints a table and the latest release")
    func versionsTable() throws {
        let (fixture, commits) = try Self.history()
        let result = try run(TestPaths.cli, ["recipe", "versions", fixture.path])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("RELEASE") == true)
        #expect(lines.contains("latest: v1.1.0+1.10 (\(commits["v1.1.0+1.10"]!.prefix(12)))"))
        #expect(lines.contains { $0.hasPrefix("not a release: latest: ") })
    }

    @Test("versions of a missing path, a folder that is not a repository, or a bad URL exits 2 with one line",
          arguments: ["/nonexistent/recipe", "/", "file:///nonexistent/recipe.git"])
    func versionsErrors(source: String) throws {
        let result = try run(TestPaths.cli, ["recipe", "versions", source])
        #expect(result.status == 2)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("cchost: ") && lines[0].contains(source.replacingOccurrences(of: "file://", with: "")), "\(result.stderr)")
    }

    @Test("lint exits 0 on a clean recipe, 1 when an error rule fails, and prints code, location and message")
    func lintExitStatus() throws {
        let clean = try LintFixture()
        let passing = try run(TestPaths.cli, ["recipe", "lint", clean.path])
        #expect(passing.status == 0, "\(passing.stdout)\(passing.stderr)")
        #expect(passing.stdout.contains("0 error(s), 0 warning(s); 25 of 25 rules satisfied"))

        let broken = try LintFixture(edits: ["compose.yml": [("postgres:16.1", "postgres")]])
        let failing = try run(TestPaths.cli, ["recipe", "lint", broken.path])
        #expect(failing.status == 1)
        #expect(failing.stdout.contains("error   R004  compose.yml:24: service db uses image postgres: no tag"), "\(failing.stdout)")
    }

    @Test("lint with only warnings exits 0; --json carries findings and every rule's status")
    func lintJSON() throws {
        let fixture = try LintFixture(edits: ["README.md": [("<!-- metadata -->", "")]])
        let result = try run(TestPaths.cli, ["recipe", "lint", fixture.path, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        struct Output: Decodable {
            struct Finding: Decodable { var code: String; var severity: String; var file: String? }
            struct Rule: Decodable { var code: String; var satisfied: Bool }
            var findings: [Finding]
            var errors: Int
            var warnings: Int
            var rules: [Rule]
        }
        let output = try JSONDecoder().decode(Output.self, from: Data(result.stdout.utf8))
        #expect(output.findings.map(\.code) == ["R011"])
        #expect(output.errors == 0 && output.warnings == 1)
        #expect(output.rules.count == 25)
        #expect(output.rules.filter { !$0.satisfied }.map(\.code) == ["R011"])
    }

    @Test("lint of a folder that is not a git repository, or of no folder, exits 2 with one line",
          arguments: ["/nonexistent/recipe", "/"])
    func lintErrors(path: String) throws {
        let result = try run(TestPaths.cli, ["recipe", "lint", path])
        #expect(result.status == 2)
        #expect(result.stderr.split(separator: "\n").count == 1 && result.stderr.hasPrefix("cchost: "), "\(result.stderr)")
    }
}
