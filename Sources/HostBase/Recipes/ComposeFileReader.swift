import Foundation
import Yams

/// Reads one compose file into a plain tree the way `docker stack deploy` reads it: YAML with merge
/// keys and aliases resolved (YAMLDocument has refused tags and alias bombs), plain scalars typed as
/// docker's YAML reader (yaml.v2) types them, then every string of the sections docker interpolates
/// (`services`, `secrets`, `configs`, `volumes`, `networks`) interpolated from the app's environment,
/// and the interpolated values at the paths docker casts (`deploy.replicas`, `privileged`, …) cast.
/// Top-level `x-` extension fields hold anchors only and are left out. What docker would refuse or
/// read differently — a key given twice, a key that is not text, a value nested past
/// `maximumDepth` — is an error naming the file and line.
struct ComposeFileReader {
    typealias Location = ComposeProject.Location

    static let interpolatedSections: Set = ["services", "secrets", "configs", "volumes", "networks"]
    /// Deeper than any compose file; the tree is walked recursively.
    static let maximumDepth = 64

    let file: String
    let environment: [String: String]
    /// Every use of an unset variable without a default, in file order.
    var unsetVariables: [ComposeProject.UnsetVariable] = []

    init(file: String, environment: [String: String]) {
        self.file = file
        self.environment = environment
    }

    /// The file's top-level mapping, with a mapping of services in it.
    mutating func read(_ text: String) throws(RecipeError) -> StackNode {
        let root: Node?
        do throws(YAMLDocument.Problem) {
            root = try YAMLDocument.compose(text)
        } catch {
            throw .malformedYAML(file: file, line: error.line, problem: error.problem)
        }
        guard let root else { throw .composeNotAMapping(file: file, line: nil) }
        guard let mapping = root.mapping else { throw .composeNotAMapping(file: file, line: root.mark?.line) }
        var sections: [StackNode.Entry] = []
        for (key, line, value) in try entries(of: mapping, path: []) where !key.hasPrefix("x-") {
            let node = try convert(value, path: [key], interpolating: Self.interpolatedSections.contains(key), line: line)
            sections.append(.init(key: key, node: node, location: location(line)))
        }
        guard let services = sections.first(where: { $0.key == "services" }), !services.node.isNull else {
            throw .composeWithoutServices(file: file)
        }
        guard services.node.entries != nil else {
            throw .wrongType(file: file, line: services.location.line, key: "services", expected: "a mapping of service names to services")
        }
        return StackNode(.map(sections), at: location(root.mark?.line))
    }

    // MARK: Converting

    private mutating func convert(_ node: Node, path: [String], interpolating: Bool, line: Int?) throws(RecipeError) -> StackNode {
        let at = location(node.mark?.line ?? line)
        guard path.count <= Self.maximumDepth else {
            throw .wrongType(file: file, line: at.line, key: Self.dotted(path), expected: "nested at most \(Self.maximumDepth) levels deep")
        }
        switch node {
        case .scalar(let scalar):
            var value = scalar.style == .plain ? try Self.plainValue(scalar.string, file: file, line: at.line, key: path)
                                               : .string(scalar.string)
            guard interpolating, case .string(let written) = value else { return StackNode(value, at: at) }
            var unset: [String] = []
            let text = try interpolate(written, line: at.line, unset: &unset)
            unsetVariables += unset.map { .init(name: $0, location: at) }
            guard text != written else { return StackNode(value, at: at) }
            // docker casts a value only when interpolation changed it, at the paths it knows.
            value = try Self.cast(text, path: path, file: file, line: at.line)
            return StackNode(value, at: at, written: written)
        case .mapping(let mapping):
            var entries: [StackNode.Entry] = []
            for (key, keyLine, value) in try self.entries(of: mapping, path: path) {
                let child = try convert(value, path: path + [key], interpolating: interpolating, line: keyLine)
                entries.append(.init(key: key, node: child, location: location(keyLine ?? at.line)))
            }
            return StackNode(.map(entries), at: at)
        case .sequence(let sequence):
            var items: [StackNode] = []
            for item in sequence {
                items.append(try convert(item, path: path + ["[]"], interpolating: interpolating, line: at.line))
            }
            return StackNode(.list(items), at: at)
        }
    }

