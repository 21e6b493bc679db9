import ArgumentParser
import Foundation
import HostBase

struct RecipeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recipe", abstract: "Read a recipe's releases and lint it.",
        subcommands: [Versions.self, Lint.self])

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
                // Kept: a temporary clone left behind changes nothing listed.
                defer { try? FileManager.default.removeItem(at: scratch) }
                let repository = try RecipeSource.open(pathOrURL, scratch: scratch.path)
                return try ReleaseListing(source: pathOrURL, repository: repository)
            }
            if json {
                try printJSON(listing)
                return
            }
            // Escaped before the widths are measured, so the columns line up as shown.
            let rows = [["RELEASE", "COMMIT", "TAG"]] + listing.releases.map {
                [TerminalText.escaped($0.tag) + ($0.prerelease ? " (pre-release)" : ""), String($0.commit.prefix(12)),
                 $0.annotated ? "annotated" : "lightweight"]
            }
            let widths = (0..<3).map { column in rows.map { $0[column].count }.max() ?? 0 }
            for row in rows {
                printLine(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
                    .joined(separator: "  ").trimmingCharacters(in: .whitespaces))
            }
            if let latest = listing.latest, let release = listing.releases.first(where: { $0.tag == latest }) {
                printLine("latest: \(latest) (\(release.commit.prefix(12)))")
            } else {
                printLine("latest: none (no release tag)")
            }
            for tag in listing.unparseable { printLine("not a release: \(VersionParseError.shortened(tag.tag)): \(tag.reason)") }
        }
    }

    struct Lint: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Lint a recipe checkout (the lint tier): every rule, with its code, severity and location.",
            discussion: """
                Rules R001-R025 (see the README); R016-R021 and R025 (the shared proxy) are the recipe content policy, which an \
                operator's allowance (recipes[].allow in the configuration) relaxes in runs only; R023, \
                the app's total tasks, is checked against the default ceilings.tasks (50), a run's against its own. \
                Lint reports every finding instead of stopping at the \
                first. Exit status: 0 when no rule of severity error fails (warnings allowed), 1 when one \
                does, 2 when the path does not exist or is not a git repository.
                """)

        @Argument(help: "A recipe checkout (a git working tree).") var path: String
        @Flag(help: "Print JSON instead of text.") var json = false

        func run() throws {
            let report = try failingClearly { () throws -> LintReport in
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
                    throw Failure(message: "\(path) is not a folder")
                }
                let tags = try GitRepository.open(path).tags()
                return RecipeLint.lint(directory: path, tags: tags)
            }
            if json {
                struct Output: Encodable {
                    var report: LintReport
                    func encode(to encoder: Encoder) throws {
                        var c = encoder.container(keyedBy: Key.self)
                        try c.encode(report.recipe, forKey: .recipe)
                        try c.encode(report.findings, forKey: .findings)
                        try c.encode(report.errors, forKey: .errors)
                        try c.encode(report.warnings, forKey: .warnings)
                        try c.encode(report.rules.map { rule in
                            RuleStatus(code: rule.code, severity: rule.severity, title: rule.title,
                                       satisfied: report.satisfied.contains(rule))
                        }, forKey: .rules)
                    }
                    enum Key: String, CodingKey { case recipe, findings, errors, warnings, rules }
                }
                struct RuleStatus: Encodable {
                    var code: String
                    var severity: LintFinding.Severity
                    var title: String
                    var satisfied: Bool
                }
                try printJSON(Output(report: report))
            } else {
                for finding in report.findings {
                    printLine("\(finding.severity.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)) \(finding.code)  \(finding.location.map { "\($0): " } ?? "")\(finding.message)")
                }
                printLine("\(report.recipe): \(report.errors) error(s), \(report.warnings) warning(s); \(report.satisfied.count) of \(report.rules.count) rules satisfied")
            }
            if report.hasErrors { throw ExitCode(1) }
        }
    }
}
