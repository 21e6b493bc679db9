#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// The host's window on the Docker engine: a small HTTP/1.1 client for the Engine API over its unix
/// socket. Watching an app (convergence, exec, logs, events) goes through here, so a poll is one
/// request on a socket, never a process. Deploys and teardown stay with `DockerCLI`.
///
/// Each request opens its own connection (`Connection: close`) and runs to a deadline enforced
/// with poll(2). Paths are prefixed with a negotiated API version: 1.41, or the nearest version the
/// engine supports (older engines answer with their own, newer ones may refuse anything below their
/// minimum).
public final class DockerEngine: Sendable {
    public let socketPath: String
    /// How long one request may take, in seconds (an `exec` has its own timeout).
    public let requestTimeout: Double
    /// The largest answer read into memory, in bytes; a larger one is an error, not a truncation.
    public let responseLimit: Int
    /// The version every path is prefixed with, settled by the first request.
    private let negotiatedVersion = Mutex<String?>(nil)

    /// The API version the decoding here was written against.
    public static let preferredAPIVersion = "1.41"

    public init(socketPath: String = "/var/run/docker.sock", requestTimeout: Double = 30,
                responseLimit: Int = 256 << 20) {
        self.socketPath = socketPath
        self.requestTimeout = requestTimeout
        self.responseLimit = responseLimit
    }

    // MARK: - Engine and swarm state

    /// The engine's own (highest) API version, e.g. "1.41".
    public func version() throws(DockerEngineError) -> String {
        try engineVersion().ApiVersion
    }

    /// The API version this client speaks to the engine, negotiated on first use.
    public func apiVersion() throws(DockerEngineError) -> String {
        if let known = negotiatedVersion.withLock({ $0 }) { return known }
        let engine = try engineVersion()
        let chosen = Self.negotiate(preferred: Self.preferredAPIVersion, engineMaximum: engine.ApiVersion,
                                    engineMinimum: engine.MinAPIVersion)
        negotiatedVersion.withLock { $0 = chosen }
        return chosen
    }

    /// The services of one stack (label `com.docker.stack.namespace=<stack>`), sorted by name.
    public func services(stack: String) throws(DockerEngineError) -> [SwarmService] {
        let path = "/services"
        let answer = try request("GET", path, query: ["filters": Self.filters(["label": ["com.docker.stack.namespace=\(stack)"]])])
        return try decode([Wire.Service].self, answer, "GET", path).map(SwarmService.init).sorted { $0.name < $1.name }
    }

    /// Every task (current and the history swarm keeps) of one service, by ID or name.
    public func tasks(service: String) throws(DockerEngineError) -> [SwarmTask] {
        try tasks(services: [service])
    }

    /// Every task of a stack's services; empty when the stack has no services.
    public func tasks(stack: String) throws(DockerEngineError) -> [SwarmTask] {
        try tasks(services: services(stack: stack).map(\.id))
    }

    /// Every task of the given services (IDs or names). The engine answers 404 when one of them
    /// does not exist (any more).
    public func tasks(services: [String]) throws(DockerEngineError) -> [SwarmTask] {
        guard !services.isEmpty else { return [] }
        let path = "/tasks"
        let answer = try request("GET", path, query: ["filters": Self.filters(["service": services])])
        return try decode([Wire.Task].self, answer, "GET", path).map(SwarmTask.init)
    }

    /// One container's state: status, health and exit code.
    public func container(id: String) throws(DockerEngineError) -> ContainerState {
        let path = "/containers/\(Self.escapePathSegment(id))/json"
        let answer = try request("GET", path)
        return try ContainerState(try decode(Wire.ContainerInspect.self, answer, "GET", path), method: "GET", path: path)
    }

    /// Containers carrying every one of `labels` (a value of "" matches the label whatever its
    /// value); stopped ones too when `all`.
    public func containers(labels: [String: String], all: Bool) throws(DockerEngineError) -> [ContainerSummary] {
        let path = "/containers/json"
        let selectors = labels.sorted { $0.key < $1.key }.map { $0.value.isEmpty ? $0.key : "\($0.key)=\($0.value)" }
        var query = ["all": all ? "true" : "false"]
        if !selectors.isEmpty { query["filters"] = Self.filters(["label": selectors]) }
        let answer = try request("GET", path, query: query)
        return try decode([Wire.ContainerSummary].self, answer, "GET", path).map(ContainerSummary.init)
    }

    // MARK: - Exec

