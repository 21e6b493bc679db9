import Foundation
@testable import HostBase
import Testing


/// The error `body` throws, as a `RecipeError`.
private func recipeError(_ body: () throws -> Void) -> RecipeError? {
    do {
        try body()
        return nil
    } catch {
        return error as? RecipeError
    }
}

/// A recipe folder named `name` (inside a unique temporary folder) holding `files`, removed after `body`.
private func withRecipe<T>(named name: String = "wordpress", _ files: [String: String], _ body: (String) throws -> T) throws -> T {
    let parent = FileManager.default.temporaryDirectory
        .appendingPathComponent("cchost-recipe-tests-\(UUID().uuidString)")
    let directory = parent.appendingPathComponent(name)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: parent) }
    for (path, text) in files {
        let url = directory.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }
    return try body(directory.path)
}

// MARK: - A recipe shaped like a real one (wordpress)

private let envSample = """
    TYPE=wordpress

    DOMAIN=wordpress.example.com
    ## Domain aliases
    #EXTRA_DOMAINS=', `www.wordpress.example.com`'
    LETS_ENCRYPT_ENV=production

    COMPOSE_FILE="compose.yml"

    SECRET_DB_ROOT_PASSWORD_VERSION=v1
    SECRET_DB_PASSWORD_VERSION=v1 # length=32

    ## SMTP
    #COMPOSE_FILE="compose.yml:compose.smtp.yml"
    #SMTP_HOST=smtp.example.com
    #SECRET_SMTP_PASSWORD_VERSION=v1 # generate=false

    """

private let abraSh = """
    export APP_ENTRYPOINT_VERSION=v2
    export PHP_UPLOADS_CONF_VERSION=v1

    environment() {
      export WORDPRESS_DEBUG=1
    }

    set_admin_password() {
      wp user update admin --user_pass="$1"
    }

    """

private let composeYml = """
    ---
    version: "3.8"

    services:
      app:
        image: wordpress:6.5.2
        networks:
          - proxy
          - internal
        environment:
          - WORDPRESS_DB_HOST=db
          - WORDPRESS_DB_USER=wordpress
          - WORDPRESS_DB_PASSWORD_FILE=/run/secrets/db_password
          - WORDPRESS_CONFIG_EXTRA=define('WP_HOME', 'https://${DOMAIN}');
        volumes:
          - wordpress_content:/var/www/html/wp-content/
        secrets:
          - db_password
        configs:
          - source: entrypoint_conf
            target: /docker-entrypoint2.sh
            mode: 0555
        entrypoint: /docker-entrypoint2.sh
        deploy:
          restart_policy:
            condition: on-failure
          labels:
            - "traefik.enable=true"
            - "traefik.http.services.${STACK_NAME}.loadbalancer.server.port=80"
            - "traefik.http.routers.${STACK_NAME}.rule=Host(`${DOMAIN}`${EXTRA_DOMAINS})"
            - "traefik.http.routers.${STACK_NAME}.entrypoints=web-secure"
            - "traefik.http.routers.${STACK_NAME}.tls.certresolver=${LETS_ENCRYPT_ENV}"
            - "coop-cloud.${STACK_NAME}.version=1.1.0+6.5.2"
            - "backupbot.backup=true"
            - "backupbot.backup.path=/var/www/html/wp-content"
        healthcheck:
          test: ["CMD", "curl", "-f", "http://localhost"]
          interval: 30s
          timeout: 10s
          retries: 10
          start_period: 1m

      db:
        image: mariadb:11.3
        environment:
          MYSQL_USER: wordpress
          MYSQL_DATABASE: wordpress
          MYSQL_PASSWORD_FILE: /run/secrets/db_password
          MYSQL_ROOT_PASSWORD_FILE: /run/secrets/db_root_password
        networks:
          - internal
        volumes:
          - mariadb:/var/lib/mysql
        secrets:
          - db_password
          - db_root_password
        deploy:
          labels:
            backupbot.backup: "true"
            backupbot.backup.pre-hook: 'mysqldump -u root -p"$$(cat /run/secrets/db_root_password)" wordpress > /var/lib/mysql/dump.sql'
            backupbot.backup.path: "/var/lib/mysql/dump.sql"
        healthcheck:
          test: ["CMD", "healthcheck.sh", "--connect"]

    volumes:
      mariadb:
      wordpress_content:

    networks:
      proxy:
        external: true
      internal:

    secrets:
      db_password:
        external: true
        name: ${STACK_NAME}_db_password_${SECRET_DB_PASSWORD_VERSION}
      db_root_password:
        external: true
        name: ${STACK_NAME}_db_root_password_${SECRET_DB_ROOT_PASSWORD_VERSION}

    configs:
      entrypoint_conf:
        name: ${STACK_NAME}_entrypoint_${APP_ENTRYPOINT_VERSION}
        file: entrypoint.sh.tmpl
        template_driver: golang

    """

