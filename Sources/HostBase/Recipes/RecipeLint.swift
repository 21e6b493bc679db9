import Foundation

/// One lint finding: which rule, how bad, what, and where.
public struct LintFinding: Sendable, Codable, Equatable {
    public enum Severity: String, Sendable, Codable, Comparable {
        case error, warning
        public static func < (a: Severity, b: Severity) -> Bool { a == .error && b == .warning }
    }

    public var code: String
    public var severity: Severity
    public var message: String
    public var file: String?
    public var line: Int?

    /// `compose.yml:12` (relative to the recipe), or the file alone, or nil.
    public var location: String? {
        guard let file else { return nil }
        return line.map { "\(file):\($0)" } ?? file
    }
}

/// A lint rule of the catalogue.
public struct LintRule: Sendable, Codable, Equatable {
    public var code: String
    public var severity: LintFinding.Severity
    public var title: String
}

/// The result of linting a recipe: every finding, and which rules held.
public struct LintReport: Sendable, Codable, Equatable {
    public var recipe: String
    public var findings: [LintFinding]
    public var rules: [LintRule]

    public var errors: Int { findings.filter { $0.severity == .error }.count }
    public var warnings: Int { findings.filter { $0.severity == .warning }.count }
    public var hasErrors: Bool { errors > 0 }

    /// Rules with no finding.
    public var satisfied: [LintRule] { rules.filter { rule in !findings.contains { $0.code == rule.code } } }
}

/// The `lint` tier: rules in the spirit of abra's recipe lint, each with a code and a severity.
/// Lint never stops at the first problem: a recipe whose compose files do not load still gets its
/// `.env.sample`, README and tags checked.
public enum RecipeLint {
    /// In code order; the content policy's rules (R016–R021, R023) among them.
    public static let rules: [LintRule] = ([
        LintRule(code: "R001", severity: .error, title: "the compose files of the COMPOSE_FILE chain exist and parse"),
        LintRule(code: "R002", severity: .error, title: "there is an `app` service"),
        LintRule(code: "R003", severity: .error, title: "every service has an image"),
        LintRule(code: "R004", severity: .error, title: "every image is pinned to a tag other than `latest` (or a digest)"),
        LintRule(code: "R005", severity: .warning, title: "every service has a healthcheck"),
        LintRule(code: "R006", severity: .error, title: "`.env.sample` exists and every line parses"),
        LintRule(code: "R007", severity: .error, title: "release tags are annotated"),
        LintRule(code: "R008", severity: .error, title: "secret and config names fit Docker's 64 characters on a test domain"),
        LintRule(code: "R009", severity: .warning, title: "secret and config names fit on every domain abra accepts"),
        LintRule(code: "R010", severity: .error, title: "backupbot labels are well-formed"),
        LintRule(code: "R011", severity: .warning, title: "the README has a metadata block"),
        LintRule(code: "R012", severity: .warning, title: "the recipe has a release"),
        LintRule(code: "R013", severity: .warning, title: "the app service is on the `proxy` network with Traefik enabled"),
        LintRule(code: "R014", severity: .warning, title: "every variable the compose files use is set or has a default"),
        LintRule(code: "R015", severity: .warning, title: "a Traefik router on the `web-secure` entrypoint has TLS"),
    ] + RecipePolicy.rules + [
        LintRule(code: "R022", severity: .warning, title: "abra and a shell read every `abra.sh` export alike"),
        LintRule(code: "R024", severity: .warning, title: "every tag name fits git's 255 bytes (a longer one is no usable version)"),
    ]).sorted { $0.code < $1.code }

    /// The domain lint pretends an app has, so that names built from `STACK_NAME` can be checked.
    static let lintDomain = "lint.example"
    /// The base domain test apps get when nothing else is configured (the runs issue makes it configurable).
    public static let testBaseDomain = "ci.example"

