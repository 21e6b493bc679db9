import ArgumentParser
import Foundation
import HostBase
import HostRuns
import HostState
import Logging

@main
struct CCHost: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cchost",
        abstract: "Continuous integration for Co-op Cloud recipes, with per-recipe knowledge in plugins.",
        discussion: """
            Configuration: /etc/cchost/config.yml, or the file named by CCHOST_CONFIG. \
            CCHOST_STATE_DIR, CCHOST_PLUGIN_PATH and CCHOST_ALLOWLIST override it.
            """,
        subcommands: [Plugins.self, AllowlistCommand.self, RecipeCommand.self, RunCommand.self, SweepCommand.self, SweepRunCommand.self, CanonCommand.self, RunsCommand.self, JanitorCommand.self, GCCommand.self])

    static func main() {
        // Library logs go to stderr at warning and above unless CCHOST_LOG_LEVEL says otherwise.
        let level = ProcessInfo.processInfo.environment["CCHOST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            // Help and version requests exit 0 as ArgumentParser prints them; usage errors are one line
            // on stderr and exit 2, like every other error.
            guard exitCode(for: error) != .success else { exit(withError: error) }
            printError("cchost: \(message(for: error)) (see --help)")
            Foundation.exit(2)
        }
        do {
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}

/// A failure the user must act on: one line on stderr, then the given exit status.
struct Failure: Error, CustomStringConvertible {
    var message: String
    var status: Int32 = 2
    var description: String { message }
}

extension ParsableCommand {
    /// Runs `body`, turning any thrown error into one stderr line and exit status 2 (or its own).
    func failingClearly<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let failure as Failure {
            printError("cchost: \(failure.message)")
            throw ExitCode(failure.status)
        } catch let exit as ExitCode {
            throw exit
        } catch {
            printError("cchost: \(error)")
            throw ExitCode(2)
        }
    }
}

/// `snakeCase`: keys as the run record's JSON spells them (`op_detail` for `opDetail`).
func printJSON<T: Encodable>(_ value: T, snakeCase: Bool = false) throws {
    let encoder = JSONEncoder()
    if snakeCase { encoder.keyEncodingStrategy = .convertToSnakeCase }
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// `--no-sandbox`, on every command that runs plugin code.
struct SandboxOptions: ParsableArguments {
    @Flag(name: .customLong("no-sandbox"),
          help: "DEVELOPMENT ONLY: run plugin workers without bubblewrap (they still limit themselves).")
    var noSandbox = false

    func setup() throws -> PluginSetup {
        if noSandbox {
            printError("cchost: WARNING: --no-sandbox: plugin code runs WITHOUT the bubblewrap sandbox; never use this for untrusted plugins or in production")
        }
        return try PluginSetup(sandboxed: !noSandbox)
    }
}

/// One line on stderr, after whatever stdout holds so far (so piped output keeps its order).
func printError(_ line: String) {
    fflush(nil)
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
