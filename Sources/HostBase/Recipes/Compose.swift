import Foundation
import Yams

/// The compose model abra deploys: the files `COMPOSE_FILE` names, interpolated from the app's
/// environment and merged the way `docker stack deploy -c compose.yml -c compose.smtp.yml` merges
/// them, reduced to what cchost needs. Everything keeps the file and line it came from.
public struct ComposeProject: Sendable, Equatable {
    /// Where something is written: a compose file and a 1-based line.
    public struct Location: Sendable, Hashable, CustomStringConvertible {
        public let file: String
        public let line: Int

        public init(file: String, line: Int) {
            self.file = file
            self.line = line
        }

        public var description: String { "\(file):\(line)" }
    }

    /// A service's `healthcheck` block, merged across files.
    public struct Healthcheck: Sendable, Equatable {
        /// `test`, with a string test written as `["CMD-SHELL", string]`; `nil` when not given.
        public var test: [String]?
        /// `disable: true`.
        public var disable: Bool

        public init(test: [String]? = nil, disable: Bool = false) {
            self.test = test
            self.disable = disable
        }

        /// `disable: true` or `test: ["NONE"]`.
        public var isDisabled: Bool { disable || test?.first == "NONE" }
    }

    /// One entry of a service's `volumes:`: `type` is `volume` (named, or anonymous without a
    /// source), `bind` (a host path, short syntax with a path as its source), `tmpfs`, `npipe` or `cluster`.
    public struct Mount: Sendable, Equatable {
        public var type: String
        public var source: String?
        public let location: Location

        public init(type: String, source: String?, location: Location) {
            self.type = type
            self.source = source
            self.location = location
        }
    }

    /// A service setting the content policy reads, as written (interpolated), one per list item:
    /// `privileged`, `cap_add`, `devices`, `security_opt`, `pid`, `ipc`, `network_mode`, `ports`
    /// (the published port), `env_file` (the path) and `deploy.replicas`.
    public struct Setting: Sendable, Equatable {
        public let key: String
        public let value: String
        public let location: Location

        public init(key: String, value: String, location: Location) {
            self.key = key
            self.value = value
            self.location = location
        }
    }

    public struct Service: Sendable, Equatable {
        public let name: String
        public var image: String?
        /// The compose files' healthcheck; `nil` when none declares one (the image's own may still apply).
        public var healthcheck: Healthcheck?
        /// `deploy.labels`, from either the `key: value` or the `- key=value` form.
        public var deployLabels: [String: String] = [:]
        /// `deploy.resources.limits.memory` and `.cpus` as written ("512M", "0.5"); nil when unset.
        public var memoryLimit: String?
        public var cpuLimit: String?
        /// Where each deploy label is written (the last file that sets it).
        public var deployLabelLocations: [String: Location] = [:]
        /// `environment`, map or list form; `- NAME` alone takes NAME from the app's environment.
        public var environment: [String: String] = [:]
        /// Names of the secrets, configs, named volumes and networks the service uses.
        public var secrets: [String] = []
        public var configs: [String] = []
        public var volumes: [String] = []
        public var networks: [String] = []
        /// Every mount, bind mounts and tmpfs included, in file order.
        public var mounts: [Mount] = []
        /// The settings the content policy reads, in file order.
        public var settings: [Setting] = []
        /// Where the service is first defined.
        public let location: Location

        public init(name: String, location: Location) {
            self.name = name
            self.location = location
        }

        /// A healthcheck is declared and neither `disable: true` nor `test: ["NONE"]` turns it off.
        public var hasHealthcheck: Bool { healthcheck.map { !$0.isDisabled } ?? false }