    /// Lints the recipe in `directory`. `tags` are the repository's tags (nil when the directory is
    /// not a git repository: the tag rules are then reported as unverifiable errors). What the
    /// operator's `allowance` lets the recipe do is no finding; `maxTasks` is the run's `ceilings.tasks`.
    public static func lint(directory: String, tags: [GitTag]?, allowance: PolicyAllowance = .none,
                            maxTasks: Int = RunCeilings.defaultTasks) -> LintReport {
        var findings: [LintFinding] = []
        func add(_ code: String, _ message: String, file: String? = nil, line: Int? = nil) {
            let severity = rules.first { $0.code == code }?.severity ?? .error
            findings.append(LintFinding(code: code, severity: severity, message: message,
                                        file: file.map { relative($0, to: directory) }, line: line))
        }
        func add(_ code: String, _ error: RecipeError) {
            let (file, line) = error.place
            add(code, error.description, file: file, line: line)
        }

        // .env.sample and abra.sh: the environment every later rule interpolates with.
        var environment: [String: String] = [:]
        var envSample: EnvFile?
        do throws(RecipeError) {
            let path = RecipeFile.path(".env.sample", in: directory)
            guard let text = try RecipeFile.text(named: ".env.sample", in: directory) else { throw RecipeError.missingEnvSample(path: path) }
            envSample = try EnvFile(parsing: text, source: path)
            environment = envSample?.values ?? [:]
        } catch {
            add("R006", error)
        }
        do throws(RecipeError) {
            let script = try AbraScript.load(directory: directory)
            environment.merge(script.values) { $1 }
            for difference in script.differences {
                add("R022", "abra reads \(difference.abra) here, a shell \(difference.shell): write `export NAME=value` with a plain value (no quotes, no $, no comment after it)",
                    file: script.source, line: difference.line)
            }
        } catch {
            add("R006", error)
        }
        environment["DOMAIN"] = lintDomain
        environment["STACK_NAME"] = AppNaming.stackName(forDomain: lintDomain)

        // The compose project.
        do throws(RecipeError) {
            let project = try ComposeProject.load(directory: directory, environment: environment)
            let report = { (code: String, message: String, file: String?, line: Int?) in add(code, message, file: file, line: line) }
            lintServices(project, add: report)
            lintNames(project, recipe: URL(fileURLWithPath: directory).lastPathComponent, add: report)
            let composeFile = envSample?.location(of: "COMPOSE_FILE", ifItIs: environment["COMPOSE_FILE"])
            let findings = RecipePolicy.evaluate(project, checkout: directory, maxReplicas: allowance.maxReplicas,
                                                 maxTasks: maxTasks, composeFileSetting: composeFile, allowedDomains: allowance.domains)
            let policy = RecipePolicy.decide(findings, allowance: allowance)
            for finding in policy.refused + policy.warnings {
                add(finding.code, finding.message, file: finding.location?.file, line: finding.location?.line)
            }
            for unset in project.unsetVariables {
                add("R014", "\(unset.name) is used but set neither in .env.sample nor in abra.sh, and has no default",
                    file: unset.location.file, line: unset.location.line)
            }
        } catch {
            add("R001", error)
        }

        // README metadata.
        do throws(RecipeError) {
            if try ReadmeMetadata.load(directory: directory) == nil {
                add("R011", "README.md has no <!-- metadata --> … <!-- endmetadata --> block", file: RecipeFile.path("README.md", in: directory))
            }
        } catch {
            add("R011", error)
            findings[findings.count - 1].severity = .error  // an unterminated block is broken, not missing
        }

        // Release notes, read by the function a run reads them with, so lint and a run agree: a
        // `release` (or a note) that leads out of the checkout is R019, a note that cannot be read R012.
        do throws(RecipeError) {
            _ = try Recipe.releaseNotes(in: directory)
        } catch {
            if case .outsideCheckout = error { add("R019", error) } else {
                add("R012", error)
                findings[findings.count - 1].severity = .error  // a run refuses the recipe for it
            }
        }

        // Release tags.
        if let tags {
            let releases = ReleaseSet(tags: tags.map(\.name))
            let annotated = Dictionary(tags.map { ($0.name, $0.annotated) }, uniquingKeysWith: { first, _ in first })
            for release in releases.releases where annotated[release.tag] == false {
                add("R007", "release tag \(release.tag) is a lightweight tag; releases must be annotated (git tag -a)")
            }
            if releases.releases.isEmpty { add("R012", "the recipe has no release tag yet") }
            for unusable in releases.unparseable where unusable.tag.utf8.count > RecipeVersion.longestTag {
                add("R024", "\(unusable); the other tags are listed as usual")
            }
        } else {
            add("R007", "\(directory) is not a git repository: its release tags cannot be checked")
        }

        findings.sort { ($0.severity, $0.code, $0.file ?? "", $0.line ?? 0) < ($1.severity, $1.code, $1.file ?? "", $1.line ?? 0) }
        return LintReport(recipe: URL(fileURLWithPath: directory).lastPathComponent, findings: findings, rules: rules)
    }

