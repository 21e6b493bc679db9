import Foundation

/// Any JSON value, decoded exactly: booleans stay booleans, integers stay integers. Used where input
/// from outside (plugin metadata) must be checked field by field with precise messages.
public enum JSONValue: Sendable, Equatable, Codable, CustomStringConvertible {
    case null, bool(Bool), integer(Int64), double(Double), string(String)
    case array([JSONValue]), object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        // Kept: each type is tried in turn and the last decode throws, so nothing unreadable decodes.
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int64.self) { self = .integer(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .integer(let i): try c.encode(i)
        case .double(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    /// `text` as a JSON string literal, which is also a YAML double-quoted scalar: `"` and `\` escaped,
    /// and as `\uXXXX` every character YAML would not keep as it is (controls, line and paragraph
    /// separators, the byte-order mark). Cannot fail, unlike an encoder, so no caller needs a fallback.
    public static func quoted(_ text: String) -> String {
        var quoted = String.UnicodeScalarView()
        quoted.append("\"")
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x22, 0x5C:
                quoted.append("\\")
                quoted.append(scalar)
            case 0..<0x20, 0x7F...0x9F, 0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF:
                let hex = String(scalar.value, radix: 16, uppercase: true)
                quoted.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).unicodeScalars)
            default:
                quoted.append(scalar)
            }
        }
        quoted.append("\"")
        return String(quoted)
    }

    /// nil when `text` is not JSON; its one caller rejects the metadata then.
    public static func parse(_ text: String) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    /// A short rendering for messages.
    public var description: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return String(b)
        case .integer(let i): return String(i)
        case .double(let d): return String(d)
        case .string(let s): return "\"\(s.prefix(60))\""
        case .array: return "a list"
        case .object: return "an object"
        }
    }
}
