import Foundation
import HostBase
import Synchronization

/// The host's window on the Docker engine: a small HTTP/1.1 client for the Engine API over its unix
/// socket, on which `DockerDaemon` answers the `Docker` seam: a poll is one request on a socket,
/// never a process. Deploys and teardown stay with `DockerCLI`.
///
/// Each request opens its own connection (`Connection: close`) and runs to a deadline enforced
/// with poll(2). Paths are prefixed with a negotiated API version: 1.41, or the nearest version the
/// engine supports (older engines answer with their own, newer ones may refuse anything below their
/// minimum).
public final class DockerAPI: Sendable {
    /// The engine's address; a failure when this client was built without one and the process's
    /// own `DOCKER_HOST` was refused (every request then fails saying so).
    public let address: Result<EngineAddress, EngineAddressError>
    /// How long one request may take, in seconds (an `exec` has its own timeout).
    public let requestTimeout: Double
    /// The largest answer read into memory, in bytes; a larger one is an error, not a truncation.
    public let responseLimit: Int
    /// The version every path is prefixed with, settled by the first request.
    private let negotiatedVersion = Mutex<String?>(nil)

    /// The API version the decoding here was written against.
    public static let preferredAPIVersion = "1.41"

    /// A client of the engine at `address`: the one the command worked out when it started.
    public convenience init(address: EngineAddress, requestTimeout: Double = 30, responseLimit: Int = 256 << 20) {
        self.init(resolved: .success(address), requestTimeout: requestTimeout, responseLimit: responseLimit)
    }

    /// A client of the engine `EngineAddress.processDefault` names (this process's `DOCKER_HOST`,
    /// else the default socket), for tests and tools.
    public convenience init(requestTimeout: Double = 30, responseLimit: Int = 256 << 20) {
        self.init(resolved: EngineAddress.processDefault, requestTimeout: requestTimeout, responseLimit: responseLimit)
    }

    init(resolved: Result<EngineAddress, EngineAddressError>, requestTimeout: Double = 30, responseLimit: Int = 256 << 20) {
        address = resolved
        self.requestTimeout = requestTimeout
        self.responseLimit = responseLimit
    }

    // MARK: - Engine and swarm state

    /// The engine's own (highest) API version, e.g. "1.41".
    public func version() throws(DockerAPIError) -> String {
        try serverVersion().ApiVersion
    }

    /// The API version this client speaks to the engine, negotiated on first use.
    public func apiVersion() throws(DockerAPIError) -> String {
        if let known = negotiatedVersion.withLock({ $0 }) { return known }
        let engine = try serverVersion()
        let chosen = Self.negotiate(preferred: Self.preferredAPIVersion, engineMaximum: engine.ApiVersion,
                                    engineMinimum: engine.MinAPIVersion)
        negotiatedVersion.withLock { $0 = chosen }
        return chosen
    }

    /// The services of one stack (label `com.docker.stack.namespace=<stack>`), sorted by name.
    public func services(stack: String) throws(DockerAPIError) -> [SwarmService] {
        try services(labels: ["com.docker.stack.namespace": stack])
    }

    /// Services carrying every one of `labels` (a value of "" matches the label whatever its
    /// value), sorted by name.
    public func services(labels: [String: String]) throws(DockerAPIError) -> [SwarmService] {
        let path = "/services"
        let selectors = Self.labelSelectors(labels)
        let answer = try request("GET", path, query: selectors.isEmpty ? [:] : ["filters": Self.filters(["label": selectors])])
        return try decode([Wire.Service].self, answer, "GET", path).map(SwarmService.init).sorted { $0.name < $1.name }
    }

    /// One service, by ID or name (404 when there is none).
    public func service(_ idOrName: String) throws(DockerAPIError) -> SwarmService {
        let path = "/services/\(Self.escapePathSegment(idOrName))"
        return SwarmService(try decode(Wire.Service.self, try request("GET", path), "GET", path))
    }

    /// Removes a service. The engine then stops its containers as `docker stack rm` does: each gets
    /// its stop signal and grace period, so a database shuts down cleanly.
    public func removeService(_ idOrName: String) throws(DockerAPIError) {
        _ = try request("DELETE", "/services/\(Self.escapePathSegment(idOrName))")
    }