        /// Applies a later file's definition of the same service.
        mutating func merge(_ later: Service) {
            image = later.image ?? image
            if let overlay = later.healthcheck {
                healthcheck = Healthcheck(
                    test: overlay.test ?? healthcheck?.test, disable: overlay.disable || (healthcheck?.disable ?? false))
            }
            deployLabels.merge(later.deployLabels) { $1 }
            memoryLimit = later.memoryLimit ?? memoryLimit
            cpuLimit = later.cpuLimit ?? cpuLimit
            deployLabelLocations.merge(later.deployLabelLocations) { $1 }
            environment.merge(later.environment) { $1 }
            secrets.appendNew(later.secrets)
            configs.appendNew(later.configs)
            volumes.appendNew(later.volumes)
            networks.appendNew(later.networks)
            mounts += later.mounts
            settings += later.settings
        }
    }

    /// A top-level secret, config, volume or network.
    public struct Definition: Sendable, Equatable {
        public let key: String
        /// The interpolated `name:`; `nil` when not given (docker then uses `<stack>_<key>`).
        public var name: String?
        /// `name:` as written, before interpolation: `${STACK_NAME}_db_password_${SECRET_DB_PASSWORD_VERSION}`.
        public var rawName: String?
        public var external: Bool
        /// `file:` of a config or secret, relative to the recipe, and where it is written.
        public var file: String?
        public var fileLocation: Location?
        /// A volume's `driver_opts` (interpolated), and where they are written.
        public var driverOptions: [String: String] = [:]
        public var driverOptionsLocation: Location?
        /// Where the definition first appears.
        public let location: Location

        public init(key: String, name: String? = nil, rawName: String? = nil, external: Bool = false, file: String? = nil, location: Location) {
            self.key = key
            self.name = name
            self.rawName = rawName ?? name
            self.external = external
            self.file = file
            self.location = location
        }

        mutating func merge(_ later: Definition) {
            if later.name != nil {
                name = later.name
                rawName = later.rawName
            }
            external = external || later.external
            if later.file != nil {
                file = later.file
                fileLocation = later.fileLocation
            }
            if !later.driverOptions.isEmpty {
                driverOptions.merge(later.driverOptions) { $1 }
                driverOptionsLocation = later.driverOptionsLocation
            }
        }
    }

    /// A variable used without a default while unset: docker substitutes an empty string.
    public struct UnsetVariable: Sendable, Equatable {
        public let name: String
        public let location: Location

        public init(name: String, location: Location) {
            self.name = name
            self.location = location
        }
    }

    /// A file `COMPOSE_FILE` names that is not the recipe's own (absolute, out through `..`, or a
    /// symbolic link out of the checkout): never read; the content policy refuses the recipe.
    public struct RefusedFile: Sendable, Equatable {
        public let name: String
        public let reason: String
    }

    /// The compose files, in `COMPOSE_FILE` order (the refused ones left out).
    public let files: [String]
    public var refusedFiles: [RefusedFile] = []
    public var services: [String: Service] = [:]
    public var secrets: [String: Definition] = [:]
    public var configs: [String: Definition] = [:]
    public var volumes: [String: Definition] = [:]
    public var networks: [String: Definition] = [:]
    /// The environment the files were interpolated with.
    public let environment: [String: String]
    /// Every use of an unset variable without a default, in file order.
    public var unsetVariables: [UnsetVariable] = []

    public static let defaultComposeFile = "compose.yml"

    /// `COMPOSE_FILE` (colon-separated), or `compose.yml` when it is unset or empty.
    public static func fileNames(environment: [String: String]) -> [String] {
        let names = (environment["COMPOSE_FILE"] ?? "").split(separator: ":")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return names.isEmpty ? [defaultComposeFile] : names
    }

    /// Reads and merges the compose files `COMPOSE_FILE` names in `directory`; a missing one is an
    /// error, one outside `directory` is not read but noted in `refusedFiles`.
    public static func load(directory: String, environment: [String: String]) throws(RecipeError) -> ComposeProject {
        let names = fileNames(environment: environment)
        var files: [(path: String, text: String)] = []
        var refused: [RefusedFile] = []
        for name in names {
            if let reason = RecipeFile.escape(name, from: directory) {
                refused.append(RefusedFile(name: name, reason: reason))
                continue
            }
            let path = RecipeFile.path(name, in: directory)
            guard let text = try RecipeFile.text(at: path) else {
                throw .missingComposeFile(directory: directory, file: name, composeFile: names.joined(separator: ":"))
            }
            files.append((path, text))
        }
        var project = try ComposeProject(files: files, environment: environment)
        project.refusedFiles = refused
        return project
    }