private let composeSmtpYml = """
    ---
    version: "3.8"

    services:
      app:
        environment:
          - WORDPRESS_SMTP_HOST=${SMTP_HOST}
          - WORDPRESS_SMTP_PASSWORD_FILE=/run/secrets/smtp_password
        secrets:
          - smtp_password

    secrets:
      smtp_password:
        external: true
        name: ${STACK_NAME}_smtp_password_${SECRET_SMTP_PASSWORD_VERSION}

    """

private let readme = """
    # WordPress

    > The most popular CMS in the world

    <!-- metadata -->

    * **Category**: Apps
    * **Status**: 3, stable
    * **Image**: [`wordpress`](https://hub.docker.com/_/wordpress), 4, upstream
    * **Healthcheck**: Yes
    * **Backups**: Yes
    * **Email**: 3
    * **Tests**: 2
    * **SSO**: No

    <!-- endmetadata -->

    ## Quick start

    * `abra app new wordpress --secrets`
    """

private let fixture: [String: String] = [
    ".env.sample": envSample,
    "abra.sh": abraSh,
    "compose.yml": composeYml,
    "compose.smtp.yml": composeSmtpYml,
    "entrypoint.sh.tmpl": "#!/bin/sh\nexec docker-entrypoint.sh \"$@\"\n",
    "README.md": readme,
    "release/1.0.0+6.4.3": "First release.\n",
    "release/1.1.0+6.5.2": "Upgrades WordPress; no action needed.\n",
    "release/.gitkeep": "",
]

@Suite("RecipeModel loading")
struct RecipeModelTests {
    @Test("A realistic recipe loads: name, env, abra.sh exports, notes, metadata and its compose project")
    func realisticRecipe() throws {
        try withRecipe(fixture) { directory in
            let recipe = try Recipe.load(directory: directory, environmentOverrides: ["DOMAIN": "wp.ci.example.org"])
            #expect(recipe.name == "wordpress")
            #expect(recipe.directory == directory)
            #expect(recipe.envSample.secrets.map(\.name) == ["db_root_password", "db_password"])
            #expect(recipe.envSample.secrets.last?.length == 32)
            #expect(recipe.abraScript.values == ["APP_ENTRYPOINT_VERSION": "v2", "PHP_UPLOADS_CONF_VERSION": "v1"])
            #expect(recipe.releaseNotes == [
                "1.0.0+6.4.3": "First release.\n", "1.1.0+6.5.2": "Upgrades WordPress; no action needed.\n",
            ])
            #expect(recipe.metadata?["Status"] == "3, stable")
            #expect(recipe.environment["STACK_NAME"] == "wp_ci_example_org")

