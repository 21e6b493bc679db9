import Foundation

/// The Docker engine cchost speaks to: one unix socket, worked out once when a command starts,
/// from the operator's side only (`resolve`), and handed to every client of the engine: the Engine
/// API client and the docker CLI alike, so they never ask two different engines.
///
/// Only unix sockets: the Engine API client speaks HTTP over a unix socket and nothing else, so a
/// `tcp://` (or `ssh://`, `fd://`, …) address is refused when it is read, not at the first request.
public struct EngineAddress: Sendable, Equatable, CustomStringConvertible {
    /// The engine's socket: an absolute path.
    public let socketPath: String

    public static let defaultSocketPath = "/var/run/docker.sock"
    public static let `default` = EngineAddress(checkedPath: defaultSocketPath)

    /// `DOCKER_HOST` as the docker CLI spells this address.
    public var dockerHost: String { "unix://" + socketPath }
    public var description: String { dockerHost }

    /// A socket path: absolute, and short enough for a unix socket address.
    public init(socketPath: String) throws(EngineAddressError) {
        guard socketPath.hasPrefix("/") else { throw EngineAddressError(value: socketPath, reason: .notAbsolute) }
        // sockaddr_un holds 108 bytes with the terminating NUL (Linux).
        guard socketPath.utf8.count < 108, !socketPath.contains("\0") else {
            throw EngineAddressError(value: socketPath, reason: .unusablePath)
        }
        self.socketPath = socketPath
    }

    /// `unix:///path/to/docker.sock`, as `DOCKER_HOST` spells it.
    public init(parsing text: String) throws(EngineAddressError) {
        guard text.hasPrefix("unix://") else {
            throw EngineAddressError(value: text, reason: text.contains("://") ? .notUnixSocket : .noScheme)
        }
        do { try self.init(socketPath: String(text.dropFirst("unix://".count))) } catch {
            throw EngineAddressError(value: text, reason: error.reason)
        }
    }

    private init(checkedPath: String) { socketPath = checkedPath }

    /// The one place the engine's address is decided: the operator's configuration (`docker_host`,
    /// checked when the file was read), else cchost's own `DOCKER_HOST` (empty counts as unset),
    /// else `/var/run/docker.sock`. Nothing a recipe supplies is ever consulted.
    public static func resolve(configured: EngineAddress?, environment: [String: String]) throws(EngineAddressError) -> EngineAddress {
        if let configured { return configured }
        guard let host = environment["DOCKER_HOST"], !host.isEmpty else { return .default }
        do { return try EngineAddress(parsing: host) } catch {
            throw EngineAddressError(value: host, reason: error.reason, source: "DOCKER_HOST")
        }
    }

    /// `resolve` with no configuration over this process's environment, worked out once: what a
    /// Docker client built without an address uses (tests, tools). cchost's commands never rely on
    /// it: they resolve with the configuration when they start and pass the address on.
    public static let processDefault: Result<EngineAddress, EngineAddressError> = Result {
        () throws(EngineAddressError) in try resolve(configured: nil, environment: ProcessInfo.processInfo.environment)
    }
}

/// An engine address cchost cannot use, and why.
public struct EngineAddressError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        /// `tcp://`, `ssh://`, `fd://`, `npipe://`: not a unix socket.
        case notUnixSocket
        /// No `scheme://` at all.
        case noScheme
        case notAbsolute
        /// Too long for a unix socket address, or holding a NUL.
        case unusablePath
    }

    /// The address as it was written.
    public var value: String
    public var reason: Reason
    /// Where it was written (`DOCKER_HOST`), when that is not said around this error.
    public var source: String?

    public init(value: String, reason: Reason, source: String? = nil) {
        self.value = value
        self.reason = reason
        self.source = source
    }

    /// What the address must be, as a phrase ("a unix socket …"), for messages that name the field.
    public static let expected = "a unix socket address such as unix:///var/run/docker.sock"

    /// Why, without where: "tcp://10.0.0.2:2375 is not a unix socket: …".
    public var problem: String {
        switch reason {
        case .notUnixSocket:
            "'\(value)' is not a unix socket: cchost speaks to the Docker engine over a unix socket only (\(Self.expected))"
        case .noScheme:
            "'\(value)' is not an engine address: write it as \(Self.expected)"
        case .notAbsolute:
            "'\(value)' does not name the socket by an absolute path (\(Self.expected))"
        case .unusablePath:
            "'\(value)' cannot be a unix socket's path (longer than 107 bytes, or holding a NUL)"
        }
    }

    public var description: String {
        guard let source else { return problem }
        return "\(source) \(problem); set it to \(Self.expected), unset it, or set docker_host in the configuration"
    }
}
