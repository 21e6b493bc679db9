/// A recipe's `.env.sample` or an app's `.env`, read the way abra reads them (dotenv style).
///
///     # a comment
///     DOMAIN=wordpress.example.com          # a trailing comment
///     export TYPE=wordpress                 # `export ` is allowed and dropped
///     TITLE="My \"blog\""                   # double quotes: \" \\ \n escapes
///     GREETING='no $expansion or \escapes'  # single quotes: literal
///     #EXTRA_DOMAINS=', `www.example.com`'  # commented out: kept as `isCommentedOut` for lint
///     SECRET_DB_PASSWORD_VERSION=v1 # length=32
///
/// An unquoted value ends at the first `#` that follows whitespace; the trailing comment's
/// `key=value` words are the entry's modifiers. Values are never expanded (`$VAR` stays as written).
public struct EnvFile: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public let key: String
        public let value: String
        /// 1-based line in the file.
        public let line: Int
        /// `key=value` words of the trailing comment: `length=32`, `generate=false`.
        public let modifiers: [String: String]
        /// The assignment is commented out (`#EXTRA_DOMAINS=…`): not part of the environment.
        public let isCommentedOut: Bool

        public init(key: String, value: String, line: Int, modifiers: [String: String] = [:], isCommentedOut: Bool = false) {
            self.key = key
            self.value = value
            self.line = line
            self.modifiers = modifiers
            self.isCommentedOut = isCommentedOut
        }
    }

    /// The file the entries came from, for messages.
    public let source: String
    /// Every assignment in file order, commented-out ones included.
    public let entries: [Entry]
    /// `SECRET_<NAME>_VERSION` assignments (active ones) with their modifiers.
    public let secrets: [SecretSpec]

    /// The value of an active (not commented-out) entry; the last assignment wins.
    public subscript(key: String) -> String? {
        entries.last { !$0.isCommentedOut && $0.key == key }?.value
    }

    /// Where the active `key` is set, when the environment used (`value`) is what this file says.
    public func location(of key: String, ifItIs value: String?) -> ComposeProject.Location? {
        guard let entry = entries.last(where: { !$0.isCommentedOut && $0.key == key }), entry.value == value else { return nil }
        return ComposeProject.Location(file: source, line: entry.line)
    }

    /// The active entries as a dictionary; the last assignment of a key wins.
    public var values: [String: String] {
        var values: [String: String] = [:]
        for entry in entries where !entry.isCommentedOut {
            values[entry.key] = entry.value
        }
        return values
    }

    /// Reads the file at `path`; a missing file is an error.
    public static func load(path: String) throws(RecipeError) -> EnvFile {
        guard let text = try RecipeFile.text(at: path) else { throw .missingFile(path: path) }
        return try EnvFile(parsing: text, source: path)
    }

    /// Parses env-file text; `source` names it in errors.
    public init(parsing text: String, source: String) throws(RecipeError) {
        self.source = source
        var entries: [Entry] = []
        for (index, rawLine) in RecipeFile.lines(of: text).enumerated() {
            let number = index + 1
            let line = rawLine.drop { $0 == " " || $0 == "\t" }
            if line.isEmpty { continue }
            if line.first == "#" {
                // `#KEY=value` or `# KEY=value`; anything else is prose.
                let body = line.dropFirst().drop { $0 == " " || $0 == "\t" }
                if case let .success(assignment) = EnvAssignment.parse(body) {
                    entries.append(assignment.entry(line: number, isCommentedOut: true))
                }
                continue
            }
            switch EnvAssignment.parse(line) {
            case let .success(assignment):
                entries.append(assignment.entry(line: number, isCommentedOut: false))
            case .failure(.notAnAssignment):
                throw .malformedEnvLine(file: source, line: number, text: String(rawLine))
            case let .failure(.unterminatedQuote(key)):
                throw .unterminatedQuote(file: source, line: number, key: key)
            case let .failure(.textAfterQuote(key)):
                throw .textAfterQuote(file: source, line: number, key: key)
            }
        }
        self.entries = entries
        self.secrets = try Self.secrets(in: entries, source: source)
    }

    /// A variable name docker and the shell accept: a letter or `_`, then letters, digits and `_`.
    static func isValidKey(_ key: Substring) -> Bool {
        func isLetter(_ scalar: Unicode.Scalar) -> Bool { scalar == "_" || ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) }
        guard let first = key.unicodeScalars.first, isLetter(first) else { return false }
        return key.unicodeScalars.allSatisfy { isLetter($0) || ("0"..."9").contains($0) }
    }

    /// `SECRET_<NAME>_VERSION` entries: the secrets an app of the recipe has, with their
    /// `length=` and `generate=` modifiers. A modifier that cannot be used is an error at parse time.
    private static func secrets(in entries: [Entry], source: String) throws(RecipeError) -> [SecretSpec] {
        var secrets: [SecretSpec] = []
        for entry in entries where !entry.isCommentedOut {
            guard let name = SecretSpec.name(forKey: entry.key) else { continue }
            var length: Int?
            if let raw = entry.modifiers["length"] {
                guard let number = Int(raw), SecretSpec.lengths.contains(number) else {
                    throw .invalidModifier(
                        file: source, line: entry.line, key: entry.key, modifier: "length", value: raw,
                        expected: "a whole number of characters from 1 to \(SecretSpec.lengths.upperBound)")
                }
                length = number
            }
            var generate = true
            if let raw = entry.modifiers["generate"] {
                switch raw.lowercased() {
                case "true": generate = true
                case "false": generate = false
                default:
                    throw .invalidModifier(
                        file: source, line: entry.line, key: entry.key, modifier: "generate", value: raw,
                        expected: "true or false")
                }
            }
            secrets.append(SecretSpec(
                key: entry.key, name: name, version: entry.value, length: length, generate: generate,
                line: entry.line))
        }
        return secrets
    }
}