    /// Parses compose texts (each `path` names its file in errors and locations) and merges them in order.
    public init(files: [(path: String, text: String)], environment: [String: String]) throws(RecipeError) {
        self.files = files.map(\.path)
        self.environment = environment
        for (path, text) in files {
            var reader = ComposeFileReader(file: path, environment: environment)
            let part = try reader.read(text)
            unsetVariables += reader.unsetVariables
            for (name, service) in part.services {
                if services[name] == nil { services[name] = service } else { services[name]?.merge(service) }
            }
            Self.merge(part.secrets, into: &secrets)
            Self.merge(part.configs, into: &configs)
            Self.merge(part.volumes, into: &volumes)
            Self.merge(part.networks, into: &networks)
        }
    }

    private static func merge(_ later: [String: Definition], into definitions: inout [String: Definition]) {
        for (key, definition) in later {
            if definitions[key] == nil { definitions[key] = definition } else { definitions[key]?.merge(definition) }
        }
    }
}

// MARK: - Reading one file

/// Reads one compose file into the model. Interpolation happens on values (never keys) of the
/// sections docker interpolates: `services`, `secrets`, `configs`, `volumes`, `networks`.
private struct ComposeFileReader {
    typealias Location = ComposeProject.Location

    struct Part {
        var services: [String: ComposeProject.Service] = [:]
        var secrets: [String: ComposeProject.Definition] = [:]
        var configs: [String: ComposeProject.Definition] = [:]
        var volumes: [String: ComposeProject.Definition] = [:]
        var networks: [String: ComposeProject.Definition] = [:]
    }

    /// One mapping entry, merge keys (`<<: *anchor`) resolved.
    struct Entry {
        var key: String
        var line: Int?
        var value: Node
    }

    let file: String
    let environment: [String: String]
    var unsetVariables: [ComposeProject.UnsetVariable] = []

    init(file: String, environment: [String: String]) {
        self.file = file
        self.environment = environment
    }

    mutating func read(_ text: String) throws(RecipeError) -> Part {
        let root: Node?
        do throws(YAMLDocument.Problem) {
            root = try YAMLDocument.compose(text)
        } catch {
            throw .malformedYAML(file: file, line: error.line, problem: error.problem)
        }
        guard let root else { throw .composeNotAMapping(file: file, line: nil) }
        guard let mapping = root.mapping else { throw .composeNotAMapping(file: file, line: root.mark?.line) }
        let sections = try entries(of: mapping, path: "")
        guard let servicesEntry = sections.first(where: { $0.key == "services" }) else {
            throw .composeWithoutServices(file: file)
        }
        for section in sections where ["services", "secrets", "configs", "volumes", "networks"].contains(section.key) {
            try checkInterpolation(section.value)
        }
        var part = Part()
        guard let services = servicesEntry.value.mapping else {
            if isNull(servicesEntry.value) { throw .composeWithoutServices(file: file) }
            throw .wrongType(file: file, line: servicesEntry.line, key: "services", expected: "a mapping of service names to services")
        }
        for entry in try entries(of: services, path: "services.") {
            part.services[entry.key] = try service(entry)
        }
        for section in sections {
            switch section.key {
            case "secrets": part.secrets = try definitions(section)
            case "configs": part.configs = try definitions(section)
            case "volumes": part.volumes = try definitions(section)
            case "networks": part.networks = try definitions(section)
            default: continue
            }
        }
        return part
    }

    // MARK: Services

