import Foundation

/// What the operator lets one recipe do that the content policy otherwise refuses (`recipes[].allow`,
/// `recipes[].max_replicas` and `recipes[].allow_domains` in the configuration): a proxy or backup
/// recipe mounts the docker socket, a monitoring recipe adds a capability, an app answers a second domain.
public struct PolicyAllowance: Sendable, Equatable, Codable {
    public var options: Set<RecipePolicy.Option>
    /// The most replicas a service may ask for.
    public var maxReplicas: Int
    /// Domains the app's routers may route besides its own `DOMAIN`, lowercased.
    public var domains: Set<String> = []

    public static let defaultMaxReplicas = 10
    /// Nothing allowed: the default for every recipe.
    public static let none = PolicyAllowance()

    public init(options: Set<RecipePolicy.Option> = [], maxReplicas: Int = defaultMaxReplicas, domains: Set<String> = []) {
        self.options = options
        self.maxReplicas = maxReplicas
        self.domains = Set(domains.map { $0.lowercased() })
    }

    private enum CodingKeys: String, CodingKey { case options, maxReplicas, domains }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        options = try container.decode(Set<RecipePolicy.Option>.self, forKey: .options)
        maxReplicas = try container.decode(Int.self, forKey: .maxReplicas)
        // Written before there were allowed domains: none.
        domains = try container.decodeIfPresent(Set<String>.self, forKey: .domains) ?? []
    }
}

/// The recipe under test is untrusted code: its content policy, checked before anything is
/// deployed. Default-deny: whatever reaches the host or other apps on the engine is refused unless
/// the operator allows that option for that recipe; a file outside the recipe's checkout is never
/// read, whatever is allowed. Options `docker stack deploy` ignores are named as warnings. Pure
/// over the loaded project: it reads no file (it resolves paths, which follows symbolic links).
public enum RecipePolicy {
    /// An option the operator can allow, by the name the configuration uses.
    public enum Option: String, Sendable, Codable, CaseIterable, Comparable {
        case bindMount = "bind_mount"
        case dockerSocket = "docker_socket"
        case capAdd = "cap_add"
        case hostNetwork = "host_network"
        case ports
        case external
        case replicas
        /// Ignored by swarm today; allowing them silences the warning.
        case privileged, devices, pid, ipc
        case securityOpt = "security_opt"
        /// The shared proxy (R025): Traefik routers, services and middlewares not named after the
        /// app's STACK_NAME (and labels cchost cannot judge); a router rule for other domains, for
        /// hosts by regexp or for no host at all; a router priority over 1000; a Traefik network
        /// other than `proxy`; a network alias on a network other apps join; a forward-auth middleware.
        case proxyNames = "proxy_names"
        case proxyRule = "proxy_rule"
        case proxyPriority = "proxy_priority"
        case proxyNetwork = "proxy_network"
        case networkAlias = "network_alias"
        case forwardAuth = "forward_auth"

        public static func < (a: Option, b: Option) -> Bool { a.rawValue < b.rawValue }
    }

    /// One thing the policy found, where it is written, and which option would allow it (`nil`:
    /// nothing can: a file outside the checkout; more tasks than the run's ceiling, which the
    /// operator raises in `ceilings.tasks` rather than allows past).
    public struct Finding: Sendable, Equatable {
        public var code: String
        public var severity: LintFinding.Severity
        public var option: Option?
        public var message: String
        /// `nil` where the recipe's files do not say it (COMPOSE_FILE from the app's settings).
        public var location: ComposeProject.Location?

        /// `message (compose.yml:12)`, with the file relative to `directory`.
        public func line(relativeTo directory: String) -> String {
            message + (location.map { " (\(RecipeLint.relative($0.file, to: directory)):\($0.line))" } ?? "")
        }
    }

