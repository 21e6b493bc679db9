import Foundation
import HostBase
import Testing

/// The real `cchost` binary, run as an operator would: exit statuses, one-line errors on stderr, and
/// the JSON that scripts read. Every run gets its own state folder, plugin folder and allowlist path,
/// and an explicit environment, so nothing of the machine's configuration leaks in.
@Suite("The cchost command line")
struct CLITests {
    static var exampleC: String { TestPaths.product("libcchost-example-c.so") }
    static var exampleSwift: String { TestPaths.product("libcchost-example-swift.so") }

    // MARK: plugins inspect

    @Test("inspect prints a loadable plugin's name and checks and exits 0")
    func inspectLoadable() throws {
        let sandbox = try CLISandbox()
        let result = try sandbox.cchost("plugins", "inspect", Self.exampleC)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("state:       loadable"))
        #expect(result.stdout.contains("name:        example-c"))
        #expect(result.stdout.contains("  has-service [install,upgrade] typed: int has_service(const char *service)"))
        #expect(result.stdout.contains("  stack-named [install]"))
        #expect(result.stderr.isEmpty, "\(result.stderr)")
    }

    struct Unloadable: Sendable, CustomTestStringConvertible {
        var library: Library
        /// A line of the text report on stdout.
        var reports: String
        /// Part of the one stderr line.
        var mentions: String
        var testDescription: String { library.testDescription }
    }

    @Test("inspect of an unloadable plugin exits 3 with one stderr line saying why", arguments: [
        Unloadable(library: .fixture("abi_variant", defines: ["ABI_MAJOR=2"]), reports: "  abi_major:", mentions: "major 2"),
        Unloadable(library: .fixture("hostile", defines: ["CRASH_IN_CONSTRUCTOR"]), reports: "state:       broken",
                   mentions: "SIGSEGV"),
    ])
    func inspectUnloadable(_ unloadable: Unloadable) throws {
        let sandbox = try CLISandbox()
        let library = try unloadable.library.path()
        let result = try sandbox.cchost("plugins", "inspect", library)
        #expect(result.status == 3)
        #expect(result.stdout.contains(unloadable.reports), "\(result.stdout)")
        let line = try #require(result.stderrLines.only, "stderr is not one line: \(result.stderr)")
        #expect(line.hasPrefix("cchost: \(library): "), "\(line)")
        #expect(line.contains(unloadable.mentions), "\(line)")
    }

    struct InspectJSON: Sendable, CustomTestStringConvertible {
        var library: Library
        var status: Int32
        var state: String
        var name: String?
        var checks: [String]?
        var fields: [String]?
        var problemMentions: String?
        var testDescription: String { "\(library.testDescription) is \(state)" }
    }

    @Test("inspect --json reports the plugin's state, and the exit status matches it", arguments: [
        InspectJSON(library: .product("libcchost-example-c.so"), status: 0, state: "loadable", name: "example-c",
                    checks: ["has-service", "stack-named"]),
        InspectJSON(library: .fixture("abi_variant", defines: ["ABI_MAJOR=2"]), status: 3, state: "rejected",
                    fields: ["abi_major"], problemMentions: "major 2"),
        InspectJSON(library: .fixture("hostile", defines: ["CRASH_IN_CONSTRUCTOR"]), status: 3, state: "broken",
                    problemMentions: "SIGSEGV"),
    ])
    func inspectJSON(_ expected: InspectJSON) throws {
        let sandbox = try CLISandbox()
        let library = try expected.library.path()
        let result = try sandbox.cchost("plugins", "inspect", library, "--json")
        #expect(result.status == expected.status)
        let row = try JSONDecoder().decode(RowJSON.self, from: Data(result.stdout.utf8))
        #expect(row.path == library)
        let digest = try Digest.sha256(ofFileAt: library)
        #expect(row.sha256 == digest.hex)
        #expect(row.state == expected.state)
        #expect(row.name == expected.name)
        #expect(row.checks?.map(\.name) == expected.checks)
        #expect(row.problems?.map(\.field) == expected.fields)
        if let mentions = expected.problemMentions {
            #expect(row.problem?.contains(mentions) == true, "\(row.problem ?? "no problem")")
        } else {
            #expect(row.problem == nil)
        }
    }

    @Test("inspect of a path that does not exist exits 2 with one stderr line naming it",
          arguments: [[], ["--json"]])
    func inspectMissing(_ flags: [String]) throws {
        let sandbox = try CLISandbox()
        let missing = sandbox.root.file("nowhere/libmissing.so")
        let result = try sandbox.cchost(["plugins", "inspect", missing] + flags)
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty, "\(result.stdout)")
        let line = try #require(result.stderrLines.only, "stderr is not one line: \(result.stderr)")
        #expect(line.hasPrefix("cchost: "))
        #expect(line.contains(missing), "\(line)")
    }

    // MARK: plugins list

    @Test("list --json shows the builtin generic suite, then every library in CCHOST_PLUGIN_PATH")
    func listShowsBuiltinAndOperatorPlugins() throws {
        let sandbox = try CLISandbox()
        let c = try sandbox.install(Self.exampleC, as: "libexample-c.so")
        let swift = try sandbox.install(Self.exampleSwift, as: "libexample-swift.so")
        let result = try sandbox.cchost("plugins", "list", "--json")
        #expect(result.status == 0, "\(result.stderr)")
        let listing = try Listing.decode(result.stdout)
        try #require(listing.plugins.count == 3)
        #expect(listing.plugins.map(\.name) == ["generic", "example-c", "example-swift"])
        #expect(listing.plugins.map(\.origin) == ["builtin", "operator", "operator"])
        #expect(listing.plugins.map(\.state) == ["loadable", "loadable", "loadable"])
        #expect(listing.plugins.dropFirst().map(\.path) == [c, swift])
        let digest = try Digest.sha256(ofFileAt: Self.exampleC)
        #expect(listing.plugins[1].sha256 == digest.hex)
        #expect(listing.cache == sandbox.state.file("cchost.sqlite"))
    }

    @Test("list probes each plugin once: the second run is answered from the cache without a worker")
    func listUsesTheCacheOnTheSecondRun() throws {
        let sandbox = try CLISandbox()
        try sandbox.install(Self.exampleC, as: "libexample-c.so")
        try sandbox.install(Self.exampleSwift, as: "libexample-swift.so")
        let first = try Listing.decode(try sandbox.cchost("plugins", "list", "--json").stdout)
        #expect(first.plugins.count == 3)
        #expect(first.workersStarted == first.plugins.count)
        let second = try Listing.decode(try sandbox.cchost("plugins", "list", "--json").stdout)
        #expect(second.workersStarted == 0)
        #expect(second.plugins == first.plugins)
    }

    @Test("list probes again a library whose bytes changed, and only that one")
    func listReprobesAChangedLibrary() throws {
        let sandbox = try CLISandbox()
        let library = try sandbox.install(Self.exampleC, as: "libexample.so")
        let first = try Listing.decode(try sandbox.cchost("plugins", "list", "--json").stdout)
        #expect(first.plugins.last?.name == "example-c")
        try FileManager.default.removeItem(atPath: library)
        try sandbox.install(Self.exampleSwift, as: "libexample.so")
        let second = try Listing.decode(try sandbox.cchost("plugins", "list", "--json").stdout)
        #expect(second.workersStarted == 1)
        #expect(second.plugins.last?.name == "example-swift")
    }

    @Test("list records rejected and crashing plugins and does not probe them again on the next run")
    func listCachesUnloadablePlugins() throws {
        let sandbox = try CLISandbox()
        try sandbox.install(try Library.fixture("hostile", defines: ["CRASH_IN_CONSTRUCTOR"]).path(), as: "libcrash.so")
        try sandbox.install(try Library.fixture("abi_variant", defines: ["ABI_MAJOR=2"]).path(), as: "libmajor2.so")
        for (run, workers) in [("first", 3), ("second", 0)] {
            let result = try sandbox.cchost("plugins", "list", "--json")
            #expect(result.status == 0, "\(run) run: \(result.stderr)")
            let listing = try Listing.decode(result.stdout)
            #expect(listing.plugins.map(\.state) == ["loadable", "broken", "rejected"], "\(run) run")
            #expect(listing.plugins.map(\.problems?.first?.field) == [nil, nil, "abi_major"], "\(run) run")
            #expect(listing.plugins.dropFirst().first?.problem?.contains("SIGSEGV") == true, "\(run) run")
            #expect(listing.workersStarted == workers, "\(run) run")
        }
    }

    @Test("list with a CCHOST_PLUGIN_PATH folder that does not exist exits 2 naming the folder and the variable")
    func listWithMissingPluginFolder() throws {
        let sandbox = try CLISandbox()
        let missing = sandbox.root.file("no-such-plugins")
        let result = try sandbox.cchost(["plugins", "list", "--json"], pluginPath: missing)
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty, "\(result.stdout)")
        let line = try #require(result.stderrLines.only, "stderr is not one line: \(result.stderr)")
        #expect(line.hasPrefix("cchost: "))
        #expect(line.contains(missing), "\(line)")
        #expect(line.contains("CCHOST_PLUGIN_PATH"), "\(line)")
    }

    struct OverlayCase: Sendable, CustomTestStringConvertible {
        var label: String
        var allowlist: AllowlistFile
        var state: String
        var mentions: String?
        var warns = false
        var testDescription: String { label }
    }

    @Test("list --checkout shows a repo-local overlay with the allowlist's decision, probing only approved ones",
          arguments: [
              OverlayCase(label: "no allowlist file", allowlist: .missing, state: "denied", mentions: "does not exist"),
              OverlayCase(label: "another recipe approved", allowlist: .lines(["other sha256:DIGEST"]), state: "denied",
                          mentions: "no line in"),
              OverlayCase(label: "another binary approved", allowlist: .lines(["web sha256:\(String(repeating: "ab", count: 32))"]),
                          state: "denied", mentions: "is a different or changed binary"),
              OverlayCase(label: "this binary approved", allowlist: .lines(["# pinned", "web sha256:DIGEST"]),
                          state: "loadable"),
              OverlayCase(label: "any binary approved", allowlist: .lines(["web any-digest"]), state: "loadable",
                          mentions: "approves any overlay binary", warns: true),
          ])
    func listOverlay(_ overlayCase: OverlayCase) throws {
        let sandbox = try CLISandbox()
        let (checkout, overlay) = try sandbox.checkout(with: Self.exampleC)
        let digest = try Digest.sha256(ofFileAt: overlay)
        try sandbox.writeAllowlist(overlayCase.allowlist, digest: digest)
        let result = try sandbox.cchost("plugins", "list", "--json", "--checkout", checkout, "--recipe", "web")
        #expect(result.status == 0, "\(result.stderr)")
        let listing = try Listing.decode(result.stdout)
        let row = try #require(listing.plugins.first { $0.origin == "overlay" })
        #expect(row.path == overlay)
        #expect(row.sha256 == digest.hex)
        #expect(row.state == overlayCase.state)
        let approved = overlayCase.state != "denied"
        // The builtin generic suite is probed either way; the overlay only when approved.
        #expect(listing.workersStarted == (approved ? 2 : 1))
        #expect(FileManager.default.fileExists(atPath: sandbox.state.file("overlays/\(digest.hex).so")) == approved)
        #expect(row.name == (approved ? "example-c" : nil))
        if let mentions = overlayCase.mentions {
            let message = (approved ? row.warning : row.problem) ?? ""
            #expect(message.contains(mentions), "\(message)")
        }
        if overlayCase.warns {
            let line = try #require(result.stderrLines.only, "stderr is not one line: \(result.stderr)")
            #expect(line.hasPrefix("cchost: warning: "), "\(line)")
        } else {
            #expect(result.stderr.isEmpty, "\(result.stderr)")
        }
    }

    @Test("list --checkout with a malformed allowlist exits 2 naming the file and line")
    func listOverlayWithMalformedAllowlist() throws {
        let sandbox = try CLISandbox()
        let (checkout, _) = try sandbox.checkout(with: Self.exampleC)
        try sandbox.writeAllowlist(.lines(["web any-digest", "web sha256:short"]), digest: nil)
        let result = try sandbox.cchost("plugins", "list", "--json", "--checkout", checkout, "--recipe", "web")
        #expect(result.status == 2)
        let line = try #require(result.stderrLines.only, "stderr is not one line: \(result.stderr)")
        #expect(line.hasPrefix("cchost: \(sandbox.allowlist):2: "), "\(line)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.state.file("overlays")))
    }

    // MARK: allowlist check

    @Test("allowlist check approves a pinned digest with exit 0 and names the approving line")
    func checkApproved() throws {
        let sandbox = try CLISandbox()
        let digest = try Digest.sha256(ofFileAt: Self.exampleC)
        try sandbox.writeAllowlist(.lines(["# operator approvals", "other any-digest", "web sha256:DIGEST"]), digest: digest)
        let result = try sandbox.cchost("allowlist", "check", "web", Self.exampleC)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "approved: web \(digest) (allowlist line 3)\n")
        #expect(result.stderr.isEmpty, "\(result.stderr)")
    }

    @Test("allowlist check approves through any-digest with exit 0 and one warning line")
    func checkApprovedByAnyDigest() throws {
        let sandbox = try CLISandbox()
        let digest = try Digest.sha256(ofFileAt: Self.exampleC)
        try sandbox.writeAllowlist(.lines(["web any-digest"]), digest: nil)
        let result = try sandbox.cchost("allowlist", "check", "web", Self.exampleC)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("approved: web \(digest)"), "\(result.stdout)")
        let line = try #require(result.stderrLines.only, "stderr is not one line: \(result.stderr)")
        #expect(line.hasPrefix("cchost: warning: \(sandbox.allowlist):1: approves any overlay binary"), "\(line)")
        #expect(line.contains("web \(digest)"), "the warning suggests the pinned line: \(line)")
    }

    struct Denial: Sendable, CustomTestStringConvertible {
        var label: String
        var allowlist: AllowlistFile
        var reason: String
        var testDescription: String { label }
    }

    @Test("allowlist check denies with exit 1 and says why and what line would approve it", arguments: [
        Denial(label: "no allowlist file", allowlist: .missing, reason: "does not exist"),
        Denial(label: "only comments", allowlist: .lines(["# nothing yet", ""]), reason: "has no approvals"),
        Denial(label: "another recipe approved", allowlist: .lines(["other sha256:DIGEST"]), reason: "no line in"),
        Denial(label: "another binary approved", allowlist: .lines(["web sha256:\(String(repeating: "0", count: 64))"]),
               reason: "is a different or changed binary"),
    ])
    func checkDenied(_ denial: Denial) throws {
        let sandbox = try CLISandbox()
        let digest = try Digest.sha256(ofFileAt: Self.exampleC)
        try sandbox.writeAllowlist(denial.allowlist, digest: digest)
        let result = try sandbox.cchost("allowlist", "check", "web", Self.exampleC)
        #expect(result.status == 1)
        #expect(result.stdout.hasPrefix("denied: "), "\(result.stdout)")
        #expect(result.stdout.contains(denial.reason), "\(result.stdout)")
        #expect(result.stdout.contains("web \(digest)"), "the reason suggests the approving line: \(result.stdout)")
    }

    struct Malformed: Sendable, CustomTestStringConvertible {
        var lines: [String]
        var line: Int
        var testDescription: String { lines.joined(separator: " / ") }
    }

    @Test("allowlist check with a malformed allowlist exits 2 with one stderr line naming the file and line",
          arguments: [
              Malformed(lines: ["web"], line: 1),
              Malformed(lines: ["web any-digest extra"], line: 1),
              // A valid approval for the recipe does not survive a bad line elsewhere: the file fails closed.
              Malformed(lines: ["web sha256:DIGEST", "# comment", "", "Web any-digest"], line: 4),
              Malformed(lines: ["web sha256:DIGEST", "other sha256:1234"], line: 2),
              Malformed(lines: ["web any-digest#oops"], line: 1),
          ])
    func checkMalformed(_ malformed: Malformed) throws {
        let sandbox = try CLISandbox()
        try sandbox.writeAllowlist(.lines(malformed.lines), digest: try Digest.sha256(ofFileAt: Self.exampleC))
        let result = try sandbox.cchost("allowlist", "check", "web", Self.exampleC)
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty, "\(result.stdout)")
        let line = try #require(result.stderrLines.only, "stderr is not one line: \(result.stderr)")
        #expect(line.hasPrefix("cchost: \(sandbox.allowlist):\(malformed.line): "), "\(line)")
    }

    // MARK: usage errors

    @Test("a usage error, a bad recipe name or a missing checkout exits 2 with one stderr line", arguments: [
        (["plugins", "bogus"], "Unexpected argument 'bogus'"),
        (["plugins", "list", "--checkout", "/tmp"], "--checkout and --recipe go together"),
        (["allowlist", "check", "web"], "Missing expected argument"),
        (["allowlist", "check", "Web", "/x.so"], "'Web' is not a recipe name"),
        (["plugins", "list", "--recipe", "web", "--checkout", "/no/such/checkout"], "/no/such/checkout does not exist"),
    ])
    func usageErrors(_ arguments: [String], mentions: String) throws {
        let sandbox = try CLISandbox()
        let result = try sandbox.cchost(arguments)
        #expect(result.status == 2, "\(result.stderr)")
        let line = try #require(result.stderrLines.only, "stderr is not one line: \(result.stderr)")
        #expect(line.hasPrefix("cchost: ") && line.contains(mentions), "\(line)")
    }

    // MARK: help

    @Test("--help works on every verb, exits 0 and prints its usage line", arguments: [
        (["--help"], "USAGE: cchost <subcommand>"),
        (["plugins", "--help"], "USAGE: cchost plugins <subcommand>"),
        (["plugins", "list", "--help"], "USAGE: cchost plugins list "),
        (["plugins", "inspect", "--help"], "USAGE: cchost plugins inspect "),
        (["allowlist", "--help"], "USAGE: cchost allowlist <subcommand>"),
        (["allowlist", "check", "--help"], "USAGE: cchost allowlist check "),
    ])
    func help(_ arguments: [String], usage: String) throws {
        let sandbox = try CLISandbox()
        let result = try sandbox.cchost(arguments)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.split(separator: "\n").contains { $0.hasPrefix(usage) }, "\(result.stdout)")
    }
}

