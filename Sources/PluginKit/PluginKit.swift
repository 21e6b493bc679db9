// PluginKit: write a cchost plugin in Swift as one short file.
//
//     import PluginKit
//
//     struct Gitea: Plugin {
//         static let name = "gitea"
//         static let version = "1.0.0"
//         static let metadata = Metadata(recipes: ["gitea"], canonicalSweep: true)
//         static let checks = [
//             Check("login-page", tiers: [.install, .upgrade]) { host, _ in
//                 let response = try host.http("GET", "/user/login")
//                 return response.status == 200 ? .pass() : .fail("login page answered \(response.status)")
//             },
//         ]
//     }
//
//     @_cdecl("cchost_plugin_v1")
//     public func cchostPluginV1() -> UnsafeRawPointer { export(Gitea.self) }
//
// The kit builds the C descriptor of Sources/PluginABI/include/cchost_plugin.h once and keeps it for
// the life of the process (the worker never unloads a plugin).
import PluginABI
#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials

public enum Tier: String, Sendable, Encodable {
    case lint, install, upgrade, backup, restore, custom
}

public enum Verdict: Sendable {
    case pass(String = ""), fail(String), skip(String)
}

/// What the host says about the current call.
public struct Call: Sendable {
    public let name: String
    public let tier: String
}

/// A host call the host refused or could not complete; thrown out of a check, it makes the check
/// `unverified` with this reason.
public struct HostError: Error, CustomStringConvertible {
    public let status: Int32
    public let reason: String
    public var description: String {
        let kind = [-1: "refused", -2: "failed", -3: "unavailable", -4: "invalid"][Int(status)] ?? "error \(status)"
        return "host call \(kind): \(reason)"
    }
}

public enum LogLevel: Int32, Sendable { case debug = 0, info, warning, error }

/// The host function table, in Swift.
public struct Host: @unchecked Sendable {
    let table: UnsafePointer<cchost_host_table>

    public func log(_ message: String, level: LogLevel = .info) {
        table.pointee.log(level.rawValue, message)
    }

    public func exec(in service: String, _ argv: [String]) throws -> (exitCode: Int32, output: String) {
        var exitCode: Int32 = -1
        var output = cchost_buffer()
        let cStrings = argv.map { strdup($0) }
        defer { cStrings.forEach { free($0) } }
        var pointers: [UnsafePointer<CChar>?] = cStrings.map { UnsafePointer($0) } + [nil]
        let status = pointers.withUnsafeMutableBufferPointer { table.pointee.exec(service, $0.baseAddress, &exitCode, &output) }
        let text = take(&output)
        guard status == 0 else { throw HostError(status: status, reason: text) }
        return (exitCode, text)
    }

    public func http(_ method: String, _ path: String, body: String? = nil) throws -> (status: Int32, body: String) {
        var code: Int32 = 0
        var response = cchost_buffer()
        let status = table.pointee.http(method, path, body, &code, &response)
        let text = take(&response)
        guard status == 0 else { throw HostError(status: status, reason: text) }
        return (code, text)
    }

    /// The app under test: {"recipe", "domain", "stack", "services", "labels", ...}.
    public func appInfo() throws -> AppInfo {
        var out = cchost_buffer()
        let status = table.pointee.app_info(&out)
        let text = take(&out)
        guard status == 0 else { throw HostError(status: status, reason: text) }
        do { return try JSONDecoder().decode(AppInfo.self, from: Data(text.utf8)) } catch {
            throw HostError(status: -2, reason: "app info is not the expected JSON: \(error)")
        }
    }

    /// A configuration value for this plugin and recipe, nil when it is not set.
    public func config(_ key: String) throws -> String? {
        var out = cchost_buffer()
        let status = table.pointee.config(key, &out)
        let text = take(&out)
        if status == -3 { return nil }
        guard status == 0 else { throw HostError(status: status, reason: text) }
        return text
    }

    public func writeArtifact(_ name: String, _ bytes: [UInt8]) throws {
        let status = bytes.withUnsafeBufferPointer { table.pointee.artifact_write(name, $0.baseAddress, $0.count) }
        guard status == 0 else { throw HostError(status: status, reason: "artifact \(name) was not written") }
    }

    private func take(_ buffer: inout cchost_buffer) -> String {
        defer { table.pointee.buffer_free(&buffer) }
        guard let data = buffer.data, buffer.len > 0 else { return "" }
        return String(decoding: UnsafeBufferPointer(start: data, count: buffer.len), as: UTF8.self)
    }
}

