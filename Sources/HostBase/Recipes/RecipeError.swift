/// Why a recipe (or one of its files) could not be read. Each description is one sentence that
/// starts with `file:line:` where the line is known.
public enum RecipeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A file the caller asked for does not exist.
    case missingFile(path: String)
    /// The recipe has no `.env.sample`.
    case missingEnvSample(path: String)
    /// The file exists but cannot be read (a folder, no permission, not UTF-8).
    case unreadable(file: String, reason: String)
    /// A recipe file that is not the recipe's own (a symbolic link to a host file): never read.
    case outsideCheckout(file: String, reason: String)

    // MARK: .env files and abra.sh

    /// A line that is neither blank, a comment nor `KEY=VALUE` with a valid key.
    case malformedEnvLine(file: String, line: Int, text: String)
    /// A quoted value whose closing quote is missing.
    case unterminatedQuote(file: String, line: Int, key: String)
    /// Something other than a comment follows a quoted value's closing quote.
    case textAfterQuote(file: String, line: Int, key: String)
    /// An abra.sh export line with a second `=`, which abra cannot read (it splits the line at `=`).
    case abraUnreadableExport(file: String, line: Int, name: String)
    /// A modifier in a trailing comment (`# length=32`) with a value that cannot be used.
    case invalidModifier(file: String, line: Int, key: String, modifier: String, value: String, expected: String)

    // MARK: README

    /// `<!-- metadata -->` without a later `<!-- endmetadata -->`.
    case unterminatedMetadata(file: String, line: Int)

    // MARK: Compose files

    /// `COMPOSE_FILE` (or its default) names a file the recipe does not have.
    case missingComposeFile(directory: String, file: String, composeFile: String)
    /// The file is not valid YAML.
    case malformedYAML(file: String, line: Int?, problem: String)
    /// The document is not a mapping of compose sections.
    case composeNotAMapping(file: String, line: Int?)
    /// The document has no `services` section.
    case composeWithoutServices(file: String)
    /// `expected` is a phrase such as "a mapping" or "a list of names".
    case wrongType(file: String, line: Int?, key: String, expected: String)
    case duplicateKey(file: String, line: Int?, key: String, firstLine: Int?)
    /// A `$` that starts no variable reference docker understands (`$1`, `${A:+b}`, a lone `$`).
    case invalidInterpolation(file: String, line: Int?, text: String)
    /// `${VAR:?message}` or `${VAR?message}` with the variable unset (or empty, for `:?`).
    case requiredVariableUnset(file: String, line: Int?, variable: String, message: String)

    // MARK: Names

    /// The base domain for test apps is not a DNS name.
    case invalidBaseDomain(String)
    /// A secret's or config's `name:` that cannot be interpolated once the stack's name is in it,
    /// so the object's name on a stack cannot be known.
    case uninterpolatableObjectName(file: String, line: Int, kind: String, key: String, name: String, problem: String)
    /// Even the shortest test domain under `baseDomain` makes a Docker object name too long.
    case testDomainImpossible(baseDomain: String, longestObjectName: String, longestDomain: Int, shortestDomain: Int)

    public var description: String {
        switch self {
        case let .missingFile(path):
            "\(path): no such file"
        case let .missingEnvSample(path):
            "\(path): no such file; every recipe needs a .env.sample describing its app's settings"
        case let .unreadable(file, reason):
            "\(file): cannot be read: \(reason)"
        case let .outsideCheckout(file, reason):
            "\(file) \(reason); cchost does not read it"
        case let .malformedEnvLine(file, line, text):
            "\(file):\(line): line is not KEY=VALUE: \"\(text)\""
        case let .unterminatedQuote(file, line, key):
            "\(file):\(line): the value of \(key) opens a quote that is never closed on that line"
        case let .abraUnreadableExport(file, line, name):
            "\(file):\(line): abra cannot read the export of \(name): it splits an export line at '=', and this one has a second '='"
        case let .textAfterQuote(file, line, key):
            "\(file):\(line): the value of \(key) has text after its closing quote; only a '# comment' may follow"
        case let .invalidModifier(file, line, key, modifier, value, expected):
            "\(file):\(line): modifier \(modifier)=\(value) on \(key) must be \(expected)"
        case let .unterminatedMetadata(file, line):
            "\(file):\(line): the metadata block opened here has no closing '<!-- endmetadata -->'"
        case let .missingComposeFile(directory, file, composeFile):
            "\(directory): no \(file) (COMPOSE_FILE names \(composeFile))"
        case let .malformedYAML(file, line, problem):
            "\(Self.location(file, line)) malformed YAML: \(problem)"
        case let .composeNotAMapping(file, line):
            "\(Self.location(file, line)) a compose file must be a mapping with a 'services' section"
        case let .composeWithoutServices(file):
            "\(file): the compose file has no 'services' section"
        case let .wrongType(file, line, key, expected):
            "\(Self.location(file, line)) \(key) must be \(expected)"
        case let .duplicateKey(file, line, key, firstLine):
            "\(Self.location(file, line)) \(key) is set twice" + (firstLine.map { " (first on line \($0))" } ?? "")
        case let .invalidInterpolation(file, line, text):
            "\(Self.location(file, line)) invalid variable reference in \"\(text)\"; use $NAME, ${NAME}, "
                + "${NAME:-default}, ${NAME-default}, ${NAME:?error} or $$ for a literal $"
        case let .requiredVariableUnset(file, line, variable, message):
            "\(Self.location(file, line)) \(variable) must be set"
                + (message.isEmpty ? "" : ": \(message)")
        case let .invalidBaseDomain(domain):
            "the base domain for test apps \"\(domain)\" is not a DNS name (lowercase letters, digits and '-' in dot-separated labels)"
        case let .uninterpolatableObjectName(file, line, kind, key, name, problem):
            "\(file):\(line): the name of \(kind) \(key), \"\(name)\", cannot be computed for a stack: \(problem)"
        case let .testDomainImpossible(baseDomain, longestObjectName, longestDomain, shortestDomain):
            "no test domain under \(baseDomain) fits: the shortest is \(shortestDomain) characters, but the "
                + "object name '\(longestObjectName)' leaves room for \(longestDomain) (Docker limits "
                + "'<stack>_\(longestObjectName)' to \(AppNaming.maximumObjectNameLength)); use a shorter base domain"
        }
    }

    private static func location(_ file: String, _ line: Int?) -> String {
        line.map { "\(file):\($0):" } ?? "\(file):"
    }
}
