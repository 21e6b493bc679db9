import Foundation

/// Reads cchost's model of a compose project (services, their mounts and the settings the content
/// policy judges, the top-level definitions) from the rendered stack: plain, merged, interpolated
/// data, so nothing here interpolates or merges. A value of the wrong shape is an error naming the
/// file and line it was written at.
enum ComposeModelReader {
    typealias Location = ComposeProject.Location

    static func read(_ stack: StackNode, into project: inout ComposeProject) throws(RecipeError) {
        for entry in stack["services"]?.entries ?? [] {
            project.services[entry.key] = try service(entry)
        }
        for section in stack.entries ?? [] {
            switch section.key {
            case "secrets": project.secrets = try definitions(section)
            case "configs": project.configs = try definitions(section)
            case "volumes": project.volumes = try definitions(section)
            case "networks": project.networks = try definitions(section)
            default: continue
            }
        }
    }

    // MARK: Services

    private static func service(_ entry: StackNode.Entry) throws(RecipeError) -> ComposeProject.Service {
        let path = "services.\(entry.key)"
        guard let fields = entry.node.entries else { throw wrongType(entry.node, path, "a mapping") }
        var service = ComposeProject.Service(name: entry.key, location: entry.location)
        for field in fields {
            let key = "\(path).\(field.key)"
            let node = field.node
            switch field.key {
            case "image":
                service.image = try text(node, key)
            case "healthcheck":
                service.healthcheck = try healthcheck(node, key)
            case "deploy":
                guard let deploy = node.entries else {
                    if node.isNull { continue }
                    throw wrongType(node, key, "a mapping")
                }
                for setting in deploy {
                    switch setting.key {
                    case "labels":
                        for (name, value, location) in try pairs(setting.node, "\(key).labels") {
                            service.deployLabels[name] = value ?? ""
                            service.deployLabelLocations[name] = location
                        }
                    case "resources":
                        let limits = setting.node["limits"]
                        service.memoryLimit = limits?["memory"]?.text
                        service.cpuLimit = limits?["cpus"]?.text
                    case "replicas":
                        if let count = try text(setting.node, "\(key).replicas") {
                            service.settings.append(.init(key: "replicas", value: count, location: setting.location))
                        }
                    default:
                        continue
                    }
                }
            case "environment":
                for (name, value, _) in try pairs(node, key) {
                    if let value { service.environment[name] = value }
                }
            case "secrets", "configs":
                let names = try references(node, key)
                if field.key == "secrets" { service.secrets.appendNew(names) } else { service.configs.appendNew(names) }
            case "volumes":
                let mounts = try mounts(node, key)
                service.mounts += mounts
                service.volumes.appendNew(mounts.compactMap { $0.type == "volume" ? $0.source : nil })
            case "networks":
                service.networks.appendNew(try networkNames(node, key))
                service.networkAliases += try networkAliases(node, key)
            case "privileged", "pid", "ipc", "network_mode":
                if let value = try text(node, key) {
                    service.settings.append(.init(key: field.key, value: value, location: field.location))
                }
            case "cap_add", "devices", "security_opt", "ports", "env_file":
                service.settings += try listSettings(node, name: field.key, key: key)
            default:
                continue
            }
        }
        return service
    }

    private static func healthcheck(_ node: StackNode, _ key: String) throws(RecipeError) -> ComposeProject.Healthcheck? {
        guard let settings = node.entries else {
            if node.isNull { return nil }
            throw wrongType(node, key, "a mapping such as 'test: [\"CMD\", \"true\"]'")
        }
        var healthcheck = ComposeProject.Healthcheck()
        for setting in settings {
            switch setting.key {
            case "test":
                if let items = setting.node.items {
                    var test: [String] = []
                    for item in items { test.append(try text(item, "\(key).test") ?? "") }
                    healthcheck.test = test
                } else if let command = try text(setting.node, "\(key).test") {
                    healthcheck.test = ["CMD-SHELL", command]
                }
            case "disable":
                healthcheck.disable = try boolean(setting.node, "\(key).disable")
            default:
                continue
            }
        }
        return healthcheck
    }

    /// `key: value` pairs of a mapping, or `- key=value` items of a list (`value` is nil for a bare
    /// `- key` or a null value), each with where it is written.
    private static func pairs(_ node: StackNode, _ key: String) throws(RecipeError) -> [(String, String?, Location)] {
        if let entries = node.entries {
            var pairs: [(String, String?, Location)] = []
            for entry in entries { pairs.append((entry.key, try text(entry.node, "\(key).\(entry.key)"), entry.location)) }
            return pairs
        }
        guard let items = node.items else {
            if node.isNull { return [] }
            throw wrongType(node, key, "a mapping or a list of 'key=value' items")
        }
        var pairs: [(String, String?, Location)] = []
        for item in items {
            guard let written = try text(item, key) else { continue }
            if let equals = written.firstIndex(of: "=") {
                pairs.append((String(written[..<equals]).trimmingCharacters(in: .whitespaces),
                              String(written[written.index(after: equals)...]), item.location))
            } else {
                pairs.append((written.trimmingCharacters(in: .whitespaces), nil, item.location))
            }
        }
        return pairs
    }