    /// The lint rules of the policy.
    static let rules: [LintRule] = [
        LintRule(code: "R016", severity: .error, title: "no host bind mount: no host path, no docker socket, no volume driver_opts that bind"),
        LintRule(code: "R017", severity: .error, title: "no host-reaching privilege: no cap_add, external network `host` or published port"),
        LintRule(code: "R018", severity: .warning, title: "no option docker stack deploy ignores (privileged, devices, pid, ipc, security_opt, network_mode: host)"),
        LintRule(code: "R019", severity: .error, title: "every recipe file (compose, config, secret, env_file) is inside the recipe's checkout"),
        LintRule(code: "R020", severity: .error, title: "secrets, configs, volumes and networks are the app's own, external or named (or the proxy network)"),
        LintRule(code: "R021", severity: .error, title: "no service asks for more replicas than allowed (10 unless configured)"),
        LintRule(code: "R023", severity: .error, title: "the app asks for no more tasks, all services' replicas summed, than the run's ceiling (50 unless configured)"),
        LintRule(code: "R025", severity: .error, title: "Traefik labels name only the app's own routers, services and middlewares, route only its domains, at priority 1000 at most, on the proxy network, and send no request elsewhere; no alias on a shared network"),
    ]

    /// Where docker listens: a mount of it hands the engine, and so the host, to the container.
    static let dockerSockets: Set = ["/var/run/docker.sock", "/run/docker.sock"]
    /// External networks every Co-op Cloud app joins.
    static let sharedNetworks: Set = ["proxy"]

    /// Every finding of `project` (loaded from `checkout`), the ones an allowance would let through
    /// included (`decide` sorts them). `maxTasks`: the run's `ceilings.tasks`. `composeFileSetting`:
    /// where `COMPOSE_FILE` is set, when the recipe's files set it. `allowedDomains`: what the app's
    /// routers may route besides its `DOMAIN` (`recipes[].allow_domains`).
    public static func evaluate(_ project: ComposeProject, checkout: String, maxReplicas: Int = PolicyAllowance.defaultMaxReplicas,
                                maxTasks: Int = RunCeilings.defaultTasks, composeFileSetting: ComposeProject.Location? = nil,
                                allowedDomains: Set<String> = []) -> [Finding] {
        let composeFiles = project.refusedFiles.map {
            finding("R019", nil, "COMPOSE_FILE names \($0.name), which \($0.reason); cchost does not read it", composeFileSetting)
        }
        let services = project.services.values.sorted { $0.name < $1.name }
            .flatMap { findings(in: $0, checkout: checkout, maxReplicas: maxReplicas) }
        return composeFiles + services + taskFindings(project, maxTasks: maxTasks) + fileFindings(project, checkout: checkout)
            + objectFindings(project) + proxyFindings(project, allowedDomains: allowedDomains)
    }

    static func finding(_ code: String, _ option: Option?, _ message: String, _ location: ComposeProject.Location?) -> Finding {
        Finding(code: code, severity: rules.first { $0.code == code }?.severity ?? .error, option: option, message: message, location: location)
    }

    /// A service's bind mounts and the settings that reach beyond its containers.
    private static func findings(in service: ComposeProject.Service, checkout: String, maxReplicas: Int) -> [Finding] {
        let name = "service \(service.name)"
        var findings = service.mounts.filter { $0.type == "bind" }.map { mount in
            let source = mount.source ?? ""
            return dockerSockets.contains(URL(fileURLWithPath: source).standardizedFileURL.path)
                ? finding("R016", .dockerSocket, "\(name) bind-mounts the docker socket \(source): the container would command the engine", mount.location)
                : finding("R016", .bindMount, "\(name) bind-mounts the host path \(source)", mount.location)
        }
        let ignored = "(docker stack deploy ignores it)"
        for setting in service.settings {
            let (at, value) = (setting.location, setting.value)
            switch setting.key {
            case "cap_add": findings.append(finding("R017", .capAdd, "\(name) asks for cap_add \(value)", at))
            case "ports": findings.append(finding("R017", .ports, "\(name) publishes port \(value) on the host", at))
            case "network_mode" where value == "host":
                findings.append(finding("R018", .hostNetwork,
                                        "\(name) asks for network_mode: host (docker stack deploy ignores it; an external network named host is refused)", at))
            case "privileged" where ["true", "yes", "on"].contains(value.lowercased()):
                findings.append(finding("R018", .privileged, "\(name) asks for privileged: true \(ignored)", at))
            case "devices": findings.append(finding("R018", .devices, "\(name) asks for devices \(value) \(ignored)", at))
            case "pid": findings.append(finding("R018", .pid, "\(name) asks for pid: \(value) \(ignored)", at))
            case "ipc": findings.append(finding("R018", .ipc, "\(name) asks for ipc: \(value) \(ignored)", at))
            case "security_opt": findings.append(finding("R018", .securityOpt, "\(name) asks for security_opt \(value) \(ignored)", at))
            case "env_file":
                if let reason = RecipeFile.escape(value, from: checkout) {
                    findings.append(finding("R019", nil, "\(name) reads env_file \(value), which \(reason)", at))
                }
            case "replicas" where Int(value).map({ $0 > maxReplicas }) ?? true:
                findings.append(finding("R021", .replicas, "\(name) asks for \(value) replicas, more than the \(maxReplicas) allowed", at))
            default: continue
            }
        }
        return findings
    }