    /// Every task (current and the history swarm keeps) of one service, by ID or name.
    public func tasks(service: String) throws(DockerAPIError) -> [SwarmTask] {
        try tasks(services: [service])
    }

    /// Every task of a stack's services; empty when the stack has no services.
    public func tasks(stack: String) throws(DockerAPIError) -> [SwarmTask] {
        try tasks(services: services(stack: stack).map(\.id))
    }

    /// Every task of the given services (IDs or names). The engine answers 404 when one of them
    /// does not exist (any more).
    public func tasks(services: [String]) throws(DockerAPIError) -> [SwarmTask] {
        guard !services.isEmpty else { return [] }
        let path = "/tasks"
        let answer = try request("GET", path, query: ["filters": Self.filters(["service": services])])
        return try decode([Wire.Task].self, answer, "GET", path).map(SwarmTask.init)
    }

    /// One container's state: status, health and exit code.
    public func container(id: String) throws(DockerAPIError) -> ContainerState {
        let path = "/containers/\(Self.escapePathSegment(id))/json"
        let answer = try request("GET", path)
        return try ContainerState(try decode(Wire.ContainerInspect.self, answer, "GET", path), method: "GET", path: path)
    }

    /// What one container mounts (volumes, binds, tmpfs) and where.
    public func mounts(container id: String) throws(DockerAPIError) -> [ContainerMount] {
        let path = "/containers/\(Self.escapePathSegment(id))/json"
        return (try decode(Wire.ContainerInspect.self, try request("GET", path), "GET", path).Mounts ?? []).map(ContainerMount.init)
    }

    /// Every secret or every config of the swarm (names, labels, creation times; never values).
    public func swarmObjects(_ kind: SwarmObject.Kind) throws(DockerAPIError) -> [SwarmObject] {
        let path = "/\(kind.rawValue)s"
        return try decode([Wire.SwarmObject].self, try request("GET", path), "GET", path)
            .map { SwarmObject($0, kind: kind) }.sorted { $0.name < $1.name }
    }

    /// What the engine inspects in full: the object kinds a deployed stack is made of.
    enum InspectedKind: String { case services, configs, secrets, networks }

    /// The engine's whole inspect answer for one object, by ID or name, kept as JSON (`Spec`
    /// included; a config's `Spec.Data` is its content, base64): for comparing field by field what
    /// a stack deployed with what cchost rendered for it. A secret's answer never holds its value.
    func inspect(_ kind: InspectedKind, _ idOrName: String) throws(DockerAPIError) -> JSONValue {
        let path = "/\(kind.rawValue)/\(Self.escapePathSegment(idOrName))"
        return try decode(JSONValue.self, try request("GET", path), "GET", path)
    }

    // MARK: - Volumes

    /// Volumes carrying every one of `labels` (a value of "" matches the label whatever its value),
    /// sorted by name.
    public func volumes(labels: [String: String]) throws(DockerAPIError) -> [DockerVolume] {
        let path = "/volumes"
        let selectors = Self.labelSelectors(labels)
        let answer = try request("GET", path, query: selectors.isEmpty ? [:] : ["filters": Self.filters(["label": selectors])])
        return (try decode(Wire.VolumeList.self, answer, "GET", path).Volumes ?? []).map(DockerVolume.init).sorted { $0.name < $1.name }
    }

    /// One volume (404 when there is none).
    public func volume(_ name: String) throws(DockerAPIError) -> DockerVolume {
        let path = "/volumes/\(Self.escapePathSegment(name))"
        return DockerVolume(try decode(Wire.Volume.self, try request("GET", path), "GET", path))
    }

    /// Creates a local volume with `labels`. Creating one that exists answers the existing volume.
    @discardableResult
    public func createVolume(_ name: String, labels: [String: String]) throws(DockerAPIError) -> DockerVolume {
        let path = "/volumes/create"
        let answer = try request("POST", path, body: Self.encode(Wire.VolumeCreate(Name: name, Labels: labels)))
        return DockerVolume(try decode(Wire.Volume.self, answer, "POST", path))
    }