/// A secret declared in an env file by `SECRET_<NAME>_VERSION=<version>`.
public struct SecretSpec: Sendable, Equatable {
    /// The env key, `SECRET_DB_PASSWORD_VERSION`.
    public let key: String
    /// The secret's name as the compose file spells it: `db_password`.
    public let name: String
    /// `v1`.
    public let version: String
    /// From `# length=N`; `nil` lets the generator choose.
    public let length: Int?
    /// The lengths `length=` may ask for. Far beyond any password, and a bound on what generating one
    /// costs: `length=999999999` would have the generator allocate gigabytes.
    public static let lengths = 1...4096
    /// `false` from `# generate=false`: the operator inserts this secret by hand.
    public let generate: Bool
    public let line: Int

    public init(key: String, name: String, version: String, length: Int? = nil, generate: Bool = true, line: Int) {
        self.key = key
        self.name = name
        self.version = version
        self.length = length
        self.generate = generate
        self.line = line
    }

    /// `db_password` for `SECRET_DB_PASSWORD_VERSION`; `nil` for any other key.
    static func name(forKey key: String) -> String? {
        let prefix = "SECRET_", suffix = "_VERSION"
        guard key.count > prefix.count + suffix.count, key.hasPrefix(prefix), key.hasSuffix(suffix) else { return nil }
        return key.dropFirst(prefix.count).dropLast(suffix.count).lowercased()
    }
}

/// One `[export ]KEY=value [# comment]` line of an env file (or the text after a commented-out
/// line's `#`), dotenv style. abra.sh is read as shell words instead (see `AbraScript`).
private struct EnvAssignment {
    enum Problem: Error {
        case notAnAssignment
        case unterminatedQuote(key: String)
        case textAfterQuote(key: String)
    }

    var key: String
    var value: String
    var comment: String?

    func entry(line: Int, isCommentedOut: Bool) -> EnvFile.Entry {
        EnvFile.Entry(
            key: key, value: value, line: line, modifiers: Self.modifiers(in: comment ?? ""),
            isCommentedOut: isCommentedOut)
    }

    /// `key=value` words of a comment; other words are prose and ignored.
    static func modifiers(in comment: String) -> [String: String] {
        var modifiers: [String: String] = [:]
        for word in comment.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
            guard let equals = word.firstIndex(of: "="), equals != word.startIndex else { continue }
            modifiers[String(word[..<equals])] = String(word[word.index(after: equals)...])
        }
        return modifiers
    }

    /// Parses a line with leading whitespace already removed.
    static func parse(_ line: Substring) -> Result<EnvAssignment, Problem> {
        var rest = line
        if rest.hasPrefix("export"), let next = rest.dropFirst("export".count).first, next == " " || next == "\t" {
            rest = rest.dropFirst("export".count).drop { $0 == " " || $0 == "\t" }
        }
        guard let equals = rest.firstIndex(of: "=") else { return .failure(.notAnAssignment) }
        let key = rest[..<equals].trimmingSpaces
        guard EnvFile.isValidKey(key) else { return .failure(.notAnAssignment) }
        let raw = rest[rest.index(after: equals)...]
        let valueStart = raw.drop { $0 == " " || $0 == "\t" }

        switch valueStart.first {
        case "'", "\"":
            let quote = valueStart.first == "'" ? Character("'") : "\""
            guard let (value, after) = quoted(valueStart.dropFirst(), by: quote) else {
                return .failure(.unterminatedQuote(key: String(key)))
            }
            let trailing = after.drop { $0 == " " || $0 == "\t" }
            if trailing.isEmpty { return .success(EnvAssignment(key: String(key), value: value)) }
            guard trailing.first == "#" else { return .failure(.textAfterQuote(key: String(key))) }
            return .success(EnvAssignment(key: String(key), value: value, comment: String(trailing.dropFirst())))
        default:
            // An unquoted value ends at a `#` that follows whitespace.
            var previous: Character = "="
            for index in raw.indices {
                if raw[index] == "#", previous == " " || previous == "\t" {
                    return .success(EnvAssignment(
                        key: String(key), value: String(raw[..<index].trimmingSpaces),
                        comment: String(raw[raw.index(after: index)...])))
                }
                previous = raw[index]
            }
            return .success(EnvAssignment(key: String(key), value: String(raw.trimmingSpaces)))
        }
    }

    /// The text up to the closing `quote` and what follows it; `nil` when the quote never closes.
    /// Single quotes are literal; double quotes understand `\"`, `\\` and `\n` (other backslashes stay).
    private static func quoted(_ text: Substring, by quote: Character) -> (String, Substring)? {
        var value = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character == quote { return (value, text[text.index(after: index)...]) }
            if quote == "\"", character == "\\", text.index(after: index) < text.endIndex {
                let escaped = text[text.index(after: index)]
                switch escaped {
                case "\"": value.append("\"")
                case "\\": value.append("\\")
                case "n": value.append("\n")
                default: value.append("\\"); value.append(escaped)
                }
                index = text.index(index, offsetBy: 2)
                continue
            }
            value.append(character)
            index = text.index(after: index)
        }
        return nil
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs.
    fileprivate var trimmingSpaces: Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return self[endIndex...]
        }
        return self[first...last]
    }
}