    private func service(_ entry: Entry) throws(RecipeError) -> ComposeProject.Service {
        let path = "services.\(entry.key)"
        guard let mapping = entry.value.mapping else {
            throw .wrongType(file: file, line: entry.line, key: path, expected: "a mapping")
        }
        var service = ComposeProject.Service(name: entry.key, location: location(entry.line))
        for field in try entries(of: mapping, path: path + ".") {
            let key = "\(path).\(field.key)"
            switch field.key {
            case "image":
                service.image = try text(field.value, key: key, line: field.line)
            case "healthcheck":
                service.healthcheck = try healthcheck(field, key: key)
            case "deploy":
                guard let deploy = field.value.mapping else {
                    if isNull(field.value) { continue }
                    throw .wrongType(file: file, line: field.line, key: key, expected: "a mapping")
                }
                for setting in try entries(of: deploy, path: key + ".") {
                    switch setting.key {
                    case "labels":
                        for (name, value, line) in try keyValues(setting, key: "\(key).labels") {
                            service.deployLabels[name] = value ?? ""
                            service.deployLabelLocations[name] = location(line)
                        }
                    case "resources":
                        let limits = setting.value.mapping?["limits"]?.mapping
                        service.memoryLimit = limits?["memory"]?.scalar?.string
                        service.cpuLimit = limits?["cpus"]?.scalar?.string
                    case "replicas":
                        if let count = try text(setting.value, key: "\(key).replicas", line: setting.line) {
                            service.settings.append(.init(key: "replicas", value: count, location: location(setting.line)))
                        }
                    default:
                        continue
                    }
                }
            case "environment":
                for (name, value, _) in try keyValues(field, key: key) {
                    // `- NAME` alone passes NAME through from the deploying environment, when it has it.
                    if let value = value ?? environment[name] { service.environment[name] = value }
                }
            case "secrets", "configs":
                let names = try references(field, key: key)
                if field.key == "secrets" { service.secrets.appendNew(names) } else { service.configs.appendNew(names) }
            case "volumes":
                let mounts = try mounts(field, key: key)
                service.mounts += mounts
                service.volumes.appendNew(mounts.compactMap { $0.type == "volume" ? $0.source : nil })
            case "networks":
                service.networks.appendNew(try networkNames(field, key: key))
            case "privileged", "pid", "ipc", "network_mode":
                if let value = try text(field.value, key: key, line: field.line) {
                    service.settings.append(.init(key: field.key, value: value, location: location(field.line)))
                }
            case "cap_add", "devices", "security_opt", "ports", "env_file":
                service.settings += try listSettings(field, key: key)
            default:
                continue
            }
        }
        return service
    }

    private func healthcheck(_ field: Entry, key: String) throws(RecipeError) -> ComposeProject.Healthcheck? {
        guard let mapping = field.value.mapping else {
            if isNull(field.value) { return nil }
            throw .wrongType(file: file, line: field.line, key: key, expected: "a mapping such as 'test: [\"CMD\", \"true\"]'")
        }
        var healthcheck = ComposeProject.Healthcheck()
        for setting in try entries(of: mapping, path: key + ".") {
            switch setting.key {
            case "test":
                if let sequence = setting.value.sequence {
                    var test: [String] = []
                    for item in sequence {
                        test.append(try text(item, key: "\(key).test", line: item.mark?.line ?? setting.line) ?? "")
                    }
                    healthcheck.test = test
                } else if let command = try text(setting.value, key: "\(key).test", line: setting.line) {
                    healthcheck.test = ["CMD-SHELL", command]
                }
            case "disable":
                healthcheck.disable = try boolean(setting.value, key: "\(key).disable", line: setting.line)
            default:
                continue
            }
        }
        return healthcheck
    }