    /// The entries of a mapping with `<<` merge keys resolved (explicit keys win, then the merged
    /// mappings in order); a key given twice, or one that is not text, is an error, as it is for docker.
    private func entries(of mapping: Node.Mapping, path: [String]) throws(RecipeError) -> [(String, Int?, Node)] {
        var explicit: [(String, Int?, Node)] = []
        var merged: [(String, Int?, Node)] = []
        var mergedKeys: Set<String> = []
        var firstLines: [String: Int?] = [:]
        let here = path.isEmpty ? "" : Self.dotted(path) + "."
        for (keyNode, value) in mapping {
            let line = keyNode.mark?.line
            if keyNode.tag == Tag(.merge) {
                var sources: [Node.Mapping] = []
                if let source = value.mapping {
                    sources = [source]
                } else if let sequence = value.sequence {
                    for item in sequence {
                        guard let source = item.mapping else {
                            throw .wrongType(file: file, line: line, key: here + "<<", expected: "a mapping or a list of mappings")
                        }
                        sources.append(source)
                    }
                } else {
                    throw .wrongType(file: file, line: line, key: here + "<<", expected: "a mapping or a list of mappings")
                }
                for source in sources {
                    for entry in try entries(of: source, path: path) where mergedKeys.insert(entry.0).inserted {
                        merged.append(entry)
                    }
                }
                continue
            }
            guard let scalar = keyNode.scalar else {
                throw .wrongType(file: file, line: line, key: here.isEmpty ? "each key" : "each key of \(here.dropLast())", expected: "text")
            }
            if scalar.style == .plain {
                let typed = try Self.plainValue(scalar.string, file: file, line: line, key: path)
                if typed != .string(scalar.string) {
                    throw .wrongType(file: file, line: line, key: here + scalar.string,
                                     expected: "a text key (docker's YAML reader takes \(scalar.string) for a \(Self.typeName(typed)): quote it)")
                }
            }
            let key = scalar.string
            if let firstLine = firstLines[key] {
                throw .duplicateKey(file: file, line: line, key: here + key, firstLine: firstLine)
            }
            firstLines[key] = line
            explicit.append((key, line, value))
        }
        return explicit + merged.filter { firstLines[$0.0] == nil }
    }

    // MARK: Scalars as docker's reader types them

    /// A plain (unquoted) scalar typed as yaml.v2 types it: null, YAML 1.1 booleans (`yes`, `on`,
    /// `y`…), integers (decimal, `0x`, `0o`, `0b`, a leading `0` for octal, `_` ignored), floats;
    /// anything else is text. (A value yaml.v2 would read as a timestamp stays text; docker's
    /// compose schema has no timestamp field.)
    static func plainValue(_ text: String, file: String, line: Int?, key: [String]) throws(RecipeError) -> StackNode.Value {
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE": return .bool(true)
        case "n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE": return .bool(false)
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN":
            throw .wrongType(file: file, line: line, key: dotted(key), expected: "a finite value (\(text) is read as a non-finite number)")
        default: break
        }
        guard let first = text.unicodeScalars.first, "+-.0123456789".unicodeScalars.contains(first) else { return .string(text) }
        let plain = text.replacingOccurrences(of: "_", with: "")
        if let integer = integer(plain) { return .integer(integer) }
        if plain.range(of: #"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$"#, options: .regularExpression) != nil,
           let number = Double(plain), number.isFinite {
            return .double(number)
        }
        return .string(text)
    }

