import ArgumentParser
import Foundation
import HostBase
import HostState

struct AllowlistCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allowlist", abstract: "Check repo-local overlays against the operator's allowlist.",
        subcommands: [Check.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Say whether the allowlist approves an overlay library for a recipe.",
            discussion: """
                The allowlist is the file named by CCHOST_ALLOWLIST, else `allowlist` in the configuration \
                (default /etc/cchost/allowlist). Exit status: 0 approved, 1 denied (the reason is printed), \
                2 malformed allowlist or other error.
                """)

        @Argument(help: "The recipe the overlay ships in.") var recipe: String
        @Argument(help: "The overlay library (.so).") var path: String

        func validate() throws {
            guard RecipeName.isValid(recipe) else {
                throw ValidationError("'\(recipe)' is not a recipe name (lowercase letters, digits, _ . -)")
            }
        }

        func run() throws {
            let (digest, decision) = try failingClearly {
                let setup = try PluginSetup()
                return try setup.overlayGate().decide(recipe: recipe, overlay: path)
            }
            switch decision {
            case .approved(let line, let warning):
                if let warning { printError("cchost: warning: \(warning)") }
                printLine("approved: \(recipe) \(digest) (allowlist line \(line))")
            case .denied(let reason):
                printLine("denied: \(reason)")
                throw ExitCode(1)
            }
        }
    }
}