    /// Runs `command` in a running container and waits for it: creates the exec, starts it on a
    /// hijacked connection (streaming `stdin` in, if given, then closing it so the command sees end
    /// of input), separates stdout from stderr, and reads the exit code back from the engine.
    ///
    /// A command the runtime cannot start (not found, not executable) comes back as exit code 127 or
    /// 126 with the runtime's message in `stdout`, never as an empty success. Past `timeout` seconds
    /// this throws `.execTimedOut`; the engine has no call to kill an exec, so the command may still
    /// be running in the container.
    public func exec(container: String, command: [String], stdin: Data? = nil, timeout: Double) throws(DockerEngineError) -> ExecResult {
        do {
            return try execute(container: container, command: command, stdin: stdin, deadline: Deadline(seconds: timeout))
        } catch .timedOut {
            throw .execTimedOut(container: container, command: command, seconds: timeout)
        }
    }

    private func execute(container: String, command: [String], stdin: Data?, deadline: Deadline) throws(DockerEngineError) -> ExecResult {
        let createPath = "/containers/\(Self.escapePathSegment(container))/exec"
        let creation = Wire.ExecCreate(AttachStdin: stdin != nil, AttachStdout: true, AttachStderr: true, Tty: false, Cmd: command)
        let created = try request("POST", createPath, body: Self.encode(creation), deadline: deadline)
        let execID = try decode(Wire.Created.self, created, "POST", createPath).Id

        let startPath = "/exec/\(Self.escapePathSegment(execID))/start"
        let started = try request("POST", startPath, body: Self.encode(Wire.ExecStart(Detach: false, Tty: false)),
                                  deadline: deadline, hijack: true, input: stdin.map { Array($0) })
        let streams = Multiplexed(started.body)

        // The stream ends when the command's output is closed; the exit code is set a moment later.
        let inspectPath = "/exec/\(Self.escapePathSegment(execID))/json"
        while true {
            let answer = try request("GET", inspectPath, deadline: deadline)
            let inspection = try decode(Wire.ExecInspect.self, answer, "GET", inspectPath)
            if !inspection.Running, let exitCode = inspection.ExitCode {
                return ExecResult(exitCode: Int32(truncatingIfNeeded: exitCode), stdout: Data(streams.stdout), stderr: Data(streams.stderr))
            }
            if !inspection.Running {
                throw .execWithoutExitCode(container: container, command: command)
            }
            guard deadline.remaining > 0.05 else { throw .timedOut(method: "GET", path: inspectPath, seconds: deadline.seconds) }
            usleep(20_000)
        }
    }

    // MARK: - Diagnostics

    /// Events the engine recorded between `since` and `until`, filtered like `docker events --filter`
    /// (e.g. `["label": ["com.docker.stack.namespace=app"]]`, `["type": ["container", "service"]]`).
    /// An `until` in the future makes the engine hold the answer until then.
    public func events(since: Date, until: Date, filters: [String: [String]] = [:]) throws(DockerEngineError) -> [EngineEvent] {
        let path = "/events"
        var query = ["since": Self.timestamp(since), "until": Self.timestamp(until)]
        if !filters.isEmpty { query["filters"] = Self.filters(filters) }
        let wait = max(0, until.timeIntervalSinceNow)
        let answer = try request("GET", path, query: query, deadline: Deadline(seconds: wait + requestTimeout))
        // A stream of JSON objects, one per line, not an array.
        var events: [EngineEvent] = []
        for line in answer.body.split(separator: UInt8(ascii: "\n")) where !line.allSatisfy({ $0 == 32 || $0 == 13 }) {
            events.append(EngineEvent(try decode(Wire.Event.self, HTTPAnswer(status: answer.status, body: Array(line)), "GET", path)))
        }
        return events
    }

    /// The last `tail` lines each task of a service logged, stdout and stderr interleaved as the
    /// engine sent them.
    public func serviceLogs(service: String, tail: Int) throws(DockerEngineError) -> String {
        let path = "/services/\(Self.escapePathSegment(service))/logs"
        let answer = try request("GET", path, query: ["stdout": "true", "stderr": "true", "tail": String(max(0, tail))])
        return String(decoding: Multiplexed(answer.body).combined, as: UTF8.self)
    }

    // MARK: - Requests

    struct HTTPAnswer {
        var status: Int
        var body: [UInt8]
    }

    /// One request on its own connection. Unless hijacking, any status outside 2xx is thrown with
    /// the engine's message. With `hijack`, the request asks to upgrade the connection to a raw
    /// stream, writes `input`, if any, into it (closing the write side after) and reads until the
    /// engine closes it.
    private func request(_ method: String, _ path: String, query: [String: String] = [:], body: [UInt8]? = nil,
                         deadline: Deadline? = nil, hijack: Bool = false, input: [UInt8]? = nil) throws(DockerEngineError) -> HTTPAnswer {
        let version = try apiVersion()
        return try send(method, path, versioned: "/v\(version)", query: query, body: body,
                        deadline: deadline ?? Deadline(seconds: requestTimeout), hijack: hijack, input: input)
    }