    /// Config and secret files outside the checkout, and volumes whose `driver_opts` bind a host folder.
    private static func fileFindings(_ project: ComposeProject, checkout: String) -> [Finding] {
        var findings: [Finding] = []
        for (kind, definitions) in [("secret", project.secrets), ("config", project.configs)] {
            for definition in definitions.values.sorted(by: { $0.key < $1.key }) {
                guard let file = definition.file, let reason = RecipeFile.escape(file, from: checkout) else { continue }
                findings.append(finding("R019", nil, "\(kind) \(definition.key) ships file \(file), which \(reason)",
                                        definition.fileLocation ?? definition.location))
            }
        }
        for volume in project.volumes.values.sorted(by: { $0.key < $1.key }) {
            let options = volume.driverOptions
            let binds = options["o"].map { $0.split(separator: ",").contains("bind") } ?? false
            if binds || options["type"] == "none" || options["device"] != nil {
                findings.append(finding("R016", .bindMount, "volume \(volume.key) binds \(options["device"] ?? "a host path") through its driver_opts",
                                        volume.driverOptionsLocation ?? volume.location))
            }
        }
        return findings
    }

    /// Secrets, configs, volumes and networks that are not the app's own. An object is the app's
    /// own when docker names it `<stack>_<key>` (no `name:`, not external) or its name starts with
    /// `<STACK_NAME>_`; a `name:` of another's object (external or not: docker reuses an existing
    /// volume or network by name) reaches into another app.
    private static func objectFindings(_ project: ComposeProject) -> [Finding] {
        let own = project.environment["STACK_NAME"].map { $0 + "_" }
        var findings: [Finding] = []
        let kinds = [("secret", project.secrets), ("config", project.configs), ("volume", project.volumes), ("network", project.networks)]
        for (kind, definitions) in kinds {
            for definition in definitions.values.sorted(by: { $0.key < $1.key }) {
                guard let name = definition.name ?? (definition.external ? definition.key : nil) else { continue }
                if kind == "network" && name == "host" {
                    findings.append(finding("R017", .hostNetwork, "network \(definition.key) is the host's network (named host)", definition.location))
                } else if !(kind == "network" && sharedNetworks.contains(name)) && !(own.map(name.hasPrefix) ?? false) {
                    findings.append(finding("R020", .external, "\(kind) \(name) is \(definition.external ? "external and " : "")not the app's own "
                                            + "(named \(own ?? "<STACK_NAME>_")…)", definition.location))
                }
            }
        }
        return findings
    }

    /// What a run of a recipe does with its findings: refuses the ones not allowed (errors), lets
    /// the allowed ones through (shown in every report), and leaves warnings to lint.
    public struct Decision: Sendable, Equatable {
        public var refused: [Finding] = []
        public var allowed: [Finding] = []
        public var warnings: [Finding] = []
    }

    public static func decide(_ findings: [Finding], allowance: PolicyAllowance) -> Decision {
        var decision = Decision()
        for finding in findings {
            if let option = finding.option, allowance.options.contains(option) {
                decision.allowed.append(finding)
            } else if finding.severity == .warning {
                decision.warnings.append(finding)
            } else {
                decision.refused.append(finding)
            }
        }
        return decision
    }
}