    /// Go's `strconv.ParseInt(text, 0, 64)`: an optional sign, then `0x`, `0o`, `0b`, a leading `0`
    /// (octal) or decimal digits.
    private static func integer(_ text: String) -> Int64? {
        var digits = Substring(text)
        var negative = false
        if let sign = digits.first, sign == "+" || sign == "-" {
            negative = sign == "-"
            digits = digits.dropFirst()
        }
        var radix = 10
        for (prefix, base) in [("0x", 16), ("0X", 16), ("0o", 8), ("0O", 8), ("0b", 2), ("0B", 2)] where digits.hasPrefix(prefix) {
            radix = base
            digits = digits.dropFirst(2)
        }
        if radix == 10 && digits.count > 1 && digits.hasPrefix("0") { radix = 8 }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isHexDigit }),
              let magnitude = UInt64(digits, radix: radix) else { return nil }
        if negative { return magnitude <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil }
        return Int64(exactly: magnitude)
    }

    static func typeName(_ value: StackNode.Value) -> String {
        switch value {
        case .null: "null"
        case .bool: "boolean"
        case .integer, .double: "number"
        case .string: "text"
        case .list: "list"
        case .map: "mapping"
        }
    }

    // MARK: Interpolation and docker's casts

    private func interpolate(_ text: String, line: Int?, unset: inout [String]) throws(RecipeError) -> String {
        switch Interpolation.substitute(text, environment: environment, unset: &unset) {
        case let .success(value): return value
        case .failure(.invalid): throw .invalidInterpolation(file: file, line: line, text: text)
        case let .failure(.required(variable, message)):
            throw .requiredVariableUnset(file: file, line: line, variable: variable, message: message)
        }
    }

    enum Cast { case integer, boolean, number }

    /// The paths at which docker's compose loader casts an interpolated value (`*` is any key,
    /// `[]` any list item), as its interpolation type-cast table lists them.
    static let casts: [([String], Cast)] = [
        (["services", "*", "configs", "[]", "mode"], .integer), (["services", "*", "secrets", "[]", "mode"], .integer),
        (["services", "*", "healthcheck", "retries"], .integer), (["services", "*", "healthcheck", "disable"], .boolean),
        (["services", "*", "deploy", "replicas"], .integer),
        (["services", "*", "deploy", "update_config", "parallelism"], .integer),
        (["services", "*", "deploy", "update_config", "max_failure_ratio"], .number),
        (["services", "*", "deploy", "rollback_config", "parallelism"], .integer),
        (["services", "*", "deploy", "rollback_config", "max_failure_ratio"], .number),
        (["services", "*", "deploy", "restart_policy", "max_attempts"], .integer),
        (["services", "*", "ports", "[]", "target"], .integer), (["services", "*", "ports", "[]", "published"], .integer),
        (["services", "*", "ulimits", "*"], .integer), (["services", "*", "ulimits", "*", "hard"], .integer),
        (["services", "*", "ulimits", "*", "soft"], .integer),
        (["services", "*", "privileged"], .boolean), (["services", "*", "read_only"], .boolean),
        (["services", "*", "stdin_open"], .boolean), (["services", "*", "tty"], .boolean),
        (["services", "*", "volumes", "[]", "read_only"], .boolean),
        (["services", "*", "volumes", "[]", "volume", "nocopy"], .boolean),
        (["networks", "*", "external"], .boolean), (["networks", "*", "internal"], .boolean),
        (["networks", "*", "attachable"], .boolean), (["volumes", "*", "external"], .boolean),
        (["secrets", "*", "external"], .boolean), (["configs", "*", "external"], .boolean),
    ]

    /// `text` (an interpolated value at `path`) as docker casts it there; text where it casts nothing.
    static func cast(_ text: String, path: [String], file: String, line: Int?) throws(RecipeError) -> StackNode.Value {
        let match = casts.first { pattern, _ in
            pattern.count == path.count && zip(pattern, path).allSatisfy { $0 == $1 || ($0 == "*" && $1 != "[]") }
        }
        guard let (_, cast) = match else { return .string(text) }
        switch cast {
        case .integer:
            if let number = Int64(text) { return .integer(number) }
            throw .wrongType(file: file, line: line, key: dotted(path), expected: "a whole number (it is \"\(text)\")")
        case .number:
            if let number = Double(text), number.isFinite { return .double(number) }
            throw .wrongType(file: file, line: line, key: dotted(path), expected: "a number (it is \"\(text)\")")
        case .boolean:
            switch text.lowercased() {
            case "y", "yes", "true", "on": return .bool(true)
            case "n", "no", "false", "off": return .bool(false)
            default: throw .wrongType(file: file, line: line, key: dotted(path), expected: "true or false (it is \"\(text)\")")
            }
        }
    }

    // MARK: Places

    private func location(_ line: Int?) -> Location { Location(file: file, line: line ?? 1) }

    /// `services.app.volumes[]`: a path as messages show it.
    static func dotted(_ path: [String]) -> String {
        path.reduce("") { $1 == "[]" ? $0 + "[]" : ($0.isEmpty ? $1 : $0 + "." + $1) }
    }
}
