/// The exports of a recipe's `abra.sh`, read statically, the way abra reads them: the script is
/// never executed, and abra does not read it as a shell would. A line counts when it starts (in the
/// first column) with `export`, blanks, a name, `=` and a letter, digit or `_`; abra then takes what
/// follows the line's last `export ` (one space) and splits it at `=`. So a quoted value
/// (`export X="v2"`) or one that needs the shell (`$…`) is not read at all, a trailing `# comment`
/// is part of the value, a tab or second space after `export` makes a variable no compose file
/// names, and a second `=` on the line makes the file unreadable for abra.
///
///     export APP_ENTRYPOINT_VERSION=v1     read: v1
///     export NGINX_CONF_VERSION="v2"       not read by abra (a shell reads v2)
///
///     environment() {
///       export NOT_READ=1                  indented: inside a function, only set when it runs
///     }
///
/// Every export line that a shell reads differently is kept in `differences`, for lint to warn about:
/// a config versioned by it means one thing to abra and another to someone reading the script.
public struct AbraScript: Sendable, Equatable {
    public struct Export: Sendable, Equatable {
        public let name: String
        /// The value as abra reads it.
        public let value: String
        /// 1-based line in abra.sh.
        public let line: Int

        public init(name: String, value: String, line: Int) {
            self.name = name
            self.value = value
            self.line = line
        }
    }

    /// An export line that abra and a shell read differently.
    public struct Difference: Sendable, Equatable {
        /// 1-based line in abra.sh.
        public let line: Int
        /// What abra reads (`NAME=value`), or "nothing".
        public let abra: String
        /// What a shell reads (`NAME=value`, space-separated for several), with `$…` left as written.
        public let shell: String
    }

    /// The file the exports came from, for messages.
    public let source: String
    /// What abra reads, in file order.
    public let exports: [Export]
    /// Export lines a shell reads differently, in file order.
    public let differences: [Difference]

    /// The exported values; a later export of a name wins.
    public var values: [String: String] {
        var values: [String: String] = [:]
        for export in exports { values[export.name] = export.value }
        return values
    }

    /// The exported values of the abra.sh at `path`; a recipe without abra.sh exports nothing.
    public static func exports(at path: String) throws(RecipeError) -> [String: String] {
        try load(path: path).values
    }

    /// Reads the recipe's own abra.sh in the checkout `directory` (never a file outside it).
    public static func load(directory: String) throws(RecipeError) -> AbraScript {
        let path = RecipeFile.path("abra.sh", in: directory)
        return try load(path: path, text: try RecipeFile.text(named: "abra.sh", in: directory))
    }

    /// Reads the abra.sh at `path`; a missing file is a script without exports.
    public static func load(path: String) throws(RecipeError) -> AbraScript {
        try load(path: path, text: try RecipeFile.text(at: path))
    }

    private static func load(path: String, text: String?) throws(RecipeError) -> AbraScript {
        guard let text else {
            return AbraScript(source: path, exports: [], differences: [])
        }
        return try AbraScript(parsing: text, source: path)
    }

    private init(source: String, exports: [Export], differences: [Difference]) {
        self.source = source
        self.exports = exports
        self.differences = differences
    }

    /// Reads the exports of abra.sh text; `source` names it in errors. An export line with a second
    /// `=` is an error, as it is for abra.
    public init(parsing text: String, source: String) throws(RecipeError) {
        self.source = source
        var exports: [Export] = []
        var differences: [Difference] = []
        for (index, line) in RecipeFile.lines(of: text).enumerated() {
            guard line.hasPrefix("export"), let separator = line.dropFirst("export".count).first,
                separator == " " || separator == "\t"
            else { continue }
            // abra: a line matching `^export\s+\w+=\w`, split at its last "export " and then at '='.
            var abra: Export?
            var abraReads = "nothing"
            if line.prefixMatch(of: /export[ \t]+[0-9A-Za-z_]+=[0-9A-Za-z_]/) != nil {
                let parts = (line.components(separatedBy: "export ").last ?? "").split(separator: "=", omittingEmptySubsequences: false)
                guard parts.count == 2 else {
                    throw .abraUnreadableExport(file: source, line: index + 1, name: String(parts.first ?? ""))
                }
                if EnvFile.isValidKey(parts[0]) {
                    abra = Export(name: String(parts[0]), value: String(parts[1]), line: index + 1)
                    exports.append(abra!)
                    abraReads = "\(parts[0])=\(parts[1])"
                } else {
                    abraReads = "a variable named '\(parts[0])'"
                }
            }
            let shell: String
            switch ShellWord.split(line.dropFirst("export".count)) {
            case .failure: shell = "an unterminated quote"
            case .success(let words):
                // `export NAME` and options such as `-f` export nothing new.
                let assignments = words.compactMap { word -> String? in
                    guard let equals = word.raw.firstIndex(of: "="), EnvFile.isValidKey(word.raw[..<equals]) else { return nil }
                    return word.needsShell ? word.raw : word.text
                }
                shell = assignments.isEmpty ? "nothing" : assignments.joined(separator: " ")
            }
            if abraReads != shell { differences.append(Difference(line: index + 1, abra: abraReads, shell: shell)) }
        }
        self.exports = exports
        self.differences = differences
    }
}

/// One shell word of an `export` line: its text with quotes removed, as written, and whether the
/// shell would expand something in it.
private struct ShellWord {
    enum Problem: Error {
        case unterminatedQuote(word: String)
    }

    var text = ""
    var raw = ""
    var needsShell = false

    /// Splits at unquoted whitespace; stops at an unquoted `#` starting a word, `;`, `&` or `|`.
    static func split(_ line: Substring) -> Result<[ShellWord], Problem> {
        var words: [ShellWord] = []
        var word: ShellWord?
        var characters = line.makeIterator()
        func finish() {
            if let done = word { words.append(done) }
            word = nil
        }
        while let character = characters.next() {
            switch character {
            case " ", "\t":
                finish()
            case "#" where word == nil, ";", "&", "|":
                finish()
                return .success(words)
            case "'":
                var current = word ?? ShellWord()
                current.raw.append(character)
                var closed = false
                while let next = characters.next() {
                    current.raw.append(next)
                    if next == "'" { closed = true; break }
                    current.text.append(next)
                }
                guard closed else { return .failure(.unterminatedQuote(word: current.raw)) }
                word = current
            case "\"":
                var current = word ?? ShellWord()
                current.raw.append(character)
                var closed = false
                while let next = characters.next() {
                    current.raw.append(next)
                    if next == "\"" { closed = true; break }
                    if next == "\\", let escaped = characters.next() {
                        current.raw.append(escaped)
                        if !["\"", "\\", "$", "`"].contains(escaped) { current.text.append(next) }
                        current.text.append(escaped)
                        continue
                    }
                    if next == "$" || next == "`" { current.needsShell = true }
                    current.text.append(next)
                }
                guard closed else { return .failure(.unterminatedQuote(word: current.raw)) }
                word = current
            case "\\":
                var current = word ?? ShellWord()
                current.raw.append(character)
                if let escaped = characters.next() {
                    current.raw.append(escaped)
                    current.text.append(escaped)
                }
                word = current
            default:
                var current = word ?? ShellWord()
                current.raw.append(character)
                current.text.append(character)
                if character == "$" || character == "`" || character == "(" { current.needsShell = true }
                word = current
            }
        }
        finish()
        return .success(words)
    }
}
