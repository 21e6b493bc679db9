import ArgumentParser
import Foundation
import HostBase
import HostDocker
import HostRuns
import HostState

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "The scheduled job: for each enrolled recipe, sync its mirror, run a new release cold, and promote it if it passes.",
        discussion: """
            Each decision is keyed on version: the newest release newer than the canonical runs; an equal or \
            older one is skipped (no-new-version); a recipe without releases is skipped (never-released). \
            A second sweep while one runs is refused. Exit status: 0 when every run was green (or nothing \
            needed a run), 1 when a run was red or a recipe failed, 2 on a configuration error or an empty \
            enrolled set.
            """)

    @Option(help: "The configuration file (default: CCHOST_CONFIG, else /etc/cchost/config.yml).") var config: String?
    @Flag(help: "Print the decisions only: sync mirrors and decide, run nothing.") var dryRun = false
    @OptionGroup var sandbox: SandboxOptions

    func run() throws {
        let outcomes = try failingClearly { () throws -> [SweepOutcome] in
            if let config { setenv("CCHOST_CONFIG", config, 1) }
            let setup = try sandbox.setup()
            let configuration = setup.configuration
            let docker = try DockerEngine(configuration)
            // Checked before the sweep writes anything, plugin cache included.
            let store = try StateStore.toWrite(stateDirectory: configuration.stateDirectory, check: true)
            let found = try setup.plugins(forRecipe: nil, checkout: nil)
            for problem in found.problems { printError("cchost: warning: \(problem)") }
            let installed = found.plugins.map(\.info)
            let recipes = try SweepPlan.enrolled(configuration, plugins: installed)
            let state = URL(fileURLWithPath: configuration.stateDirectory)
            let registry = ActiveRuns(directory: state.appendingPathComponent("runs/active"))
            // Each recipe's run in a process of its own: this binary again, `sweep-run`.
            var janitor = Janitor(deployer: docker.swarm(), registry: registry, owner: try StateIdentity.of(stateDirectory: state),
                                  baseDomain: configuration.baseDomain)
            janitor.recorder = store
            let runs = ChildSweepRuns(
                command: [URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path, "sweep-run"]
                    + (config.map { ["--config", $0] } ?? []) + (sandbox.noSandbox ? ["--no-sandbox"] : []),
                environment: ProcessInfo.processInfo.environment, store: store, janitor: janitor,
                relay: { recipe, line in printError("cchost: [\(recipe)] \(line)") })
            let cancellation = RunCancellation()
            TeardownOnSignal.forward(to: runs.signal, cancellation: cancellation)
            let runner = SweepRunner(configuration: configuration, store: store, docker: docker.daemon, runs: runs,
                                     progress: { printError("cchost: \($0)") }, cancellation: cancellation)
            return try runner.sweep(recipes: recipes, dryRun: dryRun)
        }
        for outcome in outcomes {
            var line = "\(outcome.item.recipe.name): \(outcome.item.decision)"
            if let run = outcome.run { line += "; run \(run.id) \(run.isGreen ? "green" : run.judgement.verdict == .fail ? "red" : "unverified")" }
            if let promotion = outcome.promotion { line += "; \(promotion)" }
            if let error = outcome.error { line += "; error: \(error)" }
            printLine(line)
        }
        if let signalNumber = TeardownOnSignal.received { throw ExitCode(128 + signalNumber) }
        if outcomes.contains(where: { $0.error != nil || ($0.run.map { !$0.isGreen } ?? false) }) { throw ExitCode(1) }
    }
}

struct CanonCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "canon", abstract: "Show recipes' canonicals (the last release proven good) and their history.",
        subcommands: [Show.self, History.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The canonical of one recipe, or of all.")
        @Argument(help: "A recipe (default: all).") var recipe: String?
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let canonicals = try failingClearly { () throws -> [Canonical] in
                let store = try StateStore(stateDirectory: try Configuration.load().stateDirectory, readOnly: true)
                if let recipe {
                    guard let canonical = try store.canonical(recipe: recipe) else {
                        throw Failure(message: "\(recipe) has no canonical yet: no release of it has passed a sweep", status: 1)
                    }
                    return [canonical]
                }
                return try store.canonicals()
            }
            if json {
                struct Row: Encodable {
                    var recipe, version, commit, status, runID: String
                    var promotedAt: Date
                    var retained: [String]
                    enum CodingKeys: String, CodingKey {
                        case recipe, version, commit, status, retained
                        case runID = "run_id", promotedAt = "promoted_at"
                    }
                }
                try printJSON(canonicals.map { Row(recipe: $0.recipe, version: $0.version, commit: $0.commit, status: $0.status,
                                                   runID: $0.runID, promotedAt: $0.promotedAt, retained: $0.volumes) })
                return
            }
            for canonical in canonicals {
                printLine("\(canonical.recipe)  \(canonical.version)  \(canonical.commit.prefix(12))  \(ISO8601DateFormatter().string(from: canonical.promotedAt))  \(canonical.status)  retained: \(canonical.volumes.isEmpty ? "nothing" : canonical.volumes.joined(separator: ", "))")
            }
            if canonicals.isEmpty { printLine("no canonical yet") }
        }
    }

    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every promotion of a recipe, oldest first.")
        @Argument(help: "The recipe.") var recipe: String
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let history = try failingClearly { () throws -> [Promotion] in
                try StateStore(stateDirectory: try Configuration.load().stateDirectory, readOnly: true).history(recipe: recipe)
            }
            if json {
                struct Row: Encodable {
                    var version, commit, runID: String
                    var previousVersion: String?
                    var promotedAt: Date
                    enum CodingKeys: String, CodingKey {
                        case version, commit
                        case runID = "run_id", previousVersion = "previous_version", promotedAt = "promoted_at"
                    }
                }
                try printJSON(history.map { Row(version: $0.version, commit: $0.commit, runID: $0.runID,
                                                previousVersion: $0.previousVersion, promotedAt: $0.promotedAt) })
                return
            }
            for promotion in history {
                printLine("\(ISO8601DateFormatter().string(from: promotion.promotedAt))  \(promotion.previousVersion ?? "-") → \(promotion.version)  \(promotion.commit.prefix(12))  run \(promotion.runID)")
            }
            if history.isEmpty { printLine("\(recipe) has never been promoted") }
        }
    }
}
