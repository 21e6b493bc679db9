import ArgumentParser
import Foundation
import HostBase
import HostState

/// The runs the state database holds (every sweep run and every `cchost run`), read back.
struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "The runs recorded in the state database: the latest ones, one run's results, one check's history.",
        subcommands: [List.self, Show.self, Check.self])

    /// A run on one line, as the list prints it.
    static func line(_ run: StoredRun) -> String {
        "\(run.id)  \(run.recipe)  \(run.trigger)  \(run.quick ? "warm" : "cold")  \(run.baseVersion.map { "\($0) → " } ?? "")\(run.headRef)  \(run.verdict)  \(ISO8601DateFormatter().string(from: run.startedAt))"
    }

    static func store() throws -> StateStore { try StateStore(stateDirectory: try Configuration.load().stateDirectory, readOnly: true) }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The latest runs, newest first.")
        @Argument(help: "A recipe (default: all).") var recipe: String?
        @Option(help: "How many runs.") var limit = 20
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let runs = try failingClearly { try RunsCommand.store().latestRuns(recipe: recipe, limit: limit) }
            if json { return try printJSON(runs, snakeCase: true) }
            for run in runs { printLine(RunsCommand.line(run)) }
            if runs.isEmpty { printLine(recipe.map { "no run of \($0) recorded" } ?? "no run recorded") }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One run's tiers and checks.",
            discussion: "Exit status: 0 when the run is recorded, 1 when it is not.")
        @Argument(help: "A run id (or a unique prefix of one).") var id: String
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let store = try failingClearly { try RunsCommand.store() }
            let (stored, tiers) = try failingClearly { () throws -> (StoredRun, [StoredTier]) in
                guard let stored = try store.run(id: id) else {
                    throw Failure(message: "no run \(id) in the state database \(store.path) (cchost runs list shows the latest)", status: 1)
                }
                return (stored, try store.results(run: stored.id))
            }
            if json {
                struct Shown: Encodable { var run: StoredRun; var tiers: [StoredTier] }
                return try printJSON(Shown(run: stored, tiers: tiers), snakeCase: true)
            }
            printLine(RunsCommand.line(stored))
            if let reason = stored.levelReason { printLine("level  " + (stored.level.map { "L\($0)" } ?? "none") + " — " + reason) }
            for tier in tiers {
                if let reason = tier.notApplicable {
                    printLine("\(tier.tier)  n/a: \(reason)")
                    continue
                }
                let detail = tier.opDetail.isEmpty ? "" : " (\(tier.opDetail))"
                let op = tier.op + (tier.opRef.map { " \($0)" } ?? "")
                printLine("\(tier.tier)  \(tier.verdict)  \(op.isEmpty ? "" : "\(op): \(tier.opVerdict)\(detail)  ")\(String(format: "%.1f", tier.seconds)) s")
                for check in tier.checks {
                    let detail = check.detail + (check.cause.map { " (\($0))" } ?? "")
                    printLine("  \(check.verdict)  \(check.plugin)/\(check.name)" + (detail.isEmpty ? "" : "  \(detail)"))
                }
            }
            // The run's folder (backups, logs, artifacts) may have been pruned; its record stays.
            let folder = URL(fileURLWithPath: store.path).deletingLastPathComponent().appendingPathComponent("runs/\(stored.id)")
            printLine(FileManager.default.fileExists(atPath: folder.path) ? "folder  \(folder.path)"
                  : "folder  gone: \(folder.path) was pruned by the retention policy (cchost gc) or removed")
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every result of one check across a recipe's runs, oldest first.",
            discussion: "CHECK is PLUGIN/NAME, as `cchost runs show` prints it (e.g. cchost/data-proof).")
        @Argument(help: "The recipe.") var recipe: String
        @Argument(help: "PLUGIN/NAME.") var check: String
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let results = try failingClearly { () throws -> [CheckResult] in
                let parts = check.split(separator: "/", maxSplits: 1).map(String.init)
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                    throw Failure(message: "\(check) is not PLUGIN/NAME (e.g. cchost/data-proof)")
                }
                return try RunsCommand.store().checkHistory(recipe: recipe, plugin: parts[0], name: parts[1])
            }
            if json { return try printJSON(results, snakeCase: true) }
            for result in results {
                printLine("\(result.runID)  \(ISO8601DateFormatter().string(from: result.startedAt))  \(result.headRef)  \(result.tier)  \(result.verdict)  \(result.detail)")
            }
            if results.isEmpty { printLine("no result of \(check) in the runs of \(recipe)") }
        }
    }
}