    private func send(_ method: String, _ path: String, versioned prefix: String, query: [String: String] = [:],
                      body: [UInt8]? = nil, deadline: Deadline, hijack: Bool = false, input: [UInt8]? = nil) throws(DockerEngineError) -> HTTPAnswer {
        let target = prefix + path + (query.isEmpty ? "" : "?" + query.sorted { $0.key < $1.key }
            .map { "\(Self.percentEncode($0.key))=\(Self.percentEncode($0.value))" }.joined(separator: "&"))
        var head = "\(method) \(target) HTTP/1.1\r\nHost: docker\r\nUser-Agent: cchost\r\n"
        head += hijack ? "Connection: Upgrade\r\nUpgrade: tcp\r\n" : "Connection: close\r\n"
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
        head += "\r\n"

        let connection = try EngineConnection(socketPath: socketPath, method: method, path: path, deadline: deadline,
                                              limit: responseLimit)
        try connection.write(Array(head.utf8) + (body ?? []))
        let response = try connection.readHead()
        let status = response.status
        if hijack, status == 101 || status == 200 {
            // 101 when the engine honours the upgrade; 200 with a raw stream from engines that do not.
            return HTTPAnswer(status: status, body: try connection.readRawStream(after: response.rest, input: input))
        }
        let bytes = try connection.readBody(response)
        guard (200..<300).contains(status) else {
            throw .rejected(method: method, path: path, status: status, message: Self.engineMessage(bytes))
        }
        return HTTPAnswer(status: status, body: bytes)
    }

    private func engineVersion() throws(DockerEngineError) -> Wire.Version {
        // Unversioned: the one call that must work whatever versions the engine accepts.
        let answer = try send("GET", "/version", versioned: "", deadline: Deadline(seconds: requestTimeout))
        return try decode(Wire.Version.self, answer, "GET", "/version")
    }

    private func decode<T: Decodable>(_ type: T.Type, _ answer: HTTPAnswer, _ method: String, _ path: String) throws(DockerEngineError) -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(answer.body))
        } catch {
            throw .malformedResponse(method: method, path: path, reason: "its JSON does not fit \(type): \(Self.decodingProblem(error))")
        }
    }

    // MARK: - Encoding helpers

    static func negotiate(preferred: String, engineMaximum: String, engineMinimum: String?) -> String {
        func parts(_ version: String) -> [Int] { version.split(separator: ".").map { Int($0) ?? 0 } }
        if parts(engineMaximum).lexicographicallyPrecedes(parts(preferred)) { return engineMaximum }
        if let engineMinimum, parts(preferred).lexicographicallyPrecedes(parts(engineMinimum)) { return engineMinimum }
        return preferred
    }

    static func filters(_ filters: [String: [String]]) -> String {
        // Keys sorted so the same filter always makes the same request.
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? String(decoding: encoder.encode(filters), as: UTF8.self)) ?? "{}"
    }

    private static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        // Encoding these flat structs of strings and booleans cannot fail.
        (try? Array(JSONEncoder().encode(value))) ?? Array("{}".utf8)
    }

    /// Everything but unreserved characters escaped: the engine (Go) would read a `+` as a space.
    static func percentEncode(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                result.append(Character(Unicode.Scalar(byte)))
            default:
                result += String(format: "%%%02X", byte)
            }
        }
        return result
    }

    static func escapePathSegment(_ segment: String) -> String { percentEncode(segment) }

    /// Seconds since 1970 with nanoseconds, as the events endpoint takes them.
    static func timestamp(_ date: Date) -> String {
        let nanoseconds = Int64((date.timeIntervalSince1970 * 1e9).rounded())
        let seconds = nanoseconds / 1_000_000_000, fraction = nanoseconds % 1_000_000_000
        return "\(seconds)." + String(repeating: "0", count: 9 - String(fraction).count) + String(fraction)
    }

    /// The `message` of the engine's JSON error body, else the body itself, shortened.
    static func engineMessage(_ body: [UInt8]) -> String {
        struct ErrorBody: Decodable { var message: String }
        if let decoded = try? JSONDecoder().decode(ErrorBody.self, from: Data(body)) {
            return decoded.message.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let text = String(decoding: body.prefix(500), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "(no message)" : text
    }

    private static func decodingProblem(_ error: Error) -> String {
        switch error as? DecodingError {
        case .keyNotFound(let key, let context)?:
            return "missing \((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))"
        case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?, .dataCorrupted(let context)?:
            let at = context.codingPath.map(\.stringValue).joined(separator: ".")
            return (at.isEmpty ? "" : at + ": ") + context.debugDescription
        default:
            return "\(error)"
        }
    }
}

// MARK: - Errors

/// Why a request to the Docker engine failed. Each description is one sentence naming the request.
public enum DockerEngineError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The socket could not be opened or connected (engine down, wrong path, no permission).
    case unreachable(socketPath: String, method: String, path: String, reason: String)
    /// The engine answered with an error status; `message` is the `message` of its JSON error body.
    case rejected(method: String, path: String, status: Int, message: String)
    /// No complete answer before the deadline.
    case timedOut(method: String, path: String, seconds: Double)
    /// The connection broke, or the answer is not the HTTP or JSON expected.
    case malformedResponse(method: String, path: String, reason: String)
    /// The exec did not finish before its timeout (it may still be running in the container).
    case execTimedOut(container: String, command: [String], seconds: Double)
    /// The exec finished but the engine reports no exit code for it.
    case execWithoutExitCode(container: String, command: [String])

    /// The HTTP status the engine answered with, when it answered with an error.
    public var status: Int? {
        if case .rejected(_, _, let status, _) = self { return status }
        return nil
    }

    /// The engine's own message, when it answered with an error.
    public var engineMessage: String? {
        if case .rejected(_, _, _, let message) = self { return message }
        return nil
    }

    public var description: String {
        switch self {
        case let .unreachable(socketPath, method, path, reason):
            "cannot reach the Docker engine at \(socketPath) for \(method) \(path): \(reason); check that dockerd is running and this user may open its socket"
        case let .rejected(method, path, status, message):
            "the Docker engine refused \(method) \(path) with HTTP \(status): \(message)"
        case let .timedOut(method, path, seconds):
            "the Docker engine did not finish answering \(method) \(path) within \(Self.seconds(seconds)); it may be overloaded, or the timeout is too short for the request"
        case let .malformedResponse(method, path, reason):
            "the Docker engine's answer to \(method) \(path) could not be read (\(reason)); its API may not match version \(DockerEngine.preferredAPIVersion) that cchost expects"
        case let .execTimedOut(container, command, seconds):
            "exec of \(command.joined(separator: " ")) in container \(container) did not finish within \(Self.seconds(seconds)) (the engine cannot stop it: it may still be running there); give it longer or make the command bounded"
        case let .execWithoutExitCode(container, command):
            "exec of \(command.joined(separator: " ")) in container \(container) ended without an exit code; treat its output as unverified and run it again"
        }
    }

    private static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : String(format: "%.2f s", value)
    }
}