            let compose = recipe.compose
            #expect(compose.files == [directory + "/compose.yml"])
            #expect(compose.services.keys.sorted() == ["app", "db"])
            let app = try #require(compose.services["app"])
            #expect(app.image == "wordpress:6.5.2")
            #expect(app.hasHealthcheck)
            #expect(app.networks == ["proxy", "internal"])
            #expect(app.volumes == ["wordpress_content"])
            #expect(app.secrets == ["db_password"])
            #expect(app.configs == ["entrypoint_conf"])
            #expect(app.environment["WORDPRESS_CONFIG_EXTRA"] == "define('WP_HOME', 'https://wp.ci.example.org');")
            #expect(app.deployLabels["traefik.http.routers.wp_ci_example_org.rule"] == "Host(`wp.ci.example.org`)")
            #expect(app.deployLabels["traefik.http.routers.wp_ci_example_org.tls.certresolver"] == "production")
            #expect(app.deployLabels["coop-cloud.wp_ci_example_org.version"] == "1.1.0+6.5.2")
            #expect(app.deployLabels["backupbot.backup"] == "true")
            #expect(app.deployLabelLocations["backupbot.backup"] == .init(file: directory + "/compose.yml", line: 34))

            let db = try #require(compose.services["db"])
            #expect(db.deployLabels["backupbot.backup.pre-hook"]
                == #"mysqldump -u root -p"$(cat /run/secrets/db_root_password)" wordpress > /var/lib/mysql/dump.sql"#)
            #expect(db.secrets == ["db_password", "db_root_password"])
            #expect(db.volumes == ["mariadb"])