    /// Removes a volume (404 when there is none; 409 while a container uses it). `force` also
    /// removes it when its driver cannot.
    public func removeVolume(_ name: String, force: Bool = false) throws(DockerAPIError) {
        _ = try request("DELETE", "/volumes/\(Self.escapePathSegment(name))", query: force ? ["force": "true"] : [:])
    }

    /// Containers carrying every one of `labels` (a value of "" matches the label whatever its
    /// value); stopped ones too when `all`.
    public func containers(labels: [String: String], all: Bool) throws(DockerAPIError) -> [ContainerSummary] {
        let path = "/containers/json"
        let selectors = Self.labelSelectors(labels)
        var query = ["all": all ? "true" : "false"]
        if !selectors.isEmpty { query["filters"] = Self.filters(["label": selectors]) }
        let answer = try request("GET", path, query: query)
        return try decode([Wire.ContainerSummary].self, answer, "GET", path).map(ContainerSummary.init)
    }

    /// Sets the desired replicas of a replicated service, its spec otherwise sent back exactly as
    /// the engine gave it (fields this client does not model included), at the version read.
    public func scaleService(_ idOrName: String, replicas: Int) throws(DockerAPIError) {
        let path = "/services/\(Self.escapePathSegment(idOrName))"
        struct Inspected: Decodable {
            struct Version: Decodable { var Index: Int64 }
            var Version: Version
            var Spec: JSONValue
        }
        let inspected = try decode(Inspected.self, try request("GET", path), "GET", path)
        guard case .object(var spec) = inspected.Spec, case .object(var mode)? = spec["Mode"],
              case .object(var replicated)? = mode["Replicated"] else {
            throw .malformedResponse(method: "GET", path: path, reason: "the service is not replicated: it has no Spec.Mode.Replicated")
        }
        replicated["Replicas"] = .integer(Int64(replicas))
        mode["Replicated"] = .object(replicated)
        spec["Mode"] = .object(mode)
        _ = try request("POST", path + "/update", query: ["version": String(inspected.Version.Index)],
                        body: Self.encode(JSONValue.object(spec)))
    }

    /// Kills and removes a container with its anonymous volumes (404 when there is none).
    public func removeContainer(_ id: String) throws(DockerAPIError) {
        _ = try request("DELETE", "/containers/\(Self.escapePathSegment(id))", query: ["force": "true", "v": "true"])
    }

    // MARK: - Networks, secrets, configs and tasks being removed

    /// Networks carrying every one of `labels` (a value of "" matches any value), sorted by name.
    public func networks(labels: [String: String]) throws(DockerAPIError) -> [(id: String, name: String)] {
        let path = "/networks"
        let selectors = Self.labelSelectors(labels)
        let answer = try request("GET", path, query: selectors.isEmpty ? [:] : ["filters": Self.filters(["label": selectors])])
        return try decode([Wire.Network].self, answer, "GET", path).map { ($0.Id, $0.Name) }.sorted { $0.name < $1.name }
    }

    /// Removes a network (404 when there is none; 403/409 while something is attached to it).
    public func removeNetwork(_ id: String) throws(DockerAPIError) {
        _ = try request("DELETE", "/networks/\(Self.escapePathSegment(id))")
    }

    /// Removes a secret or a config (404 when there is none).
    public func removeSwarmObject(_ kind: SwarmObject.Kind, id: String) throws(DockerAPIError) {
        _ = try request("DELETE", "/\(kind.rawValue)s/\(Self.escapePathSegment(id))")
    }

