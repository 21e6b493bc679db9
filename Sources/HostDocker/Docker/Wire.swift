import Foundation
import HostBase

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
                struct ContainerSpecFields: Decodable { var Image: String?; var Labels: [String: String]? }
                var ContainerSpec: ContainerSpecFields?
                /// The same, whole: what a task's own spec is compared with.
                var containerSpecJSON: JSONValue?
                /// `Window` in nanoseconds.
                struct RestartPolicyFields: Decodable { var Condition: String?; var MaxAttempts: Int?; var Window: Int64? }
                var RestartPolicy: RestartPolicyFields?

                enum CodingKeys: String, CodingKey { case ContainerSpec, RestartPolicy }

                init(from decoder: any Decoder) throws {
                    let container = try decoder.container(keyedBy: CodingKeys.self)
                    ContainerSpec = try container.decodeIfPresent(ContainerSpecFields.self, forKey: .ContainerSpec)
                    containerSpecJSON = try container.decodeIfPresent(JSONValue.self, forKey: .ContainerSpec)
                    RestartPolicy = try container.decodeIfPresent(RestartPolicyFields.self, forKey: .RestartPolicy)
                }
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
        var CreatedAt: String?
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
        struct Spec: Decodable { var ContainerSpec: JSONValue? }
        var ID: String
        var ServiceID: String
        var Slot: Int?
        var DesiredState: String
        var Status: Status
        var Spec: Spec?
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
        struct Mount: Decodable {
            var kind: String?
            var Name: String?
            var Source: String?
            var Destination: String

            enum CodingKeys: String, CodingKey {
                case kind = "Type", Name, Source, Destination
            }
        }
        var State: State
        var Mounts: [Mount]?
    }

    struct ContainerSummary: Decodable {
        var Id: String
        var Names: [String]?
        var Image: String?
        var Labels: [String: String]?
        var State: String?
        var Status: String?
    }

    /// A secret or a config: both have these fields.
    struct SwarmObject: Decodable {
        struct Spec: Decodable { var Name: String; var Labels: [String: String]? }
        var ID: String
        var CreatedAt: String?
        var Spec: Spec
    }

    struct Volume: Decodable {
        var Name: String
        var Driver: String?
        var Mountpoint: String?
        var Labels: [String: String]?
        var CreatedAt: String?
    }

    struct VolumeList: Decodable { var Volumes: [Volume]? }

    struct Network: Decodable {
        var Id: String
        var Name: String
        var Labels: [String: String]?
    }

    struct VolumeCreate: Encodable {
        var Name: String
        var Labels: [String: String]
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
                  updateMessage: wire.UpdateStatus?.Message, createdAt: wire.CreatedAt.flatMap(DockerTime.parse),
                  containerSpec: wire.Spec.TaskTemplate?.containerSpecJSON,
                  restartPolicy: wire.Spec.TaskTemplate?.RestartPolicy.map { policy in
                      RestartPolicy(condition: policy.Condition.flatMap { $0.isEmpty ? nil : $0 } ?? "any",
                                    maxAttempts: policy.MaxAttempts ?? 0, window: Double(policy.Window ?? 0) / 1e9)
                  } ?? RestartPolicy())
    }
}

extension SwarmTask {
    init(_ wire: Wire.Task) {
        self.init(id: wire.ID, serviceID: wire.ServiceID, slot: wire.Slot, desiredState: TaskState(rawValue: wire.DesiredState),
                  state: TaskState(rawValue: wire.Status.State),
                  error: wire.Status.Err.flatMap { $0.isEmpty ? nil : $0 },
                  containerID: wire.Status.ContainerStatus?.ContainerID.flatMap { $0.isEmpty ? nil : $0 },
                  timestamp: wire.Status.Timestamp.flatMap(DockerTime.parse), containerSpec: wire.Spec?.ContainerSpec)
    }
}

extension ContainerState {
    init(_ wire: Wire.ContainerInspect, method: String, path: String) throws(DockerAPIError) {
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

extension DockerEvent {
    init(_ wire: Wire.Event) {
        let time = wire.timeNano.map { Date(timeIntervalSince1970: Double($0) / 1e9) }
            ?? Date(timeIntervalSince1970: Double(wire.time ?? 0))
        self.init(type: wire.kind ?? "", action: wire.Action ?? "", actorID: wire.Actor?.ID ?? "",
                  attributes: wire.Actor?.Attributes ?? [:], time: time)
    }
}

extension ContainerMount {
    init(_ wire: Wire.ContainerInspect.Mount) {
        self.init(type: wire.kind ?? "", name: wire.Name.flatMap { $0.isEmpty ? nil : $0 }, source: wire.Source ?? "",
                  destination: wire.Destination)
    }
}

extension DockerVolume {
    init(_ wire: Wire.Volume) {
        self.init(name: wire.Name, driver: wire.Driver ?? "", labels: wire.Labels ?? [:], mountpoint: wire.Mountpoint ?? "",
                  createdAt: wire.CreatedAt.flatMap(DockerTime.parse))
    }
}

extension SwarmObject {
    init(_ wire: Wire.SwarmObject, kind: Kind) {
        self.init(kind: kind, id: wire.ID, name: wire.Spec.Name, labels: wire.Spec.Labels ?? [:],
                  createdAt: wire.CreatedAt.flatMap(DockerTime.parse))
    }
}

/// The engine's RFC 3339 times carry nanoseconds, more than date formatters read.
enum DockerTime {
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

// MARK: - Encoding and decoding

extension DockerAPI {
    static func filters(_ filters: [String: [String]]) -> String {
        // Keys sorted so the same filter always makes the same request. Written by hand, as it cannot
        // fail: an encoder's fallback of "{}" would filter nothing and list every object.
        "{" + filters.sorted { $0.key < $1.key }.map { key, values in
            JSONValue.quoted(key) + ":[" + values.map(JSONValue.quoted).joined(separator: ",") + "]"
        }.joined(separator: ",") + "}"
    }

    /// A label filter: `key=value` for each label, just `key` where the value is "" (any value).
    static func labelSelectors(_ labels: [String: String]) -> [String] {
        labels.sorted { $0.key < $1.key }.map { $0.value.isEmpty ? $0.key : "\($0.key)=\($0.value)" }
    }

    static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        // Encoding these flat structs of strings, booleans and string dictionaries cannot fail (only a
        // non-finite number can, and they hold none). Kept: DockerAPIError has no case for a request
        // cchost could not write, and adding one is Docker.swift's to map.
        (try? Array(JSONEncoder().encode(value))) ?? Array("{}".utf8)
    }

    /// Seconds since 1970 with nanoseconds, as the events endpoint takes them.
    static func timestamp(_ date: Date) -> String {
        let nanoseconds = Int64((date.timeIntervalSince1970 * 1e9).rounded())
        let seconds = nanoseconds / 1_000_000_000, fraction = nanoseconds % 1_000_000_000
        return "\(seconds)." + String(repeating: "0", count: 9 - String(fraction).count) + String(fraction)
    }

    /// The `message` of the engine's JSON error body, else the body itself, shortened.
    static func engineMessage(_ body: [UInt8]) -> String {
        struct ErrorBody: Decodable { var message: String }
        // Kept: only the wording of an error already raised; a body that is not JSON is shown as it is.
        if let decoded = try? JSONDecoder().decode(ErrorBody.self, from: Data(body)) {
            return decoded.message.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let text = String(decoding: body.prefix(500), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "(no message)" : text
    }

    static func decodingProblem(_ error: Error) -> String {
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