    /// `key: value` pairs of a map, or `- key=value` items of a list (`value` is `nil` for a bare `- key`
    /// or a null map value), each with its line.
    private func keyValues(_ field: Entry, key: String) throws(RecipeError) -> [(String, String?, Int?)] {
        var pairs: [(String, String?, Int?)] = []
        if let mapping = field.value.mapping {
            for entry in try entries(of: mapping, path: key + ".") {
                pairs.append((entry.key, try text(entry.value, key: "\(key).\(entry.key)", line: entry.line), entry.line))
            }
        } else if let sequence = field.value.sequence {
            for item in sequence {
                let line = item.mark?.line ?? field.line
                guard let written = try text(item, key: key, line: line) else { continue }
                if let equals = written.firstIndex(of: "=") {
                    pairs.append((String(written[..<equals]).trimmingCharacters(in: .whitespaces),
                                  String(written[written.index(after: equals)...]), line))
                } else {
                    pairs.append((written.trimmingCharacters(in: .whitespaces), nil, line))
                }
            }
        } else if !isNull(field.value) {
            throw .wrongType(file: file, line: field.line, key: key, expected: "a mapping or a list of 'key=value' items")
        }
        return pairs
    }

    /// `- name` or `- source: name` items (service `secrets` and `configs`).
    private func references(_ field: Entry, key: String) throws(RecipeError) -> [String] {
        guard let sequence = field.value.sequence else {
            if isNull(field.value) { return [] }
            throw .wrongType(file: file, line: field.line, key: key, expected: "a list of names or of mappings with 'source'")
        }
        var names: [String] = []
        for item in sequence {
            let line = item.mark?.line ?? field.line
            if let mapping = item.mapping {
                guard let source = try entries(of: mapping, path: key + ".").first(where: { $0.key == "source" }),
                    let name = try text(source.value, key: "\(key).source", line: source.line)
                else { throw .wrongType(file: file, line: line, key: key, expected: "items with a 'source'") }
                names.append(name)
            } else if let name = try text(item, key: key, line: line) {
                names.append(name)
            }
        }
        return names
    }

    /// A service's mounts, short (`source:target[:mode]`, a source with a path is a bind mount)
    /// or long (`type`, `source`) syntax, each at its item's line.
    private func mounts(_ field: Entry, key: String) throws(RecipeError) -> [ComposeProject.Mount] {
        guard let sequence = field.value.sequence else {
            if isNull(field.value) { return [] }
            throw .wrongType(file: file, line: field.line, key: key, expected: "a list of mounts")
        }
        var mounts: [ComposeProject.Mount] = []
        for item in sequence {
            let line = item.mark?.line ?? field.line
            if let mapping = item.mapping {
                let settings = try entries(of: mapping, path: key + ".")
                func setting(_ name: String) throws(RecipeError) -> String? {
                    guard let entry = settings.first(where: { $0.key == name }) else { return nil }
                    return try text(entry.value, key: "\(key).\(name)", line: entry.line)
                }
                let source = try setting("source")
                mounts.append(.init(type: try setting("type") ?? "volume", source: source?.isEmpty == true ? nil : source,
                                    location: location(line)))
            } else if let mount = try text(item, key: key, line: line) {
                let parts = mount.split(separator: ":", omittingEmptySubsequences: false)
                let source = parts.count > 1 && !parts[0].isEmpty ? String(parts[0]) : nil
                let isPath = source.map { $0.contains("/") || $0.hasPrefix(".") || $0.hasPrefix("~") } ?? false
                mounts.append(.init(type: isPath ? "bind" : "volume", source: source, location: location(line)))
            }
        }
        return mounts
    }

