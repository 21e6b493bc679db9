import FoundationEssentials

/// Messages of the host <-> worker conversation (see docs/plugin-abi.md, "The worker channel").
///
/// worker -> host: `ready` or `rejected` once after loading, then `log` and `call` while a plugin
/// entry runs, and one `result` per `invoke`.
/// host -> worker: `invoke`, `reply` (one per `call`, with the same id), `shutdown`.

public enum Tier: String, Codable, Sendable, CaseIterable, Comparable {
    case lint, install, upgrade, backup, restore, custom

    public static func < (a: Tier, b: Tier) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

public enum EntryKind: String, Codable, Sendable {
    case check, installStep = "install_step", hook
}

/// A check, install step or hook as the plugin declared it.
public struct EntryDescription: Codable, Sendable, Equatable {
    public var name: String
    public var tiers: [String]
    public var description: String?
    /// Set for typed checks: the declared C signature, called through libffi.
    public var signature: String?
    public var parameters: [Parameter]?

    public struct Parameter: Codable, Sendable, Equatable {
        public var name: String
        public var type: String
        public init(name: String, type: String) { self.name = name; self.type = type }
    }

    public init(name: String, tiers: [String], description: String?, signature: String? = nil,
                parameters: [Parameter]? = nil) {
        self.name = name; self.tiers = tiers; self.description = description
        self.signature = signature; self.parameters = parameters
    }
}

/// What a worker reports after loading a plugin that passed the ABI check.
public struct PluginDescription: Codable, Sendable, Equatable {
    public var name: String
    public var version: String
    public var abiMajor: UInt32
    public var abiMinor: UInt32
    public var structSize: UInt32
    public var checks: [EntryDescription]
    public var installSteps: [EntryDescription]
    public var hooks: [EntryDescription]
    /// The metadata JSON exactly as the plugin returned it; the host validates it.
    public var metadataJSON: String

    public init(name: String, version: String, abiMajor: UInt32, abiMinor: UInt32, structSize: UInt32,
                checks: [EntryDescription], installSteps: [EntryDescription], hooks: [EntryDescription],
                metadataJSON: String) {
        self.name = name; self.version = version; self.abiMajor = abiMajor; self.abiMinor = abiMinor
        self.structSize = structSize; self.checks = checks; self.installSteps = installSteps
        self.hooks = hooks; self.metadataJSON = metadataJSON
    }
}

/// Why a worker refused a plugin. `problems` names every field that is wrong, not just the first.
public struct Rejection: Codable, Sendable, Equatable, Error {
    public enum Stage: String, Codable, Sendable {
        case load        // dlopen failed (missing file, undefined symbol under RTLD_NOW, bad ELF)
        case entry       // no cchost_plugin_v1, or it returned NULL
        case abi         // the fixed header or the descriptor's contents are wrong
        case initialise  // initialize() or metadata() reported an error
        case metadata    // the metadata JSON is not valid (checked by the host)
    }

    public struct Problem: Codable, Sendable, Equatable {
        public var field: String
        public var expected: String?
        public var found: String?
        public var message: String
        public init(field: String, expected: String? = nil, found: String? = nil, message: String) {
            self.field = field; self.expected = expected; self.found = found; self.message = message
        }
    }

    public var stage: Stage
    public var problems: [Problem]

    public init(stage: Stage, problems: [Problem]) { self.stage = stage; self.problems = problems }
}

/// A scalar bound to a typed check's parameter, or read from configuration.
public enum ArgumentValue: Codable, Sendable, Equatable, CustomStringConvertible {
    case string(String), integer(Int64), double(Double), bool(Bool)

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        // Kept: each type is tried in turn, and what is none of them throws below.
        if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int64.self) { self = .integer(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else {
            throw DecodingError.typeMismatch(
                ArgumentValue.self, .init(codingPath: c.codingPath, debugDescription: "expected a string, number or boolean"))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .integer(let i): try c.encode(i)
        case .double(let d): try c.encode(d)
        case .bool(let b): try c.encode(b)
        }
    }

    public var description: String {
        switch self {
        case .string(let s): return s
        case .integer(let i): return String(i)
        case .double(let d): return String(d)
        case .bool(let b): return String(b)
        }
    }
}

public struct Invocation: Codable, Sendable, Equatable {
    public var kind: EntryKind
    public var name: String
    public var tier: String
    /// Arguments for a typed check, by parameter name.
    public var arguments: [String: ArgumentValue]

    public init(kind: EntryKind, name: String, tier: String, arguments: [String: ArgumentValue] = [:]) {
        self.kind = kind; self.name = name; self.tier = tier; self.arguments = arguments
    }
}

/// What one plugin entry returned. `code` is the raw return value (a cchost_verdict when 0...2).
public struct EntryResult: Codable, Sendable, Equatable {
    public var code: Int32?
    public var detail: String
    /// Set when the worker could not call the entry at all (unknown name, unbound argument).
    public var failure: String?

    public init(code: Int32?, detail: String, failure: String? = nil) {
        self.code = code; self.detail = detail; self.failure = failure
    }
}

/// A host-table call made by the plugin, forwarded by the worker.
public enum HostCall: Codable, Sendable, Equatable {
    case exec(service: String, argv: [String])
    case http(method: String, path: String, body: String?)
    case appInfo
    case config(key: String)
    case artifact(name: String, data: Data)
}

public struct HostReply: Codable, Sendable, Equatable {
    /// A cchost_host_status.
    public var status: Int32
    public var exitCode: Int32?
    public var httpStatus: Int32?
    /// The payload on success, the reason otherwise.
    public var data: Data

    public init(status: Int32, exitCode: Int32? = nil, httpStatus: Int32? = nil, data: Data = Data()) {
        self.status = status; self.exitCode = exitCode; self.httpStatus = httpStatus; self.data = data
    }

    public static let ok: Int32 = 0, refused: Int32 = -1, failed: Int32 = -2, unavailable: Int32 = -3,
        invalid: Int32 = -4

    public static func refusing(_ status: Int32, _ reason: String) -> HostReply {
        HostReply(status: status, data: Data(reason.utf8))
    }
}

public enum WorkerMessage: Codable, Sendable, Equatable {
    case ready(PluginDescription)
    case rejected(Rejection)
    case log(level: Int32, message: String)
    case call(id: Int, HostCall)
    case result(EntryResult)
}

public enum HostMessage: Codable, Sendable, Equatable {
    case invoke(Invocation)
    case reply(id: Int, HostReply)
    case shutdown
}

extension Encodable {
    public func frameBytes() throws(ChannelError) -> [UInt8] {
        do {
            return Frame.encode(Array(try JSONEncoder().encode(self)))
        } catch {
            throw .malformed("cannot encode \(Self.self): \(error)")
        }
    }
}

extension Decodable {
    public static func fromFrame(_ payload: [UInt8]) throws(ChannelError) -> Self {
        do {
            return try JSONDecoder().decode(Self.self, from: Data(payload))
        } catch {
            throw .malformed("not a \(Self.self) (\(payload.count) bytes): \(error)")
        }
    }
}

/// Exit statuses of `cchost-worker`, part of the launch contract.
public enum WorkerExit {
    public static let ok: Int32 = 0
    public static let usage: Int32 = 2
    public static let rejected: Int32 = 3
    public static let initFailed: Int32 = 5
    public static let protocolError: Int32 = 6
    public static let confinementFailed: Int32 = 7
}
