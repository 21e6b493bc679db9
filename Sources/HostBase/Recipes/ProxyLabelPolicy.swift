import Foundation

/// The shared proxy's part of the content policy (lint R025). Every app on the engine is reached
/// through one Traefik, which builds its routing from every service's `deploy.labels`: one app's
/// labels can answer another app's requests, join its load balancer, or knock its router out
/// (two services defining one router name: Traefik drops both). So an app's Traefik labels name
/// only routers, services and middlewares of its own (`STACK_NAME`, `STACK_NAME-…`, `STACK_NAME_…`),
/// route only its own domains (`DOMAIN` and the operator's `allow_domains`), at a bounded priority,
/// through the proxy network, and send no request elsewhere; no service takes an alias on a network
/// another app joins. Labels are read as Traefik reads them: keys without regard to case. What
/// cannot be read is refused (fail closed).
extension RecipePolicy {
    /// The network every app and the proxy share.
    static let proxyNetwork = "proxy"
    /// The highest router priority an app may ask for without `proxy_priority`. Traefik's default
    /// priority is the rule's length (`Host(\`app.example.org\`)` is 25); one far above every rule's
    /// length wins every request its rule matches, whichever app's router also matches it.
    public static let maxRouterPriority = 1000

    /// What the labels of `project`'s services ask of the shared proxy, and the aliases its services
    /// take on networks that are not the app's own. `allowedDomains`: the operator's `allow_domains`.
    static func proxyFindings(_ project: ComposeProject, allowedDomains: Set<String>) -> [Finding] {
        let stack = project.environment["STACK_NAME"]?.lowercased() ?? ""
        let domains = Set(([project.environment["DOMAIN"] ?? ""] + allowedDomains).map { $0.lowercased() }.filter { !$0.isEmpty })
        let judge = ProxyLabels(stack: stack, domains: domains)
        var findings: [Finding] = []
        for service in project.services.values.sorted(by: { $0.name < $1.name }) {
            for (key, value) in service.deployLabels.sorted(by: { $0.key < $1.key }) {
                findings += judge.findings(key: key, value: value, service: service.name).map {
                    finding("R025", $0.option, $0.message, service.deployLabelLocations[key] ?? service.location)
                }
            }
            for alias in service.networkAliases where !judge.isOwnNetwork(alias.network, in: project) {
                findings.append(finding("R025", .networkAlias, "service \(service.name) takes the alias \(alias.alias) on the network "
                                        + "\(judge.networkName(alias.network, in: project)), which other apps join: their lookups of "
                                        + "\(alias.alias) would reach this app", alias.location))
            }
        }
        return findings
    }
}

/// The judgement of one app's Traefik labels: pure, one label at a time.
struct ProxyLabels {
    /// The app's `STACK_NAME` and domains, lowercased.
    let stack: String
    let domains: Set<String>

    struct Problem: Equatable {
        var option: RecipePolicy.Option
        var message: String
    }

    /// Matchers that name hosts, by protocol, lowercased (Traefik reads `Host`, `host` and `HOST` alike;
    /// `HostHeader` is v2's other name for `Host`).
    static let hostMatchers: [String: Set<String>] = ["http": ["host", "hostheader"], "tcp": ["hostsni"]]
    /// Matchers that narrow a request without naming its host: fine beside a host matcher.
    static let otherMatchers: [String: Set<String>] = [
        "http": ["path", "pathprefix", "pathregexp", "method", "header", "headers", "headerregexp", "headersregexp",
                 "query", "queryregexp", "clientip"],
        "tcp": ["clientip", "alpn"],
    ]
    /// What an app's service label may say beyond routers, services and middlewares.
    static let providerSettings: Set = ["traefik.enable", "traefik.docker.lbswarm", "traefik.swarm.lbswarm"]
    static let networkSettings: Set = ["traefik.docker.network", "traefik.swarm.network"]