    /// Every task of the swarm, whatever its service and state (a deleted service's tasks too, until
    /// swarm reaps them: a filter by service would be refused for a service that is gone).
    public func allTasks() throws(DockerAPIError) -> [SwarmTask] {
        let path = "/tasks"
        return try decode([Wire.Task].self, try request("GET", path), "GET", path).map(SwarmTask.init)
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
    public func exec(container: String, command: [String], stdin: Data? = nil, timeout: Double) throws(DockerAPIError) -> ExecResult {
        do {
            return try execute(container: container, command: command, stdin: stdin, deadline: Deadline(seconds: timeout))
        } catch .timedOut {
            throw .execTimedOut(container: container, command: command, seconds: timeout)
        }
    }

    private func execute(container: String, command: [String], stdin: Data?, deadline: Deadline) throws(DockerAPIError) -> ExecResult {
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
    public func events(since: Date, until: Date, filters: [String: [String]] = [:]) throws(DockerAPIError) -> [DockerEvent] {
        let path = "/events"
        var query = ["since": Self.timestamp(since), "until": Self.timestamp(until)]
        if !filters.isEmpty { query["filters"] = Self.filters(filters) }
        let wait = max(0, until.timeIntervalSinceNow)
        let answer = try request("GET", path, query: query, deadline: Deadline(seconds: wait + requestTimeout))
        // A stream of JSON objects, one per line, not an array.
        var events: [DockerEvent] = []
        for line in answer.body.split(separator: UInt8(ascii: "\n")) where !line.allSatisfy({ $0 == 32 || $0 == 13 }) {
            events.append(DockerEvent(try decode(Wire.Event.self, HTTPAnswer(status: answer.status, body: Array(line)), "GET", path)))
        }
        return events
    }

    /// Waits for the first event matching `filters` that the engine records after `since`, at most
    /// `timeout` seconds: true when one came. The engine streams events as they happen, so a
    /// caller waiting for something to change wakes when it does, not at the next poll.
    public func awaitEvent(since: Date, filters: [String: [String]], timeout: Double) throws(DockerAPIError) -> Bool {
        let path = "/events"
        var query = ["since": Self.timestamp(since)]
        if !filters.isEmpty { query["filters"] = Self.filters(filters) }
        let version = try apiVersion()
        return try firstLine("GET", path, versioned: "/v\(version)", query: query, deadline: Deadline(seconds: timeout)) != nil
    }

    /// The last `tail` lines each task of a service logged, stdout and stderr interleaved as the
    /// engine sent them.
    public func serviceLogs(service: String, tail: Int) throws(DockerAPIError) -> String {
        let path = "/services/\(Self.escapePathSegment(service))/logs"
        let answer = try request("GET", path, query: ["stdout": "true", "stderr": "true", "tail": String(max(0, tail))])
        return String(decoding: Multiplexed(answer.body).combined, as: UTF8.self)
    }

    // MARK: - Requests

    /// One request on its own connection. Unless hijacking, any status outside 2xx is thrown with
    /// the engine's message. With `hijack`, the request asks to upgrade the connection to a raw
    /// stream, writes `input`, if any, into it (closing the write side after) and reads until the
    /// engine closes it.
    private func request(_ method: String, _ path: String, query: [String: String] = [:], body: [UInt8]? = nil,
                         deadline: Deadline? = nil, hijack: Bool = false, input: [UInt8]? = nil) throws(DockerAPIError) -> HTTPAnswer {
        let version = try apiVersion()
        return try send(method, path, versioned: "/v\(version)", query: query, body: body,
                        deadline: deadline ?? Deadline(seconds: requestTimeout), hijack: hijack, input: input)
    }

    private func serverVersion() throws(DockerAPIError) -> Wire.Version {
        // Unversioned: the one call that must work whatever versions the engine accepts.
        let answer = try send("GET", "/version", versioned: "", deadline: Deadline(seconds: requestTimeout))
        return try decode(Wire.Version.self, answer, "GET", "/version")
    }

    private func decode<T: Decodable>(_ type: T.Type, _ answer: HTTPAnswer, _ method: String, _ path: String) throws(DockerAPIError) -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(answer.body))
        } catch {
            throw .malformedResponse(method: method, path: path, reason: "its JSON does not fit \(type): \(Self.decodingProblem(error))")
        }
    }

    /// The API version to speak: `preferred`, unless the engine's range leaves it out.
    static func negotiate(preferred: String, engineMaximum: String, engineMinimum: String?) -> String {
        func parts(_ version: String) -> [Int] { version.split(separator: ".").map { Int($0) ?? 0 } }
        if parts(engineMaximum).lexicographicallyPrecedes(parts(preferred)) { return engineMaximum }
        if let engineMinimum, parts(preferred).lexicographicallyPrecedes(parts(engineMinimum)) { return engineMinimum }
        return preferred
    }
}