    /// One setting per item of a list (or the one value): `cap_add`, `devices`, `security_opt`,
    /// `env_file` (a path, or a mapping with `path`), `ports` (the published port: a mapping's
    /// `published`, the host part of `host:container`, or "a random port" when only the container's is given).
    private func listSettings(_ field: Entry, key: String) throws(RecipeError) -> [ComposeProject.Setting] {
        let items: [Node]
        if let sequence = field.value.sequence { items = Array(sequence) } else if isNull(field.value) { return [] } else { items = [field.value] }
        var settings: [ComposeProject.Setting] = []
        for item in items {
            let line = item.mark?.line ?? field.line
            var value: String?
            if let mapping = item.mapping {
                let entries = try entries(of: mapping, path: key + ".")
                let wanted = field.key == "ports" ? ["published", "target"] : ["path"]
                for name in wanted {
                    if let entry = entries.first(where: { $0.key == name }) {
                        value = try text(entry.value, key: "\(key).\(name)", line: entry.line)
                        if name == "target" { value = value.map { "(a random port for \($0))" } }
                        break
                    }
                }
                guard value != nil else {
                    throw .wrongType(file: file, line: line, key: key, expected: "items with '\(wanted[0])'")
                }
            } else {
                value = try text(item, key: key, line: line)
                if field.key == "ports", let written = value {
                    // host_ip:published:target, published:target, or target alone (a random published port).
                    let parts = written.split(separator: ":")
                    value = parts.count > 1 ? String(parts[parts.count - 2]) : "(a random port for \(written))"
                }
            }
            if let value { settings.append(.init(key: field.key, value: value, location: location(line))) }
        }
        return settings
    }

    /// `- name` items or the keys of a `name: {aliases: …}` mapping.
    private func networkNames(_ field: Entry, key: String) throws(RecipeError) -> [String] {
        if let mapping = field.value.mapping {
            return try entries(of: mapping, path: key + ".").map(\.key)
        }
        guard let sequence = field.value.sequence else {
            if isNull(field.value) { return [] }
            throw .wrongType(file: file, line: field.line, key: key, expected: "a list or a mapping of network names")
        }
        var names: [String] = []
        for item in sequence {
            if let name = try text(item, key: key, line: item.mark?.line ?? field.line) { names.append(name) }
        }
        return names
    }

    // MARK: Top-level definitions

    private func definitions(_ section: Entry) throws(RecipeError) -> [String: ComposeProject.Definition] {
        guard let mapping = section.value.mapping else {
            if isNull(section.value) { return [:] }
            throw .wrongType(file: file, line: section.line, key: section.key, expected: "a mapping of names to definitions")
        }
        var definitions: [String: ComposeProject.Definition] = [:]
        for entry in try entries(of: mapping, path: section.key + ".") {
            let path = "\(section.key).\(entry.key)"
            var definition = ComposeProject.Definition(key: entry.key, location: location(entry.line))
            if let settings = entry.value.mapping {
                for setting in try entries(of: settings, path: path + ".") {
                    let key = "\(path).\(setting.key)"
                    switch setting.key {
                    case "name":
                        definition.name = try text(setting.value, key: key, line: setting.line)
                        definition.rawName = definition.name == nil ? nil : setting.value.scalar?.string
                    case "file":
                        definition.file = try text(setting.value, key: key, line: setting.line)
                        definition.fileLocation = location(setting.line)
                    case "driver_opts":
                        for (option, value, _) in try keyValues(setting, key: key) {
                            definition.driverOptions[option] = value ?? ""
                        }
                        definition.driverOptionsLocation = location(setting.line)
                    case "external":
                        // The legacy form `external: {name: x}` is external with a name.
                        if let legacy = setting.value.mapping {
                            definition.external = true
                            if let name = try entries(of: legacy, path: key + ".").first(where: { $0.key == "name" }),
                                definition.name == nil {
                                definition.name = try text(name.value, key: "\(key).name", line: name.line)
                                definition.rawName = definition.name == nil ? nil : name.value.scalar?.string
                            }
                        } else {
                            definition.external = try boolean(setting.value, key: key, line: setting.line)
                        }
                    default:
                        continue
                    }
                }
            } else if !isNull(entry.value) {
                throw .wrongType(file: file, line: entry.line, key: path, expected: "a mapping (or empty)")
            }
            definitions[entry.key] = definition
        }
        return definitions
    }

    // MARK: Values

