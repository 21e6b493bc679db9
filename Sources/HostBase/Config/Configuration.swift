import Foundation
import Yams

/// The operator's configuration: a YAML file, then environment overrides, then defaults.
///
/// The file is `$CCHOST_CONFIG` (which must exist when set), else `/etc/cchost/config.yml` when it
/// exists; without either, only defaults and the environment apply. Keys:
///
///     state_dir: /var/lib/cchost          # CCHOST_STATE_DIR replaces it
///     plugin_paths: [/usr/lib/cchost]     # CCHOST_PLUGIN_PATH (colon-separated) is searched first
///     allowlist: /etc/cchost/allowlist    # CCHOST_ALLOWLIST replaces it
///     worker_path: /usr/libexec/cchost-worker
///     ceilings: {deadline: 60m, memory: 2GiB, cpus: 2, run_folder: 5GiB}   # see Ceilings.swift
///     retention: {keep_runs: 10, max_size: 20GiB}
///     docker_host: unix:///var/run/docker.sock   # the engine; else cchost's DOCKER_HOST (see EngineAddress)
///
/// An environment variable set to the empty string counts as unset.
public struct Configuration: Sendable, Equatable {
    public var stateDirectory: String
    /// Directories searched for plugins, in order.
    public var pluginPaths: [String]
    public var allowlistPath: String
    /// The `cchost-worker` executable; `nil` lets the host find it.
    public var workerPath: String?
    /// The file the configuration came from; `nil` when only defaults and the environment apply.
    public var source: String?
    /// Limits for operator-installed plugins (`operator_plugins`); overlays always get `.strict`.
    public var operatorProfile: SandboxProfile = .operatorDefault
    /// The recipes the operator watches (`recipes:`).
    public var recipes: [RecipeSettings] = []
    /// How many recipes a sweep runs at once (`concurrency`, default 2).
    public var concurrency: Int = 2
    /// The deploy backend (`backend`: swarm or abra; default swarm).
    public var backend: String = "swarm"
    /// The base domain of test apps (`base_domain`, default ci.example).
    public var baseDomain: String = "ci.example"
    /// The Docker engine (`docker_host`, a unix socket); `nil` leaves it to `EngineAddress.resolve`:
    /// cchost's own `DOCKER_HOST`, else the default socket.
    public var dockerHost: EngineAddress?

    // MARK: Ceilings and retention (`ceilings:`, `retention:`; see Ceilings.swift)
    /// What every run may use, before a recipe's own `ceilings` (see `ceilings(for:)`).
    public var ceilings: RunCeilings = .defaults
    /// How much of past runs' folders `cchost gc` and the sweep keep.
    public var retention = RetentionPolicy()

    /// The ceilings of `recipe`'s runs: the global ones with the recipe's own over them.
    public func ceilings(for recipe: String) -> RunCeilings {
        recipes.first { $0.name == recipe }.map { ceilings.applying($0.ceilings) } ?? ceilings
    }
    // MARK: -

    public static let defaultFilePath = "/etc/cchost/config.yml"
    public static let defaultAllowlistPath = "/etc/cchost/allowlist"

    public init(
        stateDirectory: String, pluginPaths: [String], allowlistPath: String,
        workerPath: String? = nil, source: String? = nil
    ) {
        self.stateDirectory = stateDirectory
        self.pluginPaths = pluginPaths
        self.allowlistPath = allowlistPath
        self.workerPath = workerPath
        self.source = source
    }

    /// Reads the configuration file the environment points to (or the default one, if it exists)
    /// and applies the environment's overrides.
    public static func load(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigurationError) -> Configuration {
        try load(environment: environment, defaultFilePath: defaultFilePath)
    }

    /// `load(environment:)` with the default file's path injectable, for tests.
    static func load(environment: [String: String], defaultFilePath: String) throws(ConfigurationError) -> Configuration {
        if let explicit = environment.nonEmpty("CCHOST_CONFIG") {
            guard let text = try readText(at: explicit) else { throw .missingFile(path: explicit) }
            return try Configuration(parsing: text, source: explicit, environment: environment)
        }
        if let text = try readText(at: defaultFilePath) {
            return try Configuration(parsing: text, source: defaultFilePath, environment: environment)
        }
        var configuration = Configuration(defaultsFor: environment)
        configuration.applyOverrides(from: environment)
        return configuration
    }

    /// Parses configuration YAML (`source` names it in messages) and applies the environment's overrides.
    public init(parsing yaml: String, source: String, environment: [String: String]) throws(ConfigurationError) {
        self.init(defaultsFor: environment)
        self.source = source
        try apply(yaml: yaml, from: source)
        applyOverrides(from: environment)
    }