    static func lintServices(_ project: ComposeProject, add: (String, String, String?, Int?) -> Void) {
        if project.services["app"] == nil {
            add("R002", "no service is called `app` (services: \(project.services.keys.sorted().joined(separator: ", ")))",
                project.files.first, nil)
        }
        for service in project.services.values.sorted(by: { $0.name < $1.name }) {
            let at = service.location
            if let image = service.image, !image.isEmpty {
                if let problem = imageProblem(image) {
                    add("R004", "service \(service.name) uses image \(image): \(problem)", at.file, at.line)
                }
            } else {
                add("R003", "service \(service.name) has no image", at.file, at.line)
            }
            if !service.hasHealthcheck {
                add("R005", "service \(service.name) has no healthcheck" + (service.healthcheck?.isDisabled == true ? " (it is disabled)" : ""),
                    at.file, at.line)
            }
            lintBackupLabels(service, volumes: Set(project.volumes.keys), add: add)
            lintRouterTLS(service, add: add)
        }
        if let app = project.services["app"] {
            let traefik = app.deployLabels["traefik.enable"]?.lowercased() == "true"
            if !app.networks.contains("proxy") || !traefik {
                let missing = [app.networks.contains("proxy") ? nil : "is not on the `proxy` network",
                               traefik ? nil : "has no deploy label traefik.enable=true"].compactMap { $0 }
                add("R013", "service app \(missing.joined(separator: " and ")), so Traefik cannot route to it",
                    app.location.file, app.location.line)
            }
        }
    }

    /// Why an image reference is not pinned, or nil when it is.
    static func imageProblem(_ image: String) -> String? {
        if image.contains("@sha256:") { return nil }
        // The tag follows the last ':' after the last '/' (a registry host may carry a port).
        let lastComponent = image.split(separator: "/").last.map(String.init) ?? image
        guard let colon = lastComponent.lastIndex(of: ":") else { return "no tag (it would mean latest)" }
        let tag = lastComponent[lastComponent.index(after: colon)...]
        if tag.isEmpty { return "an empty tag" }
        if tag == "latest" { return "the tag latest moves; pin a version" }
        return nil
    }

    static let knownBackupLabels: Set = ["backupbot.backup", "backupbot.backup.pre-hook", "backupbot.backup.post-hook",
                                         "backupbot.restore.pre-hook", "backupbot.restore.post-hook"]

    static func lintBackupLabels(_ service: ComposeProject.Service, volumes: Set<String>,
                                 add: (String, String, String?, Int?) -> Void) {
        for (key, value) in service.deployLabels.sorted(by: { $0.key < $1.key }) where key.hasPrefix("backupbot.") {
            let at = service.deployLabelLocations[key] ?? service.location
            func problem(_ text: String) { add("R010", "service \(service.name): label \(key) \(text)", at.file, at.line) }
            if key.hasPrefix(BackupLabels.volumePrefix) {
                var volume = String(key.dropFirst(BackupLabels.volumePrefix.count))
                let isPath = volume.hasSuffix(".path")
                if isPath { volume.removeLast(".path".count) }
                if volume.isEmpty {
                    problem("does not name a volume (backupbot.backup.volumes.<volume>[.path])")
                } else if !volumes.contains(volume) && !service.volumes.contains(volume) {
                    problem("names volume \(volume), which the compose files do not declare")
                } else if !service.volumes.contains(volume) {
                    problem("names volume \(volume), which service \(service.name) does not mount (backupbot backs up only a service's own volumes)")
                } else if isPath {
                    if BackupLabels.paths(inLabel: value) == nil {
                        problem("must list paths inside the volume (relative, no ..), comma-separated; it is \"\(value)\"")
                    }
                } else if !["true", "false"].contains(value.lowercased()) {
                    problem("must be true or false; it is \"\(value)\"")
                }
            } else if key == "backupbot.backup.path" {
                problem("is backupbot's old form, which backup-bot-two no longer reads: use backupbot.backup.volumes.<volume>.path")
            } else if !knownBackupLabels.contains(key) {
                problem("is not a backupbot label (known: \(knownBackupLabels.sorted().joined(separator: ", ")), backupbot.backup.volumes.<volume>[.path])")
            } else if key == "backupbot.backup", !["true", "false"].contains(value.lowercased()) {
                problem("must be true or false; it is \"\(value)\"")
            } else if value.trimmingCharacters(in: .whitespaces).isEmpty {
                problem("is empty")
            }
        }
        if service.deployLabels["backupbot.backup"]?.lowercased() == "true", BackupLabels.selections(service).isEmpty {
            let at = service.deployLabelLocations["backupbot.backup"] ?? service.location
            add("R010", "service \(service.name): backupbot.backup=true, but it mounts no named volume to back up (or every one is labelled false)",
                at.file, at.line)
        }
    }

