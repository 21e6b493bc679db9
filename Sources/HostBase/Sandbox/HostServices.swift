import Foundation
import Logging
import PluginChannel

/// The app under test, as plugins see it through `app_info`.
public struct AppContext: Sendable, Equatable, Codable {
    public var recipe: String
    public var domain: String
    public var stack: String
    public var services: [String]
    public var labels: [String: String]
    public var baseVersion: String?
    public var headVersion: String?
    /// The code under test: the head's full commit (an upgrade's `chaos-version` must be a short
    /// prefix of it). `head_ref` in the ABI's JSON.
    public var headCommit: String?
    public var tier: String?
    /// Set once the app is up in a cold run: what the host seeded (its marker, the marker files, the
    /// recipe's `data_seed` value) and the latest data proof the host made.
    public var backup: BackupMarker?
    /// Per service (short name), what the engine reports of it when the plugin is called; nil before
    /// the app is deployed. `service_states` in the JSON.
    public var serviceStates: [String: ServiceState]?

    /// One service as the engine reports it: how many of its current tasks run a running container,
    /// how many it wants, and the worst healthcheck verdict among those containers.
    public struct ServiceState: Sendable, Equatable, Codable {
        /// Up-to-date tasks swarm wants running whose container is running.
        public var running: Int
        /// The replicas it wants; nil for a global service.
        public var wanted: Int?
        /// `healthy`, `starting`, `unhealthy`, or `none` (no healthcheck): the worst of its running containers.
        public var health: String

        public init(running: Int, wanted: Int?, health: String) { (self.running, self.wanted, self.health) = (running, wanted, health) }
    }

    public struct BackupMarker: Sendable, Equatable, Codable {
        public var marker: String
        /// Where the marker file lives: service and absolute path of the marker file in its container.
        public var files: [MarkerFile]
        /// The value the recipe's `data_seed` sent through the app, once it did.
        public var seed: String?
        /// The host's latest data proof in this run (`cchost/canonical-data` on a warm install,
        /// `cchost/data-intact` after the upgrade, `cchost/data-proof` after the restore), once made.
        public var proof: Proof?

        public struct Proof: Sendable, Equatable, Codable {
            /// The host check, `cchost/<name>`.
            public var check: String
            /// `pass`, `fail`, `unverified` or `skip`.
            public var verdict: String
            public var detail: String
            public init(check: String, verdict: String, detail: String) { (self.check, self.verdict, self.detail) = (check, verdict, detail) }
        }

        public struct MarkerFile: Sendable, Equatable, Codable {
            public var service: String
            public var path: String
            public init(service: String, path: String) { (self.service, self.path) = (service, path) }
        }

        public init(marker: String, files: [MarkerFile]) { (self.marker, self.files) = (marker, files) }
    }

    public init(recipe: String, domain: String, services: [String], labels: [String: String] = [:],
                baseVersion: String? = nil, headVersion: String? = nil, headCommit: String? = nil, tier: String? = nil) {
        self.recipe = recipe
        self.domain = domain
        self.stack = domain.replacingOccurrences(of: ".", with: "_")
        self.services = services
        self.labels = labels
        self.baseVersion = baseVersion
        self.headVersion = headVersion
        self.headCommit = headCommit
        self.tier = tier
    }

    enum CodingKeys: String, CodingKey {
        case recipe, domain, stack, services, labels, tier, backup
        case baseVersion = "base_version", headVersion = "head_version", headCommit = "head_ref", serviceStates = "service_states"
    }
}

/// Reaches the deployed app for `exec` and `http` host calls. The deploy backends implement it; the
/// host has already checked the policy (service of this app, path on its domain) before calling.
public protocol AppGateway: Sendable {
    func exec(service: String, argv: [String]) throws -> (exitCode: Int32, output: Data)
    func http(method: String, path: String, body: String?) throws -> (status: Int32, body: Data)
}

/// A line a plugin logged through the host table.
public struct PluginLogLine: Sendable, Equatable, Codable {
    public var level: Int32
    public var message: String
    public init(level: Int32, message: String) { (self.level, self.message) = (level, message) }
}

/// Answers the host-table calls of one plugin session and enforces the policy on each: only the app
/// under test, only its services and domain, bounded sizes and counts. A refused call gets its reason
/// back and is logged.
public final class HostServices: @unchecked Sendable {
    public struct Limits: Sendable {
        public var maximumCalls = 10_000
        public var maximumReply = 1 << 20
        public var maximumArtifact = 16 << 20
        public var maximumArtifactTotal = 64 << 20
        public var maximumLogLines = 2_000
        public init() {}
    }

    public var app: AppContext?
    /// Configuration values for the plugin and recipe (`config` host call).
    public var configuration: [String: String]
    public var artifactsDirectory: URL?
    public var gateway: AppGateway?
    public let limits: Limits
    public let logger: Logger
    /// The run's secrets: a plugin's logs and artifacts are redacted before they are kept or shown.
    public let secrets: SecretLedger
    private let lock = NSLock()
    private var calls = 0
    private var refusalsLogged = 0
    private var artifactBytes = 0
    private var captured: [PluginLogLine] = []

    public init(app: AppContext? = nil, configuration: [String: String] = [:], artifactsDirectory: URL? = nil,
                gateway: AppGateway? = nil, limits: Limits = Limits(), logger: Logger = Logger(label: "cchost.plugin"),
                secrets: SecretLedger = SecretLedger()) {
        self.secrets = secrets
        self.app = app
        self.configuration = configuration
        self.artifactsDirectory = artifactsDirectory
        self.gateway = gateway
        self.limits = limits
        self.logger = logger
    }

    /// Log lines captured since the last call, for a check's diagnostics.
    public func takeLogs() -> [PluginLogLine] {
        lock.withLock {
            defer { captured.removeAll() }
            return captured
        }
    }