    /// Defaults: state in `/var/lib/cchost` for root, else `$HOME/.local/state/cchost`.
    private init(defaultsFor environment: [String: String]) {
        self.init(
            stateDirectory: Self.defaultStateDirectory(environment: environment, isRoot: geteuid() == 0),
            pluginPaths: [], allowlistPath: Self.defaultAllowlistPath)
    }

    static func defaultStateDirectory(environment: [String: String], isRoot: Bool) -> String {
        if isRoot { return "/var/lib/cchost" }
        let home = environment.nonEmpty("HOME") ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".local/state/cchost").path
    }

    private mutating func applyOverrides(from environment: [String: String]) {
        if let stateDirectory = environment.nonEmpty("CCHOST_STATE_DIR") {
            self.stateDirectory = stateDirectory
        }
        if let pluginPath = environment.nonEmpty("CCHOST_PLUGIN_PATH") {
            pluginPaths = pluginPath.split(separator: ":").map(String.init) + pluginPaths
        }
        if let allowlist = environment.nonEmpty("CCHOST_ALLOWLIST") {
            allowlistPath = allowlist
        }
    }

    // MARK: The file

    private enum Key: String, CaseIterable {
        case stateDir = "state_dir"
        case pluginPaths = "plugin_paths"
        case allowlist
        case workerPath = "worker_path"
        case operatorPlugins = "operator_plugins"
        case recipes, concurrency, backend
        case baseDomain = "base_domain"
        case ceilings, retention
        case dockerHost = "docker_host"
    }

    private mutating func apply(yaml: String, from file: String) throws(ConfigurationError) {
        let root: Node?
        do throws(YAMLDocument.Problem) {
            root = try YAMLDocument.compose(yaml)
        } catch {
            throw .malformedYAML(file: file, line: error.line, problem: error.problem)
        }
        guard let root else { return }  // empty or comments only: defaults
        guard let mapping = root.mapping else {
            throw .notAMapping(file: file, line: root.mark?.line)
        }
        var seen: [Key: Int?] = [:]
        for (keyNode, value) in mapping {
            let line = keyNode.mark?.line
            guard let name = keyNode.scalar?.string, let key = Key(rawValue: name) else {
                throw .unknownKey(file: file, line: line, key: keyNode.scalar?.string ?? "\(keyNode)",
                                  known: Key.allCases.map(\.rawValue))
            }
            if let firstLine = seen[key] {
                throw .duplicateKey(file: file, line: line, key: name, firstLine: firstLine)
            }
            seen[key] = line
            switch key {
            case .stateDir:
                stateDirectory = try Self.path(value, key: name, keyLine: line, file: file)
            case .allowlist:
                allowlistPath = try Self.path(value, key: name, keyLine: line, file: file)
            case .workerPath:
                workerPath = try Self.path(value, key: name, keyLine: line, file: file)
            case .recipes:
                guard let list = value.sequence else {
                    throw .wrongType(file: file, line: line, key: name, expected: "a list of recipes")
                }
                recipes = try list.enumerated().map { (index, item) throws(ConfigurationError) in
                    try RecipeSettings.parse(item, index: index, file: file)
                }
                var seenNames = Set<String>()
                for recipe in recipes where !seenNames.insert(recipe.name).inserted {
                    throw .duplicateKey(file: file, line: line, key: "recipes: \(recipe.name)", firstLine: nil)
                }
                retention.keepRunsByRecipe = Dictionary(uniqueKeysWithValues: recipes.compactMap { recipe in
                    recipe.keepRuns.map { (recipe.name, $0) }
                })
            case .concurrency:
                guard let count = value.int, (1...64).contains(count) else {
                    throw .wrongType(file: file, line: line, key: name, expected: "a whole number from 1 to 64")
                }
                concurrency = count
            case .backend:
                guard let text = value.scalar?.string, ["swarm", "abra"].contains(text) else {
                    throw .wrongType(file: file, line: line, key: name, expected: "swarm or abra")
                }
                backend = text
            case .baseDomain:
                baseDomain = try Self.path(value, key: name, keyLine: line, file: file)
            case .dockerHost:
                let text = try Self.path(value, key: name, keyLine: line, file: file, expected: EngineAddressError.expected)
                do { dockerHost = try EngineAddress(parsing: text) } catch {
                    throw .invalidValue(file: file, line: value.mark?.line ?? line, key: name, problem: error.problem)
                }
            case .operatorPlugins:
                try applyOperatorLimits(value, key: name, keyLine: line, file: file)
            // Ceilings and retention.
            case .ceilings:
                ceilings = RunCeilings.defaults.applying(try RunCeilings.Overrides.parse(value, field: name, file: file))
            case .retention:
                let parsed = try RetentionPolicy.parse(value, field: name, file: file, perRecipe: false)
                retention.keepRuns = parsed.keepRuns ?? retention.keepRuns
                retention.maxBytes = parsed.maxBytes ?? retention.maxBytes
            case .pluginPaths:
                guard let sequence = value.sequence else {
                    throw .wrongType(file: file, line: line, key: name, expected: "a list of paths")
                }
                pluginPaths = try sequence.map { (item: Node) throws(ConfigurationError) -> String in
                    try Self.path(item, key: "each entry of \(name)", keyLine: item.mark?.line, file: file)
                }
            }
        }
    }

    /// `operator_plugins: {memory_mb, cpu_seconds, call_timeout}`: more memory or time for operator
    /// plugins. Network and files are not configurable: every plugin gets none.
    private static let operatorLimits = ["memory_mb", "cpu_seconds", "call_timeout"]

    private mutating func applyOperatorLimits(_ node: Node, key: String, keyLine: Int?, file: String) throws(ConfigurationError) {
        guard let mapping = node.mapping else {
            throw .wrongType(file: file, line: keyLine, key: key, expected: "a mapping of \(Self.operatorLimits.joined(separator: ", "))")
        }
        for (limitNode, value) in mapping {
            let name = limitNode.scalar?.string ?? "\(limitNode)"
            let line = limitNode.mark?.line
            guard Self.operatorLimits.contains(name) else {
                throw .unknownKey(file: file, line: line, key: "\(key).\(name)", known: Self.operatorLimits)
            }
            guard let number = value.scalar.flatMap({ UInt64($0.string) }), number > 0, number <= 1 << 20 else {
                throw .wrongType(file: file, line: line, key: "\(key).\(name)", expected: "a whole number from 1 to 1048576")
            }
            switch name {
            case "memory_mb": operatorProfile.addressSpaceBytes = number << 20
            case "cpu_seconds": operatorProfile.cpuSeconds = number
            default: operatorProfile.callTimeout = Double(number)
            }
        }
    }

    /// A non-empty, non-null scalar.
    private static func path(_ node: Node, key: String, keyLine: Int?, file: String,
                             expected: String = "a path") throws(ConfigurationError) -> String {
        guard let scalar = node.scalar, node.tag != Tag(.null), !scalar.string.isEmpty else {
            throw .wrongType(file: file, line: keyLine, key: key, expected: expected)
        }
        return scalar.string
    }

    /// The file's text, or `nil` when nothing exists at `path`.
    private static func readText(at path: String) throws(ConfigurationError) -> String? {
        do { return try TextFile.read(path) } catch { throw .unreadable(file: path, reason: error.reason) }
    }
}

