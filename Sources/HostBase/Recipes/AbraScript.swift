/// The exports of a recipe's `abra.sh`, read statically: the script is never executed.
///
/// Like abra, only lines that start with `export` (in the first column) count: the versions of
/// configs and other values the compose files interpolate.
///
///     export APP_ENTRYPOINT_VERSION=v1
///     export NGINX_CONF_VERSION="v2"   # quoted or not
///
///     environment() {
///       export NOT_READ=1              # indented: inside a function, only set when it runs
///     }
///
/// A value that needs the shell (`$VAR`, `$(…)`, backticks outside single quotes) is not known
/// until the script runs: it is listed in `dynamicExports` and left out of `values`.
public struct AbraScript: Sendable, Equatable {
    public struct Export: Sendable, Equatable {
        public let name: String
        /// The value with quotes removed; for a dynamic export, the word as written.
        public let value: String
        /// 1-based line in abra.sh.
        public let line: Int

        public init(name: String, value: String, line: Int) {
            self.name = name
            self.value = value
            self.line = line
        }
    }

    /// The file the exports came from, for messages.
    public let source: String
    /// Exports with a static value, in file order.
    public let exports: [Export]
    /// Exports whose value only the shell can compute.
    public let dynamicExports: [Export]

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
            return AbraScript(source: path, exports: [], dynamicExports: [])
        }
        return try AbraScript(parsing: text, source: path)
    }

    private init(source: String, exports: [Export], dynamicExports: [Export]) {
        self.source = source
        self.exports = exports
        self.dynamicExports = dynamicExports
    }

    /// Reads the exports of abra.sh text; `source` names it in errors. A quote left open on an
    /// export line is an error: guessing would version a config wrongly.
    public init(parsing text: String, source: String) throws(RecipeError) {
        self.source = source
        var exports: [Export] = []
        var dynamicExports: [Export] = []
        for (index, line) in RecipeFile.lines(of: text).enumerated() {
            guard line.hasPrefix("export"), let separator = line.dropFirst("export".count).first,
                separator == " " || separator == "\t"
            else { continue }
            let words: [ShellWord]
            switch ShellWord.split(line.dropFirst("export".count)) {
            case let .success(split): words = split
            case let .failure(.unterminatedQuote(word)):
                let key = word.prefix { $0 != "=" }
                throw .unterminatedQuote(file: source, line: index + 1, key: String(key))
            }
            for word in words {
                // `export NAME` and options such as `-f` export nothing new.
                guard let equals = word.raw.firstIndex(of: "="), EnvFile.isValidKey(word.raw[..<equals])
                else { continue }
                let name = String(word.raw[..<equals])
                if word.needsShell {
                    dynamicExports.append(Export(name: name, value: String(word.raw[word.raw.index(after: equals)...]), line: index + 1))
                } else {
                    exports.append(Export(name: name, value: String(word.text.dropFirst(name.count + 1)), line: index + 1))
                }
            }
        }
        self.exports = exports
        self.dynamicExports = dynamicExports
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
