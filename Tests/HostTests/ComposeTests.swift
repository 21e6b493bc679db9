import Foundation
@testable import HostBase
import Testing


private let file = "/r/compose.yml"

private func project(_ yaml: String, environment: [String: String] = [:]) throws -> ComposeProject {
    try ComposeProject(files: [(file, yaml)], environment: environment)
}

/// The error `body` throws, as a `RecipeError`.
private func recipeError(_ body: () throws -> Void) -> RecipeError? {
    do {
        try body()
        return nil
    } catch {
        return error as? RecipeError
    }
}

/// A folder with the given files, removed after `body`.
private func withRecipeFolder<T>(_ files: [String: String], _ body: (String) throws -> T) throws -> T {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("cchost-compose-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(at: directory) }
    for (name, text) in files {
        try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }
    return try body(directory.path)
}

private let base = """
    version: "3.8"
    services:
      app:
        image: nginx:1.25
        networks:
          - proxy
        environment:
          - MODE=base
          - KEEP=yes
        secrets:
          - db_password
        deploy:
          labels:
            - "traefik.enable=true"
            - "traefik.http.routers.app.rule=Host(`example.com`)"
    secrets:
      db_password:
        external: true
        name: app_db_password_v1
    networks:
      proxy:
        external: true
    """

private let smtpOverlay = """
    version: "3.8"
    services:
      app:
        image: nginx:1.26
        environment:
          MODE: smtp
          SMTP_HOST: mail.example.com
        secrets:
          - db_password
          - smtp_password
        deploy:
          labels:
            traefik.http.routers.app.rule: Host(`smtp.example.com`)
            smtp.enabled: "true"
      mailer:
        image: mailer:1
    secrets:
      smtp_password:
        external: true
        name: app_smtp_password_v1
    """

@Suite("Compose files")
struct ComposeTests {
    @Test("Services, images and definitions are read with their file and line")
    func locations() throws {
        let compose = try project(base)
        let app = try #require(compose.services["app"])
        #expect(app.image == "nginx:1.25")
        #expect(app.location == .init(file: file, line: 3))
        #expect(compose.secrets["db_password"] == ComposeProject.Definition(
            key: "db_password", name: "app_db_password_v1", external: true, location: .init(file: file, line: 17)))
        #expect(compose.networks["proxy"]?.location == .init(file: file, line: 21))
        #expect(compose.networks["proxy"]?.external == true)
        #expect(compose.files == [file])
    }

    @Test("Malformed YAML is an error with the file and the line the parser points at", arguments: [
        ("services:\n  app:\n    image: [unclosed\n", 4),
        ("services:\n  app:\n\timage: tab\n", 3),
        ("services:\n  app: {image: x\n", 3),
        ("services:\n  - a\n  b: c\n", 3),
    ])
    func malformed(yaml: String, line: Int) {
        let error = recipeError { _ = try project(yaml) }
        guard case let .malformedYAML(errorFile, errorLine, _) = error else {
            Issue.record("expected malformed YAML, got \(String(describing: error))")
            return
        }
        #expect(errorFile == file)
        #expect(errorLine == line)
        #expect(error?.description.hasPrefix("\(file):\(line): malformed YAML: ") == true)
    }

    @Test("A compose file that is not a mapping is an error naming it", arguments: [
        ("- services\n", 1 as Int?), ("just text\n", 1), ("", nil), ("# only a comment\n", nil),
    ])
    func notAMapping(yaml: String, line: Int?) {
        #expect(recipeError { _ = try project(yaml) } == .composeNotAMapping(file: file, line: line))
    }

    @Test("A compose file without services is an error naming it", arguments: [
        "version: \"3.8\"\nvolumes:\n  data:\n", "services:\n",
    ])
    func withoutServices(yaml: String) {
        let error = recipeError { _ = try project(yaml) }
        #expect(error == .composeWithoutServices(file: file))
        #expect(error?.description == "/r/compose.yml: the compose file has no 'services' section")
    }

    @Test("Sections of the wrong shape are errors with the line", arguments: [
        ("services: [app]\n", 1, "services"),
        ("services:\n  app: nginx\n", 2, "services.app"),
        ("services:\n  app:\n    deploy:\n      labels: yes\n", 4, "services.app.deploy.labels"),
        ("services:\n  app:\n    secrets: db\n", 3, "services.app.secrets"),
        ("services:\n  app:\n    image: [a, b]\n", 3, "services.app.image"),
        ("services:\n  app: {}\nsecrets:\n  db: v1\n", 4, "secrets.db"),
        ("services:\n  app: {}\nnetworks:\n  proxy:\n    external: maybe\n", 5, "networks.proxy.external"),
        ("services:\n  app:\n    healthcheck:\n      disable: sometimes\n", 4, "services.app.healthcheck.disable"),
    ])
    func wrongShapes(yaml: String, line: Int, key: String) {
        let error = recipeError { _ = try project(yaml) }
        guard case let .wrongType(errorFile, errorLine, errorKey, _) = error else {
            Issue.record("expected a wrong type, got \(String(describing: error))")
            return
        }
        #expect(errorFile == file)
        #expect(errorLine == line)
        #expect(errorKey == key)
    }

    @Test("A key given twice is an error with both lines")
    func duplicateKey() {
        let error = recipeError { _ = try project("services:\n  app:\n    image: a\n  app:\n    image: b\n") }
        #expect(error == .duplicateKey(file: file, line: 4, key: "services.app", firstLine: 2))
        #expect(error?.description == "/r/compose.yml:4: services.app is set twice (first on line 2)")
    }

    @Test("YAML merge keys apply, and explicit keys win over merged ones")
    func mergeKeys() throws {
        let compose = try project("""
            x-defaults: &defaults
              image: base:1
              networks: [internal]
              healthcheck:
                test: ["CMD", "true"]
            services:
              app:
                <<: *defaults
                image: app:2
              worker:
                <<: [*defaults]
            """)
        #expect(compose.services["app"]?.image == "app:2")
        #expect(compose.services["app"]?.networks == ["internal"])
        #expect(compose.services["worker"]?.image == "base:1")
        #expect(compose.services["worker"]?.hasHealthcheck == true)
    }

    @Test("Deploy labels are read from the list form and the map form, each with its line")
    func labelForms() throws {
        let compose = try project("""
            services:
              listed:
                deploy:
                  labels:
                    - "traefik.enable=true"
                    - "traefik.http.routers.listed.rule=Host(`a.example.com`) && Path(`/x=y`)"
                    - backupbot.backup
              mapped:
                deploy:
                  labels:
                    traefik.enable: true
                    traefik.http.services.mapped.loadbalancer.server.port: 8080
                    backupbot.backup.path: "/data"
                    empty:
            """)
        let listed = try #require(compose.services["listed"])
        #expect(listed.deployLabels == [
            "traefik.enable": "true",
            "traefik.http.routers.listed.rule": "Host(`a.example.com`) && Path(`/x=y`)",
            "backupbot.backup": "",
        ])
        #expect(listed.deployLabelLocations["traefik.enable"] == .init(file: file, line: 5))
        #expect(listed.deployLabelLocations["backupbot.backup"] == .init(file: file, line: 7))
        let mapped = try #require(compose.services["mapped"])
        #expect(mapped.deployLabels == [
            "traefik.enable": "true",
            "traefik.http.services.mapped.loadbalancer.server.port": "8080",
            "backupbot.backup.path": "/data",
            "empty": "",
        ])
        #expect(mapped.deployLabelLocations["backupbot.backup.path"] == .init(file: file, line: 13))
    }

    @Test("Healthchecks count unless disabled or absent", arguments: [
        ("healthcheck:\n      test: [\"CMD\", \"curl\", \"-f\", \"http://localhost\"]", true),
        ("healthcheck:\n      test: curl -f http://localhost", true),
        ("healthcheck:\n      interval: 30s", true),
        ("healthcheck:\n      disable: true", false),
        ("healthcheck:\n      test: [\"CMD\", \"true\"]\n      disable: true", false),
        ("healthcheck:\n      test: [\"NONE\"]", false),
        ("healthcheck:\n      test: [NONE]\n      interval: 1s", false),
        ("healthcheck:", false),
        ("image: no-healthcheck", false),
    ])
    func healthchecks(snippet: String, expected: Bool) throws {
        let compose = try project("services:\n  app:\n    \(snippet)\n")
        #expect(compose.services["app"]?.hasHealthcheck == expected)
    }

    @Test("A string test is a CMD-SHELL test")
    func shellTest() throws {
        let compose = try project("services:\n  app:\n    healthcheck:\n      test: curl -f http://localhost\n")
        #expect(compose.services["app"]?.healthcheck?.test == ["CMD-SHELL", "curl -f http://localhost"])
    }

    @Test("An overlay can disable a healthcheck the base declares, or add one")
    func overlayHealthcheck() throws {
        let withTest = "services:\n  app:\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n  db:\n    image: db\n"
        let overlay = "services:\n  app:\n    healthcheck:\n      disable: true\n  db:\n    healthcheck:\n      test: [\"CMD\", \"ready\"]\n"
        let compose = try ComposeProject(files: [("/r/a.yml", withTest), ("/r/b.yml", overlay)], environment: [:])
        #expect(compose.services["app"]?.hasHealthcheck == false)
        #expect(compose.services["app"]?.healthcheck == .init(test: ["CMD", "true"], disable: true))
        #expect(compose.services["db"]?.hasHealthcheck == true)
    }

    @Test("Service secrets, configs, named volumes and networks are read in both syntaxes")
    func serviceReferences() throws {
        let compose = try project("""
            services:
              app:
                secrets:
                  - db_password
                  - source: smtp_password
                    target: smtp
                configs:
                  - source: entrypoint_conf
                    target: /entrypoint.sh
                  - nginx_conf
                volumes:
                  - content:/var/www/html
                  - /var/run/docker.sock:/var/run/docker.sock:ro
                  - ./local:/local
                  - /anonymous
                  - type: volume
                    source: uploads
                    target: /uploads
                  - type: bind
                    source: /srv
                    target: /srv
                  - type: tmpfs
                    target: /tmp
                networks:
                  - proxy
                  - internal
              db:
                networks:
                  internal:
                    aliases: [database]
                  backup:
            """)
        let app = try #require(compose.services["app"])
        #expect(app.secrets == ["db_password", "smtp_password"])
        #expect(app.configs == ["entrypoint_conf", "nginx_conf"])
        #expect(app.volumes == ["content", "uploads"])
        #expect(app.networks == ["proxy", "internal"])
        #expect(compose.services["db"]?.networks == ["internal", "backup"])
    }

    @Test("A short-syntax mount is split as docker's loader splits it, and what docker refuses is an error with its line", arguments: [
        ("db:/data:ro", ComposeModelReader.ShortMount.mount(source: "db")),
        ("/data", .mount(source: nil)),
        ("ab", .mount(source: nil)),
        ("c:/x:/h", .mount(source: "c:/x")),
        ("a:/data", .mount(source: nil)),
        (":/h", .refused("has an empty section between colons")),
        ("db::/data", .refused("has an empty section between colons")),
        ("db:/data:", .refused("has an empty section between colons")),
        ("db:/data:ro:x", .refused("has too many colons")),
    ])
    func shortMounts(spec: String, expected: ComposeModelReader.ShortMount) throws {
        #expect(ComposeModelReader.shortMount(spec) == expected)
        let yaml = "services:\n  app:\n    volumes:\n      - content:/www\n      - \"$MOUNT\"\n"
        let error = recipeError { _ = try project(yaml, environment: ["MOUNT": spec]) }
        guard case .refused(let problem) = expected else { return #expect(error == nil) }
        #expect(error?.description == "/r/compose.yml:5: services.app.volumes must be a list of mounts docker can read: "
                + "\"\(spec)\" (written $MOUNT) \(problem), which docker refuses")
    }

    @Test("A short-syntax mount's target, which files merge by, is split the same way", arguments: [
        ("db:/data:ro", "/data"), ("/data", "/data"), ("ab", "ab"), ("c:/x:/h", "/h"), ("a:/data", "a:/data"), ("./d:/d", "/d"),
    ])
    func shortTargets(spec: String, target: String) {
        #expect(ComposeModelReader.shortTarget(spec) == target)
    }

    @Test("A drive-letter or pipe source is a host path, as docker reads it", arguments: ["c:/x:/h", "c:x:/h", "\\\\.\\pipe\\p:/p", "./a:/a"])
    func bindSources(spec: String) throws {
        #expect(try project("services:\n  app:\n    volumes:\n      - '\(spec)'\n").services["app"]?.mounts.map(\.type) == ["bind"])
    }

    @Test("Environment is read in the map and list forms; a bare name comes from the app's environment")
    func environment() throws {
        let compose = try project("""
            services:
              listed:
                environment:
                  - A=1
                  - B=two=2
                  - FROM_APP
                  - NOT_IN_APP
              mapped:
                environment:
                  A: 1
                  FROM_APP:
                  QUOTED: "x y"
            """, environment: ["FROM_APP": "passed"])
        #expect(compose.services["listed"]?.environment == ["A": "1", "B": "two=2", "FROM_APP": "passed"])
        #expect(compose.services["mapped"]?.environment == ["A": "1", "FROM_APP": "passed", "QUOTED": "x y"])
    }

    @Test("Top-level definitions: empty, external, legacy external names, files, interpolated names")
    func definitions() throws {
        let compose = try project("""
            services:
              app: {}
            volumes:
              content:
              mariadb: {}
            configs:
              entrypoint_conf:
                name: ${STACK_NAME}_entrypoint_${APP_ENTRYPOINT_VERSION}
                file: entrypoint.sh.tmpl
                template_driver: golang
            secrets:
              legacy:
                external:
                  name: shared_legacy
            networks:
              proxy:
                external: true
              internal:
                external: false
            """, environment: ["STACK_NAME": "app_example_com", "APP_ENTRYPOINT_VERSION": "v3"])
        #expect(compose.volumes["content"] == .init(key: "content", location: .init(file: file, line: 4)))
        #expect(compose.volumes["mariadb"] == .init(key: "mariadb", location: .init(file: file, line: 5)))
        let config = try #require(compose.configs["entrypoint_conf"])
        #expect(config.name == "app_example_com_entrypoint_v3")
        #expect(config.rawName == "${STACK_NAME}_entrypoint_${APP_ENTRYPOINT_VERSION}")
        #expect(config.file == "entrypoint.sh.tmpl")
        #expect(config.external == false)
        #expect(compose.secrets["legacy"]?.external == true)
        #expect(compose.secrets["legacy"]?.name == "shared_legacy")
        #expect(compose.networks["proxy"]?.external == true)
        #expect(compose.networks["internal"]?.external == false)
    }

    // MARK: COMPOSE_FILE and merging

    @Test("COMPOSE_FILE is split on colons and defaults to compose.yml", arguments: [
        (nil, ["compose.yml"]),
        ("", ["compose.yml"]),
        ("compose.yml", ["compose.yml"]),
        ("compose.yml:compose.smtp.yml", ["compose.yml", "compose.smtp.yml"]),
        (" compose.yml : compose.smtp.yml ", ["compose.yml", "compose.smtp.yml"]),
        ("compose.yml::compose.smtp.yml:", ["compose.yml", "compose.smtp.yml"]),
    ] as [(String?, [String])])
    func fileNames(value: String?, expected: [String]) {
        let environment = value.map { ["COMPOSE_FILE": $0] } ?? [:]
        #expect(ComposeProject.fileNames(environment: environment) == expected)
    }

    @Test("The COMPOSE_FILE chain is read from the recipe folder in order")
    func chain() throws {
        try withRecipeFolder(["compose.yml": base, "compose.smtp.yml": smtpOverlay]) { directory in
            let plain = try ComposeProject.load(directory: directory, environment: [:])
            #expect(plain.files == [directory + "/compose.yml"])
            #expect(plain.services.keys.sorted() == ["app"])

            let chained = try ComposeProject.load(
                directory: directory, environment: ["COMPOSE_FILE": "compose.yml:compose.smtp.yml"])
            #expect(chained.files == [directory + "/compose.yml", directory + "/compose.smtp.yml"])
            #expect(chained.services.keys.sorted() == ["app", "mailer"])
            #expect(chained.services["mailer"]?.location == .init(file: directory + "/compose.smtp.yml", line: 15))
        }
    }

    @Test("A file of the chain that is missing is an error naming it and the chain", arguments: [
        (nil, "compose.yml", "compose.yml"),
        ("compose.yml:compose.smtp.yml", "compose.smtp.yml", "compose.yml:compose.smtp.yml"),
    ] as [(String?, String, String)])
    func missingFile(composeFile: String?, missing: String, chain: String) throws {
        let files = missing == "compose.yml" ? [:] : ["compose.yml": base]
        try withRecipeFolder(files) { directory in
            let environment = composeFile.map { ["COMPOSE_FILE": $0] } ?? [:]
            let error = recipeError { _ = try ComposeProject.load(directory: directory, environment: environment) }
            #expect(error == .missingComposeFile(directory: directory, file: missing, composeFile: chain))
            #expect(error?.description == "\(directory): no \(missing) (COMPOSE_FILE names \(chain))")
        }
    }

    @Test("Overlays merge like docker stack deploy: later values win, maps merge, lists unite")
    func merge() throws {
        let compose = try ComposeProject(
            files: [("/r/compose.yml", base), ("/r/compose.smtp.yml", smtpOverlay)], environment: [:])
        let app = try #require(compose.services["app"])
        #expect(app.image == "nginx:1.26")
        #expect(app.environment == ["MODE": "smtp", "KEEP": "yes", "SMTP_HOST": "mail.example.com"])
        #expect(app.deployLabels == [
            "traefik.enable": "true",
            "traefik.http.routers.app.rule": "Host(`smtp.example.com`)",
            "smtp.enabled": "true",
        ])
        #expect(app.deployLabelLocations["traefik.enable"] == .init(file: "/r/compose.yml", line: 14))
        #expect(app.deployLabelLocations["traefik.http.routers.app.rule"] == .init(file: "/r/compose.smtp.yml", line: 13))
        #expect(app.secrets == ["db_password", "smtp_password"])
        #expect(app.networks == ["proxy"])
        #expect(app.location == .init(file: "/r/compose.yml", line: 3))
        #expect(compose.secrets.keys.sorted() == ["db_password", "smtp_password"])
        #expect(compose.secrets["smtp_password"]?.location == .init(file: "/r/compose.smtp.yml", line: 18))
        #expect(compose.networks.keys.sorted() == ["proxy"])
    }

    @Test("A later definition of the same key replaces the earlier one whole, as docker's merge does")
    func mergeDefinitions() throws {
        let first = "services:\n  app: {}\nsecrets:\n  token:\n    external: true\n    name: token_v1\n"
        let second = "services:\n  app: {}\nsecrets:\n  token:\n    name: token_v2\n"
        let compose = try ComposeProject(files: [("/r/a.yml", first), ("/r/b.yml", second)], environment: [:])
        #expect(compose.secrets["token"] == .init(
            key: "token", name: "token_v2", external: false, location: .init(file: "/r/b.yml", line: 4)))
    }

    // MARK: Interpolation

    @Test("Variable references are substituted as docker does", arguments: [
        ("${A}", ["A": "x"], "x", []),
        ("$A", ["A": "x"], "x", []),
        ("$A_B-c", ["A_B": "x"], "x-c", []),
        ("$Ab.c", ["Ab": "x"], "x.c", []),
        ("pre-${A}-post", ["A": "x"], "pre-x-post", []),
        ("${A:-fallback}", [:], "fallback", []),
        ("${A:-fallback}", ["A": ""], "fallback", []),
        ("${A:-fallback}", ["A": "x"], "x", []),
        ("${A-fallback}", [:], "fallback", []),
        ("${A-fallback}", ["A": ""], "", []),
        ("${A:-}", [:], "", []),
        ("${A:-a b:c-d}", [:], "a b:c-d", []),
        ("${A:-$B}", ["B": "x"], "$B", []),
        ("$$A and $${B}", ["A": "x"], "$A and ${B}", []),
        ("${A?}", ["A": ""], "", []),
        ("${A:?required}", ["A": "x"], "x", []),
        ("${U}", [:], "", ["U"]),
        ("$U-$V", [:], "-", ["U", "V"]),
        ("no references", [:], "no references", []),
    ] as [(String, [String: String], String, [String])])
    func substitution(text: String, environment: [String: String], expected: String, unset: [String]) {
        var recorded: [String] = []
        #expect(Interpolation.substitute(text, environment: environment, unset: &recorded) == .success(expected))
        #expect(recorded == unset)
    }

    @Test("Invalid references are errors", arguments: ["$", "costs 5$", "$1", "$ x", "${", "${A", "${1A}", "${}", "${A:+x}", "${A+x}", "${A B}"])
    func invalidReference(text: String) {
        var unset: [String] = []
        #expect(Interpolation.substitute(text, environment: ["A": "x"], unset: &unset) == .failure(.invalid))
    }

    @Test("Required references fail when unset (or empty, with a colon)", arguments: [
        ("${A:?set A first}", [:], "set A first"),
        ("${A:?set A first}", ["A": ""], "set A first"),
        ("${A?}", [:], ""),
    ] as [(String, [String: String], String)])
    func requiredReference(text: String, environment: [String: String], message: String) {
        var unset: [String] = []
        #expect(Interpolation.substitute(text, environment: environment, unset: &unset)
            == .failure(.required(variable: "A", message: message)))
    }

    @Test("Compose values are interpolated from the environment; keys are not")
    func interpolatedValues() throws {
        let compose = try project("""
            services:
              app:
                image: ${IMAGE:-nginx}:${VERSION}
                deploy:
                  labels:
                    "traefik.http.routers.${STACK_NAME}.rule": "Host(`${DOMAIN}`)"
                    ${KEY}: literal-key
                    $$escaped: x
            """, environment: ["VERSION": "1.25", "STACK_NAME": "app_example_com", "DOMAIN": "app.example.com"])
        let app = try #require(compose.services["app"])
        #expect(app.image == "nginx:1.25")
        #expect(app.deployLabels["traefik.http.routers.${STACK_NAME}.rule"] == "Host(`app.example.com`)")
        #expect(app.deployLabels["${KEY}"] == "literal-key")
        #expect(app.deployLabels["$$escaped"] == "x")
        #expect(compose.unsetVariables.isEmpty)
    }

    @Test("Unset variables without a default become empty and are listed with their location")
    func unsetVariables() throws {
        let compose = try project("""
            x-not-interpolated: ${IGNORED}
            services:
              app:
                image: app:${VERSION}
                environment:
                  - HOST=${SMTP_HOST}
                  - PORT=${SMTP_PORT:-25}
                  - NAME=${NAME-}
                command: run $$HOME ${MISSING}
            secrets:
              token:
                name: ${STACK_NAME}_token
            """)
        #expect(compose.services["app"]?.image == "app:")
        #expect(compose.services["app"]?.environment == ["HOST": "", "PORT": "25", "NAME": ""])
        #expect(compose.unsetVariables == [
            .init(name: "VERSION", location: .init(file: file, line: 4)),
            .init(name: "SMTP_HOST", location: .init(file: file, line: 6)),
            .init(name: "MISSING", location: .init(file: file, line: 9)),
            .init(name: "STACK_NAME", location: .init(file: file, line: 12)),
        ])
    }

    @Test("An invalid or unmet reference anywhere in an interpolated section is an error with its line", arguments: [
        ("services:\n  app:\n    command: echo $1\n", RecipeError.invalidInterpolation(file: file, line: 3, text: "echo $1")),
        ("services:\n  app: {}\nvolumes:\n  data:\n    name: ${A:+x}\n", .invalidInterpolation(file: file, line: 5, text: "${A:+x}")),
        ("services:\n  app:\n    image: ${IMAGE:?the recipe needs IMAGE}\n",
         .requiredVariableUnset(file: file, line: 3, variable: "IMAGE", message: "the recipe needs IMAGE")),
    ])
    func interpolationErrors(yaml: String, expected: RecipeError) {
        #expect(recipeError { _ = try project(yaml) } == expected)
    }

    @Test("Interpolation error messages name the file and line")
    func interpolationMessages() {
        #expect(RecipeError.invalidInterpolation(file: file, line: 3, text: "echo $1").description.hasPrefix(
            "/r/compose.yml:3: invalid variable reference in \"echo $1\""))
        #expect(RecipeError.requiredVariableUnset(file: file, line: 3, variable: "IMAGE", message: "set it").description
            == "/r/compose.yml:3: IMAGE must be set: set it")
    }
}