    /// Apps are reached only through Traefik's `web-secure` entrypoint (443): a router there without
    /// TLS matches no HTTPS request, so the app is unreachable though it deploys and turns healthy.
    static func lintRouterTLS(_ service: ComposeProject.Service, add: (String, String, String?, Int?) -> Void) {
        let routers = "traefik.http.routers.", entrypoints = ".entrypoints"
        for (key, value) in service.deployLabels.sorted(by: { $0.key < $1.key })
        where key.hasPrefix(routers) && key.hasSuffix(entrypoints) && key.count > routers.count + entrypoints.count {
            let router = String(key.dropFirst(routers.count).dropLast(entrypoints.count))
            guard !router.contains("."),
                  value.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == "web-secure" })
            else { continue }
            let tls = routers + router + ".tls"
            let fix = "add \(tls).certresolver=${LETS_ENCRYPT_ENV} (or \(tls)=true)"
            // Any tls.* label (certresolver, domains, options) gives the router TLS; tls=false takes it away.
            let turnedOff = service.deployLabels[tls]?.lowercased() == "false"
            if turnedOff || (service.deployLabels[tls] == nil && !service.deployLabels.keys.contains { $0.hasPrefix(tls + ".") }) {
                let at = service.deployLabelLocations[turnedOff ? tls : key] ?? service.location
                add("R015", "service \(service.name): router \(router) is on web-secure " + (turnedOff ? "with \(tls)=false" : "without TLS")
                    + ", so Traefik matches no HTTPS request for it; \(turnedOff ? "remove it and " : "")\(fix)", at.file, at.line)
            }
        }
    }

    static func lintNames(_ project: ComposeProject, recipe: String, add: (String, String, String?, Int?) -> Void) {
        let objects: [StackObject]
        do throws(RecipeError) {
            objects = try AppNaming.objects(in: project)
        } catch {
            // Names that cannot be computed cannot be shown to fit.
            add("R008", "\(error)", error.place.file, error.place.line)
            return
        }
        guard let longest = AppNaming.longestObjectName(in: objects) else { return }
        do {
            let domain = try TestDomain.make(recipe: recipe, runID: "lint", baseDomain: testBaseDomain, longestObjectName: longest)
            let stack = AppNaming.stackName(forDomain: domain)
            for object in objects where !object.fitsLimit(inStack: stack) {
                add("R008", "\(object.kind.rawValue) \(object.key) would be named \(object.name(inStack: stack)), longer than \(AppNaming.maximumObjectNameLength) characters",
                    object.location.file, object.location.line)
            }
        } catch {
            let location = objects.first { $0.nameAfterStack == longest }?.location
            add("R008", "\(error)", location?.file, location?.line)
        }
        let room = AppNaming.maximumObjectNameLength - 1 - AppNaming.maximumStackNameLength
        for object in objects {
            if let name = object.nameAfterStack, name.count > room {
                add("R009", "\(object.kind.rawValue) name \(name) is \(name.count) characters: on a domain longer than \(AppNaming.maximumObjectNameLength - 1 - name.count) characters it exceeds Docker's limit",
                    object.location.file, object.location.line)
            }
        }
    }

    public static func relative(_ path: String, to directory: String) -> String {
        let base = URL(fileURLWithPath: directory).standardizedFileURL.path + "/"
        let full = URL(fileURLWithPath: path).standardizedFileURL.path
        return full.hasPrefix(base) ? String(full.dropFirst(base.count)) : path
    }
}

extension RecipeError {
    /// The file and line the error is about, where it has them.
    var place: (file: String?, line: Int?) {
        switch self {
        case .missingFile(let path), .missingEnvSample(let path): return (path, nil)
        case .unreadable(let file, _), .outsideCheckout(let file, _): return (file, nil)
        case .malformedEnvLine(let file, let line, _), .unterminatedQuote(let file, let line, _),
             .textAfterQuote(let file, let line, _), .invalidModifier(let file, let line, _, _, _, _),
             .unterminatedMetadata(let file, let line), .abraUnreadableExport(let file, let line, _):
            return (file, line)
        case .missingComposeFile(let directory, let file, _): return ((directory as NSString).appendingPathComponent(file), nil)
        case .malformedYAML(let file, let line, _), .composeNotAMapping(let file, let line),
             .wrongType(let file, let line, _, _), .duplicateKey(let file, let line, _, _),
             .invalidInterpolation(let file, let line, _), .requiredVariableUnset(let file, let line, _, _):
            return (file, line)
        case .uninterpolatableObjectName(let file, let line, _, _, _, _): return (file, line)
        case .composeWithoutServices(let file): return (file, nil)
        case .invalidBaseDomain, .testDomainImpossible: return (nil, nil)
        }
    }
}