            #expect(compose.networks["proxy"]?.external == true)
            #expect(compose.networks["internal"]?.external == false)
            #expect(compose.volumes.keys.sorted() == ["mariadb", "wordpress_content"])
            #expect(compose.secrets["db_password"]?.name == "wp_ci_example_org_db_password_v1")
            #expect(compose.secrets["db_password"]?.location == .init(file: directory + "/compose.yml", line: 75))
            #expect(compose.configs["entrypoint_conf"]?.name == "wp_ci_example_org_entrypoint_v2")
            #expect(compose.configs["entrypoint_conf"]?.file == "entrypoint.sh.tmpl")
            // EXTRA_DOMAINS is commented out in .env.sample: docker substitutes "" and lint hears of it.
            #expect(compose.unsetVariables.map(\.name) == ["EXTRA_DOMAINS"])
            #expect(compose.unsetVariables.first?.location == .init(file: directory + "/compose.yml", line: 30))
        }
    }

    @Test("COMPOSE_FILE from the overrides selects the SMTP overlay, which merges into the app")
    func smtpOverlay() throws {
        try withRecipe(fixture) { directory in
            let recipe = try Recipe.load(directory: directory, environmentOverrides: [
                "DOMAIN": "wp.ci.example.org", "COMPOSE_FILE": "compose.yml:compose.smtp.yml",
                "SMTP_HOST": "mail.example.org", "SECRET_SMTP_PASSWORD_VERSION": "v3",
            ])
            let compose = recipe.compose
            #expect(compose.files == [directory + "/compose.yml", directory + "/compose.smtp.yml"])
            let app = try #require(compose.services["app"])
            #expect(app.secrets == ["db_password", "smtp_password"])
            #expect(app.environment["WORDPRESS_SMTP_HOST"] == "mail.example.org")
            #expect(app.environment["WORDPRESS_DB_HOST"] == "db")
            #expect(app.image == "wordpress:6.5.2")
            #expect(app.deployLabels["traefik.enable"] == "true")
            #expect(compose.secrets["smtp_password"]?.name == "wp_ci_example_org_smtp_password_v3")
            #expect(compose.secrets["smtp_password"]?.location == .init(file: directory + "/compose.smtp.yml", line: 13))
        }
    }

    @Test("Later sources win: abra.sh exports over .env.sample, overrides over both")
    func environmentPrecedence() throws {
        var files = fixture
        files[".env.sample"] = envSample + "APP_ENTRYPOINT_VERSION=v0\nPHP_UPLOADS_CONF_VERSION=v0\n"
        try withRecipe(files) { directory in
            let recipe = try Recipe.load(directory: directory, environmentOverrides: ["PHP_UPLOADS_CONF_VERSION": "v9"])
            #expect(recipe.environment["APP_ENTRYPOINT_VERSION"] == "v2")
            #expect(recipe.environment["PHP_UPLOADS_CONF_VERSION"] == "v9")
            #expect(recipe.environment["LETS_ENCRYPT_ENV"] == "production")
            #expect(recipe.environment["EXTRA_DOMAINS"] == nil)
        }
    }

    @Test("STACK_NAME comes from DOMAIN unless set; without a domain it stays unset", arguments: [
        ([:], "wordpress_example_com" as String?),
        (["DOMAIN": "blog.example.net"], "blog_example_net"),
        (["DOMAIN": "blog.example.net", "STACK_NAME": "chosen"], "chosen"),
        (["DOMAIN": ""], nil),
    ] as [([String: String], String?)])
    func stackName(overrides: [String: String], expected: String?) throws {
        try withRecipe(fixture) { directory in
            let recipe = try Recipe.load(directory: directory, environmentOverrides: overrides)
            #expect(recipe.environment["STACK_NAME"] == expected)
            #expect(recipe.compose.unsetVariables.contains { $0.name == "STACK_NAME" } == (expected == nil))
        }
    }

    @Test("The recipe's name is RECIPE, else TYPE (without a version pin), else the folder's name", arguments: [
        ("TYPE=wordpress\n", "wordpress"),
        ("RECIPE=wordpress\n", "wordpress"),
        ("RECIPE=wordpress:1.1.0+6.5.2\n", "wordpress"),
        ("TYPE=old\nRECIPE=new\n", "new"),
        ("DOMAIN=x.example.com\n", "folder-name"),
        ("#TYPE=commented\n", "folder-name"),
        ("TYPE=\n", "folder-name"),
    ])
    func name(env: String, expected: String) throws {
        try withRecipe(named: "folder-name", [".env.sample": env, "compose.yml": "services:\n  app:\n    image: x\n"]) { directory in
            let recipe = try Recipe.load(directory: directory)
            #expect(recipe.name == expected)
        }
    }

    @Test("A recipe without .env.sample is an error naming the path")
    func missingEnvSample() throws {
        try withRecipe(["compose.yml": composeYml]) { directory in
            let error = recipeError { _ = try Recipe.load(directory: directory) }
            #expect(error == .missingEnvSample(path: directory + "/.env.sample"))
            #expect(error?.description.hasPrefix(directory + "/.env.sample: no such file") == true)
        }
    }

    @Test("A recipe without compose.yml is an error naming the folder and COMPOSE_FILE")
    func missingCompose() throws {
        try withRecipe([".env.sample": "TYPE=x\n"]) { directory in
            let error = recipeError { _ = try Recipe.load(directory: directory) }
            #expect(error?.description == "\(directory): no compose.yml (COMPOSE_FILE names compose.yml)")
        }
    }

    @Test("Errors in any of the recipe's files surface with their file and line")
    func errorsSurface() throws {
        var files = fixture
        files["abra.sh"] = "export A=1\nexport B=x=y\n"
        try withRecipe(files) { directory in
            #expect(recipeError { _ = try Recipe.load(directory: directory) }
                == .abraUnreadableExport(file: directory + "/abra.sh", line: 2, name: "B"))
        }
        files = fixture
        files["README.md"] = "# x\n<!-- metadata -->\n* **Category**: Apps\n"
        try withRecipe(files) { directory in
            #expect(recipeError { _ = try Recipe.load(directory: directory) }
                == .unterminatedMetadata(file: directory + "/README.md", line: 2))
        }
        files = fixture
        files[".env.sample"] = envSample + "NOT AN ASSIGNMENT\n"
        try withRecipe(files) { directory in
            #expect(recipeError { _ = try Recipe.load(directory: directory) }
                == .malformedEnvLine(file: directory + "/.env.sample", line: 17, text: "NOT AN ASSIGNMENT"))
        }
    }

    @Test("Without abra.sh, README or release notes, a recipe still loads")
    func minimalRecipe() throws {
        try withRecipe([".env.sample": "TYPE=tiny\n", "compose.yml": "services:\n  app:\n    image: tiny:1\n"]) { directory in
            let recipe = try Recipe.load(directory: directory)
            #expect(recipe.abraScript.exports.isEmpty)
            #expect(recipe.metadata == nil)
            #expect(recipe.releaseNotes.isEmpty)
            #expect(recipe.compose.services["app"]?.image == "tiny:1")
        }
    }

    @Test("Release notes are the files directly in release/: folders and hidden files are left out")
    func releaseNotes() throws {
        var files = fixture
        files["release/drafts/2.0.0+7.0.0"] = "draft"
        files["release/next"] = "Unreleased."
        try withRecipe(files) { directory in
            let recipe = try Recipe.load(directory: directory)
            #expect(recipe.releaseNotes.keys.sorted() == ["1.0.0+6.4.3", "1.1.0+6.5.2", "next"])
        }
    }
}

