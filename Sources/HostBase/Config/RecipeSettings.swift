import Foundation
import PluginChannel
import Yams

/// One recipe the operator watches (`recipes:` in the configuration).
public struct RecipeSettings: Sendable, Equatable {
    public var name: String
    /// Where the recipe's repository lives upstream (URL or path).
    public var upstream: String
    /// The local mirror the sweep syncs (default: `<state_dir>/mirrors/<name>.git`).
    public var mirror: String?
    /// Part of the scheduled canonical sweep (default true).
    public var enrolled: Bool
    /// Tiers to run (default: all).
    public var stages: [Tier]?
    /// Seconds a deploy may take to converge.
    public var timeout: Int?
    /// Extra env for the app under test.
    public var env: [String: String]
    /// Parameters of typed checks, by check then parameter.
    public var checks: [String: [String: ArgumentValue]]
    /// The path the generic suite's readiness check asks (over the recipe plugins' `readiness`).
    public var readinessPath: String?
    /// How to seed the app's data through it for the data proof (`data_seed`).
    public var dataSeed: DataSeed?
    /// The recipe's own ceilings, over the global ones (`ceilings`).
    public var ceilings = RunCeilings.Overrides()
    /// How many of the recipe's run folders are kept (`retention: {keep_runs}`), over the global count.
    public var keepRuns: Int?
    /// What the content policy lets this recipe do (`allow`, `max_replicas`, `allow_domains`).
    public var allowance: PolicyAllowance = .none

    public init(name: String, upstream: String, mirror: String? = nil, enrolled: Bool = true, stages: [Tier]? = nil,
                timeout: Int? = nil, env: [String: String] = [:], checks: [String: [String: ArgumentValue]] = [:],
                readinessPath: String? = nil) {
        self.name = name
        self.upstream = upstream
        self.mirror = mirror
        self.enrolled = enrolled
        self.stages = stages
        self.timeout = timeout
        self.env = env
        self.checks = checks
        self.readinessPath = readinessPath
    }

    /// The keys of a `recipes:` entry: what `parse` accepts and what an unknown key's error lists.
    private enum Field: String, CaseIterable {
        case name, upstream, mirror, enrolled, timeout, stages, env, readiness, checks, ceilings, retention, allow
        case dataSeed = "data_seed", maxReplicas = "max_replicas", allowDomains = "allow_domains"
    }

