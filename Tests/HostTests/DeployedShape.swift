import Foundation
@testable import HostBase
@testable import HostDocker

/// What one service of a stack is made of where it can reach the host or other apps — its mounts,
/// capabilities, published ports, networks, secrets, configs and replicas — in the engine's own
/// names (`<stack>_content`, `CAP_CHOWN`), so that three readings compare: the stack cchost
/// rendered, what docker's own compose reader (`docker stack config`) makes of the recipe, and what
/// the engine runs after the deploy.
struct DeployedShape: Equatable, CustomStringConvertible {
    struct Mount: Hashable, Comparable {
        var type: String
        /// The engine's volume name, or the host path of a bind; "" for an anonymous volume.
        var source: String
        var target: String
        static func < (a: Mount, b: Mount) -> Bool { (a.target, a.type, a.source) < (b.target, b.type, b.source) }
    }

    struct Port: Hashable, Comparable {
        var target: Int
        var published: Int
        var transport: String
        var mode: String
        static func < (a: Port, b: Port) -> Bool { (a.target, a.published, a.transport) < (b.target, b.published, b.transport) }
    }

    /// A secret or config: the engine object's name, and the file it becomes in the container.
    struct File: Hashable, Comparable {
        var name: String
        var target: String
        static func < (a: File, b: File) -> Bool { (a.name, a.target) < (b.name, b.target) }
    }

    var mounts: [Mount] = []
    var capabilities: [String] = []
    var ports: [Port] = []
    var networks: [String] = []
    var secrets: [File] = []
    var configs: [File] = []
    var replicas = 1

    var description: String {
        "mounts \(mounts.map { "\($0.type) \($0.source)→\($0.target)" }), capabilities \(capabilities), "
            + "ports \(ports.map { "\($0.published)→\($0.target)/\($0.transport) \($0.mode)" }), networks \(networks), "
            + "secrets \(secrets.map { "\($0.name)→\($0.target)" }), configs \(configs.map { "\($0.name)→\($0.target)" }), replicas \(replicas)"
    }

    /// Every field in a stable order (lists are sets to docker).
    private mutating func sort() {
        mounts.sort()
        capabilities.sort()
        ports.sort()
        networks.sort()
        secrets.sort()
        configs.sort()
    }

    // MARK: From a compose stack (cchost's rendering, or docker stack config's)

    /// `service` of a plain compose stack (short or long syntax) deployed as `stack`.
    init(compose root: StackNode, service key: String, stack: String) throws {
        guard let service = root["services"]?[key] else { throw ShapeError(description: "no service \(key) in the stack") }
        /// The engine's name of a top-level object: its `name:`, else the key if external, else `<stack>_<key>`.
        func engineName(_ section: String, _ key: String) -> String {
            let definition = root[section]?[key]
            if let name = definition?["name"]?.text { return name }
            if definition?["external"]?.value == .bool(true) { return key }
            return "\(stack)_\(key)"
        }
        for item in service["volumes"]?.items ?? [] {
            if let text = item.text {
                let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
                let (source, target) = parts.count == 1 ? ("", parts[0]) : (parts[0], parts[1])
                let bind = source.hasPrefix("/") || source.hasPrefix(".") || source.hasPrefix("~")
                mounts.append(Mount(type: bind ? "bind" : "volume", source: bind || source.isEmpty ? source : engineName("volumes", source),
                                    target: target))
            } else {
                let type = item["type"]?.text ?? "volume"
                let source = item["source"]?.text ?? ""
                mounts.append(Mount(type: type, source: type == "volume" && !source.isEmpty ? engineName("volumes", source) : source,
                                    target: item["target"]?.text ?? ""))
            }
        }
        capabilities = (service["cap_add"]?.items ?? []).compactMap(\.text).map(Self.capability)
        for item in service["ports"]?.items ?? [] {
            if let text = item.text {
                let (mapping, transport) = text.split(separator: "/").map(String.init).splitFirst(default: "tcp")
                let numbers = mapping.split(separator: ":").compactMap { Int($0) }
                ports.append(Port(target: numbers.last ?? 0, published: numbers.count > 1 ? numbers[numbers.count - 2] : 0,
                                  transport: transport, mode: "ingress"))
            } else {
                ports.append(Port(target: Int(item["target"]?.text ?? "") ?? 0, published: Int(item["published"]?.text ?? "") ?? 0,
                                  transport: item["protocol"]?.text ?? "tcp", mode: item["mode"]?.text ?? "ingress"))
            }
        }
        let networkKeys = service["networks"].map { node in node.items?.compactMap(\.text) ?? (node.entries ?? []).map(\.key) } ?? ["default"]
        networks = networkKeys.map { engineName("networks", $0) }
        for (section, defaultTarget) in [("secrets", { (source: String) in source }), ("configs", { (source: String) in "/" + source })] {
            let files = (service[section]?.items ?? []).map { item -> File in
                let source = item.text ?? item["source"]?.text ?? ""
                return File(name: engineName(section, source), target: item["target"]?.text ?? defaultTarget(source))
            }
            if section == "secrets" { secrets = files } else { configs = files }
        }
        replicas = Int(service["deploy"]?["replicas"]?.text ?? "1") ?? -1
        sort()
    }

    /// `CHOWN` and `cap_chown` as the engine keeps them: `CAP_CHOWN`.
    static func capability(_ name: String) -> String {
        let upper = name.uppercased()
        return upper.hasPrefix("CAP_") ? upper : "CAP_" + upper
    }

    // MARK: From the engine

    /// The service `name` as the engine runs it (`GET /services/<name>`), network IDs named through `networks`.
    init(engine api: DockerAPI, service name: String, networks names: [String: String]) throws {
        let spec = try api.inspect(.services, name)["Spec"]
        let task = spec?["TaskTemplate"]
        let container = task?["ContainerSpec"]
        mounts = (container?["Mounts"]?.list ?? []).map {
            Mount(type: $0["Type"]?.string ?? "", source: $0["Source"]?.string ?? "", target: $0["Target"]?.string ?? "")
        }
        capabilities = (container?["CapabilityAdd"]?.list ?? []).compactMap(\.string)
        ports = (spec?["EndpointSpec"]?["Ports"]?.list ?? []).map {
            Port(target: $0["TargetPort"]?.int ?? 0, published: $0["PublishedPort"]?.int ?? 0,
                 transport: $0["Protocol"]?.string ?? "", mode: $0["PublishMode"]?.string ?? "")
        }
        networks = (task?["Networks"]?.list ?? []).compactMap { $0["Target"]?.string }.map { names[$0] ?? $0 }
        secrets = (container?["Secrets"]?.list ?? []).map {
            File(name: $0["SecretName"]?.string ?? "", target: $0["File"]?["Name"]?.string ?? "")
        }
        configs = (container?["Configs"]?.list ?? []).map {
            File(name: $0["ConfigName"]?.string ?? "", target: $0["File"]?["Name"]?.string ?? "")
        }
        replicas = spec?["Mode"]?["Replicated"]?["Replicas"]?.int ?? -1
        sort()
    }

    struct ShapeError: Error, CustomStringConvertible { var description: String }
}

private extension Array where Element == String {
    /// The first element and the second (or `default`): `80/udp` → ("80", "udp").
    func splitFirst(default second: String) -> (String, String) { (first ?? "", count > 1 ? self[1] : second) }
}

/// Reading the engine's JSON in tests.
extension JSONValue {
    subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    var list: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }

    var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    var int: Int? {
        if case .integer(let number) = self { return Int(number) }
        return nil
    }
}