public struct AppInfo: Decodable, Sendable {
    public var recipe: String
    public var domain: String
    public var stack: String
    public var services: [String]
    public var labels: [String: String]
    public var baseVersion: String?
    public var headVersion: String?
    /// The code under test: the head's full commit (`head_ref` in the JSON). After an upgrade, the
    /// deployed `chaos-version` label is a short prefix of it.
    public var headCommit: String?
    public var tier: String?
    /// Once the app is up in a cold run: the marker the host seeded, the files it is in, the
    /// recipe's `data_seed` value, and the host's latest data proof.
    public var backup: BackupMarker?
    /// Per service: what the engine reports of it (nil from a host that does not say).
    public var serviceStates: [String: ServiceState]?

    /// How many of the service's current tasks run a running container, how many it wants (nil: a
    /// global service), and the worst healthcheck verdict among them (`healthy`, `starting`,
    /// `unhealthy`, or `none` without a healthcheck).
    public struct ServiceState: Decodable, Sendable {
        public var running: Int
        public var wanted: Int?
        public var health: String
    }

    public struct BackupMarker: Decodable, Sendable {
        public var marker: String
        public var files: [MarkerFile]
        /// The value the recipe's `data_seed` sent through the app.
        public var seed: String?
        /// The host's latest data proof (nil before one was made).
        public var proof: Proof?
        public struct MarkerFile: Decodable, Sendable {
            public var service: String
            public var path: String
        }
        /// `check` is `cchost/<name>`; `verdict` is `pass`, `fail`, `unverified` or `skip`.
        public struct Proof: Decodable, Sendable {
            public var check: String
            public var verdict: String
            public var detail: String
        }
    }

    enum CodingKeys: String, CodingKey {
        case recipe, domain, stack, services, labels, tier, backup
        case baseVersion = "base_version", headVersion = "head_version", headCommit = "head_ref", serviceStates = "service_states"
    }

    /// The head's full commit, under its wire name.
    @available(*, deprecated, renamed: "headCommit", message: "head_ref is the head's full commit: use headCommit")
    public var headRef: String? { headCommit }
}

public typealias Body = @Sendable (Host, Call) throws -> Verdict

public struct Check: Sendable {
    let name: String
    let tiers: [Tier]
    let description: String?
    let body: Body?
    let typed: (@convention(c) () -> Void)?
    let signature: String?

    /// A plain check: everything it needs comes through the host.
    public init(_ name: String, tiers: [Tier], description: String? = nil, _ body: @escaping Body) {
        (self.name, self.tiers, self.description, self.body) = (name, tiers, description, body)
        (typed, signature) = (nil, nil)
    }

    /// A typed check: a `@_cdecl` function with a plain C signature, called through libffi with its
    /// arguments bound from recipe configuration. Use `host` inside it through `Plugin.host`.
    public init(typed name: String, tiers: [Tier], description: String? = nil, signature: String,
                function: @convention(c) () -> Void) {
        (self.name, self.tiers, self.description, self.body) = (name, tiers, description, nil)
        (typed, self.signature) = (function, signature)
    }
}

/// An install step (run once after the first deploy) or a pre-op hook (before the op of its tiers).
public struct Step: Sendable {
    let name: String
    let tiers: [Tier]
    let description: String?
    let body: Body

    public init(_ name: String, tiers: [Tier] = [], description: String? = nil, _ body: @escaping Body) {
        (self.name, self.tiers, self.description, self.body) = (name, tiers, description, body)
    }
}

/// A scalar default for a typed check's parameter.
public enum ConfigValue: Sendable, Encodable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByFloatLiteral {
    case string(String), int(Int), double(Double), bool(Bool)
    public init(stringLiteral v: String) { self = .string(v) }
    public init(integerLiteral v: Int) { self = .int(v) }
    public init(booleanLiteral v: Bool) { self = .bool(v) }
    public init(floatLiteral v: Double) { self = .double(v) }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let v): try c.encode(v)
        case .int(let v): try c.encode(v)
        case .double(let v): try c.encode(v)
        case .bool(let v): try c.encode(v)
        }
    }
}

/// The metadata JSON of cchost_plugin.h, as Swift values.
public struct Metadata: Sendable, Encodable {
    public struct Readiness: Sendable, Encodable {
        public var path: String
        public var status: Int
        public init(path: String, status: Int = 200) { (self.path, self.status) = (path, status) }
    }