// MARK: - What the engine reports

/// A swarm service, with only the fields convergence and diagnostics use.
public struct SwarmService: Sendable, Equatable {
    public var id: String
    public var name: String
    /// `Spec.Labels` (the service's own labels, e.g. `coop-cloud.<stack>.version`).
    public var labels: [String: String]
    /// `Spec.TaskTemplate.ContainerSpec.Labels` (put on each of its containers).
    public var containerLabels: [String: String]
    public var image: String
    /// Desired replicas; nil for a global service (one task per eligible node).
    public var replicas: Int?
    /// `UpdateStatus.State`; nil when the service was never updated.
    public var updateState: UpdateState?
    public var updateMessage: String?

    public init(id: String, name: String, labels: [String: String] = [:], containerLabels: [String: String] = [:],
                image: String = "", replicas: Int?, updateState: UpdateState? = nil, updateMessage: String? = nil) {
        self.id = id
        self.name = name
        self.labels = labels
        self.containerLabels = containerLabels
        self.image = image
        self.replicas = replicas
        self.updateState = updateState
        self.updateMessage = updateMessage
    }

    /// The engine's update states, kept open: an unknown one is carried, not a decoding error.
    public struct UpdateState: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let updating = UpdateState(rawValue: "updating")
        public static let paused = UpdateState(rawValue: "paused")
        public static let completed = UpdateState(rawValue: "completed")
        public static let rollbackStarted = UpdateState(rawValue: "rollback_started")
        public static let rollbackPaused = UpdateState(rawValue: "rollback_paused")
        public static let rollbackCompleted = UpdateState(rawValue: "rollback_completed")
    }
}

/// A swarm task: one attempt at running one replica (slot) of a service. Swarm keeps a few
/// finished ones per slot as history.
public struct SwarmTask: Sendable, Equatable {
    public var id: String
    public var serviceID: String
    /// The replica number; nil for tasks of global services.
    public var slot: Int?
    public var desiredState: TaskState
    public var state: TaskState
    /// `Status.Err`: why the task failed or was rejected.
    public var error: String?
    public var containerID: String?
    public var timestamp: Date?

    public init(id: String, serviceID: String, slot: Int? = nil, desiredState: TaskState, state: TaskState,
                error: String? = nil, containerID: String? = nil, timestamp: Date? = nil) {
        self.id = id
        self.serviceID = serviceID
        self.slot = slot
        self.desiredState = desiredState
        self.state = state
        self.error = error
        self.containerID = containerID
        self.timestamp = timestamp
    }

