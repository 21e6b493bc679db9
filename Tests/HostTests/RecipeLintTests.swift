import Foundation
@testable import HostBase
import Testing

/// A recipe shaped like a real one that passes every lint rule; each test breaks one thing.
final class LintFixture {
    let git: GitFixture
    var path: String { git.path }

    static let compose = """
        version: "3.8"
        services:
          app:
            image: nginx:1.25.3
            networks: [proxy, internal]
            environment:
              - DOMAIN
            secrets: [db_password]
            configs:
              - source: nginx_conf
                target: /etc/nginx/nginx.conf
            volumes:
              - content:/usr/share/nginx/html
            healthcheck:
              test: ["CMD", "wget", "-q", "-O-", "http://localhost"]
              interval: 10s
            deploy:
              labels:
                - "traefik.enable=true"
                - "traefik.http.routers.${STACK_NAME}.rule=Host(`${DOMAIN}`)"
                - "coop-cloud.${STACK_NAME}.version=1.0.0+1.25.3"
                - "backupbot.backup=true"
                - "backupbot.backup.volumes.content.path=html"
          db:
            image: postgres:16.1
            networks: [internal]
            secrets: [db_password]
            volumes: [data:/var/lib/postgresql/data]
            healthcheck: {test: ["CMD", "pg_isready"], interval: 10s}
        networks:
          proxy: {external: true}
          internal:
        volumes:
          content:
          data:
        secrets:
          db_password:
            external: true
            name: ${STACK_NAME}_db_password_${SECRET_DB_PASSWORD_VERSION}
        configs:
          nginx_conf:
            name: ${STACK_NAME}_nginx_conf_${NGINX_CONF_VERSION}
            file: nginx.conf

        """
    static let envSample = """
        TYPE=lintme
        DOMAIN=lintme.example.com
        LETS_ENCRYPT_ENV=production
        SECRET_DB_PASSWORD_VERSION=v1 # length=32

        """
    static let readme = """
        # lintme

        <!-- metadata -->
        * **Category**: Apps
        * **Status**: 3, stable
        * **Healthcheck**: Yes
        * **Backups**: Yes
        <!-- endmetadata -->

        """

    /// `edits` replace text in a file (path → [(old, new)]); `tag` nil means no release tag.
    init(edits: [String: [(String, String)]] = [:], tag: (name: String, annotated: Bool)? = ("1.0.0+1.25.3", true)) throws {
        git = try GitFixture("lintme")
        var files = ["compose.yml": Self.compose, ".env.sample": Self.envSample, "README.md": Self.readme,
                     "abra.sh": "export NGINX_CONF_VERSION=v1\n", "nginx.conf": "events {}\n"]
        for (file, replacements) in edits {
            for (old, new) in replacements {
                if old.isEmpty { files[file] = new; continue }
                let before = files[file] ?? ""
                files[file] = before.replacingOccurrences(of: old, with: new)
                if files[file] == before { throw GitFixtureError(description: "edit of \(file) did not apply: \(old)") }
            }
        }
        for (file, content) in files.sorted(by: { $0.key < $1.key }) where !content.isEmpty {
            try git.commit(content, file: file)
        }
        if let tag {
            if tag.annotated { try git.annotatedTag(tag.name) } else { try git.lightweightTag(tag.name) }
        }
    }

    /// Edits that put the app's router on `entrypoints`, followed by `more` router labels (tls, …).
    static func router(entrypoints: String, _ more: [String] = []) -> [String: [(String, String)]] {
        let enable = "        - \"traefik.enable=true\"\n"
        let labels = (["entrypoints=" + entrypoints] + more).map { "        - \"traefik.http.routers.${STACK_NAME}.\($0)\"\n" }
        return ["compose.yml": [(enable, enable + labels.joined())]]
    }

    func lint() throws -> LintReport { RecipeLint.lint(directory: path, tags: try GitRepository.open(path).tags()) }
}

@Suite("RecipeLint rules")
struct RecipeLintTests {
    @Test("a recipe shaped like a real one satisfies every rule")
    func cleanRecipe() throws {
        let report = try LintFixture().lint()
        #expect(report.findings == [], "\(report.findings.map { "\($0.code) \($0.location ?? "") \($0.message)" })")
        #expect(report.satisfied.count == RecipeLint.rules.count)
    }

    struct Breakage: Sendable, CustomTestStringConvertible {
        var label: String
        var edits: [String: [(String, String)]]
        var tag: (name: String, annotated: Bool)? = ("1.0.0+1.25.3", true)
        var code: String
        var location: String?
        var mentions: String
        var testDescription: String { "\(code): \(label)" }
    }

