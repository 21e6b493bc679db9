import Foundation

/// `docker stack deploy`'s variable substitution: `$NAME`, `${NAME}`, `${NAME:-default}` (unset or
/// empty), `${NAME-default}` (unset), `${NAME:?message}`, `${NAME?message}`, and `$$` for `$`.
/// Defaults are literal text. Any other `$` is invalid.
enum Interpolation {
    enum Problem: Error, Equatable {
        case invalid
        case required(variable: String, message: String)

        /// Why, naming the variable where there is one: `SECRET_VERSION must be set: pick one`.
        var explanation: String {
            switch self {
            case .invalid:
                "it has a $ that starts no variable reference docker understands"
            case let .required(variable, message):
                "\(variable) must be set" + (message.isEmpty ? "" : ": \(message)")
            }
        }
    }

    /// `text` with its references replaced; each variable used while unset without a default is
    /// appended to `unset` and replaced by the empty string.
    static func substitute(_ text: String, environment: [String: String], unset: inout [String]) -> Result<String, Problem> {
        guard text.contains("$") else { return .success(text) }
        let scalars = Array(text.unicodeScalars)
        var result = String.UnicodeScalarView()
        var index = 0
        func isNameStart(_ scalar: Unicode.Scalar) -> Bool {
            scalar == "_" || ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
        }
        func isNamePart(_ scalar: Unicode.Scalar) -> Bool { isNameStart(scalar) || ("0"..."9").contains(scalar) }

        while index < scalars.count {
            let scalar = scalars[index]
            guard scalar == "$" else {
                result.append(scalar)
                index += 1
                continue
            }
            guard index + 1 < scalars.count else { return .failure(.invalid) }
            let next = scalars[index + 1]
            if next == "$" {
                result.append("$")
                index += 2
            } else if isNameStart(next) {
                var end = index + 1
                while end < scalars.count, isNamePart(scalars[end]) { end += 1 }
                let name = String(String.UnicodeScalarView(scalars[(index + 1)..<end]))
                if let value = environment[name] { result.append(contentsOf: value.unicodeScalars) } else { unset.append(name) }
                index = end
            } else if next == "{" {
                guard let close = scalars[(index + 2)...].firstIndex(of: "}") else { return .failure(.invalid) }
                var nameEnd = index + 2
                guard nameEnd < close, isNameStart(scalars[nameEnd]) else { return .failure(.invalid) }
                while nameEnd < close, isNamePart(scalars[nameEnd]) { nameEnd += 1 }
                let name = String(String.UnicodeScalarView(scalars[(index + 2)..<nameEnd]))
                let modifier = String(String.UnicodeScalarView(scalars[nameEnd..<close]))
                let value = environment[name]
                let setAndNonEmpty = value.map { !$0.isEmpty } ?? false
                let replacement: String
                switch modifier {
                case "":
                    if value == nil { unset.append(name) }
                    replacement = value ?? ""
                case _ where modifier.hasPrefix(":-"):
                    replacement = setAndNonEmpty ? value ?? "" : String(modifier.dropFirst(2))
                case _ where modifier.hasPrefix("-"):
                    replacement = value ?? String(modifier.dropFirst())
                case _ where modifier.hasPrefix(":?"):
                    guard setAndNonEmpty else { return .failure(.required(variable: name, message: String(modifier.dropFirst(2)))) }
                    replacement = value ?? ""
                case _ where modifier.hasPrefix("?"):
                    guard let value else { return .failure(.required(variable: name, message: String(modifier.dropFirst()))) }
                    replacement = value
                default:
                    return .failure(.invalid)
                }
                result.append(contentsOf: replacement.unicodeScalars)
                index = close + 1
            } else {
                return .failure(.invalid)
            }
        }
        return .success(String(result))
    }
}