    public struct TaskState: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let new = TaskState(rawValue: "new")
        public static let pending = TaskState(rawValue: "pending")
        public static let assigned = TaskState(rawValue: "assigned")
        public static let accepted = TaskState(rawValue: "accepted")
        public static let preparing = TaskState(rawValue: "preparing")
        public static let ready = TaskState(rawValue: "ready")
        public static let starting = TaskState(rawValue: "starting")
        public static let running = TaskState(rawValue: "running")
        public static let complete = TaskState(rawValue: "complete")
        public static let shutdown = TaskState(rawValue: "shutdown")
        public static let failed = TaskState(rawValue: "failed")
        public static let rejected = TaskState(rawValue: "rejected")
        public static let remove = TaskState(rawValue: "remove")
        public static let orphaned = TaskState(rawValue: "orphaned")
    }
}

public enum ContainerHealth: String, Sendable, Equatable {
    /// The container has no healthcheck.
    case none
    case starting, healthy, unhealthy
}

/// What `docker inspect` says about a container's state.
public struct ContainerState: Sendable, Equatable {
    /// created, running, paused, restarting, removing, exited or dead.
    public var status: String
    public var health: ContainerHealth
    public var exitCode: Int
    /// What the last healthcheck printed (trimmed), when there is one: the why of an unhealthy container.
    public var lastHealthOutput: String?

    public init(status: String, health: ContainerHealth = .none, exitCode: Int = 0, lastHealthOutput: String? = nil) {
        self.status = status
        self.health = health
        self.exitCode = exitCode
        self.lastHealthOutput = lastHealthOutput
    }
}

/// One entry of the container list.
public struct ContainerSummary: Sendable, Equatable {
    public var id: String
    /// Without the leading slash.
    public var names: [String]
    public var image: String
    public var labels: [String: String]
    /// created, running, exited, …
    public var state: String
    /// The human phrase: "Up 3 minutes (healthy)".
    public var status: String

    public init(id: String, names: [String] = [], image: String = "", labels: [String: String] = [:], state: String,
                status: String = "") {
        self.id = id
        self.names = names
        self.image = image
        self.labels = labels
        self.state = state
        self.status = status
    }
}

/// One engine event (`docker events`).
public struct EngineEvent: Sendable, Equatable {
    /// container, service, network, volume, …
    public var type: String
    /// create, start, die, health_status: healthy, …
    public var action: String
    public var actorID: String
    public var attributes: [String: String]
    public var time: Date

    public init(type: String, action: String, actorID: String, attributes: [String: String] = [:], time: Date) {
        self.type = type
        self.action = action
        self.actorID = actorID
        self.attributes = attributes
        self.time = time
    }
}

// MARK: - Wire format (the engine's JSON, only the fields used)

// Property names are the engine's own, so no coding keys are needed.
enum Wire {
    struct Version: Decodable {
        var ApiVersion: String
        var MinAPIVersion: String?
    }

    struct Service: Decodable {
        struct Spec: Decodable {
            struct TaskTemplate: Decodable {
                struct ContainerSpec: Decodable { var Image: String?; var Labels: [String: String]? }
                var ContainerSpec: ContainerSpec?
            }
            struct Mode: Decodable {
                struct Replicated: Decodable { var Replicas: Int? }
                var Replicated: Replicated?
            }
            var Name: String
            var Labels: [String: String]?
            var TaskTemplate: TaskTemplate?
            var Mode: Mode?
        }
        struct UpdateStatus: Decodable { var State: String?; var Message: String? }
        var ID: String
        var Spec: Spec
        var UpdateStatus: UpdateStatus?
    }

    struct Task: Decodable {
        struct Status: Decodable {
            struct ContainerStatus: Decodable { var ContainerID: String? }
            var Timestamp: String?
            var State: String
            var Err: String?
            var ContainerStatus: ContainerStatus?
        }
        var ID: String
        var ServiceID: String
        var Slot: Int?
        var DesiredState: String
        var Status: Status
    }

    struct ContainerInspect: Decodable {
        struct State: Decodable {
            struct Health: Decodable {
                struct Probe: Decodable { var Output: String? }
                var Status: String
                var Log: [Probe]?
            }
            var Status: String
            var ExitCode: Int?
            var Health: Health?
        }
        var State: State
    }

    struct ContainerSummary: Decodable {
        var Id: String
        var Names: [String]?
        var Image: String?
        var Labels: [String: String]?
        var State: String?
        var Status: String?
    }

    struct ExecCreate: Encodable {
        var AttachStdin: Bool
        var AttachStdout: Bool
        var AttachStderr: Bool
        var Tty: Bool
        var Cmd: [String]
    }