    @Test("each rule fires on its own breakage, with its location", arguments: [
        Breakage(label: "malformed YAML", edits: ["compose.yml": [("    image: postgres:16.1\n", "    image: [postgres\n")]],
                 code: "R001", location: "compose.yml:26", mentions: "malformed YAML"),
        Breakage(label: "a COMPOSE_FILE overlay that does not exist",
                 edits: [".env.sample": [("LETS_ENCRYPT_ENV=production\n", "LETS_ENCRYPT_ENV=production\nCOMPOSE_FILE=\"compose.yml:compose.smtp.yml\"\n")]],
                 code: "R001", location: "compose.smtp.yml", mentions: "no compose.smtp.yml"),
        Breakage(label: "no app service", edits: ["compose.yml": [("  app:\n", "  web:\n")]],
                 code: "R002", location: "compose.yml", mentions: "no service is called `app`"),
        Breakage(label: "a service without an image", edits: ["compose.yml": [("    image: postgres:16.1\n", "")]],
                 code: "R003", location: "compose.yml:24", mentions: "service db has no image"),
        Breakage(label: "an untagged image", edits: ["compose.yml": [("postgres:16.1", "postgres")]],
                 code: "R004", location: "compose.yml:24", mentions: "no tag"),
        Breakage(label: "a latest image", edits: ["compose.yml": [("nginx:1.25.3", "registry.example:5000/nginx:latest")]],
                 code: "R004", location: "compose.yml:3", mentions: "the tag latest moves"),
        Breakage(label: "a service without a healthcheck",
                 edits: ["compose.yml": [("    healthcheck: {test: [\"CMD\", \"pg_isready\"], interval: 10s}\n", "")]],
                 code: "R005", location: "compose.yml:24", mentions: "service db has no healthcheck"),
        Breakage(label: "a disabled healthcheck",
                 edits: ["compose.yml": [("{test: [\"CMD\", \"pg_isready\"], interval: 10s}", "{disable: true}")]],
                 code: "R005", location: "compose.yml:24", mentions: "(it is disabled)"),
        Breakage(label: "no .env.sample", edits: [".env.sample": [("", "")]],
                 code: "R006", location: ".env.sample", mentions: "env.sample"),
        Breakage(label: "a broken .env.sample line", edits: [".env.sample": [("LETS_ENCRYPT_ENV=production\n", "LETS ENCRYPT=production\n")]],
                 code: "R006", location: ".env.sample:3", mentions: "not KEY=VALUE"),
        Breakage(label: "a lightweight release tag", edits: [:], tag: ("1.0.0+1.25.3", false),
                 code: "R007", location: nil, mentions: "1.0.0+1.25.3 is a lightweight tag"),
        Breakage(label: "a secret name that fits no domain",
                 edits: ["compose.yml": [("_db_password_", "_a_secret_whose_name_is_far_too_long_for_any_stack_to_hold_")]],
                 code: "R008", location: "compose.yml:37", mentions: "no test domain"),
        Breakage(label: "a secret name that fits only short domains",
                 edits: ["compose.yml": [("_db_password_", "_oauth_client_secret_key_")]],
                 code: "R009", location: "compose.yml:37", mentions: "oauth_client_secret_key_v1 is 26 characters"),
        Breakage(label: "backupbot.backup that is not a boolean", edits: ["compose.yml": [("backupbot.backup=true", "backupbot.backup=yes")]],
                 code: "R010", location: "compose.yml:22", mentions: "must be true or false"),
        Breakage(label: "a backup path for an undeclared volume",
                 edits: ["compose.yml": [("backupbot.backup.volumes.content.path", "backupbot.backup.volumes.media.path")]],
                 code: "R010", location: "compose.yml:23", mentions: "names volume media"),
        Breakage(label: "an absolute backup path", edits: ["compose.yml": [("content.path=html", "content.path=/var/www")]],
                 code: "R010", location: "compose.yml:23", mentions: "relative, no .."),
        Breakage(label: "a backup path for a volume of another service",
                 edits: ["compose.yml": [("backupbot.backup.volumes.content.path", "backupbot.backup.volumes.data.path")]],
                 code: "R010", location: "compose.yml:23", mentions: "which service app does not mount"),
        Breakage(label: "an empty entry among comma-separated backup paths", edits: ["compose.yml": [("content.path=html", "content.path=html,,db.sql")]],
                 code: "R010", location: "compose.yml:23", mentions: "relative, no .."),
        Breakage(label: "backupbot's old path label, which backup-bot-two ignores",
                 edits: ["compose.yml": [("backupbot.backup.volumes.content.path=html", "backupbot.backup.path=/usr/share/nginx/html")]],
                 code: "R010", location: "compose.yml:23", mentions: "use backupbot.backup.volumes.<volume>.path"),
        Breakage(label: "a backed-up service with nothing to back up",
                 edits: ["compose.yml": [("backupbot.backup.volumes.content.path=html", "backupbot.backup.volumes.content=false")]],
                 code: "R010", location: "compose.yml:22", mentions: "mounts no named volume to back up"),
        Breakage(label: "an unknown backupbot label", edits: ["compose.yml": [("backupbot.backup=true", "backupbot.bakup=true")]],
                 code: "R010", location: "compose.yml:22", mentions: "is not a backupbot label"),
        Breakage(label: "a README without metadata", edits: ["README.md": [("<!-- metadata -->", "")]],
                 code: "R011", location: "README.md", mentions: "no <!-- metadata -->"),
        Breakage(label: "no release yet", edits: [:], tag: nil, code: "R012", location: nil, mentions: "no release tag"),
        Breakage(label: "an app off the proxy network", edits: ["compose.yml": [("networks: [proxy, internal]", "networks: [internal]")]],
                 code: "R013", location: "compose.yml:3", mentions: "is not on the `proxy` network"),
        Breakage(label: "a variable nobody sets", edits: ["compose.yml": [("version=1.0.0+1.25.3", "version=${RECIPE_VERSION}")]],
                 code: "R014", location: "compose.yml:21", mentions: "RECIPE_VERSION is used"),
        Breakage(label: "a router on web-secure without TLS", edits: LintFixture.router(entrypoints: "web-secure"),
                 code: "R015", location: "compose.yml:20",
                 mentions: "service app: router lint_example is on web-secure without TLS, so Traefik matches no HTTPS request for it; add traefik.http.routers.lint_example.tls.certresolver=${LETS_ENCRYPT_ENV}"),
        Breakage(label: "a router with TLS turned off", edits: LintFixture.router(entrypoints: "web-secure", ["tls=false"]),
                 code: "R015", location: "compose.yml:21", mentions: "router lint_example is on web-secure with traefik.http.routers.lint_example.tls=false"),
        Breakage(label: "a router of another service, on web and web-secure, without TLS",
                 edits: ["compose.yml": [("interval: 10s}\n", "interval: 10s}\n    deploy:\n      labels: [\"traefik.http.routers.adminer.entrypoints=web, web-secure\"]\n")]],
                 code: "R015", location: "compose.yml:31", mentions: "service db: router adminer is on web-secure without TLS"),
        Breakage(label: "the docker socket mounted", edits: ["compose.yml": [("- content:/usr/share/nginx/html", "- /var/run/docker.sock:/var/run/docker.sock")]],
                 code: "R016", location: "compose.yml:13", mentions: "service app bind-mounts the docker socket /var/run/docker.sock"),
        Breakage(label: "the host's network", edits: ["compose.yml": [("internal:\n", "internal:\n  hostnet: {external: true, name: host}\n")]],
                 code: "R017", location: "compose.yml:33", mentions: "network hostnet is the host's network"),
        Breakage(label: "an option swarm ignores", edits: ["compose.yml": [("image: postgres:16.1", "image: postgres:16.1\n    privileged: true")]],
                 code: "R018", location: "compose.yml:26", mentions: "service db asks for privileged: true (docker stack deploy ignores it)"),
        Breakage(label: "a config file outside the checkout", edits: ["compose.yml": [("file: nginx.conf", "file: /etc/passwd")]],
                 code: "R019", location: "compose.yml:43", mentions: "config nginx_conf ships file /etc/passwd, which is outside the recipe's checkout"),
        Breakage(label: "a compose file outside the checkout", edits: [".env.sample": [("LETS_ENCRYPT_ENV=production", "LETS_ENCRYPT_ENV=production\nCOMPOSE_FILE=compose.yml:../other/compose.yml")]],
                 code: "R019", location: ".env.sample:4", mentions: "COMPOSE_FILE names ../other/compose.yml, which is outside the recipe's checkout (it leads out through ..)"),
        Breakage(label: "an external network of someone else", edits: ["compose.yml": [("proxy: {external: true}", "proxy: {external: true}\n  ops: {external: true}")]],
                 code: "R020", location: "compose.yml:32", mentions: "network ops is external and not the app's own"),
        Breakage(label: "too many replicas", edits: ["compose.yml": [("interval: 10s}\n", "interval: 10s}\n    deploy: {replicas: 11}\n")]],
                 code: "R021", location: "compose.yml:30", mentions: "service db asks for 11 replicas, more than the 10 allowed"),
        Breakage(label: "more tasks than the default ceiling", edits: ["compose.yml": [("interval: 10s}\n", "interval: 10s}\n    deploy: {replicas: 60}\n")]],
                 code: "R023", location: "compose.yml:30",
                 mentions: "the app asks for 61 tasks (2 services, the most 60 replicas for service db), more than the 50 allowed (ceilings.tasks)"),
        Breakage(label: "a quoted abra.sh export", edits: ["abra.sh": [("export NGINX_CONF_VERSION=v1", "export NGINX_CONF_VERSION=\"v1\"")]],
                 code: "R022", location: "abra.sh:1", mentions: "abra reads nothing here, a shell NGINX_CONF_VERSION=v1"),
        Breakage(label: "a comment after an abra.sh export", edits: ["abra.sh": [("export NGINX_CONF_VERSION=v1", "export NGINX_CONF_VERSION=v1 # bumped")]],
                 code: "R022", location: "abra.sh:1", mentions: "abra reads NGINX_CONF_VERSION=v1 # bumped here, a shell NGINX_CONF_VERSION=v1"),
    ])
    func ruleFires(_ breakage: Breakage) throws {
        let report = try LintFixture(edits: breakage.edits, tag: breakage.tag).lint()
        let finding = try #require(report.findings.first { $0.code == breakage.code },
                                   "\(breakage.code) did not fire: \(report.findings.map { "\($0.code) \($0.message)" })")
        #expect(finding.severity == RecipeLint.rules.first { $0.code == breakage.code }?.severity)
        if let location = breakage.location { #expect(finding.location == location, "\(finding)") }
        #expect(finding.message.contains(breakage.mentions), "\(finding.message)")
        #expect(!report.satisfied.contains { $0.code == breakage.code })
    }

