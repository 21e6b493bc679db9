import Foundation
import Yams

/// What one run may use (`ceilings:` globally, and per recipe in `recipes[].ceilings`):
///
///     ceilings:
///       deadline: 60m        # the whole run, from its start; s, m or h
///       memory: 2GiB         # per service of the app (deploy.resources.limits.memory)
///       cpus: 2              # per service (deploy.resources.limits.cpus)
///       run_folder: 5GiB     # what the run's folder may hold (backups, artifacts), checked after each tier
///       tasks: 50            # swarm tasks the app may ask for: every service's replicas, summed
///
/// A recipe's own positive service limits at or below the ceiling stay; higher ones, none, zero
/// (docker's "no limit") and unreadable ones get the ceiling.
public struct RunCeilings: Sendable, Equatable {
    /// Seconds from the run's start until it is cancelled.
    public var deadline: TimeInterval
    public var services: ServiceCeilings
    /// Bytes the run's folder may hold (its checkouts, which go with the run, not counted).
    public var runFolderBytes: UInt64
    /// Tasks the app may ask swarm for, over all its services (`RecipePolicy.tasks(in:)` counts them);
    /// a recipe asking for more is refused before anything is deployed.
    public var tasks: Int

    public init(deadline: TimeInterval, services: ServiceCeilings, runFolderBytes: UInt64, tasks: Int = Self.defaultTasks) {
        self.deadline = deadline
        self.services = services
        self.runFolderBytes = runFolderBytes
        self.tasks = tasks
    }

    public static let defaultTasks = 50
    /// Fit for the fixture recipes and real ones: an hour, 2 GiB and 2 CPUs per service, 5 GiB of
    /// folder, 50 tasks.
    public static let defaults = RunCeilings(deadline: 3600, services: ServiceCeilings(memoryBytes: 2 << 30, cpus: 2),
                                             runFolderBytes: 5 << 30, tasks: defaultTasks)

    /// "the run passed its 45 min deadline": the reason a run stopped by its deadline gives.
    public var deadlineReason: String { "the run passed its \(Self.durationText(deadline)) deadline" }

    static func durationText(_ seconds: TimeInterval) -> String {
        let whole = Int(seconds)
        return whole % 60 == 0 && whole > 0 ? "\(whole / 60) min" : "\(whole) s"
    }

    /// The fields one `ceilings:` mapping sets; unset fields leave the ceiling below them.
    public struct Overrides: Sendable, Equatable {
        public var deadline: TimeInterval?
        public var memoryBytes: UInt64?
        public var cpus: Double?
        public var runFolderBytes: UInt64?
        public var tasks: Int?

        public init(deadline: TimeInterval? = nil, memoryBytes: UInt64? = nil, cpus: Double? = nil, runFolderBytes: UInt64? = nil,
                    tasks: Int? = nil) {
            self.deadline = deadline
            self.memoryBytes = memoryBytes
            self.cpus = cpus
            self.runFolderBytes = runFolderBytes
            self.tasks = tasks
        }
    }

    /// These ceilings with `overrides`' fields in place of their own.
    public func applying(_ overrides: Overrides) -> RunCeilings {
        RunCeilings(deadline: overrides.deadline ?? deadline,
                    services: ServiceCeilings(memoryBytes: overrides.memoryBytes ?? services.memoryBytes,
                                              cpus: overrides.cpus ?? services.cpus),
                    runFolderBytes: overrides.runFolderBytes ?? runFolderBytes, tasks: overrides.tasks ?? tasks)
    }
}

/// The limits every service of the app under test runs with (the swarm backend writes them into
/// the rendered stack it deploys, never into the recipe's files).
public struct ServiceCeilings: Sendable, Equatable {
    public var memoryBytes: UInt64
    public var cpus: Double

    public init(memoryBytes: UInt64, cpus: Double) {
        self.memoryBytes = memoryBytes
        self.cpus = cpus
    }

    /// "64 MiB memory, 2 CPUs".
    public var text: String { "\(ByteSize.text(memoryBytes)) memory, \(ByteSize.cpusText(cpus)) CPUs" }

    /// The limits to write for one service: each the ceiling's value, or nil where the recipe's own stays.
    public struct Limits: Sendable, Equatable {
        public var memoryBytes: UInt64?
        public var cpus: Double?

