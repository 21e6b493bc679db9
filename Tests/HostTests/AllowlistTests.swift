import Foundation
@testable import HostBase
import Testing


private let source = "/etc/cchost/allowlist"
private let hexA = String(repeating: "a1", count: 32)
private let hexB = String(repeating: "b2", count: 32)
private let hexC = String(repeating: "c3", count: 32)

private func digest(_ hex: String) throws -> Digest {
    try #require(Digest(hex: hex))
}

/// Creates a uniquely named directory, runs `body` with it and removes it.
private func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("cchost-allowlist-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try body(directory)
}

@Suite("Allowlist")
struct AllowlistTests {
    @Test("A missing allowlist file denies every overlay and says which file is missing")
    func missingFileDenies() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("allowlist").path
            let allowlist = try Allowlist.load(from: path)
            #expect(!allowlist.fileExists)
            #expect(allowlist.entries.isEmpty)
            let decision = allowlist.decide(recipe: "gitea", digest: try digest(hexA))
            guard case let .denied(reason) = decision else {
                Issue.record("expected a denial, got \(decision)")
                return
            }
            #expect(reason.contains("allowlist \(path) does not exist: every repo-local overlay is denied"))
            #expect(reason.contains("gitea sha256:\(hexA)"))
        }
    }

    @Test("An empty or comment-only allowlist denies every overlay", arguments: [
        "",
        "\n\n",
        "# nothing approved yet\n\n   # an indented comment\n\t\n",
    ])
    func emptyFileDenies(text: String) throws {
        let allowlist = try Allowlist(parsing: text, source: source)
        #expect(allowlist.fileExists)
        #expect(allowlist.entries.isEmpty)
        let decision = allowlist.decide(recipe: "gitea", digest: try digest(hexA))
        guard case let .denied(reason) = decision else {
            Issue.record("expected a denial, got \(decision)")
            return
        }
        #expect(reason.contains("allowlist \(source) has no approvals"))
        #expect(reason.contains("add: gitea sha256:\(hexA)"))
    }

    @Test("A pinned digest approves its recipe, citing the line that approved it")
    func pinnedDigestApproves() throws {
        let text = """
            # approvals
            nextcloud sha256:\(hexB)

            gitea sha256:\(hexA)
            """
        let allowlist = try Allowlist(parsing: text, source: source)
        #expect(allowlist.entries == [
            .init(recipe: "nextcloud", digest: try digest(hexB), line: 2),
            .init(recipe: "gitea", digest: try digest(hexA), line: 4),
        ])
        #expect(allowlist.decide(recipe: "gitea", digest: try digest(hexA)) == .approved(line: 4, warning: nil))
    }

    @Test("A pinned digest does not approve another recipe with the same binary")
    func pinnedDigestIsPerRecipe() throws {
        let allowlist = try Allowlist(parsing: "gitea sha256:\(hexA)\n", source: source)
        let decision = allowlist.decide(recipe: "nextcloud", digest: try digest(hexA))
        guard case let .denied(reason) = decision else {
            Issue.record("expected a denial, got \(decision)")
            return
        }
        #expect(reason.contains("no line in \(source) approves recipe 'nextcloud'"))
        #expect(reason.hasSuffix("add: nextcloud sha256:\(hexA)"))
    }

    @Test("A different binary for an approved recipe is denied, naming the approved digests")
    func changedBinaryDenied() throws {
        let text = "# gitea\ngitea sha256:\(hexA)\ngitea sha256:\(hexB)\n"
        let allowlist = try Allowlist(parsing: text, source: source)
        let decision = allowlist.decide(recipe: "gitea", digest: try digest(hexC))
        guard case let .denied(reason) = decision else {
            Issue.record("expected a denial, got \(decision)")
            return
        }
        #expect(reason.contains("is a different or changed binary"))
        #expect(reason.contains("sha256:\(hexA.prefix(12))… (line 2)"))
        #expect(reason.contains("sha256:\(hexB.prefix(12))… (line 3)"))
        #expect(reason.hasSuffix("add: gitea sha256:\(hexC)"))
    }

    @Test("Uppercase hex digits are normalised to lowercase")
    func uppercaseHexNormalised() throws {
        let allowlist = try Allowlist(parsing: "gitea sha256:\(hexA.uppercased())\n", source: source)
        #expect(allowlist.entries.first?.digest?.hex == hexA)
        #expect(allowlist.decide(recipe: "gitea", digest: try digest(hexA)) == .approved(line: 1, warning: nil))
    }

    @Test("any-digest approves any binary for its recipe, with a warning on every use")
    func anyDigestApprovesWithWarning() throws {
        let allowlist = try Allowlist(parsing: "# loose\n\ngitea any-digest\n", source: source)
        #expect(allowlist.entries == [.init(recipe: "gitea", digest: nil, line: 3)])
        let decision = allowlist.decide(recipe: "gitea", digest: try digest(hexC))
        guard case let .approved(line, warning) = decision else {
            Issue.record("expected an approval, got \(decision)")
            return
        }
        #expect(line == 3)
        let text = try #require(warning)
        #expect(text.contains("\(source):3: approves any overlay binary for recipe 'gitea'"))
        #expect(text.contains("pinning a sha256 is safer: gitea sha256:\(hexC)"))
        #expect(!allowlist.decide(recipe: "nextcloud", digest: try digest(hexC)).isApproved)
    }

    @Test("A pinned digest wins over any-digest for the same recipe, without a warning")
    func pinnedWinsOverAnyDigest() throws {
        let allowlist = try Allowlist(parsing: "gitea any-digest\ngitea sha256:\(hexA)\n", source: source)
        #expect(allowlist.decide(recipe: "gitea", digest: try digest(hexA)) == .approved(line: 2, warning: nil))
        guard case .approved(line: 1, warning: .some) = allowlist.decide(recipe: "gitea", digest: try digest(hexB)) else {
            Issue.record("another binary should be approved by the any-digest line, with a warning")
            return
        }
    }

    @Test("A trailing comment after an entry is allowed", arguments: [
        "gitea sha256:\(hexA) # approved after review",
        "gitea sha256:\(hexA)\t#tab then comment",
        "  gitea   sha256:\(hexA)  ",
    ])
    func trailingComment(line: String) throws {
        let allowlist = try Allowlist(parsing: "# header\n\(line)\n", source: source)
        #expect(allowlist.entries == [.init(recipe: "gitea", digest: try digest(hexA), line: 2)])
    }

    @Test("A malformed line rejects the whole file, naming its line and the problem", arguments: [
        ("gitea", "'gitea' has no digest"),
        ("gitea sha256:\(hexA) extra", "has 3 fields"),
        ("Gitea sha256:\(hexA)", "'Gitea' is not a recipe name"),
        ("-gitea sha256:\(hexA)", "'-gitea' is not a recipe name"),
        ("git/ea sha256:\(hexA)", "'git/ea' is not a recipe name"),
        ("gitea sha256:abc", "'sha256:abc' is not a sha256 digest (expected sha256: followed by 64 hex digits)"),
        ("gitea sha256:\(hexA.dropLast())", "is not a sha256 digest"),
        ("gitea sha256:\(hexA)0", "is not a sha256 digest"),
        ("gitea sha256:\(hexA.dropLast())g", "is not a sha256 digest"),
        ("gitea sha256:", "is not a sha256 digest"),
        ("gitea md5:\(String(repeating: "a", count: 32))", "is neither a sha256 digest nor any-digest"),
        ("gitea \(hexA)", "is neither a sha256 digest nor any-digest"),
        ("gitea ANY-DIGEST", "is neither a sha256 digest nor any-digest"),
        ("gitea any-digest#unreviewed", "is neither a sha256 digest nor any-digest"),
    ])
    func malformedLine(line: String, problem: String) throws {
        // The bad line is line 5: after a comment, a blank line and two good entries.
        let text = "# approvals\n\nnextcloud sha256:\(hexB)\nmatrix any-digest\n\(line)\nkeycloak sha256:\(hexC)\n"
        let error = try #require(throws: AllowlistError.self) {
            try Allowlist(parsing: text, source: source)
        }
        guard case let .malformed(file, lineNumber, reason) = error else {
            Issue.record("expected a malformed-line error, got \(error)")
            return
        }
        #expect(file == source)
        #expect(lineNumber == 5)
        #expect(reason.contains(problem))
        #expect(error.description.hasPrefix("\(source):5: "))
    }

    @Test("A malformed digest reads as file:line: problem")
    func malformedDescription() throws {
        let error = try #require(throws: AllowlistError.self) {
            try Allowlist(parsing: "# header\n\ngitea sha256:abc\n", source: source)
        }
        #expect(error.description
            == "/etc/cchost/allowlist:3: 'sha256:abc' is not a sha256 digest (expected sha256: followed by 64 hex digits)")
    }

    @Test("CRLF line endings are counted like LF")
    func crlfLineNumbers() throws {
        let error = try #require(throws: AllowlistError.self) {
            try Allowlist(parsing: "# header\r\ngitea sha256:\(hexA)\r\nbroken\r\n", source: source)
        }
        #expect(error == .malformed(file: source, line: 3,
                                    reason: "'broken' has no digest (expected RECIPE sha256:<64 hex digits> or RECIPE any-digest)"))
    }

    @Test("A directory in place of the allowlist file is unreadable, not an empty allowlist")
    func directoryIsUnreadable() throws {
        try withTemporaryDirectory { directory in
            let error = try #require(throws: AllowlistError.self) {
                try Allowlist.load(from: directory.path)
            }
            guard case let .unreadable(file, _) = error else {
                Issue.record("expected an unreadable-file error, got \(error)")
                return
            }
            #expect(file == directory.path)
            #expect(error.description.contains(directory.path))
        }
    }

    @Test("An allowlist on disk approves the overlay binary on disk by its digest")
    func fileOnDisk() throws {
        try withTemporaryDirectory { directory in
            let overlay = directory.appendingPathComponent("libcchost-gitea.so")
            try Data("not really an ELF file".utf8).write(to: overlay)
            let overlayDigest = try Digest.sha256(ofFileAt: overlay.path)
            let path = directory.appendingPathComponent("allowlist").path
            try Data("# reviewed\ngitea \(overlayDigest)  # v1\n".utf8).write(to: URL(fileURLWithPath: path))

            let allowlist = try Allowlist.load(from: path)
            #expect(allowlist.fileExists)
            #expect(allowlist.source == path)
            #expect(allowlist.decide(recipe: "gitea", digest: overlayDigest) == .approved(line: 2, warning: nil))

            try Data("swapped by a pull request".utf8).write(to: overlay)
            let swapped = try Digest.sha256(ofFileAt: overlay.path)
            #expect(!allowlist.decide(recipe: "gitea", digest: swapped).isApproved)
        }
    }

    @Test("CCHOST_ALLOWLIST chooses which allowlist file is used")
    func environmentChoosesAllowlist() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("allowlist").path
            try Data("gitea sha256:\(hexA)\n".utf8).write(to: URL(fileURLWithPath: path))
            let configuration = try Configuration.load(
                environment: ["CCHOST_ALLOWLIST": path, "HOME": directory.path],
                defaultFilePath: directory.appendingPathComponent("no-config.yml").path)
            #expect(configuration.allowlistPath == path)
            let allowlist = try Allowlist.load(from: configuration.allowlistPath)
            #expect(allowlist.decide(recipe: "gitea", digest: try digest(hexA)).isApproved)
        }
    }
}

