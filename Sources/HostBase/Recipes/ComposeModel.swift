import Foundation
import Yams

/// The compose model abra deploys: the files `COMPOSE_FILE` names, interpolated from the app's
/// environment and merged the way `docker stack deploy -c compose.yml -c compose.smtp.yml` merges
/// them into one rendered stack (`rendered`, see ComposeFileReader and StackMerge), and what cchost
/// reads of that stack. Everything keeps the file and line it came from.
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

    /// One alias a service takes on one of its networks (`networks: {proxy: {aliases: [db]}}`):
    /// another container on that network resolving the alias reaches this service.
    public struct NetworkAlias: Sendable, Equatable {
        /// The network's key in the service's `networks`.
        public let network: String
        public let alias: String
        public let location: Location

        public init(network: String, alias: String, location: Location) {
            self.network = network
            self.alias = alias
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
        /// The `aliases` of each network, in file order.
        public var networkAliases: [NetworkAlias] = []
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
    /// The stack the files render to: merged, interpolated, plain. The model above is read from it,
    /// the content policy checks it, and it is what docker is handed to deploy.
    public private(set) var rendered: StackNode

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

    /// Parses compose texts (each `path` names its file in errors and locations), interpolates them,
    /// merges them in order into the rendered stack, and reads the model from that stack.
    public init(files: [(path: String, text: String)], environment: [String: String]) throws(RecipeError) {
        self.files = files.map(\.path)
        self.environment = environment
        var rendered: StackNode?
        for (path, text) in files {
            var reader = ComposeFileReader(file: path, environment: environment)
            let file = StackMerge.normalize(try reader.read(text), environment: environment)
            unsetVariables += reader.unsetVariables
            if rendered == nil { rendered = file } else { StackMerge.merge(file, into: &rendered!) }
        }
        self.rendered = rendered ?? StackNode(.map([]), at: Location(file: "", line: 1))
        try ComposeModelReader.read(self.rendered, into: &self)
    }
}

// MARK: - Lists of names

extension [String] {
    /// Appends the names not already present, keeping order (lists of a service are unions).
    public mutating func appendNew(_ names: [String]) {
        for name in names where !contains(name) { append(name) }
    }
}