    struct ExecStart: Encodable {
        var Detach: Bool
        var Tty: Bool
    }

    struct Created: Decodable { var Id: String }

    struct ExecInspect: Decodable {
        var Running: Bool
        var ExitCode: Int?
    }

    struct Event: Decodable {
        struct Actor: Decodable { var ID: String?; var Attributes: [String: String]? }
        var kind: String?
        var Action: String?
        var Actor: Actor?
        var time: Int64?
        var timeNano: Int64?

        enum CodingKeys: String, CodingKey {
            case kind = "Type", Action, Actor, time, timeNano
        }
    }
}

extension SwarmService {
    init(_ wire: Wire.Service) {
        self.init(id: wire.ID, name: wire.Spec.Name, labels: wire.Spec.Labels ?? [:],
                  containerLabels: wire.Spec.TaskTemplate?.ContainerSpec?.Labels ?? [:],
                  image: wire.Spec.TaskTemplate?.ContainerSpec?.Image ?? "",
                  replicas: wire.Spec.Mode?.Replicated.map { $0.Replicas ?? 1 },
                  updateState: wire.UpdateStatus?.State.map(UpdateState.init(rawValue:)),
                  updateMessage: wire.UpdateStatus?.Message)
    }
}

extension SwarmTask {
    init(_ wire: Wire.Task) {
        self.init(id: wire.ID, serviceID: wire.ServiceID, slot: wire.Slot, desiredState: TaskState(rawValue: wire.DesiredState),
                  state: TaskState(rawValue: wire.Status.State),
                  error: wire.Status.Err.flatMap { $0.isEmpty ? nil : $0 },
                  containerID: wire.Status.ContainerStatus?.ContainerID.flatMap { $0.isEmpty ? nil : $0 },
                  timestamp: wire.Status.Timestamp.flatMap(EngineTime.parse))
    }
}

extension ContainerState {
    init(_ wire: Wire.ContainerInspect, method: String, path: String) throws(DockerEngineError) {
        var health = ContainerHealth.none
        if let status = wire.State.Health?.Status {
            guard let known = ContainerHealth(rawValue: status) else {
                throw .malformedResponse(method: method, path: path, reason: "unknown health status \"\(status)\"")
            }
            health = known
        }
        let output = wire.State.Health?.Log?.last?.Output?.trimmingCharacters(in: .whitespacesAndNewlines)
        self.init(status: wire.State.Status, health: health, exitCode: wire.State.ExitCode ?? 0,
                  lastHealthOutput: output.flatMap { $0.isEmpty ? nil : String($0.prefix(500)) })
    }
}

extension ContainerSummary {
    init(_ wire: Wire.ContainerSummary) {
        self.init(id: wire.Id, names: (wire.Names ?? []).map { $0.hasPrefix("/") ? String($0.dropFirst()) : $0 },
                  image: wire.Image ?? "", labels: wire.Labels ?? [:], state: wire.State ?? "", status: wire.Status ?? "")
    }
}

extension EngineEvent {
    init(_ wire: Wire.Event) {
        let time = wire.timeNano.map { Date(timeIntervalSince1970: Double($0) / 1e9) }
            ?? Date(timeIntervalSince1970: Double(wire.time ?? 0))
        self.init(type: wire.kind ?? "", action: wire.Action ?? "", actorID: wire.Actor?.ID ?? "",
                  attributes: wire.Actor?.Attributes ?? [:], time: time)
    }
}

/// The engine's RFC 3339 times carry nanoseconds, more than date formatters read.
enum EngineTime {
    static func parse(_ text: String) -> Date? {
        // "2024-05-01T12:34:56.123456789Z" or with an offset: split off the fraction, parse the rest.
        var whole = text, fraction = 0.0
        if let dot = text.firstIndex(of: ".") {
            let digits = text[text.index(after: dot)...].prefix { $0.isNumber }
            fraction = Double("0." + digits) ?? 0
            whole = String(text[..<dot]) + String(text[text.index(after: dot)...].dropFirst(digits.count))
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        // Swarm writes "0001-01-01T00:00:00Z" for times never set.
        guard let date = formatter.date(from: whole), date.timeIntervalSince1970 > 0 else { return nil }
        return date.addingTimeInterval(fraction)
    }
}

// MARK: - Multiplexed streams

/// A non-TTY stream as the engine sends exec output and logs: frames of an 8-byte header (stream
/// 0 stdin, 1 stdout, 2 stderr; three zero bytes; a big-endian UInt32 length) and the payload.
/// A stream that does not start like a frame (a TTY) is taken as stdout.
struct Multiplexed {
    var stdout: [UInt8] = []
    var stderr: [UInt8] = []
    /// Both, in the order received.
    var combined: [UInt8] = []