    private func location(_ line: Int?) -> Location {
        Location(file: file, line: line ?? 1)
    }

    private func isNull(_ node: Node) -> Bool {
        node.scalar != nil && node.tag == Tag(.null)
    }

    /// The interpolated text of a scalar; `nil` for null; an error for a list or mapping.
    private func text(_ node: Node, key: String, line: Int?) throws(RecipeError) -> String? {
        guard let scalar = node.scalar else { throw .wrongType(file: file, line: line, key: key, expected: "a single value") }
        if isNull(node) { return nil }
        var ignored: [String] = []
        return try interpolate(scalar.string, line: scalar.mark?.line ?? line, unset: &ignored)
    }

    /// YAML 1.1 booleans, as docker's parser reads them.
    private func boolean(_ node: Node, key: String, line: Int?) throws(RecipeError) -> Bool {
        switch try text(node, key: key, line: line)?.lowercased() {
        case "true", "yes", "on", "y": return true
        case "false", "no", "off", "n", nil: return false
        default: throw .wrongType(file: file, line: line, key: key, expected: "true or false")
        }
    }

    /// The entries of a mapping with `<<` merge keys resolved (explicit keys win); a key given
    /// twice is an error, as it is for docker.
    private func entries(of mapping: Node.Mapping, path: String) throws(RecipeError) -> [Entry] {
        var explicit: [Entry] = []
        var merged: [Entry] = []
        var firstLines: [String: Int?] = [:]
        for (keyNode, value) in mapping {
            let line = keyNode.mark?.line
            if keyNode.tag == Tag(.merge) {
                var sources: [Node.Mapping] = []
                if let source = value.mapping {
                    sources = [source]
                } else if let sequence = value.sequence {
                    for item in sequence {
                        guard let source = item.mapping else {
                            throw .wrongType(file: file, line: line, key: path + "<<", expected: "a mapping or a list of mappings")
                        }
                        sources.append(source)
                    }
                } else {
                    throw .wrongType(file: file, line: line, key: path + "<<", expected: "a mapping or a list of mappings")
                }
                for source in sources {
                    for entry in try entries(of: source, path: path) where !merged.contains(where: { $0.key == entry.key }) {
                        merged.append(entry)
                    }
                }
                continue
            }
            guard let key = keyNode.scalar?.string else {
                throw .wrongType(file: file, line: line, key: path.isEmpty ? "each key" : "each key of \(path.dropLast())", expected: "text")
            }
            if let firstLine = firstLines[key] {
                throw .duplicateKey(file: file, line: line, key: path + key, firstLine: firstLine)
            }
            firstLines[key] = line
            explicit.append(Entry(key: key, line: line, value: value))
        }
        return explicit + merged.filter { firstLines[$0.key] == nil }
    }

    // MARK: Interpolation

    /// Interpolates every value under `node` once: records unset variables, throws on invalid references.
    private mutating func checkInterpolation(_ node: Node) throws(RecipeError) {
        switch node {
        case let .scalar(scalar):
            var unset: [String] = []
            _ = try interpolate(scalar.string, line: scalar.mark?.line, unset: &unset)
            for name in unset {
                unsetVariables.append(.init(name: name, location: location(scalar.mark?.line)))
            }
        case let .mapping(mapping):
            for (_, value) in mapping { try checkInterpolation(value) }
        case let .sequence(sequence):
            for item in sequence { try checkInterpolation(item) }
        }
    }

    private func interpolate(_ text: String, line: Int?, unset: inout [String]) throws(RecipeError) -> String {
        switch Interpolation.substitute(text, environment: environment, unset: &unset) {
        case let .success(value): return value
        case .failure(.invalid): throw .invalidInterpolation(file: file, line: line, text: text)
        case let .failure(.required(variable, message)):
            throw .requiredVariableUnset(file: file, line: line, variable: variable, message: message)
        }
    }
}

// MARK: - Interpolation

