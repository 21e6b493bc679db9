import ArgumentParser
import Foundation
import HostBase
import PluginChannel

struct Plugins: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins", abstract: "List and inspect plugin libraries.",
        subcommands: [List.self, Inspect.self])

    /// One plugin as the listing and inspect print it (the JSON shape is documented in the README).
    struct Row: Encodable {
        var path: String
        var origin: String
        var sha256: String?
        /// loadable, rejected, broken, or denied (an overlay the allowlist does not approve)
        var state: String
        var name: String?
        var version: String?
        var recipes: [String]?
        var checks: [EntryDescription]?
        var installSteps: [EntryDescription]?
        var hooks: [EntryDescription]?
        var abi: String?
        var structSize: UInt32?
        var metadata: PluginMetadata?
        var problem: String?
        var problems: [Rejection.Problem]?
        var diagnostics: String?
        var warning: String?

        enum CodingKeys: String, CodingKey {
            case path, origin, sha256, state, name, version, recipes, checks, hooks, abi, metadata, problem, problems,
                 diagnostics, warning
            case installSteps = "install_steps", structSize = "struct_size"
        }

        init(path: String, origin: PluginOrigin, sha256: String?, state: PluginState) {
            self.path = path
            self.origin = origin.description
            self.sha256 = sha256
            switch state {
            case .loadable(let info):
                self.state = "loadable"
                name = info.description.name
                version = info.description.version
                recipes = info.metadata.recipes
                checks = info.description.checks
                installSteps = info.description.installSteps
                hooks = info.description.hooks
                abi = "\(info.description.abiMajor).\(info.description.abiMinor)"
                structSize = info.description.structSize
                metadata = info.metadata
            case .rejected(let rejection):
                self.state = "rejected"
                problem = rejection.summary
                problems = rejection.problems
            case .broken(let reason, let diagnostics):
                self.state = "broken"
                problem = reason
                self.diagnostics = diagnostics.isEmpty ? nil : diagnostics
            }
        }

        init(deniedOverlay path: String, sha256: String, reason: String) {
            self.path = path
            origin = "overlay"
            self.sha256 = sha256
            state = "denied"
            problem = reason
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the plugins cchost would use, from the metadata cache (no plugin code runs for unchanged libraries).",
            discussion: """
                Searches the builtin generic suite, then CCHOST_PLUGIN_PATH, then plugin_paths from the \
                configuration. With --checkout, also lists the recipe's repo-local overlays \
                (.cchost/plugins/*.so) with the allowlist's decision; only approved overlays are probed.
                """)

        @Flag(help: "Print JSON instead of a table.") var json = false
        @OptionGroup var sandbox: SandboxOptions
        @Option(help: "A recipe checkout whose .cchost/plugins overlays to include (needs --recipe).") var checkout: String?
        @Option(help: "The recipe the checkout belongs to.") var recipe: String?

        func validate() throws {
            if (checkout == nil) != (recipe == nil) { throw ValidationError("--checkout and --recipe go together") }
            if let recipe, !RecipeName.isValid(recipe) {
                throw ValidationError("'\(recipe)' is not a recipe name (lowercase letters, digits, _ . -)")
            }
        }

        func run() throws {
            try failingClearly {
                let setup = try sandbox.setup()
                let catalog = try setup.catalog()
                var rows: [Row] = []
                let operatorPaths = try PluginCatalog.operatorPlugins(in: setup.operatorFolders)
                for path in setup.builtinPlugins + operatorPaths.filter({ !setup.builtinPlugins.contains($0) }) {
                    let origin: PluginOrigin = setup.builtinPlugins.contains(path) ? .builtin : .operatorFolder(path)
                    let entry = try catalog.entry(for: path, profile: setup.profile(for: origin))
                    rows.append(Row(path: path, origin: origin, sha256: entry.sha256, state: entry.state))
                }
                if let checkout, let recipe {
                    let gate = try setup.overlayGate()
                    for overlay in try PluginCatalog.overlays(inCheckout: checkout) {
                        switch try gate.admit(recipe: recipe, overlay: overlay) {
                        case .denied(let path, let digest, let reason):
                            rows.append(Row(deniedOverlay: path, sha256: digest.hex, reason: reason))
                        case .approved(let approved):
                            let entry = try catalog.entry(for: approved.stagedPath, profile: setup.profile(for: .overlay(recipe: recipe)))
                            var row = Row(path: overlay, origin: .overlay(recipe: recipe), sha256: entry.sha256, state: entry.state)
                            row.warning = approved.warning
                            if let warning = approved.warning { printError("cchost: warning: \(warning)") }
                            rows.append(row)
                        }
                    }
                }
                try catalog.save()
                if json {
                    struct Listing: Encodable {
                        var plugins: [Row]
                        var workersStarted: Int
                        var cache: String
                        enum CodingKeys: String, CodingKey { case plugins, cache; case workersStarted = "workers_started" }
                    }
                    try printJSON(Listing(plugins: rows, workersStarted: setup.launcher.launchCount, cache: catalog.cache.path))
                } else {
                    printTable(rows)
                    printLine("\(rows.count) plugin(s); \(setup.launcher.launchCount) probed now, the rest from the plugin cache in \(catalog.cache.path)")
                }
            }
        }

        func printTable(_ rows: [Row]) {
            // Escaped before the widths are measured, so the columns line up as shown.
            let table = [["NAME", "VERSION", "ORIGIN", "STATE", "RECIPES", "PATH"]] + rows.map {
                [$0.name ?? "-", $0.version ?? "-", $0.origin, $0.state, $0.recipes?.joined(separator: ",") ?? "-", $0.path]
                    .map(TerminalText.escaped)
            }
            let widths = (0..<6).map { column in table.map { $0[column].count }.max() ?? 0 }
            for line in table {
                printLine(zip(line, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
                    .joined(separator: "  ").trimmingCharacters(in: .whitespaces))
            }
            for row in rows { if let problem = row.problem { printLine("  \(row.path): \(problem)") } }
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load one plugin in a worker and print its descriptor and metadata.",
            discussion: "Exit status: 0 loadable, 3 rejected or broken (the reasons are printed), 2 other errors.")

        @Argument(help: "The plugin library (.so).") var path: String
        @Flag(help: "Print JSON instead of text.") var json = false
        @OptionGroup var sandbox: SandboxOptions

        func run() throws {
            let (row, loadable) = try failingClearly { () throws -> (Row, Bool) in
                let setup = try sandbox.setup()
                guard FileManager.default.fileExists(atPath: path) else { throw Failure(message: "\(path) does not exist") }
                let digest = try Digest.sha256(ofFileAt: path)
                // An arbitrary file gets the strictest profile: it may be anyone's.
                let state = try setup.prober.probe(path, profile: .strict)
                var row = Row(path: path, origin: .operatorFolder(path), sha256: digest.hex, state: state)
                row.origin = "file"
                return (row, state.isLoadable)
            }
            if json {
                try printJSON(row)
            } else {
                printText(row)
            }
            if !loadable {
                if !json { printError("cchost: \(path): \(row.problem ?? "not loadable")") }
                throw ExitCode(3)
            }
        }

        func printText(_ row: Row) {
            printLine("path:        \(row.path)")
            printLine("sha256:      \(row.sha256 ?? "-")")
            printLine("state:       \(row.state)")
            guard row.state == "loadable", let metadata = row.metadata else {
                for problem in row.problems ?? [] {
                    let values = [problem.expected.map { "expected \($0)" }, problem.found.map { "found \($0)" }]
                        .compactMap { $0 }.joined(separator: ", ")
                    printLine("  \(problem.field): \(problem.message)\(values.isEmpty ? "" : " (\(values))")")
                }
                if row.problems == nil, let problem = row.problem { printLine("  \(problem)") }
                if let diagnostics = row.diagnostics {
                    printLine("worker output:")
                    for line in diagnostics.split(separator: "\n", omittingEmptySubsequences: false) { printLine(String(line)) }
                }
                return
            }
            printLine("name:        \(row.name ?? "-")")
            printLine("version:     \(row.version ?? "-")")
            printLine("abi:         \(row.abi ?? "-") (descriptor \(row.structSize ?? 0) bytes)")
            printLine("recipes:     \(metadata.recipes.joined(separator: ", "))")
            printLine("sweep:       \(metadata.canonicalSweep ? "enrolled" : "not enrolled")")
            if let stages = metadata.stages { printLine("stages:      \(stages.map(\.rawValue).joined(separator: ", "))") }
            if metadata.skipGeneric { printLine("generic:     skipped by this plugin") }
            if let readiness = metadata.readiness { printLine("readiness:   GET \(readiness.path) -> \(readiness.status)") }
            for (title, entries) in [("checks", row.checks ?? []), ("install steps", row.installSteps ?? []), ("hooks", row.hooks ?? [])]
            where !entries.isEmpty {
                printLine("\(title):")
                for entry in entries {
                    let kind = entry.signature.map { "typed: \($0)" } ?? "plain"
                    printLine("  \(entry.name) [\(entry.tiers.joined(separator: ","))] \(kind)\(entry.description.map { " - \($0)" } ?? "")")
                }
            }
        }
    }
}
