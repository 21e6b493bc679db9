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
            var handler = TerminalLogHandler(StreamLogHandler.standardError(label: label))
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
    print(jsonForTerminal(String(decoding: try encoder.encode(value), as: UTF8.self)))
}

/// JSON that a terminal shows as text: the encoder escapes C0 controls in strings but writes DEL,
/// C1 controls and bidi overrides raw; these become `\uXXXX` escapes, the same JSON value. (Outside a
/// string, JSON holds no such character; the newlines of pretty-printing stay.)
func jsonForTerminal(_ json: String) -> String {
    guard json.unicodeScalars.contains(where: { $0 != "\n" && TerminalText.isEscaped($0) }) else { return json }
    var out = String.UnicodeScalarView()
    for scalar in json.unicodeScalars {
        if scalar != "\n", TerminalText.isEscaped(scalar) {
            let hex = String(scalar.value, radix: 16)
            out.append(contentsOf: ("\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex).unicodeScalars)
        } else {
            out.append(scalar)
        }
    }
    return String(out)
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

/// One line on stdout for a person: recipe text in it (tag names, file names, findings, check
/// details, plugin metadata) is shown with control characters escaped (`TerminalText`). Every line
/// the CLI prints goes through here or `printError`, except `printJSON` and the console report
/// (which escapes each field itself).
func printLine(_ line: String) {
    print(TerminalText.escaped(line))
}

/// One line on stderr, after whatever stdout holds so far (so piped output keeps its order); control
/// characters shown escaped, as `printLine` does.
func printError(_ line: String) {
    fflush(nil)
    FileHandle.standardError.write(Data((TerminalText.escaped(line) + "\n").utf8))
}

/// The stderr log handler with every message and metadata value shown as `TerminalText` shows it:
/// library logs carry recipe text (a ref, a secret's name, a tool's reason).
struct TerminalLogHandler: LogHandler {
    var stream: StreamLogHandler

    init(_ stream: StreamLogHandler) { self.stream = stream }

    var logLevel: Logger.Level {
        get { stream.logLevel }
        set { stream.logLevel = newValue }
    }
    var metadata: Logger.Metadata {
        get { stream.metadata }
        set { stream.metadata = newValue }
    }
    var metadataProvider: Logger.MetadataProvider? {
        get { stream.metadataProvider }
        set { stream.metadataProvider = newValue }
    }
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { stream[metadataKey: key] }
        set { stream[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        event.message = "\(TerminalText.escaped(event.message.description))"
        event.metadata = event.metadata.map(Self.escaped)
        var stream = stream
        stream.metadata = Self.escaped(stream.metadata)
        if let provider = stream.metadataProvider {
            stream.metadataProvider = Logger.MetadataProvider { Self.escaped(provider.get()) }
        }
        stream.log(event: event)
    }

    static func escaped(_ metadata: Logger.Metadata) -> Logger.Metadata {
        metadata.mapValues(escaped)  // the keys are cchost's own
    }

    static func escaped(_ value: Logger.MetadataValue) -> Logger.MetadataValue {
        switch value {
        case .string, .stringConvertible: .string(TerminalText.escaped(value.description))
        case .array(let values): .array(values.map(escaped))
        case .dictionary(let values): .dictionary(escaped(values))
        }
    }
}
