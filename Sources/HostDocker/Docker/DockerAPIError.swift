import Foundation

/// Why a request to the Docker engine failed. Each description is one sentence naming the request.
public enum DockerAPIError: Error, Sendable, Equatable, CustomStringConvertible {
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
            "the Docker engine's answer to \(method) \(path) could not be read (\(reason)); its API may not match version \(DockerAPI.preferredAPIVersion) that cchost expects"
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