    /// The problems of label `key` = `value` on service `service`; none for a label Traefik does not read.
    func findings(key: String, value: String, service: String) -> [Problem] {
        let lowered = key.lowercased()
        guard lowered.hasPrefix("traefik.") else { return [] }
        let label = "service \(service): label \(key)"
        if Self.providerSettings.contains(lowered) { return [] }
        if Self.networkSettings.contains(lowered) {
            return value == RecipePolicy.proxyNetwork ? [] : [Problem(option: .proxyNetwork, message:
                "\(label) makes Traefik reach the app through the network \(value), not \(RecipePolicy.proxyNetwork), the one the proxy and every app share")]
        }
        let parts = lowered.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let kinds: [String: Set<String>] = ["http": ["routers", "services", "middlewares"], "tcp": ["routers", "services", "middlewares"],
                                            "udp": ["routers", "services"]]
        guard parts.count >= 4, let allowed = kinds[parts[1]], allowed.contains(parts[2]) else {
            return [Problem(option: .proxyNames, message: "\(label) is not one cchost can judge (it reads traefik.enable, the provider's network "
                            + "and lbswarm, and http, tcp and udp routers, services and middlewares): refused, since what it does to other apps cannot be told")]
        }
        let (proto, kind, rest) = (parts[1], parts[2], parts[4...].joined(separator: "."))
        // The name as written: Traefik keeps it, and compares it without regard to case.
        let name = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)[3]
        var problems: [Problem] = []
        if !isOwn(name.lowercased()) {
            problems.append(Problem(option: .proxyNames, message: "\(label) defines the \(proto) \(kind.dropLast()) \(name), not one of the app's own "
                                    + "(\(ownNames)): an app's \(kind) of that name would be joined or displaced"))
        }
        switch (kind, rest) {
        case ("routers", "rule"):
            problems += ruleProblems(value, label: label, proto: proto)
        case ("routers", "priority"):
            if let priority = Int(value.trimmingCharacters(in: .whitespaces)), priority <= RecipePolicy.maxRouterPriority { break }
            problems.append(Problem(option: .proxyPriority, message: "\(label) asks for priority \(value), over \(RecipePolicy.maxRouterPriority): "
                                    + "Traefik's default priority is the rule's length, so a larger one outranks every other app's router for the same request"))
        case ("routers", "service"), ("middlewares", "errors.service"):
            let (target, provider) = Self.split(reference: value)
            if !isOwn(target.lowercased()) || !(provider.map { ["swarm", "docker"].contains($0.lowercased()) } ?? true) {
                problems.append(Problem(option: .proxyNames, message: "\(label) sends requests to the service \(value), not one of the app's own "
                                        + "(\(ownNames)): it would reach another app's backend"))
            }
        case ("middlewares", "forwardauth.address"):
            problems.append(Problem(option: .forwardAuth, message: "\(label) hands every request, its headers and cookies included, to \(value) "
                                    + "before the app sees it: a forward-auth middleware sends requests elsewhere"))
        default:
            break
        }
        return problems
    }

    /// `STACK_NAME`, or it followed by `-` or `_` (`${STACK_NAME}-redirect`), as Co-op Cloud recipes name them.
    func isOwn(_ name: String) -> Bool {
        !stack.isEmpty && (name == stack || name.hasPrefix(stack + "-") || name.hasPrefix(stack + "_"))
    }

    var ownNames: String { stack.isEmpty ? "no STACK_NAME is set" : "\(stack), \(stack)-… or \(stack)_…" }

    /// `name@provider` as its name and provider.
    static func split(reference: String) -> (String, String?) {
        let trimmed = reference.trimmingCharacters(in: .whitespaces)
        guard let at = trimmed.lastIndex(of: "@") else { return (trimmed, nil) }
        return (String(trimmed[..<at]), String(trimmed[trimmed.index(after: at)...]))
    }

    /// A router's rule matches only the app's domains: every matcher is one cchost knows, every
    /// host matcher names literal domains of the app's, no regexp names hosts, and every
    /// alternative holds a host matcher.
    func ruleProblems(_ rule: String, label: String, proto: String) -> [Problem] {
        func refused(_ why: String) -> Problem { Problem(option: .proxyRule, message: "\(label) \(why)") }
        guard proto != "udp" else { return [refused("sets a rule, which udp routers do not have")] }
        let parsed: TraefikRule
        do { parsed = try TraefikRule(parsing: rule) } catch {
            return [refused("cannot be read by cchost (\(error.description)): refused, since which hosts it matches cannot be told")]
        }
        let hosts = Self.hostMatchers[proto] ?? [], others = Self.otherMatchers[proto] ?? []
        var problems: [Problem] = []
        var foreign: [String] = []
        var byPattern = false
        for matcher in parsed.matchers {
            let name = matcher.name.lowercased()
            if hosts.contains(name) {
                if matcher.arguments.isEmpty { problems.append(refused("has \(matcher.name)() without a domain")) }
                foreign.appendNew(matcher.arguments.filter { !domains.contains($0.lowercased()) })
            } else if name.contains("host") {
                byPattern = true
                problems.append(refused("matches hosts with \(matcher.name), which can match other apps' domains: name each domain with "
                                        + (proto == "tcp" ? "HostSNI(`${DOMAIN}`)" : "Host(`${DOMAIN}`)")))
            } else if !others.contains(name) {
                problems.append(refused("uses \(matcher.name), a matcher cchost does not know for \(proto) routers"))
            }
        }
        if !foreign.isEmpty {
            let allowed = domains.sorted().joined(separator: ", ")
            problems.append(refused("routes \(foreign.map { "`\($0)`" }.joined(separator: ", ")), not the app's domain "
                                    + "(\(allowed.isEmpty ? "none: DOMAIN is not set" : allowed); more through recipes[].allow_domains): "
                                    + "it would answer another app's requests"))
        }
        // A rule refused for matching hosts by pattern is not refused twice.
        if !byPattern && !parsed.confinesHost({ hosts.contains($0.lowercased()) }) {
            problems.append(refused("can match a request without matching its host (an alternative of `\(rule)` has no "
                                    + (proto == "tcp" ? "HostSNI" : "Host") + "): it would answer requests for every domain"))
        }
        return problems
    }

    /// The network's name as docker creates it: its `name:`, its key when external, else `<stack>_<key>`.
    func networkName(_ key: String, in project: ComposeProject) -> String {
        let definition = project.networks[key]
        return definition?.name ?? (definition?.external == true ? key : "\(project.environment["STACK_NAME"] ?? "")_\(key)")
    }

    func isOwnNetwork(_ key: String, in project: ComposeProject) -> Bool {
        guard let stackName = project.environment["STACK_NAME"], !stackName.isEmpty else { return false }
        return networkName(key, in: project).hasPrefix(stackName + "_")
    }
}
