import ArgumentParser
import Foundation
import HostBase
import HostDocker
import HostRuns
import HostState
import PluginChannel

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one recipe through the tiers on the local swarm, judge it, tear it down and report.",
        discussion: """
            Deploys the base once (default: the release before the head), upgrades it in place to the head \
            (chaos), backs it up and restores it, with the generic suite and the recipe's overlays judging \
            after each op. --warm starts from a copy of the recipe's canonical data instead of fresh volumes \
            (base: the canonical's version); --quick is a warm run that skips what it can (default tiers: \
            lint,install,upgrade,custom). Neither is ever promoted, and the canonical's data is only read. \
            A recipe listed in the configuration's recipes gets its env, check parameters, stages and \
            timeout from there. Exit status: 0 green, 1 red (a failure, an unverified check, or leftovers \
            after teardown), 2 usage or configuration error.
            """)

    @Argument(help: "The recipe's name.") var recipe: String
    @Option(help: "The recipe repository: local path or URL (default: the recipe's upstream in the configuration).") var repo: String?
    @Option(help: "The head under test: tag, branch or commit (default: the latest release).") var ref: String?
    @Option(help: "The version install deploys (default: the release before the head).") var base: String?
    @Option(help: "Comma-separated tiers: lint,install,upgrade,backup,restore,custom (default: all).") var stages: String?
    @Flag(help: "Start from a copy of the canonical's data (warm), at the canonical's version.") var warm = false
    @Flag(help: "A warm run that skips what it can: install steps, and backup and restore unless --stages names them.") var quick = false
    @Option(help: "Deploy backend: swarm (default) or abra.") var backend: String = "swarm"
    @Option(help: "The abra executable for --backend abra (default: CCHOST_ABRA, else abra on PATH).") var abra: String?
    @Option(help: "Write the run record as JSON here.") var json: String?
    @Option(help: "Write JUnit XML here.") var junit: String?
    @Option(help: "Write a Markdown summary (for a PR comment) here.") var markdown: String?
    @Option(help: "Base domain of test apps.") var baseDomain: String = "ci.example"
    @OptionGroup var sandbox: SandboxOptions

    func validate() throws {
        guard RecipeName.isValid(recipe) else { throw ValidationError("'\(recipe)' is not a recipe name") }
        guard backend == "swarm" || backend == "abra" else { throw ValidationError("--backend is swarm or abra") }
        _ = try tiers(configured: nil)
    }

    /// --stages, else the configuration's, else everything (a quick run: lint, install, upgrade, custom).
    func tiers(configured: [Tier]?) throws -> [Tier] {
        guard let stages else { return configured ?? (quick ? [.lint, .install, .upgrade, .custom] : Tier.allCases) }
        return try stages.split(separator: ",").map { name in
            guard let tier = Tier(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--stages: '\(name)' is not a tier (lint, install, upgrade, backup, restore, custom)")
            }
            return tier
        }
    }

    /// `--abra`, else CCHOST_ABRA, else `abra` on PATH.
    func abraExecutable() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        if let path = abra ?? environment["CCHOST_ABRA"] {
            guard FileManager.default.isExecutableFile(atPath: path) else { throw Failure(message: "abra executable \(path) is not an executable file") }
            return path
        }
        for folder in (environment["PATH"] ?? "").split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(folder)/abra") {
            return "\(folder)/abra"
        }
        throw Failure(message: "--backend abra: no abra on PATH; install abra or give --abra PATH")
    }

    func run() throws {
        let record = try failingClearly { () throws -> RunRecord in
            let setup = try sandbox.setup()
            let docker = try DockerEngine(setup.configuration)
            let settings = setup.configuration.recipes.first { $0.name == self.recipe }
            guard let repository = repo ?? settings?.upstream else {
                throw Failure(message: "give --repo: \(recipe) is not among the configuration's recipes", status: 2)
            }
            let store = try StateStore.toWrite(stateDirectory: setup.configuration.stateDirectory)
            // A warm or quick run holds the canonical it copies until it ends: no sweep removes that data meanwhile.
            let reader = warm || quick ? try CanonicalReader(recipe: self.recipe, store: store) : nil
            defer { withExtendedLifetime(reader) {} }
            let canonical = try reader.map(\.canonical) ?? store.canonical(recipe: self.recipe)
            let timeout = settings?.timeout ?? 300
            let deployer = try docker.deployer(backend: backend, abra: try abraExecutable(), defaultTimeout: timeout)
            let runs = URL(fileURLWithPath: setup.configuration.stateDirectory).appendingPathComponent("runs")
            let cancellation = RunCancellation()
            TeardownOnSignal.install(deployer: docker.swarm(), registry: ActiveRuns(directory: runs.appendingPathComponent("active")),
                                     cancellation: cancellation)
            let engine = try makeRunEngine(setup: setup, recipe: recipe, deployer: deployer, runs: runs, recorder: store,
                                           events: { [started = Date()] event in
                                               printError("cchost: [+\(Int(Date().timeIntervalSince(started)))s] \(event.line)")
                                           })
            do {
                let record = try engine.run(RunRequest(
                    recipe: recipe, repository: repository, headRef: ref, base: base, stages: try tiers(configured: settings?.stages),
                    baseDomain: baseDomain, environment: settings?.env ?? [:], checkArguments: settings?.checks ?? [:],
                    readinessPath: settings?.readinessPath, dataSeed: settings?.dataSeed, canonicalVersion: canonical?.version,
                    warmFrom: warm || quick ? canonical.map(RunRecord.CanonicalStart.init) : nil, quick: quick, cancellation: cancellation,
                    ceilings: setup.configuration.ceilings(for: recipe),
                    allowance: settings?.allowance ?? .none))
                return record
            } catch {
                throw Failure(message: "\(error)")
            }
        }
        print(RunReport.console(record), terminator: "")
        if let json { try RunReport.json(record).write(to: URL(fileURLWithPath: json)) }
        if let junit { try Data(RunReport.junit(record).utf8).write(to: URL(fileURLWithPath: junit)) }
        if let markdown { try Data(RunReport.markdown(record).utf8).write(to: URL(fileURLWithPath: markdown)) }
        // A run stopped by a signal exits as the signal says (130, 143), after its teardown and record.
        if let signalNumber = TeardownOnSignal.received { throw ExitCode(128 + signalNumber) }
        if record.exitStatus != 0 { throw ExitCode(record.exitStatus) }
    }
}
