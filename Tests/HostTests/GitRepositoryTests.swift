import Foundation
import HostBase
import Testing

/// A real git repository built with the git command line, as a recipe maintainer would make one.
final class GitFixture {
    let folder: TemporaryDirectory
    var path: String { folder.path }

    init(_ label: String = "recipe") throws {
        folder = try TemporaryDirectory(label)
        try git("init", "-q", "-b", "main")
    }

    @discardableResult
    func git(_ arguments: String...) throws -> String {
        let result = try run("/usr/bin/git", ["-C", path, "-c", "user.name=Maintainer", "-c", "user.email=m@example.org",
                                              "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"] + arguments)
        guard result.status == 0 else {
            throw GitFixtureError(description: "git \(arguments.joined(separator: " ")): \(result.stderr)")
        }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Writes a file and commits it; returns the commit id.
    @discardableResult
    func commit(_ content: String, file: String = "compose.yml", message: String = "change") throws -> String {
        let url = folder.url.appendingPathComponent(file)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(content.utf8).write(to: url)
        try git("add", file)
        try git("commit", "-q", "-m", message)
        return try git("rev-parse", "HEAD")
    }

    func annotatedTag(_ name: String) throws { try git("tag", "-a", name, "-m", "release \(name)") }
    func lightweightTag(_ name: String) throws { try git("tag", name) }
}

struct GitFixtureError: Error, CustomStringConvertible { var description: String }

@Suite("Git through libgit2")
struct GitRepositoryTests {
    @Test("tags are peeled to their commits, annotated and lightweight told apart")
    func tagsArePeeled() throws {
        let fixture = try GitFixture()
        let first = try fixture.commit("version: 1")
        try fixture.annotatedTag("1.0.0+1.0")
        let second = try fixture.commit("version: 2")
        try fixture.lightweightTag("1.1.0+1.1")
        let repository = try GitRepository.open(fixture.path)
        let tags = try repository.tags()
        #expect(tags == [GitTag(name: "1.0.0+1.0", commit: first, annotated: true),
                         GitTag(name: "1.1.0+1.1", commit: second, annotated: false)])
        // The annotated tag's commit is its target, not the tag object git stores for it.
        #expect(try fixture.git("rev-parse", "1.0.0+1.0") != first)
    }

    @Test("any ref resolves to its commit: branch, tag, short sha, HEAD, merge commit")
    func resolvesReferences() throws {
        let fixture = try GitFixture()
        let base = try fixture.commit("base")
        try fixture.git("checkout", "-q", "-b", "feature")
        let feature = try fixture.commit("feature", file: "feature.txt")
        try fixture.git("checkout", "-q", "main")
        try fixture.commit("main", file: "main.txt")
        try fixture.git("merge", "-q", "--no-ff", "feature", "-m", "merge feature")
        let merge = try fixture.git("rev-parse", "HEAD")
        try fixture.annotatedTag("2.0.0+2.0")
        let repository = try GitRepository.open(fixture.path)
        #expect(try repository.resolve("feature") == feature)
        #expect(try repository.resolve("main") == merge)
        #expect(try repository.resolve("2.0.0+2.0") == merge)
        #expect(try repository.resolve(String(base.prefix(8))) == base)
        #expect(try repository.resolve("HEAD~1") != merge)
        #expect(try repository.branches() == ["main": merge, "feature": feature])
    }

    @Test("a ref that does not exist is an error naming the ref and the repository")
    func missingReference() throws {
        let fixture = try GitFixture()
        try fixture.commit("x")
        let repository = try GitRepository.open(fixture.path)
        let error = try #require(throws: GitError.self) { try repository.resolve("9.9.9+nothing") }
        #expect(error.isNotFound)
        #expect(error.description.contains("\"9.9.9+nothing\"") && error.description.contains(fixture.path), "\(error)")
    }

    @Test("a folder that is not a git repository is an error with libgit2's message")
    func notARepository() throws {
        let folder = try TemporaryDirectory("plain")
        let error = try #require(throws: GitError.self) { try GitRepository.open(folder.path) }
        #expect(error.description.hasPrefix("git open in \(folder.path): "), "\(error)")
        #expect(error.message.contains("could not find repository"), "\(error.message)")
    }

    @Test("a bare mirror clones every tag, and fetch brings new commits and tags and prunes deleted ones",
          arguments: [false, true])
    func mirrorAndFetch(fileURL: Bool) throws {
        let upstream = try GitFixture("upstream")
        try upstream.commit("one")
        try upstream.annotatedTag("1.0.0+1")
        try upstream.lightweightTag("old")
        let mirrorFolder = try TemporaryDirectory("mirror")
        let source = fileURL ? "file://\(upstream.path)" : upstream.path
        let mirror = try GitRepository.clone(source, to: mirrorFolder.file("m.git"), bare: true)
        #expect(try mirror.tags().map(\.name) == ["1.0.0+1", "old"])

        let two = try upstream.commit("two")
        try upstream.annotatedTag("1.1.0+2")
        try upstream.git("tag", "-d", "old")
        try mirror.fetch()
        #expect(try mirror.tags().map(\.name) == ["1.0.0+1", "1.1.0+2"])
        #expect(try mirror.resolve("main") == two)
        #expect(try mirror.tags().first { $0.name == "1.1.0+2" }?.annotated == true)
    }

    @Test("parallel runs of one recipe check out different tags into their own trees without racing")
    func parallelCheckouts() async throws {
        let fixture = try GitFixture()
        var expected: [String: String] = [:]
        for index in 1...6 {
            let commit = try fixture.commit("release: \(index)\n")
            try fixture.annotatedTag("\(index).0.0+\(index)")
            expected["\(index).0.0+\(index)"] = commit
        }
        let runs = try TemporaryDirectory("runs")
        let origin = fixture.path
        // Each task opens the repository itself: handles are not shared across tasks.
        let checkouts = try await withThrowingTaskGroup(of: (String, Checkout, String).self) { group in
            for round in 0..<2 {
                for tag in expected.keys {
                    let directory = runs.file("\(tag)-\(round)")
                    group.addTask {
                        let checkout = try GitRepository.open(origin).checkout(tag, into: directory)
                        let content = try String(contentsOfFile: "\(directory)/compose.yml", encoding: .utf8)
                        return (tag, checkout, content)
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(checkouts.count == 12)
        for (tag, checkout, content) in checkouts {
            #expect(checkout.commit == expected[tag])
            #expect(checkout.ref == tag)
            #expect(content == "release: \(tag.prefix(1))\n")
            #expect(try GitRepository.open(checkout.directory).head() == expected[tag])
        }
        // The origin was not touched: still on main at the last commit.
        #expect(try fixture.git("status", "--porcelain").isEmpty)
    }

    @Test("a checkout of a ref that does not exist fails before creating anything")
    func checkoutMissingRef() throws {
        let fixture = try GitFixture()
        try fixture.commit("x")
        let runs = try TemporaryDirectory("runs")
        #expect(throws: GitError.self) { try GitRepository.open(fixture.path).checkout("nope", into: runs.file("t")) }
        #expect(!FileManager.default.fileExists(atPath: runs.file("t")))
    }

    @Test("branches and tags push to a bare mirror")
    func pushToBareMirror() throws {
        let fixture = try GitFixture()
        let head = try fixture.commit("x")
        try fixture.annotatedTag("1.0.0+1")
        let mirrorFolder = try TemporaryDirectory("mirror")
        let bare = try GitRepository.create(at: mirrorFolder.file("m.git"), bare: true)
        try GitRepository.open(fixture.path).push(to: bare.path, refspecs: ["+refs/heads/main:refs/heads/main",
                                                                             "refs/tags/1.0.0+1:refs/tags/1.0.0+1"])
        let pushed = try GitRepository.open(bare.path)
        #expect(try pushed.resolve("main") == head)
        #expect(try pushed.tags() == [GitTag(name: "1.0.0+1", commit: head, annotated: true)])
    }

    @Test("a push to a remote that does not exist is an error naming it")
    func pushToMissingRemote() throws {
        let fixture = try GitFixture()
        try fixture.commit("x")
        let error = try #require(throws: GitError.self) {
            try GitRepository.open(fixture.path).push(to: "/nonexistent/mirror.git", refspecs: ["refs/heads/main:refs/heads/main"])
        }
        #expect(error.description.contains("/nonexistent/mirror.git"), "\(error)")
    }
}