    public func log(level: Int32, message: String) {
        // Redacted before it is cut: a secret across the cut would leave its first part.
        let line = String(secrets.redact(message).prefix(4096))
        lock.withLock {
            if captured.count < limits.maximumLogLines { captured.append(PluginLogLine(level: level, message: line)) }
        }
        let levels: [Int32: Logger.Level] = [0: .debug, 1: .info, 2: .warning, 3: .error]
        logger.log(level: levels[level] ?? .info, "\(line)")
    }

    public func answer(_ call: HostCall) -> HostReply {
        let reply = decide(call)
        if reply.status == HostReply.refused {
            // A plugin that keeps asking must not flood the run's log: the first refusals say enough.
            let logged = lock.withLock { refusalsLogged += 1; return refusalsLogged }
            if logged <= 20 {
                logger.warning("refused host call", metadata: ["call": "\(Self.summary(call))",
                                                               "reason": "\(String(decoding: reply.data, as: UTF8.self))"])
            } else if logged == 21 {
                logger.warning("further refused host calls of this session are not logged")
            }
        }
        return reply
    }

    private func decide(_ call: HostCall) -> HostReply {
        let count = lock.withLock { calls += 1; return calls }
        guard count <= limits.maximumCalls else {
            return .refusing(HostReply.refused, "more than \(limits.maximumCalls) host calls in one session")
        }
        switch call {
        case .appInfo:
            guard let app else { return .refusing(HostReply.unavailable, "no app is under test in this session") }
            // Encoding a value of our own type cannot fail; were it to, the plugin is told, never
            // handed an empty answer as if it were the app.
            do { return HostReply(status: HostReply.ok, data: try JSONEncoder().encode(app)) } catch {
                return .refusing(HostReply.failed, "the app's information could not be encoded: \(error)")
            }

        case .config(let key):
            guard let value = configuration[key] else {
                return .refusing(HostReply.unavailable, "configuration key \"\(key)\" is not set")
            }
            return HostReply(status: HostReply.ok, data: Data(value.utf8))

        case .exec(let service, let argv):
            guard let app else { return .refusing(HostReply.unavailable, "no app is under test in this session") }
            guard app.services.contains(service) else {
                return .refusing(HostReply.refused, "service \"\(service)\" is not a service of stack \(app.stack) (services: \(app.services.joined(separator: ", ")))")
            }
            guard !argv.isEmpty else { return .refusing(HostReply.invalid, "exec needs a command") }
            guard let gateway else { return .refusing(HostReply.unavailable, "this session cannot reach the app") }
            do {
                let result = try gateway.exec(service: service, argv: argv)
                return HostReply(status: HostReply.ok, exitCode: result.exitCode, data: result.output.prefix(limits.maximumReply))
            } catch {
                return .refusing(HostReply.failed, "\(error)")
            }

        case .http(let method, let path, let body):
            guard let app else { return .refusing(HostReply.unavailable, "no app is under test in this session") }
            guard ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"].contains(method) else {
                return .refusing(HostReply.invalid, "HTTP method \"\(method)\" is not supported")
            }
            guard path.hasPrefix("/"), !path.hasPrefix("//"), !path.contains("\\"),
                  !path.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7f }) else {
                return .refusing(HostReply.refused, "path \"\(path)\" is not a path on \(app.domain): it must start with a single /")
            }
            guard let gateway else { return .refusing(HostReply.unavailable, "this session cannot reach the app") }
            do {
                let result = try gateway.http(method: method, path: path, body: body)
                return HostReply(status: HostReply.ok, httpStatus: result.status, data: result.body.prefix(limits.maximumReply))
            } catch {
                return .refusing(HostReply.failed, "\(error)")
            }

        case .artifact(let name, let data):
            guard let directory = artifactsDirectory else {
                return .refusing(HostReply.unavailable, "this session keeps no artifacts")
            }
            guard let safe = Self.sanitisedArtifactName(name) else {
                return .refusing(HostReply.refused, "artifact name \"\(name.prefix(80))\" is not a plain file name")
            }
            guard data.count <= limits.maximumArtifact else {
                return .refusing(HostReply.refused, "artifact \(safe) is \(data.count) bytes; the limit is \(limits.maximumArtifact)")
            }
            let total = lock.withLock { artifactBytes + data.count }
            guard total <= limits.maximumArtifactTotal else {
                return .refusing(HostReply.refused, "artifacts of this session would exceed \(limits.maximumArtifactTotal) bytes")
            }
            do {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                try Data(secrets.redactor.redact([UInt8](data))).write(to: directory.appendingPathComponent(safe), options: .atomic)
                lock.withLock { artifactBytes = total }
                return HostReply(status: HostReply.ok)
            } catch {
                return .refusing(HostReply.failed, "cannot write artifact \(safe): \(error.localizedDescription)")
            }
        }
    }

    /// A plain file name: letters, digits, dot, dash, underscore; no leading dot; at most 100 characters.
    static func sanitisedArtifactName(_ name: String) -> String? {
        guard !name.isEmpty, name.count <= 100, !name.hasPrefix("."),
              name.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) && $0.isASCII || "._-".unicodeScalars.contains($0) })
        else { return nil }
        return name
    }

    static func summary(_ call: HostCall) -> String {
        switch call {
        case .appInfo: return "app_info"
        case .config(let key): return "config \(key)"
        case .exec(let service, let argv): return "exec in \(service): \(argv.first ?? "")"
        case .http(let method, let path, _): return "http \(method) \(path.prefix(200))"
        case .artifact(let name, let data): return "artifact_write \(name.prefix(100)) (\(data.count) bytes)"
        }
    }
}