    /// `- name` or `- source: name` items (a service's `secrets` and `configs`).
    private static func references(_ node: StackNode, _ key: String) throws(RecipeError) -> [String] {
        guard let items = node.items else {
            if node.isNull { return [] }
            throw wrongType(node, key, "a list of names or of mappings with 'source'")
        }
        var names: [String] = []
        for item in items {
            if item.entries != nil {
                guard let source = item["source"], let name = try text(source, "\(key).source") else {
                    throw wrongType(item, key, "items with a 'source'")
                }
                names.append(name)
            } else if let name = try text(item, key) {
                names.append(name)
            }
        }
        return names
    }

    /// A service's mounts, short (`source:target[:mode]`, a source with a path is a bind mount)
    /// or long (`type`, `source`) syntax, each at its item's line.
    private static func mounts(_ node: StackNode, _ key: String) throws(RecipeError) -> [ComposeProject.Mount] {
        guard let items = node.items else {
            if node.isNull { return [] }
            throw wrongType(node, key, "a list of mounts")
        }
        var mounts: [ComposeProject.Mount] = []
        for item in items {
            if item.entries != nil {
                let source = try item["source"].flatMap { node throws(RecipeError) in try text(node, "\(key).source") }
                let type = try item["type"].flatMap { node throws(RecipeError) in try text(node, "\(key).type") }
                mounts.append(.init(type: type ?? "volume", source: source?.isEmpty == true ? nil : source, location: item.location))
            } else if let mount = try text(item, key) {
                switch shortMount(mount) {
                case .mount(let source):
                    mounts.append(.init(type: source.map(isBindSource) == true ? "bind" : "volume", source: source, location: item.location))
                case .refused(let problem):
                    // Docker would refuse it at deploy time, after the check: refused here, where the line is known.
                    let written = item.written.map { " (written \($0))" } ?? ""
                    throw wrongType(item, key, "a list of mounts docker can read: \"\(mount)\"\(written) \(problem), which docker refuses")
                }
            }
        }
        return mounts
    }

    enum ShortMount: Equatable {
        /// Its source (`db` of `db:/data:ro`); nil for an anonymous volume.
        case mount(source: String?)
        /// Why docker's loader refuses it.
        case refused(String)
    }

    /// A short-syntax mount split as docker's compose loader splits it (`loader.ParseVolume`): at
    /// each `:`, except one right after a lone drive letter (`c:`), into source, target and mode; a
    /// spec of one or two characters is a target alone; an empty section or a fourth one is refused.
    static func shortMount(_ spec: String) -> ShortMount {
        let characters = Array(spec)
        guard characters.count > 2 else { return characters.isEmpty ? .refused("is empty") : .mount(source: nil) }
        var sections: [String] = []
        var buffer: [Character] = []
        for character in characters.map(Optional.some) + [nil] {
            if character == ":" && buffer.count == 1 && buffer[0].isLetter {
                buffer.append(":")
                continue
            }
            if let character, character != ":" {
                buffer.append(character)
                continue
            }
            if buffer.isEmpty { return .refused("has an empty section between colons") }
            if sections.count == 2 && character == ":" { return .refused("has too many colons") }
            sections.append(String(buffer))
            buffer = []
        }
        return .mount(source: sections.count > 1 ? sections[0] : nil)
    }

    /// The target of a short-syntax mount as docker splits it (`/data` of `db:/data:ro`, of `/data`
    /// alone, of `c:/x:/data`); the spec itself when docker would refuse it.
    static func shortTarget(_ spec: String) -> String {
        guard case .mount(let source) = shortMount(spec) else { return spec }
        let rest = source.map { String(spec.dropFirst($0.count + 1)) } ?? spec
        guard source != nil, let colon = rest.firstIndex(of: ":") else { return rest }
        return String(rest[..<colon])
    }

    /// Whether a short-syntax mount's source is a host path: docker's test (it starts with `.`,
    /// `/`, `~`, a drive letter or `\\`), widened to any source with a `/` (which no volume name has).
    static func isBindSource(_ source: String) -> Bool {
        source.contains("/") || source.hasPrefix(".") || source.hasPrefix("~") || source.hasPrefix("\\")
            || (source.count > 1 && Array(source)[1] == ":" && source.first?.isLetter == true)
    }