    public struct Timeouts: Sendable, Encodable {
        public var deploy: Int?
        public var check: Int?
        public init(deploy: Int? = nil, check: Int? = nil) { (self.deploy, self.check) = (deploy, check) }
    }

    public var recipes: [String]
    public var canonicalSweep: Bool?
    public var stages: [Tier]?
    public var expectedNA: [Tier]?
    public var skipGeneric: Bool?
    public var timeouts: Timeouts?
    public var readiness: Readiness?
    public var env: [String: String]?
    public var dependsOn: [String]?
    public var config: [String: [String: ConfigValue]]?

    public init(recipes: [String], canonicalSweep: Bool? = nil, stages: [Tier]? = nil, expectedNA: [Tier]? = nil,
                skipGeneric: Bool? = nil, timeouts: Timeouts? = nil, readiness: Readiness? = nil,
                env: [String: String]? = nil, dependsOn: [String]? = nil,
                config: [String: [String: ConfigValue]]? = nil) {
        (self.recipes, self.canonicalSweep, self.stages, self.expectedNA, self.skipGeneric) =
            (recipes, canonicalSweep, stages, expectedNA, skipGeneric)
        (self.timeouts, self.readiness, self.env, self.dependsOn, self.config) =
            (timeouts, readiness, env, dependsOn, config)
    }

    enum CodingKeys: String, CodingKey {
        case recipes, stages, timeouts, readiness, env, config
        case canonicalSweep = "canonical_sweep", expectedNA = "expected_na", skipGeneric = "skip_generic"
        case dependsOn = "depends_on"
    }
}

public protocol Plugin {
    static var name: String { get }
    static var version: String { get }
    static var metadata: Metadata { get }
    static var checks: [Check] { get }
    static var installSteps: [Step] { get }
    static var hooks: [Step] { get }
}

extension Plugin {
    public static var installSteps: [Step] { [] }
    public static var hooks: [Step] { [] }
    /// The host table, for typed checks (plain checks receive it as an argument).
    /// Only valid after the worker has called initialize, i.e. inside any check.
    public static var host: Host { Exported.host! }
}

/// The descriptor for `plugin`, built on first use. Return it from `cchost_plugin_v1`.
public func export<P: Plugin>(_ plugin: P.Type) -> UnsafeRawPointer {
    if let descriptor = Exported.descriptor { return UnsafeRawPointer(descriptor) }
    let descriptor = Exported.build(plugin)
    Exported.descriptor = descriptor
    return UnsafeRawPointer(descriptor)
}

/// Process-wide state of the one plugin this library is. The worker calls in from one thread; the
/// descriptor and the C strings it points to live until the process ends (plugins are never unloaded).
enum Exported {
    nonisolated(unsafe) static var descriptor: UnsafeMutablePointer<cchost_plugin>?
    nonisolated(unsafe) static var host: Host?
    nonisolated(unsafe) static var metadataJSON: [UInt8] = []
    nonisolated(unsafe) static var checkBodies: [Body?] = []
    nonisolated(unsafe) static var stepBodies: [Body] = []

    static func cString(_ s: String?) -> UnsafePointer<CChar>? { s.map { UnsafePointer(strdup($0)!) } }

    static func tiers(_ tiers: [Tier]) -> UnsafePointer<CChar>? {
        tiers.isEmpty ? nil : cString(tiers.map(\.rawValue).joined(separator: ","))
    }

    static func table<T>(_ items: [T]) -> UnsafePointer<T>? {
        guard !items.isEmpty else { return nil }
        let memory = UnsafeMutablePointer<T>.allocate(capacity: items.count)
        memory.initialize(from: items, count: items.count)
        return UnsafePointer(memory)
    }