    /// Reads one entry of `recipes:`; every problem names its path (`recipes[1].stages[0]`) and line.
    static func parse(_ node: Node, index: Int, file: String) throws(ConfigurationError) -> RecipeSettings {
        let path = "recipes[\(index)]"
        func wrong(_ key: String, _ line: Int?, _ expected: String) -> ConfigurationError {
            .wrongType(file: file, line: line, key: key, expected: expected)
        }
        guard let mapping = node.mapping else { throw wrong(path, node.mark?.line, "a mapping with name and upstream") }
        var name: String?, upstream: String?
        var settings = RecipeSettings(name: "", upstream: "")
        for (keyNode, value) in mapping {
            let key = keyNode.scalar?.string ?? ""
            let line = keyNode.mark?.line
            let field = "\(path).\(key)"
            func text() throws(ConfigurationError) -> String {
                guard let scalar = value.scalar, value.tag != Tag(.null), !scalar.string.isEmpty else { throw wrong(field, line, "a value") }
                return scalar.string
            }
            guard let known = Field(rawValue: key) else {
                throw .unknownKey(file: file, line: line, key: field, known: Field.allCases.map(\.rawValue))
            }
            switch known {
            case .name:
                let value = try text()
                guard RecipeName.isValid(value) else { throw wrong(field, line, "a recipe name (lowercase letters, digits, _ . -)") }
                name = value
            case .upstream: upstream = try text()
            case .mirror: settings.mirror = try text()
            case .enrolled:
                guard let flag = value.bool else { throw wrong(field, line, "true or false") }
                settings.enrolled = flag
            case .timeout:
                guard let seconds = value.int, seconds > 0 else { throw wrong(field, line, "a whole number of seconds") }
                settings.timeout = seconds
            case .stages:
                guard let list = value.sequence, !list.isEmpty else { throw wrong(field, line, "a non-empty list of tiers") }
                settings.stages = try list.enumerated().map { (offset, item) throws(ConfigurationError) -> Tier in
                    guard let tier = item.scalar.flatMap({ Tier(rawValue: $0.string) }) else {
                        throw wrong("\(field)[\(offset)]", item.mark?.line, "a tier (\(Tier.allCases.map(\.rawValue).joined(separator: ", ")))")
                    }
                    return tier
                }
            case .env:
                guard let entries = value.mapping else { throw wrong(field, line, "a mapping of variables to values") }
                for (variable, setting) in entries {
                    guard let variableName = variable.scalar?.string, let text = setting.scalar?.string else {
                        throw wrong("\(field).\(variable.scalar?.string ?? "?")", variable.mark?.line, "a string value")
                    }
                    settings.env[variableName] = text
                }
            case .readiness:
                let value = try text()
                guard value.hasPrefix("/") else { throw wrong(field, line, "a path starting with /") }
                settings.readinessPath = value
            case .ceilings:
                settings.ceilings = try RunCeilings.Overrides.parse(value, field: field, file: file)
            case .retention:
                settings.keepRuns = try RetentionPolicy.parse(value, field: field, file: file, perRecipe: true).keepRuns
            case .allow:
                let known = RecipePolicy.Option.allCases.map(\.rawValue).joined(separator: ", ")
                guard let list = value.sequence, !list.isEmpty else { throw wrong(field, line, "a non-empty list of options (\(known))") }
                for (offset, item) in list.enumerated() {
                    guard let option = item.scalar.flatMap({ RecipePolicy.Option(rawValue: $0.string) }) else {
                        throw wrong("\(field)[\(offset)]", item.mark?.line ?? line, "an option of the content policy (\(known))")
                    }
                    settings.allowance.options.insert(option)
                }
            case .allowDomains:
                let expected = "a domain name (letters, digits, - and . between labels, such as www.example.org)"
                guard let list = value.sequence, !list.isEmpty else { throw wrong(field, line, "a non-empty list of domains the app's routers may route") }
                for (offset, item) in list.enumerated() {
                    guard let domain = item.scalar?.string, item.tag != Tag(.null), Self.isDomain(domain) else {
                        throw wrong("\(field)[\(offset)]", item.mark?.line ?? line, expected)
                    }
                    settings.allowance.domains.insert(domain.lowercased())
                }
            case .maxReplicas:
                guard let count = value.int, (1...1000).contains(count) else { throw wrong(field, line, "a whole number from 1 to 1000") }
                settings.allowance.maxReplicas = count
            case .dataSeed:
                settings.dataSeed = try DataSeed.parse(value, field: field, file: file)
            case .checks:
                guard let entries = value.mapping else { throw wrong(field, line, "a mapping of check names to parameters") }
                for (check, parameters) in entries {
                    let checkName = check.scalar?.string ?? "?"
                    guard let parameterMap = parameters.mapping else {
                        throw wrong("\(field).\(checkName)", check.mark?.line, "a mapping of parameters to values")
                    }
                    var values: [String: ArgumentValue] = [:]
                    for (parameter, argument) in parameterMap {
                        let parameterName = parameter.scalar?.string ?? "?"
                        guard let argumentValue = Self.argument(argument) else {
                            throw wrong("\(field).\(checkName).\(parameterName)", parameter.mark?.line, "a string, number or boolean")
                        }
                        values[parameterName] = argumentValue
                    }
                    settings.checks[checkName] = values
                }
            }
        }
        guard let name else { throw wrong("\(path).name", node.mark?.line, "present: every recipe needs a name") }
        guard let upstream else { throw wrong("\(path).upstream", node.mark?.line, "present: where the recipe's repository lives") }
        settings.name = name
        settings.upstream = upstream
        return settings
    }

    /// A literal domain name as Traefik's `Host` matches it: dot-separated labels of letters, digits
    /// and inner hyphens, 253 characters at most; no wildcard, no trailing dot.
    static func isDomain(_ text: String) -> Bool {
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        return text.count <= 253 && labels.count >= 2 && labels.allSatisfy { label in
            (1...63).contains(label.count) && label.first != "-" && label.last != "-"
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }

    /// A YAML scalar as a typed-check argument: booleans and numbers by their YAML type, else text.
    static func argument(_ node: Node) -> ArgumentValue? {
        guard let scalar = node.scalar else { return nil }
        if scalar.style == .plain {
            if let flag = node.bool { return .bool(flag) }
            if let integer = node.int { return .integer(Int64(integer)) }
            if let number = node.float { return .double(number) }
        }
        return .string(scalar.string)
    }
}
