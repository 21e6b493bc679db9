import Foundation
@testable import HostBase
import Testing


private let source = "/r/.env.sample"

private func parse(_ text: String) throws -> EnvFile {
    try EnvFile(parsing: text, source: source)
}

/// The error `body` throws, as a `RecipeError`.
private func recipeError(_ body: () throws -> Void) -> RecipeError? {
    do {
        try body()
        return nil
    } catch {
        return error as? RecipeError
    }
}

/// Creates a uniquely named directory, runs `body` with it and removes it.
private func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("cchost-envfile-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try body(directory)
}

@Suite("EnvFile parsing")
struct EnvFileTests {
    @Test("Assignments are read with their lines; blank lines and comments are skipped")
    func assignmentsWithLines() throws {
        let env = try parse("""
            # wordpress
            TYPE=wordpress

            DOMAIN=wordpress.example.com
              # indented comment
            LETS_ENCRYPT_ENV=production
            """)
        #expect(env.entries == [
            EnvFile.Entry(key: "TYPE", value: "wordpress", line: 2),
            EnvFile.Entry(key: "DOMAIN", value: "wordpress.example.com", line: 4),
            EnvFile.Entry(key: "LETS_ENCRYPT_ENV", value: "production", line: 6),
        ])
        #expect(env.source == source)
    }

    @Test("Each value form is read as abra reads it", arguments: [
        ("FOO=bar", "bar"),
        ("FOO=bar baz", "bar baz"),
        ("FOO=   spaced out   ", "spaced out"),
        ("FOO=", ""),
        ("FOO = bar", "bar"),
        ("  FOO=indented", "indented"),
        ("FOO=a=b", "a=b"),
        ("export FOO=exported", "exported"),
        ("export\tFOO=tabbed", "tabbed"),
        ("FOO=bar # trailing comment", "bar"),
        ("FOO=bar\t# tab before the comment", "bar"),
        ("FOO=bar#not-a-comment", "bar#not-a-comment"),
        ("FOO= # only a comment", ""),
        ("FOO=$OTHER", "$OTHER"),
        (#"FOO="a \"quoted\" \\ value\nnext""#, "a \"quoted\" \\ value\nnext"),
        (#"FOO="unknown \t escape""#, #"unknown \t escape"#),
        (#"FOO="hash # inside quotes" # comment"#, "hash # inside quotes"),
        (#"FOO="  kept spaces  ""#, "  kept spaces  "),
        (#"FOO='single $HOME \n "literal"'"#, #"single $HOME \n "literal""#),
        (#"FOO='' # empty"#, ""),
        (#"FOO=  "after spaces""#, "after spaces"),
    ])
    func valueForms(line: String, expected: String) throws {
        let env = try parse(line)
        #expect(env["FOO"] == expected)
        #expect(env.entries.count == 1)
    }

    @Test("Windows line endings are not part of values and do not shift line numbers")
    func crlf() throws {
        let env = try parse("A=1\r\n\r\nB=\"two\"\r\n")
        #expect(env.entries == [EnvFile.Entry(key: "A", value: "1", line: 1), EnvFile.Entry(key: "B", value: "two", line: 3)])
    }

    @Test("Commented-out assignments are kept for lint but are not part of the environment")
    func commentedOut() throws {
        let env = try parse("""
            DOMAIN=example.com
            #EXTRA_DOMAINS=', `www.example.com`'
            # SMTP_ENABLED=1
            # Set this to the address people use
            # Note: X=1 is prose, not an assignment
            ## DOUBLE=hash
            #SECRET_SMTP_PASSWORD_VERSION=v1 # generate=false
            """)
        #expect(env.entries.filter(\.isCommentedOut) == [
            EnvFile.Entry(key: "EXTRA_DOMAINS", value: ", `www.example.com`", line: 2, isCommentedOut: true),
            EnvFile.Entry(key: "SMTP_ENABLED", value: "1", line: 3, isCommentedOut: true),
            EnvFile.Entry(
                key: "SECRET_SMTP_PASSWORD_VERSION", value: "v1", line: 7, modifiers: ["generate": "false"],
                isCommentedOut: true),
        ])
        #expect(env["EXTRA_DOMAINS"] == nil)
        #expect(env.values == ["DOMAIN": "example.com"])
        #expect(env.secrets.isEmpty)
    }

    @Test("A commented-out line that would not parse is just a comment")
    func brokenCommentIsProse() throws {
        let env = try parse("#FOO=\"never closed\n#BAR='x' trailing")
        #expect(env.entries.isEmpty)
    }

    @Test("The last active assignment of a key wins; commented-out ones never do")
    func lastWins() throws {
        let env = try parse("FOO=1\nFOO=2\n#FOO=3\nBAR=x")
        #expect(env["FOO"] == "2")
        #expect(env.values == ["FOO": "2", "BAR": "x"])
    }

    @Test("Trailing comments carry modifiers; words without '=' are prose", arguments: [
        ("S=v1 # length=32", ["length": "32"]),
        ("S=v1 # generate=false", ["generate": "false"]),
        ("S=v1 # length=12 generate=false charset=special", ["length": "12", "generate": "false", "charset": "special"]),
        ("S=v1 # the db password, length=64", ["length": "64"]),
        ("S=\"v1\" # length=8", ["length": "8"]),
        ("S=v1 #length=8", ["length": "8"]),
        ("S=v1", [:]),
        ("S=v1 # =nothing", [:]),
    ])
    func modifiers(line: String, expected: [String: String]) throws {
        #expect(try parse(line).entries.first?.modifiers == expected)
    }

    @Test("Malformed lines are errors naming the file, the line and the text", arguments: [
        ("A=1\nFOO BAR=1", 2, "FOO BAR=1"),
        ("1ABC=1", 1, "1ABC=1"),
        ("A=1\n\nJUST TEXT", 3, "JUST TEXT"),
        ("=value", 1, "=value"),
        ("FOO-BAR=1", 1, "FOO-BAR=1"),
        ("export =1", 1, "export =1"),
        ("  BAD KEY=1", 1, "  BAD KEY=1"),
    ])
    func malformedLines(text: String, line: Int, written: String) {
        let error = recipeError { _ = try parse(text) }
        #expect(error == .malformedEnvLine(file: source, line: line, text: written))
    }

    @Test("A malformed line's message is one sentence with file and line")
    func malformedMessage() {
        let error = recipeError { _ = try parse("A=1\nB=2\nC=3\nD=4\nE=5\nF=6\nFOO BAR=1") }
        #expect(error?.description == #"/r/.env.sample:7: line is not KEY=VALUE: "FOO BAR=1""#)
    }

    @Test("An unterminated quote is an error with the line", arguments: [
        (#"FOO="never closed"#, 1),
        ("A=1\nFOO='never closed", 2),
        (#"FOO="escaped close \""#, 1),
    ])
    func unterminatedQuote(text: String, line: Int) {
        let error = recipeError { _ = try parse(text) }
        #expect(error == .unterminatedQuote(file: source, line: line, key: "FOO"))
        #expect(error?.description.hasPrefix("\(source):\(line): ") == true)
    }

    @Test("Text after a closing quote other than a comment is an error with the line")
    func textAfterQuote() {
        let error = recipeError { _ = try parse("A=1\nFOO=\"bar\" baz") }
        #expect(error == .textAfterQuote(file: source, line: 2, key: "FOO"))
    }

    @Test("SECRET_<NAME>_VERSION entries are the secrets, with their modifiers")
    func secrets() throws {
        let env = try parse("""
            DOMAIN=example.com
            SECRET_DB_ROOT_PASSWORD_VERSION=v1
            SECRET_DB_PASSWORD_VERSION=v2 # length=32
            SECRET_SMTP_PASSWORD_VERSION=v1 # generate=false
            SECRET_VERSION=v1
            MY_SECRET_VERSION=v1
            #SECRET_OLD_VERSION=v1
            """)
        #expect(env.secrets == [
            SecretSpec(key: "SECRET_DB_ROOT_PASSWORD_VERSION", name: "db_root_password", version: "v1", line: 2),
            SecretSpec(key: "SECRET_DB_PASSWORD_VERSION", name: "db_password", version: "v2", length: 32, line: 3),
            SecretSpec(key: "SECRET_SMTP_PASSWORD_VERSION", name: "smtp_password", version: "v1", generate: false, line: 4),
        ])
    }

    @Test("A length or generate modifier that cannot be used is an error with the line", arguments: [
        ("length", "abc"), ("length", "0"), ("length", "-1"), ("length", "3.5"), ("generate", "maybe"),
    ])
    func badModifier(modifier: String, value: String) {
        let error = recipeError { _ = try parse("A=1\nSECRET_DB_PASSWORD_VERSION=v1 # \(modifier)=\(value)") }
        guard case let .invalidModifier(file, line, key, name, written, _) = error else {
            Issue.record("expected an invalid modifier error, got \(String(describing: error))")
            return
        }
        #expect([file, key, name, written] == [source, "SECRET_DB_PASSWORD_VERSION", modifier, value])
        #expect(line == 2)
        #expect(error?.description.hasPrefix("\(source):2: modifier \(modifier)=\(value)") == true)
    }

    @Test("Modifiers on lines that are not secrets are kept but not checked")
    func modifiersOutsideSecrets() throws {
        let env = try parse("DOMAIN=example.com # length=abc")
        #expect(env.entries.first?.modifiers == ["length": "abc"])
        #expect(env.secrets.isEmpty)
    }

    @Test("Loading reads the file; a missing file or a folder is an error naming the path")
    func load() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent(".env").path
            try "DOMAIN=app.example.com\n".write(toFile: path, atomically: true, encoding: .utf8)
            let env = try EnvFile.load(path: path)
            #expect(env["DOMAIN"] == "app.example.com")
            #expect(env.source == path)

            let missing = directory.appendingPathComponent("absent").path
            #expect(recipeError { _ = try EnvFile.load(path: missing) } == .missingFile(path: missing))
            #expect(recipeError { _ = try EnvFile.load(path: directory.path) }
                == .unreadable(file: directory.path, reason: "it is a directory, not a file"))
        }
    }
}

// MARK: - abra.sh

private let abraSource = "/r/abra.sh"

@Suite("AbraScript exports")
struct AbraScriptTests {
    @Test("Export lines are read as abra reads them; functions and other shell code are not run or read")
    func exports() throws {
        let script = try AbraScript(parsing: """
            #!/usr/bin/env bash

            export APP_ENTRYPOINT_VERSION=v1
            export NGINX_CONF_VERSION="v2"
            export PHP_INI_VERSION=v3 # bumped for uploads
            export\tTABBED=v4.1

            environment() {
              export NOT_READ=1
            }

            set -e
            PLAIN=not-exported
            echo "export FAKE=1"
            exporter=1
            """, source: abraSource)
        #expect(script.exports == [
            AbraScript.Export(name: "APP_ENTRYPOINT_VERSION", value: "v1", line: 3),
            AbraScript.Export(name: "PHP_INI_VERSION", value: "v3 # bumped for uploads", line: 5),
        ])
        #expect(script.values == ["APP_ENTRYPOINT_VERSION": "v1", "PHP_INI_VERSION": "v3 # bumped for uploads"])
        #expect(script.differences == [
            AbraScript.Difference(line: 4, abra: "nothing", shell: "NGINX_CONF_VERSION=v2"),
            AbraScript.Difference(line: 5, abra: "PHP_INI_VERSION=v3 # bumped for uploads", shell: "PHP_INI_VERSION=v3"),
            AbraScript.Difference(line: 6, abra: "a variable named 'export\tTABBED'", shell: "TABBED=v4.1"),
        ])
    }

    @Test("What abra reads of an export line, and what a shell reads where they differ", arguments: [
        ("export A=plain", "A=plain", nil),
        ("export A=v1.2-rc", "A=v1.2-rc", nil),
        (#"export A="with spaces""#, nil, "A=with spaces"),
        (#"export A='single $literal'"#, nil, "A=single $literal"),
        (#"export A=mixed"quoted"'parts'"#, #"A=mixed"quoted"'parts'"#, "A=mixedquotedparts"),
        ("export A=v1;echo done", "A=v1;echo done", "A=v1"),
        ("export A=", nil, "A="),
        ("export A=$B", nil, "A=$B"),
        (#"export A="$(date)""#, nil, #"A="$(date)""#),
        ("export A=`date`", nil, "A=`date`"),
        (#"export B="v2"#, nil, "an unterminated quote"),
    ] as [(String, String?, String?)])
    func readings(line: String, abra: String?, shell: String?) throws {
        let script = try AbraScript(parsing: line, source: abraSource)
        #expect(script.exports.map { "\($0.name)=\($0.value)" } == (abra.map { [$0] } ?? []))
        #expect(script.differences == (shell.map { [AbraScript.Difference(line: 1, abra: abra ?? "nothing", shell: $0)] } ?? []))
    }

    @Test("A later export of a name wins")
    func laterWins() throws {
        #expect(try AbraScript(parsing: "export A=v1\nexport A=v2", source: abraSource).values == ["A": "v2"])
    }

    @Test("An export line with a second '=' is an error with the line, as it is for abra")
    func secondEquals() {
        let error = recipeError { _ = try AbraScript(parsing: "export A=v1\nexport B=x=y", source: abraSource) }
        #expect(error == .abraUnreadableExport(file: abraSource, line: 2, name: "B"))
        // abra takes what follows the line's last "export ": here "later", with no '=' at all.
        let comment = recipeError { _ = try AbraScript(parsing: "export A=v1 # export later", source: abraSource) }
        #expect(comment == .abraUnreadableExport(file: abraSource, line: 1, name: "later"))
    }

    @Test("A recipe without abra.sh exports nothing; an existing one is read")
    func load() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("abra.sh").path
            #expect(try AbraScript.exports(at: path) == [:])
            #expect(try AbraScript.load(path: path).exports.isEmpty)
            try "export APP_ENTRYPOINT_VERSION=v7\n".write(toFile: path, atomically: true, encoding: .utf8)
            #expect(try AbraScript.exports(at: path) == ["APP_ENTRYPOINT_VERSION": "v7"])
            #expect(try AbraScript.load(path: path).source == path)
        }
    }
}