/// Why the configuration could not be loaded.
public enum ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `CCHOST_CONFIG` names a file that does not exist.
    case missingFile(path: String)
    /// The file exists but cannot be read.
    case unreadable(file: String, reason: String)
    /// The file is not valid YAML.
    case malformedYAML(file: String, line: Int?, problem: String)
    /// The document is not a mapping of settings.
    case notAMapping(file: String, line: Int?)
    /// `known`: the keys accepted where `key` was found, from the code that accepts them.
    case unknownKey(file: String, line: Int?, key: String, known: [String])
    case duplicateKey(file: String, line: Int?, key: String, firstLine: Int?)
    /// `expected` is a phrase such as "a path" or "a list of paths".
    case wrongType(file: String, line: Int?, key: String, expected: String)
    /// The right type, but a value that cannot be used; `problem` says why and what would do.
    case invalidValue(file: String, line: Int?, key: String, problem: String)

    public var description: String {
        switch self {
        case let .missingFile(path):
            "CCHOST_CONFIG names \(path), which does not exist; create it or unset CCHOST_CONFIG"
        case let .unreadable(file, reason):
            "cannot read configuration \(file): \(reason)"
        case let .malformedYAML(file, line, problem):
            "\(Self.location(file, line)) malformed YAML: \(problem)"
        case let .notAMapping(file, line):
            "\(Self.location(file, line)) the configuration must be a mapping of settings such as 'state_dir: /var/lib/cchost'"
        case let .unknownKey(file, line, key, known):
            "\(Self.location(file, line)) unknown key '\(key)' (known keys: \(known.joined(separator: ", ")))"
        case let .duplicateKey(file, line, key, firstLine):
            "\(Self.location(file, line)) \(key) is set twice" + (firstLine.map { " (first on line \($0))" } ?? "")
        case let .wrongType(file, line, key, expected):
            "\(Self.location(file, line)) \(key) must be \(expected)"
        case let .invalidValue(file, line, key, problem):
            "\(Self.location(file, line)) \(key): \(problem)"
        }
    }

    private static func location(_ file: String, _ line: Int?) -> String {
        line.map { "\(file):\($0):" } ?? "\(file):"
    }
}

extension [String: String] {
    fileprivate func nonEmpty(_ name: String) -> String? {
        guard let value = self[name], !value.isEmpty else { return nil }
        return value
    }
}
