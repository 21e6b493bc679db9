import Foundation
import PluginChannel

/// A plugin's metadata (the JSON its `metadata()` returns), checked field by field.
public struct PluginMetadata: Sendable, Equatable, Codable {
    public struct Readiness: Sendable, Equatable, Codable {
        public var path: String
        public var status: Int
        public init(path: String, status: Int) { (self.path, self.status) = (path, status) }
    }

    public struct Timeouts: Sendable, Equatable, Codable {
        public var deploy: Int?
        public var check: Int?
    }

    /// Recipes served; ["*"] serves every recipe.
    public var recipes: [String]
    public var canonicalSweep: Bool
    public var stages: [Tier]?
    public var expectedNA: [Tier]
    public var skipGeneric: Bool
    public var timeouts: Timeouts
    public var readiness: Readiness?
    public var env: [String: String]
    public var dependsOn: [String]
    /// Default arguments for typed checks, by check then parameter.
    public var config: [String: [String: ArgumentValue]]

    public func serves(recipe: String) -> Bool { recipes.contains("*") || recipes.contains(recipe) }

    /// Parses and checks metadata JSON; every problem is reported with its field path.
    public init(json text: String) throws(Rejection) {
        var problems: [Rejection.Problem] = []
        func problem(_ field: String, _ message: String) {
            problems.append(.init(field: "metadata.\(field)", message: "metadata field \"\(field)\" \(message)"))
        }
        guard case .object(let object)? = JSONValue.parse(text) else {
            throw Rejection(stage: .metadata, problems: [.init(
                field: "metadata", expected: "a JSON object", found: String(text.prefix(80)),
                message: "metadata is not a JSON object: \(text.prefix(80))")])
        }
        let known: Set = ["recipes", "canonical_sweep", "stages", "expected_na", "skip_generic", "timeouts",
                          "readiness", "env", "depends_on", "config"]
        for key in object.keys.sorted() where !known.contains(key) {
            problem(key, "is not a metadata key (known: \(known.sorted().joined(separator: ", ")))")
        }

        func names(_ key: String, allowStar: Bool) -> [String]? {
            guard let raw = object[key] else { return nil }
            guard case .array(let list) = raw else { problem(key, "must be a list of recipe names"); return [] }
            return list.enumerated().compactMap { index, item in
                guard case .string(let name) = item, (allowStar && name == "*") || RecipeName.isValid(name) else {
                    problem("\(key)[\(index)]", "is \(item), not a recipe name ([a-z0-9][a-z0-9_.-]*)")
                    return nil
                }
                return name
            }
        }
        func tiers(_ key: String) -> [Tier]? {
            guard let raw = object[key] else { return nil }
            guard case .array(let list) = raw else { problem(key, "must be a list of tiers"); return [] }
            return list.enumerated().compactMap { index, item in
                guard case .string(let name) = item, let tier = Tier(rawValue: name) else {
                    problem("\(key)[\(index)]", "is \(item), not a tier (\(Tier.allCases.map(\.rawValue).joined(separator: ", ")))")
                    return nil
                }
                return tier
            }
        }
        func bool(_ key: String) -> Bool {
            guard let raw = object[key] else { return false }
            guard case .bool(let value) = raw else { problem(key, "must be true or false"); return false }
            return value
        }
        func integer(_ raw: JSONValue?, _ field: String, in range: ClosedRange<Int>) -> Int? {
            guard let raw else { return nil }
            guard case .integer(let wide) = raw, let value = Int(exactly: wide), range.contains(value) else {
                problem(field, "is \(raw), expected a whole number in \(range.lowerBound)...\(range.upperBound)")
                return nil
            }
            return value
        }

        let recipes = names("recipes", allowStar: true)
        if recipes == nil { problem("recipes", "is required: the recipes this plugin serves, or [\"*\"]") }
        else if recipes!.isEmpty && problems.isEmpty { problem("recipes", "is empty: a plugin must serve at least one recipe") }
        self.recipes = recipes ?? []
        canonicalSweep = bool("canonical_sweep")
        stages = tiers("stages")
        expectedNA = tiers("expected_na") ?? []
        skipGeneric = bool("skip_generic")
        dependsOn = names("depends_on", allowStar: false) ?? []

        timeouts = Timeouts()
        if let raw = object["timeouts"] {
            if case .object(let t) = raw {
                for key in t.keys.sorted() where !["deploy", "check"].contains(key) {
                    problem("timeouts.\(key)", "is not a timeout (deploy, check)")
                }
                timeouts.deploy = integer(t["deploy"], "timeouts.deploy", in: 1...86_400)
                timeouts.check = integer(t["check"], "timeouts.check", in: 1...86_400)
            } else { problem("timeouts", "must be an object like {\"deploy\": 600, \"check\": 60}") }
        }

        readiness = nil
        if let raw = object["readiness"] {
            if case .object(let r) = raw {
                for key in r.keys.sorted() where !["path", "status"].contains(key) {
                    problem("readiness.\(key)", "is not a readiness field (path, status)")
                }
                var path: String? = nil
                if case .string(let p)? = r["path"] { path = p }
                if path == nil || !path!.hasPrefix("/") { problem("readiness.path", "must be a path starting with /") }
                let status = r["status"] == nil ? 200 : integer(r["status"], "readiness.status", in: 100...599)
                if let path, path.hasPrefix("/"), let status { readiness = Readiness(path: path, status: status) }
            } else { problem("readiness", "must be an object like {\"path\": \"/\", \"status\": 200}") }
        }

        env = [:]
        if let raw = object["env"] {
            if case .object(let e) = raw {
                for (key, value) in e.sorted(by: { $0.key < $1.key }) {
                    guard Self.isEnvName(key) else { problem("env.\(key)", "is not an environment variable name"); continue }
                    guard case .string(let text) = value else { problem("env.\(key)", "must be a string"); continue }
                    env[key] = text
                }
            } else { problem("env", "must be an object of strings") }
        }

        config = [:]
        if let raw = object["config"] {
            if case .object(let c) = raw {
                for (check, parameters) in c.sorted(by: { $0.key < $1.key }) {
                    guard case .object(let parameters) = parameters else {
                        problem("config.\(check)", "must be an object of parameter values"); continue
                    }
                    var values: [String: ArgumentValue] = [:]
                    for (name, value) in parameters {
                        guard let argument = Self.argument(value) else {
                            problem("config.\(check).\(name)", "is \(value), expected a string, number or boolean"); continue
                        }
                        values[name] = argument
                    }
                    config[check] = values
                }
            } else { problem("config", "must be an object keyed by check name") }
        }

        guard problems.isEmpty else { throw Rejection(stage: .metadata, problems: problems) }
    }

    static func argument(_ value: JSONValue) -> ArgumentValue? {
        switch value {
        case .string(let s): return .string(s)
        case .bool(let b): return .bool(b)
        case .integer(let i): return .integer(i)
        case .double(let d): return .double(d)
        case .null, .array, .object: return nil
        }
    }

    static func isEnvName(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, first == "_" || ("A"..."Z").contains(first) || ("a"..."z").contains(first) else { return false }
        return s.unicodeScalars.allSatisfy { $0 == "_" || ("A"..."Z").contains($0) || ("a"..."z").contains($0) || ("0"..."9").contains($0) }
    }
}

/// Recipe names as Co-op Cloud uses them: lowercase letters, digits, `_`, `.`, `-`.
public enum RecipeName {
    public static func isValid(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, ("a"..."z").contains(first) || ("0"..."9").contains(first),
              name.count <= 100 else { return false }
        return name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || "_.-".unicodeScalars.contains($0) }
    }
}