    init(_ bytes: [UInt8]) {
        guard let first = bytes.first, first <= 2, bytes.count >= 8, bytes[1] == 0, bytes[2] == 0, bytes[3] == 0 else {
            stdout = bytes
            combined = bytes
            return
        }
        var index = 0
        while index + 8 <= bytes.count {
            let kind = bytes[index]
            let length = bytes[(index + 4)..<(index + 8)].reduce(0) { $0 << 8 | Int($1) }
            let end = min(bytes.count, index + 8 + length)
            let payload = bytes[(index + 8)..<end]
            if kind == 2 { stderr += payload } else { stdout += payload }
            combined += payload
            index = end
        }
    }
}

// MARK: - The connection

/// A point in time requests must finish by.
struct Deadline {
    let instant: ContinuousClock.Instant
    let seconds: Double

    init(seconds: Double) {
        self.seconds = seconds
        instant = .now + .milliseconds(Int64((max(0, seconds) * 1000).rounded()))
    }

    /// Seconds left, never negative.
    var remaining: Double {
        let left = (instant - .now).components
        return max(0, Double(left.seconds) + Double(left.attoseconds) / 1e18)
    }
}

/// One connection to the engine's socket, closed when released. Non-blocking, every wait bounded by
/// poll(2) against the deadline.
private final class EngineConnection {
    private let descriptor: Int32
    private let method: String
    private let path: String
    private let deadline: Deadline
    private let limit: Int

    struct Head {
        var status: Int
        /// Lower-cased names.
        var headers: [String: String]
        /// Bytes read past the head.
        var rest: [UInt8]
    }

    init(socketPath: String, method: String, path: String, deadline: Deadline, limit: Int) throws(DockerEngineError) {
        self.method = method
        self.path = path
        self.deadline = deadline
        self.limit = limit
        func unreachable(_ reason: String) -> DockerEngineError {
            .unreachable(socketPath: socketPath, method: method, path: path, reason: reason)
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw unreachable("the socket path is too long") }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: pathBytes) }

        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw unreachable("socket: \(Self.lastError())") }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            let reason = Self.lastError()
            close(descriptor)
            throw unreachable(reason)
        }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
    }

    deinit { close(descriptor) }

    func write(_ bytes: [UInt8]) throws(DockerEngineError) {
        var sent = 0
        while sent < bytes.count {
            try wait(for: Int16(POLLOUT))
            let count = bytes[sent...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw broken("cannot send the request: \(Self.lastError())")
            }
            sent += count
        }
    }

    func readHead() throws(DockerEngineError) -> Head {
        var buffer: [UInt8] = []
        let separator: [UInt8] = [13, 10, 13, 10]
        while true {
            if let end = ByteSearch.find(separator, in: buffer) {
                let text = String(decoding: buffer[..<end], as: UTF8.self)
                var lines = text.components(separatedBy: "\r\n")
                let statusLine = lines.removeFirst()
                let fields = statusLine.split(separator: " ", maxSplits: 2)
                guard fields.count >= 2, fields[0].hasPrefix("HTTP/1."), let status = Int(fields[1]) else {
                    throw broken("the status line is \"\(statusLine.prefix(80))\"")
                }
                var headers: [String: String] = [:]
                for line in lines {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                return Head(status: status, headers: headers, rest: Array(buffer[(end + 4)...]))
            }
            guard buffer.count < 64 << 10 else { throw broken("the response head is longer than 64 KiB") }
            guard try receive(into: &buffer) else {
                throw broken(buffer.isEmpty ? "the engine closed the connection without answering" : "the response head is cut short")
            }
        }
    }

    /// The body, by `Content-Length`, chunked transfer encoding, or (neither) until the engine closes.
    func readBody(_ head: Head) throws(DockerEngineError) -> [UInt8] {
        var buffer = head.rest
        if head.status == 204 || head.status == 304 || (100..<200).contains(head.status) { return [] }
        if head.headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            var decoder = ChunkedDecoder()
            while true {
                do { try decoder.consume(&buffer) } catch { throw broken(error.reason) }
                if decoder.finished { return decoder.body }
                guard decoder.body.count <= limit else { throw tooLarge() }
                guard try receive(into: &buffer) else { throw broken("the chunked body ends before its last chunk") }
            }
        }
        if let field = head.headers["content-length"] {
            guard let length = Int(field), length >= 0 else { throw broken("Content-Length is \"\(field)\"") }
            guard length <= limit else { throw tooLarge() }
            while buffer.count < length {
                guard try receive(into: &buffer) else { throw broken("the body ends after \(buffer.count) of \(length) bytes") }
            }
            return Array(buffer.prefix(length))
        }
        while try receive(into: &buffer) {
            guard buffer.count <= limit else { throw tooLarge() }
        }
        return buffer
    }

    /// A hijacked connection: writes `input` while reading (so a command echoing its input cannot
    /// stall on a full pipe), closes the write side once `input` is sent so the command sees end of
    /// input, and reads until the engine closes the stream. Without `input` (stdin not attached)
    /// the write side is left alone.
    func readRawStream(after rest: [UInt8], input: [UInt8]?) throws(DockerEngineError) -> [UInt8] {
        var buffer = rest
        var sent = 0
        var writing = input != nil
        let input = input ?? []
        if writing && input.isEmpty { shutdown(descriptor, Int32(SHUT_WR)); writing = false }
        while true {
            let events = Int16(POLLIN) | (writing ? Int16(POLLOUT) : 0)
            let ready = try wait(for: events)
            if writing, ready & Int16(POLLOUT | POLLERR | POLLHUP) != 0 {
                let count = input[sent...].prefix(64 << 10).withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if count >= 0 {
                    sent += count
                } else if errno != EINTR && errno != EAGAIN {
                    // The command stopped reading (it exited): keep reading what it wrote.
                    writing = false
                }
                if sent == input.count { shutdown(descriptor, Int32(SHUT_WR)); writing = false }
            }
            if ready & Int16(POLLIN | POLLHUP | POLLERR) != 0 || !writing {
                guard try receive(into: &buffer, waiting: false) else { return buffer }
                guard buffer.count <= limit else { throw tooLarge() }
            }
        }
    }

    /// Reads what is available into `buffer` (waiting for it unless told not to); false at end of stream.
    private func receive(into buffer: inout [UInt8], waiting: Bool = true) throws(DockerEngineError) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            if waiting { try wait(for: Int16(POLLIN)) }
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                buffer += chunk[..<count]
                return true
            }
            if count == 0 { return false }
            if errno == EINTR { continue }
            if errno == EAGAIN { if waiting { continue } else { return true } }
            throw broken("cannot read the answer: \(Self.lastError())")
        }
    }

    /// Waits until the socket is ready for `events` or the deadline passes; returns the ready events.
    @discardableResult
    private func wait(for events: Int16) throws(DockerEngineError) -> Int16 {
        while true {
            let remaining = deadline.remaining
            guard remaining > 0 else { throw .timedOut(method: method, path: path, seconds: deadline.seconds) }
            var entry = pollfd(fd: descriptor, events: events, revents: 0)
            let result = poll(&entry, 1, Int32(min(remaining * 1000, 60_000).rounded(.up)))
            if result > 0 { return entry.revents }
            if result < 0 && errno != EINTR { throw broken("poll: \(Self.lastError())") }
        }
    }

    private func broken(_ reason: String) -> DockerEngineError {
        .malformedResponse(method: method, path: path, reason: reason)
    }

    private func tooLarge() -> DockerEngineError {
        broken("the answer is larger than \(limit >> 20) MiB")
    }

    private static func lastError() -> String { String(cString: strerror(errno)) }
}

