import Foundation
@testable import HostBase
import Testing

/// A hostile recipe's releases: a tag over git's limits, and a `release` folder that is a link.
@Suite("A recipe's releases: hostile tags and release notes")
struct RecipeReleasesTests {
    /// A tag name of 306 bytes, sorted before every other tag: a valid release but for its length.
    static let longTag = "1.0.0+" + String(repeating: "0", count: 299) + "1"

    /// Adds `name` as a lightweight tag of HEAD the only way git holds a name over 255 bytes: a line of
    /// `packed-refs` (a loose ref is a file, and no file name is that long). The header promises no
    /// order, so git reads the file through.
    static func packTag(_ name: String, in fixture: GitFixture) throws {
        try fixture.git("pack-refs", "--all")
        let head = try fixture.git("rev-parse", "HEAD")
        let file = fixture.folder.url.appendingPathComponent(".git/packed-refs")
        let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n").dropFirst()
        let packed = ["# pack-refs with: peeled fully-peeled "] + lines + ["\(head) refs/tags/\(name)"]
        try Data((packed.joined(separator: "\n") + "\n").utf8).write(to: file)
    }

    @Test("a tag over 255 bytes is not a release version, saying so with its length; one of 255 is")
    func longTagParse() throws {
        let longest = "1.0.0+" + String(repeating: "1", count: RecipeVersion.longestTag - 6)
        #expect(try RecipeVersion(parsing: longest).upstream?.count == 249)
        let error = try #require(throws: VersionParseError.self) { try RecipeVersion(parsing: longest + "1") }
        #expect(error.reason.hasPrefix("it is 256 bytes long; a release tag has at most 255"), "\(error.reason)")
        let long = try #require(throws: VersionParseError.self) { try RecipeVersion(parsing: Self.longTag) }
        #expect(long.description.hasPrefix("tag \(Self.longTag.prefix(40))… (306 characters) is not a release version: it is 306 bytes long"),
                "\(long.description)")
    }

    @Test("a tag over git's limits is listed as not a release on its own; every other tag still lists, and lint warns (R024)")
    func longTagListing() throws {
        let fixture = try LintFixture()
        try fixture.git.annotatedTag("1.0.1+1.25.3")
        try Self.packTag(Self.longTag, in: fixture.git)

        let tags = try GitRepository.open(fixture.path).tags()
        #expect(tags.map(\.name) == [Self.longTag, "1.0.0+1.25.3", "1.0.1+1.25.3"])
        let listing = try ReleaseListing(source: fixture.path, repository: try GitRepository.open(fixture.path))
        #expect(listing.releases.map(\.tag) == ["1.0.0+1.25.3", "1.0.1+1.25.3"])
        #expect(listing.latest == "1.0.1+1.25.3")
        #expect(listing.unparseable.map(\.tag) == [Self.longTag])

        let versions = try run(TestPaths.cli, ["recipe", "versions", fixture.path])
        #expect(versions.status == 0, "\(versions.stderr)")
        #expect(versions.stdout.contains("latest: 1.0.1+1.25.3"), "\(versions.stdout)")
        #expect(versions.stdout.contains("not a release: \(Self.longTag.prefix(40))… (306 characters): it is 306 bytes long"),
                "\(versions.stdout)")

        let lint = try run(TestPaths.cli, ["recipe", "lint", fixture.path])
        #expect(lint.status == 0, "\(lint.stdout)\(lint.stderr)")
        #expect(lint.stdout.contains("warning R024  tag \(Self.longTag.prefix(40))… (306 characters) is not a release version"),
                "\(lint.stdout)")
        #expect(!lint.stdout.contains("R012"), "the releases are still seen: \(lint.stdout)")
    }

    @Test("an upstream with a tag over git's limits, served by git daemon on loopback, is mirrored and fetched with every other tag")
    func longTagUpstream() throws {
        let fixture = try LintFixture()
        try fixture.git.annotatedTag("1.0.1+1.25.3")
        try Self.packTag(Self.longTag, in: fixture.git)
        // git's own server reads packed-refs and advertises the long tag, as a forge would.
        let served = URL(fileURLWithPath: fixture.path)
        let port = 20_000 + Int.random(in: 0..<20_000)
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: "/usr/lib/git-core/git-daemon")
        daemon.arguments = ["--reuseaddr", "--export-all", "--listen=127.0.0.1", "--port=\(port)",
                            "--base-path=\(served.deletingLastPathComponent().path)", served.path]
        daemon.standardOutput = FileHandle.nullDevice
        daemon.standardError = FileHandle.nullDevice
        try daemon.run()
        defer { kill(daemon.processIdentifier, SIGKILL); daemon.waitUntilExit() }
        let url = "git://127.0.0.1:\(port)/\(served.lastPathComponent)"
        let scratch = try TemporaryDirectory("mirror")
        var mirror: GitRepository?
        for attempt in 0..<50 where mirror == nil {
            // The daemon listens a moment after it starts.
            mirror = try? GitRepository.clone(url, to: scratch.url.appendingPathComponent("m\(attempt).git").path, bare: true)
            if mirror == nil { Thread.sleep(forTimeInterval: 0.1) }
        }
        let repository = try #require(mirror, "the mirror of \(url) could not be cloned")
        #expect(try repository.tags().map(\.name) == ["1.0.0+1.25.3", "1.0.1+1.25.3"])
        #expect(try repository.resolve("HEAD") == (try fixture.git.git("rev-parse", "HEAD")))
        // A later fetch brings a new tag and prunes one the upstream deleted; the long tag is still left out.
        try fixture.git.annotatedTag("1.0.2+1.25.3")
        _ = try fixture.git.git("tag", "-d", "1.0.0+1.25.3")
        try repository.fetch(from: url)
        #expect(try repository.tags().map(\.name) == ["1.0.1+1.25.3", "1.0.2+1.25.3"])
        #expect(try ReleaseListing(source: url, repository: repository).latest == "1.0.2+1.25.3")
    }

    // MARK: release/ as a link: lint and a run read it with one function

    /// What a run makes of the recipe (`Recipe.load`, as its plan and deploys read it) beside what lint
    /// finds on the same checkout.
    static func bothReaders(_ fixture: LintFixture) throws -> (run: Result<[String: String], RecipeError>, lint: [LintFinding]) {
        let run = Result { () throws(RecipeError) in try Recipe.load(directory: fixture.path).releaseNotes }
        let lint = try fixture.lint().findings.filter { ["R012", "R019"].contains($0.code) }
        return (run, lint)
    }

    @Test("a release folder that links out of the checkout: a run and lint both refuse it, naming release")
    func releaseLinkOut() throws {
        let fixture = try LintFixture()
        let outside = try TemporaryDirectory("outside-notes")
        try Data("the host's notes\n".utf8).write(to: outside.url.appendingPathComponent("1.0.0+1.25.3"))
        try FileManager.default.createSymbolicLink(atPath: fixture.path + "/release", withDestinationPath: outside.path)

        let (run, lint) = try Self.bothReaders(fixture)
        guard case .failure(.outsideCheckout(let file, let reason)) = run else {
            Issue.record("a run read a release folder outside the checkout: \(run)")
            return
        }
        #expect(file == fixture.path + "/release" && reason.contains("symbolic link"), "\(file) \(reason)")
        #expect(lint.map(\.code) == ["R019"] && lint.first?.severity == .error, "\(lint)")
        #expect(lint.first?.file == "release" && lint.first?.message == "\(RecipeError.outsideCheckout(file: file, reason: reason))")
    }

    @Test("a release note that links out of the checkout: a run and lint both refuse it")
    func releaseNoteLinkOut() throws {
        let fixture = try LintFixture()
        let outside = try TemporaryDirectory("outside-note")
        try Data("the host's secret\n".utf8).write(to: outside.url.appendingPathComponent("secret"))
        try FileManager.default.createDirectory(atPath: fixture.path + "/release", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: fixture.path + "/release/1.0.0+1.25.3", withDestinationPath: outside.path + "/secret")

        let (run, lint) = try Self.bothReaders(fixture)
        guard case .failure(.outsideCheckout(let file, _)) = run else {
            Issue.record("a run read a release note outside the checkout: \(run)")
            return
        }
        #expect(file == fixture.path + "/release/1.0.0+1.25.3")
        #expect(lint.map(\.code) == ["R019"] && lint.first?.file == "release/1.0.0+1.25.3", "\(lint)")
    }

    @Test("a release folder that links inside the checkout: a run and lint both read it")
    func releaseLinkInside() throws {
        let fixture = try LintFixture()
        try FileManager.default.createDirectory(atPath: fixture.path + "/docs/release", withIntermediateDirectories: true)
        try Data("NEW_VARIABLE is new\n".utf8).write(to: URL(fileURLWithPath: fixture.path + "/docs/release/1.0.0+1.25.3"))
        try FileManager.default.createSymbolicLink(atPath: fixture.path + "/release", withDestinationPath: "docs/release")

        let (run, lint) = try Self.bothReaders(fixture)
        #expect(try run.get() == ["1.0.0+1.25.3": "NEW_VARIABLE is new\n"])
        #expect(lint.isEmpty, "\(lint)")
    }

    @Test("a release note that cannot be read fails a run's plan and is a lint error (R012)")
    func releaseNoteUnreadable() throws {
        let fixture = try LintFixture()
        try FileManager.default.createDirectory(atPath: fixture.path + "/release", withIntermediateDirectories: true)
        try Data([0xFF, 0xFE, 0x00, 0x80]).write(to: URL(fileURLWithPath: fixture.path + "/release/1.0.0+1.25.3"))

        let (run, lint) = try Self.bothReaders(fixture)
        guard case .failure(.unreadable(let file, _)) = run else {
            Issue.record("a run read a release note that is not text: \(run)")
            return
        }
        #expect(file == fixture.path + "/release/1.0.0+1.25.3")
        #expect(lint.map(\.code) == ["R012"] && lint.first?.severity == .error, "\(lint)")
    }
}