    static func build<P: Plugin>(_ plugin: P.Type) -> UnsafeMutablePointer<cchost_plugin> {
        // Metadata that cannot be encoded (a config default of infinity or NaN) is handed to the host
        // as text that is not JSON, which it rejects naming the cause; never as metadata serving no
        // recipe, which would make the plugin's checks vanish without a word.
        do { metadataJSON = Array(try JSONEncoder().encode(plugin.metadata)) } catch {
            metadataJSON = Array("unencodable metadata: \(error)".utf8)
        }
        checkBodies = plugin.checks.map(\.body)
        let steps = plugin.installSteps + plugin.hooks
        stepBodies = steps.map(\.body)
        let checks = plugin.checks.enumerated().map { index, check in
            cchost_check(
                name: cString(check.name), tiers: tiers(check.tiers), description: cString(check.description),
                run: check.body == nil ? nil : runCheck, user_data: UnsafeMutableRawPointer(bitPattern: index + 1),
                typed: check.typed, signature: cString(check.signature))
        }
        let stepEntries = steps.enumerated().map { index, step in
            cchost_step(name: cString(step.name), tiers: tiers(step.tiers), description: cString(step.description),
                        run: runStep, user_data: UnsafeMutableRawPointer(bitPattern: index + 1))
        }
        let installCount = plugin.installSteps.count
        let descriptor = UnsafeMutablePointer<cchost_plugin>.allocate(capacity: 1)
        descriptor.initialize(to: cchost_plugin(
            magic: CCHOST_PLUGIN_MAGIC, abi_major: CCHOST_ABI_MAJOR, abi_minor: CCHOST_ABI_MINOR,
            struct_size: UInt32(MemoryLayout<cchost_plugin>.size),
            name: cString(plugin.name), version: cString(plugin.version),
            initialize: initialize, metadata: metadata, free_buffer: freeBuffer,
            check_count: checks.count, checks: table(checks),
            install_step_count: installCount, install_steps: table(Array(stepEntries.prefix(installCount))),
            hook_count: stepEntries.count - installCount, hooks: table(Array(stepEntries.dropFirst(installCount)))))
        return descriptor
    }

    static func fill(_ buffer: UnsafeMutablePointer<cchost_buffer>?, _ bytes: [UInt8]) {
        guard let buffer else { return }
        guard !bytes.isEmpty, let memory = malloc(bytes.count) else { buffer.pointee = cchost_buffer(); return }
        let typed = memory.assumingMemoryBound(to: UInt8.self)
        typed.initialize(from: bytes, count: bytes.count)
        buffer.pointee = cchost_buffer(data: typed, len: bytes.count)
    }
}

private func initialize(_ table: UnsafePointer<cchost_host_table>?, _ error: UnsafeMutablePointer<cchost_buffer>?) -> Int32 {
    guard let table else {
        Exported.fill(error, Array("initialize called without a host table".utf8))
        return 1
    }
    Exported.host = Host(table: table)
    return 0
}

private func metadata(_ out: UnsafeMutablePointer<cchost_buffer>?) -> Int32 {
    Exported.fill(out, Exported.metadataJSON)
    return 0
}

private func freeBuffer(_ buffer: UnsafeMutablePointer<cchost_buffer>?) {
    guard let buffer else { return }
    free(buffer.pointee.data)
    buffer.pointee = cchost_buffer()
}

private func runBody(_ body: Body?, _ call: UnsafePointer<cchost_call>?, _ detail: UnsafeMutablePointer<cchost_buffer>?) -> Int32 {
    guard let body, let host = Exported.host, let call else {
        Exported.fill(detail, Array("called before initialize".utf8))
        return CCHOST_PLUGIN_ERROR.rawValue
    }
    let info = Call(name: String(cString: call.pointee.name), tier: String(cString: call.pointee.tier))
    do {
        switch try body(host, info) {
        case .pass(let why): Exported.fill(detail, Array(why.utf8)); return CCHOST_PASS.rawValue
        case .fail(let why): Exported.fill(detail, Array(why.utf8)); return CCHOST_FAIL.rawValue
        case .skip(let why): Exported.fill(detail, Array(why.utf8)); return CCHOST_SKIP.rawValue
        }
    } catch {
        Exported.fill(detail, Array("\(error)".utf8))
        return CCHOST_PLUGIN_ERROR.rawValue
    }
}

private func runCheck(_ userData: UnsafeMutableRawPointer?, _ call: UnsafePointer<cchost_call>?,
                      _ detail: UnsafeMutablePointer<cchost_buffer>?) -> Int32 {
    let index = Int(bitPattern: userData) - 1
    return runBody(Exported.checkBodies.indices.contains(index) ? Exported.checkBodies[index] : nil, call, detail)
}

private func runStep(_ userData: UnsafeMutableRawPointer?, _ call: UnsafePointer<cchost_call>?,
                     _ detail: UnsafeMutablePointer<cchost_buffer>?) -> Int32 {
    let index = Int(bitPattern: userData) - 1
    return runBody(Exported.stepBodies.indices.contains(index) ? Exported.stepBodies[index] : nil, call, detail)
}