/// `docker stack deploy`'s variable substitution: `$NAME`, `${NAME}`, `${NAME:-default}` (unset or
/// empty), `${NAME-default}` (unset), `${NAME:?message}`, `${NAME?message}`, and `$$` for `$`.
/// Defaults are literal text. Any other `$` is invalid.
enum Interpolation {
    enum Problem: Error, Equatable {
        case invalid
        case required(variable: String, message: String)

        /// Why, naming the variable where there is one: `SECRET_VERSION must be set: pick one`.
        var explanation: String {
            switch self {
            case .invalid:
                "it has a $ that starts no variable reference docker understands"
            case let .required(variable, message):
                "\(variable) must be set" + (message.isEmpty ? "" : ": \(message)")
            }
        }
    }

    /// `text` with its references replaced; each variable used while unset without a default is
    /// appended to `unset` and replaced by the empty string.
    static func substitute(_ text: String, environment: [String: String], unset: inout [String]) -> Result<String, Problem> {
        guard text.contains("$") else { return .success(text) }
        let scalars = Array(text.unicodeScalars)
        var result = String.UnicodeScalarView()
        var index = 0
        func isNameStart(_ scalar: Unicode.Scalar) -> Bool {
            scalar == "_" || ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
        }
        func isNamePart(_ scalar: Unicode.Scalar) -> Bool { isNameStart(scalar) || ("0"..."9").contains(scalar) }

        while index < scalars.count {
            let scalar = scalars[index]
            guard scalar == "$" else {
                result.append(scalar)
                index += 1
                continue
            }
            guard index + 1 < scalars.count else { return .failure(.invalid) }
            let next = scalars[index + 1]
            if next == "$" {
                result.append("$")
                index += 2
            } else if isNameStart(next) {
                var end = index + 1
                while end < scalars.count, isNamePart(scalars[end]) { end += 1 }
                let name = String(String.UnicodeScalarView(scalars[(index + 1)..<end]))
                if let value = environment[name] { result.append(contentsOf: value.unicodeScalars) } else { unset.append(name) }
                index = end
            } else if next == "{" {
                guard let close = scalars[(index + 2)...].firstIndex(of: "}") else { return .failure(.invalid) }
                var nameEnd = index + 2
                guard nameEnd < close, isNameStart(scalars[nameEnd]) else { return .failure(.invalid) }
                while nameEnd < close, isNamePart(scalars[nameEnd]) { nameEnd += 1 }
                let name = String(String.UnicodeScalarView(scalars[(index + 2)..<nameEnd]))
                let modifier = String(String.UnicodeScalarView(scalars[nameEnd..<close]))
                let value = environment[name]
                let setAndNonEmpty = value.map { !$0.isEmpty } ?? false
                let replacement: String
                switch modifier {
                case "":
                    if value == nil { unset.append(name) }
                    replacement = value ?? ""
                case _ where modifier.hasPrefix(":-"):
                    replacement = setAndNonEmpty ? value ?? "" : String(modifier.dropFirst(2))
                case _ where modifier.hasPrefix("-"):
                    replacement = value ?? String(modifier.dropFirst())
                case _ where modifier.hasPrefix(":?"):
                    guard setAndNonEmpty else { return .failure(.required(variable: name, message: String(modifier.dropFirst(2)))) }
                    replacement = value ?? ""
                case _ where modifier.hasPrefix("?"):
                    guard let value else { return .failure(.required(variable: name, message: String(modifier.dropFirst()))) }
                    replacement = value
                default:
                    return .failure(.invalid)
                }
                result.append(contentsOf: replacement.unicodeScalars)
                index = close + 1
            } else {
                return .failure(.invalid)
            }
        }
        return .success(String(result))
    }
}

// MARK: - YAML errors

extension [String] {
    /// Appends the names not already present, keeping order (lists of a service are unions).
    public mutating func appendNew(_ names: [String]) {
        for name in names where !contains(name) { append(name) }
    }
}