// MARK: - README metadata

private let readmeSource = "/r/README.md"

@Suite("ReadmeMetadata block")
struct ReadmeMetadataTests {
    @Test("The block's bullets become fields with their lines, keys as written")
    func fields() throws {
        let metadata = try #require(try ReadmeMetadata.parse(readme, source: readmeSource))
        #expect(metadata.fields == [
            "Category": "Apps",
            "Status": "3, stable",
            "Image": "[`wordpress`](https://hub.docker.com/_/wordpress), 4, upstream",
            "Healthcheck": "Yes",
            "Backups": "Yes",
            "Email": "3",
            "Tests": "2",
            "SSO": "No",
        ])
        #expect(metadata.line == 5)
        #expect(metadata.fieldLines["Category"] == 7)
        #expect(metadata.fieldLines["SSO"] == 14)
        #expect(metadata.source == readmeSource)
    }

    @Test("Bullet variants are read; other lines in the block are not fields", arguments: [
        ("- **Status**: 3", "Status", "3" as String?),
        ("* **Status:** 3", "Status", "3"),
        ("*   **Status**:3  ", "Status", "3"),
        ("  * **Status** : 3", "Status", "3"),
        ("* **Two Words**: x", "Two Words", "x"),
        ("* **Empty**:", "Empty", ""),
        ("**Status**: 3", "Status", nil),
        ("* Status: 3", "Status", nil),
        ("*  **Status** 3", "Status", nil),
        ("*no-space **Status**: 3", "Status", nil),
    ])
    func bulletVariants(line: String, key: String, value: String?) throws {
        let metadata = try #require(try ReadmeMetadata.parse("<!-- metadata -->\n\(line)\n<!-- endmetadata -->\n", source: readmeSource))
        #expect(metadata[key] == value)
        #expect(metadata.fields.count == (value == nil ? 0 : 1))
    }

    @Test("Markers without inner spaces are markers too")
    func compactMarkers() throws {
        let metadata = try ReadmeMetadata.parse("<!--metadata-->\n* **SSO**: Yes\n<!--endmetadata-->\n", source: readmeSource)
        #expect(metadata?.fields == ["SSO": "Yes"])
    }

    @Test("A README without the block has no metadata", arguments: [
        "# Recipe\n\nNo metadata here.\n", "", "* **Category**: Apps\n<!-- endmetadata -->\n",
    ])
    func noBlock(text: String) throws {
        #expect(try ReadmeMetadata.parse(text, source: readmeSource) == nil)
    }

    @Test("A start marker without an end marker is an error with the start's line")
    func unterminated() {
        let error = recipeError { _ = try ReadmeMetadata.parse("# R\n\n<!-- metadata -->\n* **Category**: Apps\n", source: readmeSource) }
        #expect(error == .unterminatedMetadata(file: readmeSource, line: 3))
        #expect(error?.description.hasPrefix("/r/README.md:3: ") == true)
    }

    @Test("A missing README has no metadata")
    func missingReadme() throws {
        #expect(try ReadmeMetadata.load(path: "/nonexistent-\(UUID().uuidString)/README.md") == nil)
    }
}