        public init(memoryBytes: UInt64? = nil, cpus: Double? = nil) {
            self.memoryBytes = memoryBytes
            self.cpus = cpus
        }
    }

    /// What `service` runs with under these ceilings. Only a positive limit at or below the ceiling
    /// stays; none, a higher one, zero (docker's "no limit": `0`, `0b`, `0.0`, `0M`), a negative one
    /// or one that cannot be read gets the ceiling. Pure.
    public func limits(for service: ComposeProject.Service) -> Limits {
        let memory = service.memoryLimit.flatMap(Self.memoryBytes)
        let cpus = service.cpuLimit.flatMap(Self.cpus)
        return Limits(memoryBytes: memory.map { $0 > 0 && $0 <= memoryBytes } == true ? nil : memoryBytes,
                      cpus: cpus.map { $0 > 0 && $0 <= self.cpus } == true ? nil : self.cpus)
    }

    /// A compose memory size as docker reads it (`512M`, `1.5g`, `2GiB`, `1048576`: binary units), in bytes.
    static func memoryBytes(_ text: String) -> UInt64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let number = trimmed.prefix { $0.isNumber || $0 == "." }
        var unit = trimmed.dropFirst(number.count).trimmingCharacters(in: .whitespaces)
        if unit.hasSuffix("b") { unit.removeLast() }
        if unit.hasSuffix("i") { unit.removeLast() }
        let powers: [String: Double] = ["": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5]
        guard let value = Double(number), let power = powers[unit] else { return nil }
        return UInt64(exactly: (value * pow(1024, power)).rounded(.down)) ?? .max
    }

    /// A compose `cpus` written as a plain decimal (`2`, `0.5`, `.25`); nil for anything else, so
    /// that a form Swift reads one way and docker another (`0x1p1`, `inf`, `1/2`, `1e3`) never stays.
    static func cpus(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.allSatisfy({ ("0"..."9").contains($0) || $0 == "." }) else { return nil }
        return Double(trimmed)
    }
}

/// How much of past runs' folders is kept (`retention:`; `keep_runs` also per recipe in
/// `recipes[].retention`). Canonicals' runs and live runs are always kept.
///
///     retention:
///       keep_runs: 10      # the newest run folders of each recipe
///       max_size: 20GiB    # all run folders together; the oldest go first
public struct RetentionPolicy: Sendable, Equatable {
    public var keepRuns: Int
    public var maxBytes: UInt64
    /// A recipe's own `keep_runs`, over the global one.
    public var keepRunsByRecipe: [String: Int]

    public init(keepRuns: Int = 10, maxBytes: UInt64 = 20 << 30, keepRunsByRecipe: [String: Int] = [:]) {
        self.keepRuns = keepRuns
        self.maxBytes = maxBytes
        self.keepRunsByRecipe = keepRunsByRecipe
    }

    /// How many run folders of `recipe` are kept (the global count for runs of no known recipe).
    public func keepRuns(for recipe: String?) -> Int { recipe.flatMap { keepRunsByRecipe[$0] } ?? keepRuns }
}

/// Sizes as the configuration writes them and as messages show them.
public enum ByteSize {
    private static let units: [(suffix: String, shift: UInt64)] = [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)]

    /// `2GiB`, `512MiB`, `64KiB` or a whole number of bytes; nil for anything else (or zero).
    public static func parse(_ text: String) -> UInt64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        for unit in units where trimmed.hasSuffix(unit.suffix) {
            let number = trimmed.dropLast(unit.suffix.count).trimmingCharacters(in: .whitespaces)
            guard let value = UInt64(number), value > 0, value < (1 << (63 - unit.shift)) else { return nil }
            return value << unit.shift
        }
        guard let bytes = UInt64(trimmed), bytes > 0 else { return nil }
        return bytes
    }

    /// "1.5 GiB", "64 MiB", "512 B".
    public static func text(_ bytes: UInt64) -> String {
        for unit in units where bytes >= 1 << unit.shift {
            let value = Double(bytes) / Double(UInt64(1) << unit.shift)
            return (value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)) + " " + unit.suffix
        }
        return "\(bytes) B"
    }

    static func cpusText(_ cpus: Double) -> String { cpus == cpus.rounded() ? String(Int(cpus)) : String(cpus) }
}

// MARK: - Reading the configuration's `ceilings:` and `retention:`

