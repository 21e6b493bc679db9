/// The declared C signature of a typed check, e.g.
/// `int http_expect(const char *path, int status, const char *needle)`.
/// The worker builds its libffi call from this; the host uses the parameter names to bind arguments
/// from recipe configuration. Parsing is strict: anything outside the supported types is an error
/// that quotes the offending part.
public struct CSignature: Sendable, Equatable {
    public enum ParameterType: String, Sendable, CaseIterable {
        case int, int32 = "int32_t", int64 = "int64_t", long, double, bool, string = "const char *"
    }

    public struct Parameter: Sendable, Equatable {
        public var name: String
        public var type: ParameterType
    }

    public var functionName: String?
    public var parameters: [Parameter]

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var signature: String
        public var reason: String
        public var description: String { "signature \"\(signature)\": \(reason)" }
    }

    public init(parsing text: String) throws(ParseError) {
        func fail(_ reason: String) -> ParseError { ParseError(signature: text, reason: reason) }
        let tokens = CSignature.tokenize(text)
        var i = 0
        func take() -> String? { defer { i += 1 }; return i < tokens.count ? tokens[i] : nil }
        func peek() -> String? { i < tokens.count ? tokens[i] : nil }

        guard let returnType = take(), returnType == "int" || returnType == "int32_t" else {
            throw fail("the return type must be int (a cchost_verdict)")
        }
        var name: String? = nil
        if let t = peek(), t != "(" {
            guard CSignature.isIdentifier(t) else { throw fail("expected a function name, found \"\(t)\"") }
            name = t
            i += 1
        }
        guard take() == "(" else { throw fail("expected \"(\" after the return type") }
        var parameters: [Parameter] = []
        if peek() == "void", i + 1 < tokens.count, tokens[i + 1] == ")" { i += 1 }
        while let t = peek(), t != ")" {
            // Collect one parameter: type words, optional '*', then the name.
            var words: [String] = []
            while let w = peek(), w != ",", w != ")" { words.append(w); i += 1 }
            guard let paramName = words.popLast(), CSignature.isIdentifier(paramName),
                  !words.isEmpty else {
                throw fail("parameter \(parameters.count + 1) needs a type and a name")
            }
            let typeText = words.joined(separator: " ")
            guard let type = ParameterType(rawValue: typeText) else {
                let supported = ParameterType.allCases.map(\.rawValue).joined(separator: ", ")
                throw fail("parameter \"\(paramName)\" has unsupported type \"\(typeText)\" (supported: \(supported))")
            }
            guard !parameters.contains(where: { $0.name == paramName }) else {
                throw fail("parameter \"\(paramName)\" is declared twice")
            }
            parameters.append(Parameter(name: paramName, type: type))
            if peek() == "," { i += 1; if peek() == ")" { throw fail("a parameter is missing after \",\"") } }
        }
        guard take() == ")" else { throw fail("missing \")\"") }
        guard i == tokens.count else { throw fail("unexpected \"\(tokens[i...].joined(separator: " "))\" after \")\"") }
        self.functionName = name
        self.parameters = parameters
    }

    static func tokenize(_ text: String) -> [String] {
        var tokens: [String] = []
        var current = ""
        for ch in text {
            if ch.isLetter || ch.isNumber || ch == "_" {
                current.append(ch)
            } else {
                if !current.isEmpty { tokens.append(current); current = "" }
                if !ch.isWhitespace { tokens.append(String(ch)) }
            }
        }
        if !current.isEmpty { tokens.append(current) }
        return tokens
    }

    static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.first, first.isLetter || first == "_" else { return false }
        return s.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
    }
}