// MARK: - Names

@Suite("AppNaming and test domains")
struct AppNamingTests {
    @Test("The stack name is the domain with dots as underscores", arguments: [
        ("wordpress.example.com", "wordpress_example_com"),
        ("a.b", "a_b"),
        ("localhost", "localhost"),
        ("wp-1.ci.example.org", "wp-1_ci_example_org"),
    ])
    func stackName(domain: String, expected: String) {
        #expect(AppNaming.stackName(forDomain: domain) == expected)
    }

    @Test("Every secret and config of a recipe is listed with its name for any stack")
    func objects() throws {
        try withRecipe(fixture) { directory in
            let recipe = try Recipe.load(directory: directory, environmentOverrides: [
                "COMPOSE_FILE": "compose.yml:compose.smtp.yml", "SECRET_SMTP_PASSWORD_VERSION": "v1",
            ])
            let objects = try AppNaming.objects(in: recipe.compose)
            #expect(objects.map(\.kind) == [.secret, .secret, .secret, .config])
            #expect(objects.map { $0.name(inStack: "wp_ci_example_org") } == [
                "wp_ci_example_org_db_password_v1",
                "wp_ci_example_org_db_root_password_v1",
                "wp_ci_example_org_smtp_password_v1",
                "wp_ci_example_org_entrypoint_v2",
            ])
            #expect(objects.map(\.nameAfterStack) == ["db_password_v1", "db_root_password_v1", "smtp_password_v1", "entrypoint_v2"])
            #expect(AppNaming.longestObjectName(in: objects) == "db_root_password_v1")
            #expect(objects.first?.location == .init(file: directory + "/compose.yml", line: 75))
        }
    }

    @Test("Without name:, an object is <stack>_<key>, or <key> when external; fixed names ignore the stack")
    func defaultNames() throws {
        let compose = try ComposeProject(files: [("/r/compose.yml", """
            services:
              app: {}
            secrets:
              plain: {}
              shared:
                external: true
            configs:
              fixed:
                name: global_config_v1
              twice:
                name: ${STACK_NAME}_for_${STACK_NAME}
            """)], environment: [:])
        let objects = try AppNaming.objects(in: compose)
        #expect(objects.map { $0.name(inStack: "s") } == ["s_plain", "shared", "global_config_v1", "s_for_s"])
        #expect(objects.map(\.nameAfterStack) == ["plain", nil, nil, nil])
    }

    /// A project whose `db_password` secret is named `rawName`, as if it had loaded.
    static func project(namingSecret rawName: String) throws -> ComposeProject {
        var compose = try ComposeProject(files: [("/r/compose.yml", """
            services:
              app: {}
            secrets:
              db_password:
                name: ${STACK_NAME}_db_password_v1
            """)], environment: [:])
        compose.secrets["db_password"]?.rawName = rawName
        return compose
    }

    @Test("A name that cannot be interpolated is an error naming the object, the variable and why", arguments: [
        ("${STACK_NAME}_db_password_${SECRET_DB_PASSWORD_VERSION:?set it in .env}", "SECRET_DB_PASSWORD_VERSION must be set: set it in .env"),
        ("${STACK_NAME}_db_password_$1", "starts no variable reference"),
    ])
    func uninterpolatableName(rawName: String, why: String) throws {
        let compose = try Self.project(namingSecret: rawName)
        let error = recipeError { _ = try AppNaming.objects(in: compose) }
        guard case let .uninterpolatableObjectName(file, line, kind, key, name, problem) = error else {
            Issue.record("expected a name that cannot be computed, got \(String(describing: error))")
            return
        }
        #expect((file, line, kind, key, name) == ("/r/compose.yml", 4, "secret", "db_password", rawName))
        #expect(problem.contains(why), "\(problem)")
        #expect("\(error!)".hasPrefix("/r/compose.yml:4: the name of secret db_password, \"\(rawName)\""), "\(error!)")
    }

    @Test("Lint reports a name that cannot be computed as an R008 error at its line")
    func lintedUninterpolatableName() throws {
        let compose = try Self.project(namingSecret: "${STACK_NAME}_db_password_${VERSION:?pick one}")
        var findings: [(code: String, message: String, file: String?, line: Int?)] = []
        RecipeLint.lintNames(compose, recipe: "wordpress") { findings.append(($0, $1, $2, $3)) }
        #expect(findings.count == 1)
        let finding = try #require(findings.first)
        #expect((finding.code, finding.file, finding.line) == ("R008", "/r/compose.yml", 4))
        #expect(finding.message.contains("secret db_password") && finding.message.contains("VERSION must be set: pick one"), "\(finding.message)")
    }

    @Test("Docker's 64-character limit applies to the whole object name")
    func limit() throws {
        let compose = try ComposeProject(files: [("/r/compose.yml", """
            services:
              app: {}
            secrets:
              token:
                name: ${STACK_NAME}_${NAME}_v1
            """)], environment: ["NAME": String(repeating: "n", count: 40)])
        let object = try #require(try AppNaming.objects(in: compose).first)
        // 20 + 1 + 40 + 3 = 64 fits; one more character does not.
        #expect(object.fitsLimit(inStack: String(repeating: "s", count: 20)))
        #expect(!object.fitsLimit(inStack: String(repeating: "s", count: 21)))
    }

    @Test("Test domains are lowercase, DNS-safe, deterministic and unique per run")
    func uniquePerRun() throws {
        var domains: Set<String> = []
        for run in 0..<500 {
            let domain = try TestDomain.make(
                recipe: "WordPress", runID: "run-\(run)", baseDomain: "CI.Example.org", longestObjectName: "db_password_v1")
            #expect(domain == domain.lowercased())
            #expect(domain.hasSuffix(".ci.example.org"))
            let label = try #require(domain.split(separator: ".").first)
            #expect(label.hasPrefix("word-"))
            #expect(label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") })
            domains.insert(domain)
        }
        #expect(domains.count == 500)
        let again = try TestDomain.make(recipe: "WordPress", runID: "run-7", baseDomain: "ci.example.org", longestObjectName: "x")
        #expect(again == (try TestDomain.make(recipe: "WordPress", runID: "run-7", baseDomain: "ci.example.org", longestObjectName: "x")))
        #expect(again != (try TestDomain.make(recipe: "ghost", runID: "run-7", baseDomain: "ci.example.org", longestObjectName: "x")))
        // Recipes sharing their first letters still get different domains in one run.
        #expect(again != (try TestDomain.make(recipe: "wordpress-fork", runID: "run-7", baseDomain: "ci.example.org", longestObjectName: "x")))
    }

    @Test("A test domain always leaves room for the recipe's longest object name", arguments: [
        ("ci.example.org", "db_password_v1"),
        ("ci.example.org", "authentik_secret_key_for_the_outpost_v1"),
        ("ci.coopcloud.tech", "lasuite_docs_oidc_rp_client_secret_v1"),
        ("a-rather-long-ci-host.example.org", "db_root_password_v1"),
        ("x.io", ""),
        // Exactly room for the shortest identifier: 14 + 1 + 6 + 1 + 42 = 64.
        ("ci.example.org", String(repeating: "s", count: 42)),
    ])
    func withinLimit(baseDomain: String, longestObjectName: String) throws {
        let domain = try TestDomain.make(
            recipe: "lasuite-docs", runID: "7f3c2a90-0b1e-4bd4-9a55-2c1f2b9c7d11", baseDomain: baseDomain,
            longestObjectName: longestObjectName)
        let stack = AppNaming.stackName(forDomain: domain)
        #expect(stack.count + 1 + longestObjectName.count <= AppNaming.maximumObjectNameLength)
        #expect(stack.count <= AppNaming.maximumStackNameLength)
        #expect(domain.split(separator: ".").first.map { $0.count >= TestDomain.minimumIdentifierLength } == true)
    }

    @Test("A realistic recipe's objects all fit the test domain's stack, though not a long real domain's")
    func recipeFits() throws {
        var files = fixture
        files[".env.sample"] = envSample + "SECRET_OIDC_CLIENT_SECRET_FOR_SINGLE_SIGN_ON_VERSION=v10\n"
        files["compose.yml"] = composeYml.replacingOccurrences(of: "\nsecrets:\n", with: """

            secrets:
              oidc_client_secret_for_single_sign_on:
                external: true
                name: ${STACK_NAME}_oidc_client_secret_for_single_sign_on_${SECRET_OIDC_CLIENT_SECRET_FOR_SINGLE_SIGN_ON_VERSION}

            """)
        try withRecipe(files) { directory in
            let recipe = try Recipe.load(directory: directory)
            let objects = try AppNaming.objects(in: recipe.compose)
            let longest = try #require(AppNaming.longestObjectName(in: objects))
            #expect(longest == "oidc_client_secret_for_single_sign_on_v10")
            let domain = try TestDomain.make(recipe: recipe.name, runID: "42", baseDomain: "ci.example.org", longestObjectName: longest)
            let stack = AppNaming.stackName(forDomain: domain)
            #expect(objects.allSatisfy { $0.fitsLimit(inStack: stack) })
            #expect(!objects.allSatisfy { $0.fitsLimit(inStack: "wordpress_coop-cloud_example_org") })
        }
    }

    @Test("When even the shortest test domain cannot fit, it is a clear error", arguments: [
        ("ci.example.org", String(repeating: "s", count: 43)),
        ("a-very-long-base-domain-for-ci.example.org", "db_password_v1"),
    ])
    func impossible(baseDomain: String, longestObjectName: String) {
        let error = recipeError {
            _ = try TestDomain.make(recipe: "wordpress", runID: "1", baseDomain: baseDomain, longestObjectName: longestObjectName)
        }
        guard case let .testDomainImpossible(base, name, longestDomain, shortestDomain) = error else {
            Issue.record("expected an impossible test domain, got \(String(describing: error))")
            return
        }
        #expect(base == baseDomain)
        #expect(name == longestObjectName)
        #expect(shortestDomain == baseDomain.count + 7)
        #expect(shortestDomain > longestDomain)
        #expect(error?.description.contains("use a shorter base domain") == true)
    }

    @Test("A base domain that is not a DNS name is an error", arguments: [
        "", ".", "ci..example.org", "-ci.example.org", "ci-.example.org", "ci_example.org", "ci.exa mple.org",
        String(repeating: "a", count: 64) + ".org",
    ])
    func invalidBase(baseDomain: String) {
        let error = recipeError {
            _ = try TestDomain.make(recipe: "wordpress", runID: "1", baseDomain: baseDomain, longestObjectName: "x")
        }
        #expect(error == .invalidBaseDomain(baseDomain))
    }

    @Test("A trailing dot on the base domain is dropped")
    func trailingDot() throws {
        let domain = try TestDomain.make(recipe: "wordpress", runID: "1", baseDomain: "ci.example.org.", longestObjectName: "x")
        #expect(domain.hasSuffix(".ci.example.org"))
    }
}