@Suite("Allowlist digests")
struct AllowlistDigestTests {
    @Test("The digest of a file equals the digest of its bytes and what sha256sum prints")
    func fileDigestMatchesSha256sum() throws {
        try withTemporaryDirectory { directory in
            // Larger than one read chunk and not a multiple of it.
            var generator = SystemRandomNumberGenerator()
            let bytes = (0..<(3 << 20) + 12_345).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            let file = directory.appendingPathComponent("overlay.so")
            try Data(bytes).write(to: file)

            let fromFile = try Digest.sha256(ofFileAt: file.path)
            #expect(fromFile == Digest.sha256(of: bytes))

            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
            process.arguments = [file.path]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            let printed = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            let hex = String(decoding: printed, as: UTF8.self).split(separator: " ").first.map(String.init)
            #expect(hex == fromFile.hex)
        }
    }

    @Test("The digest of known bytes matches the published SHA-256 test vector")
    func knownVector() {
        let digest = Digest.sha256(of: Array("abc".utf8))
        #expect(digest.description == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test("A digest is 64 hex digits, normalised to lowercase", arguments: [
        (hexA, hexA),
        (hexA.uppercased(), hexA),
        (String(hexA.dropLast()), nil),
        (hexA + "0", nil),
        ("sha256:" + hexA, nil),
        (String(hexA.dropLast()) + "z", nil),
        ("", nil),
    ] as [(String, String?)])
    func hexParsing(input: String, expected: String?) {
        #expect(Digest(hex: input)?.hex == expected)
    }

    @Test("Hashing a file that cannot be read names the file", arguments: [false, true])
    func unreadableFile(isDirectory: Bool) throws {
        try withTemporaryDirectory { directory in
            let path = isDirectory ? directory.path : directory.appendingPathComponent("missing.so").path
            let error = try #require(throws: DigestError.self) {
                try Digest.sha256(ofFileAt: path)
            }
            #expect(error.description.contains(path))
            if isDirectory { #expect(error.description.contains("directory")) }
        }
    }
}