/// Decodes `Transfer-Encoding: chunked` as bytes arrive: size line (hex, maybe `;extensions`),
/// data, CRLF; a zero size ends the body, after optional trailer lines and an empty line.
struct ChunkedDecoder {
    struct Problem: Error { var reason: String }

    private(set) var body: [UInt8] = []
    private(set) var finished = false
    private var inTrailers = false

    /// Takes every complete piece off the front of `buffer`.
    mutating func consume(_ buffer: inout [UInt8]) throws(Problem) {
        var index = 0
        defer { buffer.removeFirst(index) }
        let lineEnd: [UInt8] = [13, 10]
        while !finished {
            guard let end = ByteSearch.find(lineEnd, in: buffer, from: index) else { return }
            if inTrailers {
                if end == index { finished = true }
                index = end + 2
                continue
            }
            let line = String(decoding: buffer[index..<end], as: UTF8.self)
            let sizeText = line.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            guard let size = Int(sizeText, radix: 16), size >= 0 else { throw Problem(reason: "a chunk size is \"\(line.prefix(40))\"") }
            if size == 0 {
                inTrailers = true
                index = end + 2
                continue
            }
            let dataStart = end + 2
            guard buffer.count >= dataStart + size + 2 else { return }
            guard buffer[dataStart + size] == 13, buffer[dataStart + size + 1] == 10 else {
                throw Problem(reason: "a chunk is not followed by CRLF")
            }
            body += buffer[dataStart..<(dataStart + size)]
            index = dataStart + size + 2
        }
    }
}

/// Byte search for the response head and the chunked decoder.
enum ByteSearch {
    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int = 0) -> Int? {
        guard haystack.count >= needle.count + start else { return nil }
        for index in start...(haystack.count - needle.count) where haystack[index] == needle[0] {
            if haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
        }
        return nil
    }
}