    /// One setting per item of a list (or the one value): `cap_add`, `devices`, `security_opt`,
    /// `env_file` (a path, or a mapping with `path`), `ports` (the published port: a mapping's
    /// `published`, the host part of `host:container`, or "a random port" when only the container's is given).
    private static func listSettings(_ node: StackNode, name: String, key: String) throws(RecipeError) -> [ComposeProject.Setting] {
        let items: [StackNode]
        if let list = node.items { items = list } else if node.isNull { return [] } else { items = [node] }
        var settings: [ComposeProject.Setting] = []
        for item in items {
            var value: String?
            if item.entries != nil {
                let wanted = name == "ports" ? ["published", "target"] : ["path"]
                for field in wanted {
                    if let entry = item[field] {
                        value = try text(entry, "\(key).\(field)")
                        if field == "target" { value = value.map { "(a random port for \($0))" } }
                        break
                    }
                }
                guard value != nil else { throw wrongType(item, key, "items with '\(wanted[0])'") }
            } else {
                value = try text(item, key)
                if name == "ports", let written = value {
                    // host_ip:published:target, published:target, or target alone (a random published port).
                    let published = StackMerge.publishedPort(item)
                    value = published.isEmpty ? "(a random port for \(written))" : published
                }
            }
            if let value { settings.append(.init(key: name, value: value, location: item.location)) }
        }
        return settings
    }

    /// The keys of a service's `networks` mapping (the rendered stack keeps no list form).
    private static func networkNames(_ node: StackNode, _ key: String) throws(RecipeError) -> [String] {
        if let entries = node.entries { return entries.map(\.key) }
        if node.isNull { return [] }
        throw wrongType(node, key, "a list or a mapping of network names")
    }

    /// Each `aliases` item of a network in a service's `networks` mapping, at its line.
    private static func networkAliases(_ node: StackNode, _ key: String) throws(RecipeError) -> [ComposeProject.NetworkAlias] {
        var aliases: [ComposeProject.NetworkAlias] = []
        for network in node.entries ?? [] {
            guard let list = network.node["aliases"] else { continue }
            let field = "\(key).\(network.key).aliases"
            guard let items = list.items else {
                if list.isNull { continue }
                throw wrongType(list, field, "a list of names")
            }
            for item in items {
                if let alias = try text(item, field) { aliases.append(.init(network: network.key, alias: alias, location: item.location)) }
            }
        }
        return aliases
    }

    // MARK: Top-level definitions

    private static func definitions(_ section: StackNode.Entry) throws(RecipeError) -> [String: ComposeProject.Definition] {
        guard let entries = section.node.entries else {
            if section.node.isNull { return [:] }
            throw wrongType(section.node, section.key, "a mapping of names to definitions")
        }
        var definitions: [String: ComposeProject.Definition] = [:]
        for entry in entries {
            let path = "\(section.key).\(entry.key)"
            var definition = ComposeProject.Definition(key: entry.key, location: entry.location)
            if let settings = entry.node.entries {
                for setting in settings {
                    let key = "\(path).\(setting.key)"
                    switch setting.key {
                    case "name":
                        definition.name = try text(setting.node, key)
                        definition.rawName = definition.name == nil ? nil : setting.node.written ?? definition.name
                    case "file":
                        definition.file = try text(setting.node, key)
                        definition.fileLocation = setting.location
                    case "driver_opts":
                        for (option, value, _) in try pairs(setting.node, key) { definition.driverOptions[option] = value ?? "" }
                        definition.driverOptionsLocation = setting.location
                    case "external":
                        // The legacy form `external: {name: x}` is external with a name.
                        if setting.node.entries != nil {
                            definition.external = true
                            if let name = setting.node["name"], definition.name == nil {
                                definition.name = try text(name, "\(key).name")
                                definition.rawName = definition.name == nil ? nil : name.written ?? definition.name
                            }
                        } else {
                            definition.external = try boolean(setting.node, key)
                        }
                    default:
                        continue
                    }
                }
            } else if !entry.node.isNull {
                throw wrongType(entry.node, path, "a mapping (or empty)")
            }
            definitions[entry.key] = definition
        }
        return definitions
    }

    // MARK: Values

    private static func wrongType(_ node: StackNode, _ key: String, _ expected: String) -> RecipeError {
        .wrongType(file: node.location.file, line: node.location.line, key: key, expected: expected)
    }

    /// A scalar's text; nil for null; an error for a list or mapping.
    private static func text(_ node: StackNode, _ key: String) throws(RecipeError) -> String? {
        if node.isNull { return nil }
        guard let text = node.text else { throw wrongType(node, key, "a single value") }
        return text
    }

    /// A boolean, or the text of one as docker's cast reads it.
    private static func boolean(_ node: StackNode, _ key: String) throws(RecipeError) -> Bool {
        if case .bool(let flag) = node.value { return flag }
        switch try text(node, key)?.lowercased() {
        case "true", "yes", "on", "y": return true
        case "false", "no", "off", "n", nil: return false
        default: throw wrongType(node, key, "true or false")
        }
    }
}