// MARK: - Support

extension CLITests {
    /// A plugin library a test runs the CLI on.
    enum Library: Sendable, CustomTestStringConvertible {
        /// Built by the package, next to the test binary.
        case product(String)
        /// Compiled from `Tests/HostTests/Fixtures/<source>.c`.
        case fixture(String, defines: [String])

        func path() throws -> String {
            switch self {
            case .product(let name): TestPaths.product(name)
            case .fixture(let source, let defines): try Fixture.compile(source, defines: defines)
            }
        }

        var testDescription: String {
            switch self {
            case .product(let name): name
            case .fixture(let source, let defines): ([source] + defines).joined(separator: " ")
            }
        }
    }

    /// What the allowlist file holds; `DIGEST` in a line stands for the overlay's hex digest.
    enum AllowlistFile: Sendable {
        case missing
        case lines([String])
    }

    /// Fresh state, plugin and checkout folders and an allowlist path for running `cchost`.
    final class CLISandbox {
        let root: TemporaryDirectory
        let state: TemporaryDirectory
        let plugins: String
        let allowlist: String

        init() throws {
            root = try TemporaryDirectory("cchost-cli")
            state = try TemporaryDirectory("cchost-cli-state")
            plugins = root.file("plugins")
            allowlist = root.file("allowlist")
            try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
        }