    @Test("a router has TLS through any tls label, and a router off web-secure needs none", arguments: [
        ("web-secure", ["tls.certresolver=${LETS_ENCRYPT_ENV}"]), ("web-secure", ["tls=true"]),
        ("web-secure", ["tls.domains[0].main=${DOMAIN}"]), ("web", []),
    ])
    func routerWithTLS(entrypoints: String, tls: [String]) throws {
        let report = try LintFixture(edits: LintFixture.router(entrypoints: entrypoints, tls)).lint()
        #expect(report.findings == [], "\(report.findings.map { "\($0.code) \($0.location ?? "") \($0.message)" })")
    }

    @Test("an unterminated metadata block is an error, not a missing block")
    func unterminatedMetadata() throws {
        let report = try LintFixture(edits: ["README.md": [("<!-- endmetadata -->", "")]]).lint()
        let finding = try #require(report.findings.first { $0.code == "R011" })
        #expect(finding.severity == .error)
        #expect(finding.location == "README.md:3")
        #expect(report.hasErrors)
    }

    @Test("lint keeps going: broken compose, README and tags are all reported together")
    func reportsEverything() throws {
        let report = try LintFixture(edits: ["compose.yml": [("services:", "services: [")], "README.md": [("<!-- metadata -->", "")]],
                                     tag: ("1.0.0+1.25.3", false)).lint()
        #expect(Set(report.findings.map(\.code)).isSuperset(of: ["R001", "R007", "R011"]))
    }

