import Foundation
@testable import HostBase
@testable import HostDocker
import Testing

@Suite("Redaction")
struct RedactorTests {
    @Test("every occurrence of each secret of 8 characters or more is replaced; shorter values never are", arguments: [
        ("password=hunter22 and hunter22", ["hunter22"], "password=[redacted] and [redacted]"),
        ("token hunter2 and hunter22", ["hunter2", "hunter22"], "token hunter2 and [redacted]"),
        ("nothing here", ["", "abcd", "abcdefgh"], "nothing here"),
        ("key s3cr3t-v4lue-long", ["s3cr3t-v4lue", "s3cr3t-v4lue-long"], "key [redacted]"),
        ("overlap abcdefghijkl", ["abcdefghij", "efghijkl"], "overlap [redacted]"),
        ("adjacent s3cr3t-v4lues3cr3t-v4lue.", ["s3cr3t-v4lue"], "adjacent [redacted]."),
        ("unicode 密码密码密码密码 end", ["密码密码密码密码"], "unicode [redacted] end"),
        ("dactylus inside", ["dactylus"], "[redacted] inside"),
    ])
    func redaction(text: String, secrets: [String], expected: String) {
        #expect(Redactor(secrets).redact(text) == expected)
        #expect(Redactor(secrets).redact(Array(text.utf8)) == Array(expected.utf8))
    }

    /// The stream's output, fed `text` cut at `cuts` (byte offsets).
    static func streamed(_ text: String, by redactor: Redactor, cuts: [Int]) -> [UInt8] {
        let bytes = Array(text.utf8)
        var stream = Redactor.Stream(redactor)
        var output: [UInt8] = []
        var start = 0
        for cut in cuts + [bytes.count] {
            output += stream.push(bytes[start..<cut])
            start = cut
        }
        return output + stream.finish()
    }

    static let streams: [(String, [String])] = [
        ("a log: s3cr3t-v4lue printed, then s3cr3t-v4lue again and the end", ["s3cr3t-v4lue"]),
        ("overlapping abcdefghijklmnop values, and abcdefghij alone", ["abcdefghij", "efghijklmnop"]),
        ("nested s3cr3t-v4lue-long and s3cr3t-v4lue short", ["s3cr3t-v4lue", "s3cr3t-v4lue-long"]),
        ("unicode 密码密码密码密码 split inside a scalar 密码密码密码密码!", ["密码密码密码密码"]),
        ("touching s3cr3t-v4lues3cr3t-v4lue.", ["s3cr3t-v4lue"]),
        ("short hunter2 stays hunter2", ["hunter2"]),
    ]

    @Test("a stream cut at any one offset gives exactly what redacting the whole gives", arguments: streams)
    func streamAtEveryOffset(text: String, secrets: [String]) {
        let redactor = Redactor(secrets)
        let whole = Array(redactor.redact(text).utf8)
        for cut in 0...text.utf8.count {
            #expect(Self.streamed(text, by: redactor, cuts: [cut]) == whole, "cut at \(cut)")
        }
    }

    @Test("a stream fed a byte at a time, or cut at every pair of offsets, gives the same", arguments: streams)
    func streamAtEveryPairOfOffsets(text: String, secrets: [String]) {
        let redactor = Redactor(secrets)
        let whole = Array(redactor.redact(text).utf8)
        let count = text.utf8.count
        #expect(Self.streamed(text, by: redactor, cuts: Array(0..<count)) == whole)
        for first in 0...count {
            for second in first...count {
                #expect(Self.streamed(text, by: redactor, cuts: [first, second]) == whole, "cuts at \(first), \(second)")
            }
        }
    }

    @Test("a stream holds back no more than the longest secret's length less one byte")
    func streamHoldsBackTheWindow() {
        var stream = Redactor.Stream(Redactor(["s3cr3t-v4lue"]))
        #expect(stream.push("0123456789abcdefghij".utf8) == Array("012345678".utf8))
        #expect(stream.finish() == Array("9abcdefghij".utf8))
        var plain = Redactor.Stream(Redactor([]))
        #expect(plain.push("anything".utf8) == Array("anything".utf8))
    }

    @Test("a flood of one secret's overlapping copies is redacted and never held whole")
    func streamFlood() {
        let redactor = Redactor(["aaaaaaaa"])
        var stream = Redactor.Stream(redactor)
        var output: [UInt8] = []
        for _ in 0..<100 {
            output += stream.push(Array(repeating: UInt8(ascii: "a"), count: 1000))
            #expect(stream.carry.count < 10_000)
        }
        output += stream.finish()
        #expect(!output.isEmpty && !String(decoding: output, as: UTF8.self).contains("aaaaaaaa"))
    }

    @Test("writing a log through the redactor leaves no secret in the file, whatever the chunk size", arguments: [1, 7, 64, 1 << 16])
    func writeThroughStream(chunkSize: Int) throws {
        let folder = try TemporaryDirectory("redactor")
        let file = folder.url.appendingPathComponent("log.txt")
        let text = String(repeating: "line with s3cr3t-v4lue in it\n", count: 50)
        try Redactor(["s3cr3t-v4lue"]).write(text, to: file, chunkSize: chunkSize)
        let written = try String(contentsOf: file, encoding: .utf8)
        #expect(written == String(repeating: "line with [redacted] in it\n", count: 50))
    }

    @Test("generated secrets are never shorter than what redaction catches", arguments: [1, 4, 7, 8, 32])
    func generatedSecretLength(length: Int) throws {
        #expect(try SwarmDeployer.randomSecret(length: length, name: "s", stack: "st").count == max(length, Redactor.minimumLength))
    }

    // MARK: Repository addresses

    @Test("a repository URL is shown without its user and password, and its credential is known for redaction", arguments: [
        ("https://user:tok3n-secret-value@host.example/org/recipe.git", "https://host.example/org/recipe.git",
         ["user:tok3n-secret-value", "tok3n-secret-value"]),
        ("https://tok3n-only-value@host.example/r", "https://host.example/r", ["tok3n-only-value"]),
        ("https://user:p%40ss%2Fword1@host.example:8443/r?x=a@b", "https://host.example:8443/r?x=a@b",
         ["user:p%40ss%2Fword1", "p%40ss%2Fword1", "user:p@ss/word1", "p@ss/word1"]),
        ("https://host.example/r@x", "https://host.example/r@x", []),
        ("git@host.example:org/recipe.git", "git@host.example:org/recipe.git", []),
        ("/srv/recipes/static-site", "/srv/recipes/static-site", []),
    ])
    func repositoryAddress(address: String, display: String, credentials: [String]) {
        #expect(RepositoryAddress.display(address) == display)
        #expect(RepositoryAddress.credentials(address) == credentials)
    }

    @Test("a git error names the repository without its credential, whatever libgit2 quoted")
    func gitErrorWithoutCredential() {
        let error = GitError(operation: "clone", repository: "https://user:tok3n-secret-value@host.example/r",
                             message: "failed to resolve https://user:tok3n-secret-value@host.example/r", code: -1)
        #expect(error.description == "git clone in https://host.example/r: failed to resolve https://[redacted]@host.example/r")
    }
}
