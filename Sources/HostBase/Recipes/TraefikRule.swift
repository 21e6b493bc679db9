import Foundation

/// A Traefik router's `rule`, read well enough to tell which hosts it can match. Traefik parses a
/// rule as a Go expression (vulcand/predicate over go/parser): matcher calls such as
/// `Host(`a.example`)` (v3: one argument; v2 syntax: several), joined by `&&` and `||`, negated by
/// `!`, grouped by parentheses; arguments are backquoted or double-quoted strings. Matcher names
/// are read without regard to case (Traefik registers `Host`, `host` and `HOST` alike). Anything
/// else — a comment, an escape in a double-quoted string, an identifier that is not a call — is
/// refused: what cannot be read cannot be judged. Bounded: 4096 characters, 32 levels of nesting.
public indirect enum TraefikRule: Sendable, Equatable {
    case matcher(name: String, arguments: [String])
    case not(TraefikRule)
    case and(TraefikRule, TraefikRule)
    case or(TraefikRule, TraefikRule)

    public static let maxLength = 4096
    public static let maxDepth = 32

    /// Why a rule could not be read.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
    }

    public init(parsing text: String) throws(ParseError) {
        guard text.utf8.count <= Self.maxLength else { throw ParseError(description: "it is longer than \(Self.maxLength) characters") }
        var parser = Parser(tokens: try Self.tokens(text))
        self = try parser.expression(depth: 0)
        guard parser.position == parser.tokens.count else {
            throw ParseError(description: "\(parser.tokens[parser.position]) is not expected after a complete expression")
        }
    }

    /// Every matcher of the rule, negated ones included, in the order written.
    public var matchers: [(name: String, arguments: [String])] {
        switch self {
        case .matcher(let name, let arguments): return [(name, arguments)]
        case .not(let rule): return rule.matchers
        case .and(let left, let right), .or(let left, let right): return left.matchers + right.matchers
        }
    }

    /// Whether every request the rule matches passes a matcher `isHost` accepts: each alternative
    /// of the rule (negations pushed down, `!(a || b)` is `!a && !b`) holds such a matcher, not
    /// negated. A rule without one matches requests for any host.
    public func confinesHost(_ isHost: (String) -> Bool, negated: Bool = false) -> Bool {
        switch self {
        case .matcher(let name, _): return !negated && isHost(name)
        case .not(let rule): return rule.confinesHost(isHost, negated: !negated)
        case .and(let left, let right):
            // !(a && b) is !a || !b: both must confine.
            return negated ? left.confinesHost(isHost, negated: true) && right.confinesHost(isHost, negated: true)
                : left.confinesHost(isHost) || right.confinesHost(isHost)
        case .or(let left, let right):
            return negated ? left.confinesHost(isHost, negated: true) || right.confinesHost(isHost, negated: true)
                : left.confinesHost(isHost) && right.confinesHost(isHost)
        }
    }

    // MARK: Reading

    enum Token: Equatable, CustomStringConvertible {
        case name(String), string(String), open, close, comma, and, or, not

        var description: String {
            switch self {
            case .name(let name): return name
            case .string(let text): return "`\(text)`"
            case .open: return "("
            case .close: return ")"
            case .comma: return ","
            case .and: return "&&"
            case .or: return "||"
            case .not: return "!"
            }
        }
    }

    static func tokens(_ text: String) throws(ParseError) -> [Token] {
        let characters = Array(text.unicodeScalars)
        var tokens: [Token] = []
        var index = 0
        func fail(_ what: String) -> ParseError { ParseError(description: "\(what) at character \(index + 1)") }
        while index < characters.count {
            let character = characters[index]
            switch character {
            case " ", "\t", "\n", "\r": index += 1
            case "(": tokens.append(.open); index += 1
            case ")": tokens.append(.close); index += 1
            case ",": tokens.append(.comma); index += 1
            case "!": tokens.append(.not); index += 1
            case "&", "|":
                guard index + 1 < characters.count, characters[index + 1] == character else { throw fail("a lone \(character)") }
                tokens.append(character == "&" ? .and : .or)
                index += 2
            case "`", "\"":
                var end = index + 1
                while end < characters.count, characters[end] != character {
                    // Go reads escapes in a double-quoted string (`\x2e` is a dot): not read here.
                    if character == "\"" && characters[end] == "\\" { throw fail("an escape in a double-quoted string") }
                    if characters[end] == "\n" && character == "\"" { throw fail("a line break in a double-quoted string") }
                    end += 1
                }
                guard end < characters.count else { throw fail("an unterminated string") }
                var string = String.UnicodeScalarView()
                string.append(contentsOf: characters[(index + 1)..<end])
                // Go drops carriage returns from raw strings.
                tokens.append(.string(String(string).replacingOccurrences(of: "\r", with: "")))
                index = end + 1
            case _ where character.properties.isAlphabetic && character.isASCII:
                var end = index
                while end < characters.count, characters[end].isASCII,
                      characters[end].properties.isAlphabetic || ("0"..."9").contains(characters[end]) || characters[end] == "_" { end += 1 }
                var name = String.UnicodeScalarView()
                name.append(contentsOf: characters[index..<end])
                tokens.append(.name(String(name)))
                index = end
            default:
                throw fail("\(character) (not part of a rule cchost reads)")
            }
        }
        return tokens
    }

    /// Recursive descent, Go's precedence (`!` over `&&` over `||`), nesting bounded by `maxDepth`.
    struct Parser {
        let tokens: [Token]
        var position = 0

        mutating func next() -> Token? {
            guard position < tokens.count else { return nil }
            defer { position += 1 }
            return tokens[position]
        }

        var peek: Token? { position < tokens.count ? tokens[position] : nil }

        mutating func expression(depth: Int) throws(ParseError) -> TraefikRule {
            guard depth < TraefikRule.maxDepth else { throw ParseError(description: "it nests deeper than \(TraefikRule.maxDepth) levels") }
            var rule = try conjunction(depth: depth)
            while peek == .or {
                position += 1
                rule = .or(rule, try conjunction(depth: depth))
            }
            return rule
        }

        mutating func conjunction(depth: Int) throws(ParseError) -> TraefikRule {
            var rule = try unary(depth: depth)
            while peek == .and {
                position += 1
                rule = .and(rule, try unary(depth: depth))
            }
            return rule
        }

        mutating func unary(depth: Int) throws(ParseError) -> TraefikRule {
            guard depth < TraefikRule.maxDepth else { throw ParseError(description: "it nests deeper than \(TraefikRule.maxDepth) levels") }
            switch next() {
            case .not: return .not(try unary(depth: depth + 1))
            case .open:
                let rule = try expression(depth: depth + 1)
                guard next() == .close else { throw ParseError(description: "a ( is not closed") }
                return rule
            case .name(let name):
                guard next() == .open else { throw ParseError(description: "\(name) is not a matcher call such as Host(`example.org`)") }
                var arguments: [String] = []
                while true {
                    switch next() {
                    case .string(let argument): arguments.append(argument)
                    case .close where arguments.isEmpty: return .matcher(name: name, arguments: [])
                    case let other: throw ParseError(description: "\(name)(…) takes strings, not \(other.map(\.description) ?? "the end")")
                    }
                    switch next() {
                    case .comma: continue
                    case .close: return .matcher(name: name, arguments: arguments)
                    case let other: throw ParseError(description: "\(name)(…) expects , or ), not \(other.map(\.description) ?? "the end")")
                    }
                }
            case let other:
                throw ParseError(description: "a matcher is expected, not \(other.map(\.description) ?? "the end")")
            }
        }
    }
}