    @Test("image references: tags, digests, registries with ports", arguments: [
        ("nginx:1.25", nil), ("nginx@sha256:abc", nil), ("registry:5000/team/app:2.0", nil),
        ("nginx", "no tag (it would mean latest)"), ("registry:5000/team/app", "no tag (it would mean latest)"),
        ("nginx:latest", "the tag latest moves; pin a version"), ("nginx:", "an empty tag"),
    ] as [(String, String?)])
    func imageReferences(image: String, problem: String?) {
        #expect(RecipeLint.imageProblem(image) == problem)
    }
}

/// The backup labels as lint and the backup both read them (one reading, `BackupLabels`).
@Suite("Backup labels")
struct BackupLabelTests {
    static func service(_ labels: [String: String], volumes: [String] = ["data", "cache", "uploads"]) -> ComposeProject.Service {
        var service = ComposeProject.Service(name: "app", location: .init(file: "compose.yml", line: 1))
        service.deployLabels = labels
        service.volumes = volumes
        return service
    }

    @Test("every volume of the service, whole, unless labelled false; a path label selects its comma-separated paths")
    func selections() {
        let selections = BackupLabels.selections(Self.service([
            "backupbot.backup": "true",
            "backupbot.backup.volumes.cache": "false",
            "backupbot.backup.volumes.data.path": " backup.sql, ./conf.d/ ,media",
        ]))
        #expect(selections == [.init(volume: "data", paths: ["backup.sql", "conf.d", "media"]), .init(volume: "uploads", paths: ["."])])
        #expect(BackupLabels.paths(inLabel: "data, ./data/,-rf") == ["data", "-rf"])
    }

    @Test("path labels that leave the volume or hold an empty entry read as nothing", arguments: ["/etc", "a,,b", "../x", "a/../../b", "", " , ", "a\nb"])
    func badPaths(label: String) {
        #expect(BackupLabels.paths(inLabel: label) == nil)
    }
}