extension RunCeilings.Overrides {
    /// Reads one `ceilings:` mapping (`field` names it: `ceilings` or `recipes[2].ceilings`).
    static func parse(_ node: Node, field: String, file: String) throws(ConfigurationError) -> Self {
        func wrong(_ key: String, _ line: Int?, _ expected: String) -> ConfigurationError {
            .wrongType(file: file, line: line, key: key, expected: expected)
        }
        guard let mapping = node.mapping else {
            throw wrong(field, node.mark?.line, "a mapping of deadline, memory, cpus, run_folder and tasks")
        }
        var overrides = Self()
        for (keyNode, value) in mapping {
            let key = keyNode.scalar?.string ?? "\(keyNode)"
            let line = keyNode.mark?.line
            let text = value.scalar?.string ?? ""
            let path = "\(field).\(key)"
            switch key {
            case "deadline":
                guard let seconds = Self.duration(text) else { throw wrong(path, line, "a duration such as 45m, 90s or 2h") }
                overrides.deadline = seconds
            case "memory":
                guard let bytes = ByteSize.parse(text), bytes >= 4 << 20 else { throw wrong(path, line, "a size of at least 4MiB, such as 512MiB or 2GiB") }
                overrides.memoryBytes = bytes
            case "cpus":
                guard let cpus = Double(text), cpus >= 0.01, cpus <= 1024 else { throw wrong(path, line, "a number of CPUs from 0.01 to 1024, such as 2 or 0.5") }
                overrides.cpus = cpus
            case "run_folder":
                guard let bytes = ByteSize.parse(text) else { throw wrong(path, line, "a size such as 5GiB, 500MiB or a number of bytes") }
                overrides.runFolderBytes = bytes
            case "tasks":
                guard let count = Int(text), (1...Self.maxTasks).contains(count) else {
                    throw wrong(path, line, "a whole number of tasks from 1 to \(Self.maxTasks), such as 50")
                }
                overrides.tasks = count
            default:
                throw .unknownKey(file: file, line: line, key: path, known: ["deadline", "memory", "cpus", "run_folder", "tasks"])
            }
        }
        return overrides
    }

    /// The most `tasks` a configuration may allow: far beyond any test app, well within what a count adds up.
    static let maxTasks = 100_000

    /// `90s`, `45m`, `2h` in seconds; nil for anything else (or zero).
    static func duration(_ text: String) -> TimeInterval? {
        let multipliers: [Character: Double] = ["s": 1, "m": 60, "h": 3600]
        guard let unit = text.last, let multiplier = multipliers[unit],
              let number = Int(text.dropLast()), number > 0, number <= 7 * 24 * 3600 else { return nil }
        return Double(number) * multiplier
    }
}

extension RetentionPolicy {
    /// Reads `retention:` (global: keep_runs and max_size) or `recipes[i].retention` (keep_runs only).
    static func parse(_ node: Node, field: String, file: String, perRecipe: Bool)
        throws(ConfigurationError) -> (keepRuns: Int?, maxBytes: UInt64?) {
        func wrong(_ key: String, _ line: Int?, _ expected: String) -> ConfigurationError {
            .wrongType(file: file, line: line, key: key, expected: expected)
        }
        guard let mapping = node.mapping else {
            throw wrong(field, node.mark?.line, perRecipe ? "a mapping with keep_runs" : "a mapping of keep_runs and max_size")
        }
        var result: (keepRuns: Int?, maxBytes: UInt64?) = (nil, nil)
        for (keyNode, value) in mapping {
            let key = keyNode.scalar?.string ?? "\(keyNode)"
            let line = keyNode.mark?.line
            switch key {
            case "keep_runs":
                guard let count = value.int, (1...100_000).contains(count) else { throw wrong("\(field).\(key)", line, "a whole number from 1 to 100000") }
                result.keepRuns = count
            case "max_size" where !perRecipe:
                guard let bytes = value.scalar.flatMap({ ByteSize.parse($0.string) }) else {
                    throw wrong("\(field).\(key)", line, "a size such as 20GiB, 500MiB or a number of bytes")
                }
                result.maxBytes = bytes
            default:
                throw .unknownKey(file: file, line: line, key: "\(field).\(key)", known: perRecipe ? ["keep_runs"] : ["keep_runs", "max_size"])
            }
        }
        return result
    }
}