        /// Runs `cchost` with only these variables: nothing from the machine's configuration applies.
        func cchost(_ arguments: [String], pluginPath: String? = nil) throws -> CommandResult {
            var environment = [
                "CCHOST_STATE_DIR": state.path,
                "CCHOST_ALLOWLIST": allowlist,
                "CCHOST_PLUGIN_PATH": pluginPath ?? plugins,
            ]
            environment["PATH"] = ProcessInfo.processInfo.environment["PATH"]
            return try run(TestPaths.cli, arguments, environment: environment)
        }

        func cchost(_ arguments: String...) throws -> CommandResult { try cchost(arguments) }

        /// Copies a library into the operator plugin folder.
        @discardableResult
        func install(_ library: String, as name: String) throws -> String {
            let destination = (plugins as NSString).appendingPathComponent(name)
            try FileManager.default.copyItem(atPath: library, toPath: destination)
            return destination
        }

        /// A recipe checkout holding a copy of `library` as its only repo-local overlay.
        func checkout(with library: String) throws -> (checkout: String, overlay: String) {
            let checkout = root.file("recipe")
            let folder = (checkout as NSString).appendingPathComponent(".cchost/plugins")
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let overlay = (folder as NSString).appendingPathComponent("liboverlay.so")
            try FileManager.default.copyItem(atPath: library, toPath: overlay)
            return (checkout, overlay)
        }

        func writeAllowlist(_ file: AllowlistFile, digest: Digest?) throws {
            guard case .lines(let lines) = file else { return }
            let text = lines.map { $0.replacingOccurrences(of: "DIGEST", with: digest?.hex ?? "DIGEST") + "\n" }.joined()
            try Data(text.utf8).write(to: URL(fileURLWithPath: allowlist))
        }
    }

    /// One row of `plugins list --json` or `plugins inspect --json`.
    struct RowJSON: Decodable, Equatable {
        struct Entry: Decodable, Equatable { var name: String }
        struct Problem: Decodable, Equatable { var field: String; var message: String }
        var path: String
        var origin: String
        var sha256: String?
        var state: String
        var name: String?
        var checks: [Entry]?
        var problem: String?
        var problems: [Problem]?
        var warning: String?
    }

    /// The whole of `plugins list --json`.
    struct Listing: Decodable {
        var plugins: [RowJSON]
        var workersStarted: Int
        var cache: String

        enum CodingKeys: String, CodingKey { case plugins, cache, workersStarted = "workers_started" }

        static func decode(_ stdout: String) throws -> Listing {
            try JSONDecoder().decode(Listing.self, from: Data(stdout.utf8))
        }
    }
}

extension CommandResult {
    /// Stderr split into lines, without the empty string after the final newline.
    fileprivate var stderrLines: [String] {
        var lines = stderr.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }
}

extension Array {
    /// The element when there is exactly one.
    fileprivate var only: Element? { count == 1 ? first : nil }
}
