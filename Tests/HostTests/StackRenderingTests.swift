import Foundation
@testable import HostBase
@testable import HostDocker
import Testing

/// The rendered stack: compose files read, typed, interpolated, cast and merged as docker does, then
/// written as the plain file docker is handed.
@Suite("The rendered stack")
struct StackRenderingTests {
    static func rendered(_ files: [(String, String)], environment: [String: String] = [:]) throws -> StackNode {
        try ComposeProject(files: files.map { ("/r/\($0.0)", $0.1) }, environment: environment).rendered
    }

    static func app(_ yaml: String, environment: [String: String] = [:]) throws -> StackNode {
        try #require(try rendered([("compose.yml", "services:\n  app:\n" + yaml)], environment: environment)["services"]?["app"])
    }

    @Test("plain scalars are typed as docker's YAML reader types them; quoted ones stay text", arguments: [
        ("yes", StackNode.Value.bool(true)), ("Off", .bool(false)), ("y", .bool(true)), ("~", .null), ("0755", .integer(493)),
        ("0x1F", .integer(31)), ("1_000", .integer(1000)), ("-12", .integer(-12)), (".5", .double(0.5)), ("1e3", .double(1000)),
        ("22:22", .string("22:22")), ("\"yes\"", .string("yes")), ("'0755'", .string("0755")), ("08", .double(8)),
        ("2001-12-14", .string("2001-12-14")), ("nginx:1.25", .string("nginx:1.25")),
    ])
    func typing(written: String, value: StackNode.Value) throws {
        #expect(try Self.app("    x-value: \(written)\n")["x-value"]?.value == value)
    }

    @Test("a key docker's reader takes for something other than text, or a non-finite number, is refused with file:line",
          arguments: ["    on: 1\n", "    1: x\n", "    null: x\n", "    x-value: .inf\n"])
    func refusedScalars(yaml: String) {
        #expect { try Self.app(yaml) } throws: { "\($0)".contains("/r/compose.yml:3:") }
    }

    @Test("interpolated values are cast where docker casts them, and only there")
    func casts() throws {
        let app = try Self.app("""
                privileged: ${P}
                labels: {count: "${N}"}
                deploy:
                  replicas: ${N}
            """ + "\n", environment: ["N": "3", "P": "no"])
        #expect(app["privileged"]?.value == .bool(false))
        #expect(app["deploy"]?["replicas"]?.value == .integer(3))
        #expect(app["labels"]?["count"]?.value == .string("3"))
        #expect { try Self.app("    deploy:\n      replicas: ${N}\n", environment: ["N": "many"]) } throws: {
            "\($0)".contains("compose.yml:4:") && "\($0)".contains("a whole number")
        }
    }

    @Test("only the app's env interpolates: ${HOME} without HOME in it is empty, whatever cchost's own HOME is")
    func noProcessEnvironment() throws {
        let project = try ComposeProject(files: [("/r/compose.yml", "services:\n  app:\n    working_dir: \"${HOME}/w\"\n")], environment: [:])
        #expect(project.rendered["services"]?["app"]?["working_dir"]?.text == "/w")
        #expect(project.unsetVariables.map(\.name) == ["HOME"])
        // As a mount's source it leaves an empty section, which docker refuses: refused here, with the line.
        #expect { try ComposeProject(files: [("/r/compose.yml", "services:\n  app:\n    volumes:\n      - ${HOME}:/h\n")], environment: [:]) }
            throws: { "\($0)".contains("/r/compose.yml:4:") && "\($0)".contains("written ${HOME}:/h") }
    }

    @Test("files merge by docker's rules: ports by published port, secrets by source, volumes by target, commands replaced, lists appended, maps merged")
    func merge() throws {
        let base = """
            services:
              app:
                command: ["a", "b"]
                ports: ["8080:80", "9000:90"]
                secrets: [s1, {source: s2, target: /run/x}]
                volumes: ["data:/data", "logs:/logs"]
                cap_add: [CHOWN]
                environment: [A=1, B=2]
                deploy: {labels: [one=1], replicas: 1}
            secrets:
              s1: {external: true, name: x_s1}
            """
        let overlay = """
            services:
              app:
                command: ["c"]
                ports: [{published: 8080, target: 81}]
                secrets: [{source: s1, target: /run/y}]
                volumes: ["other:/data"]
                cap_add: [KILL]
                environment: {B: 3, C: 4}
                deploy: {labels: {two: "2"}, replicas: 2}
            secrets:
              s1: {name: y_s1}
            """
        let stack = try Self.rendered([("compose.yml", base), ("compose.extra.yml", overlay)])
        let app = try #require(stack["services"]?["app"])
        #expect(app["command"]?.items?.compactMap(\.text) == ["c"])
        #expect(app["ports"]?.items?.map { StackMerge.publishedPort($0) } == ["8080", "9000"])
        #expect(app["ports"]?.items?.first?["target"]?.value == .integer(81))
        #expect(app["secrets"]?.items?.map { $0.text ?? $0["source"]?.text ?? "" } == ["s1", "s2"])
        #expect(app["secrets"]?.items?.first?["target"]?.text == "/run/y")
        #expect(app["volumes"]?.items?.compactMap(\.text) == ["other:/data", "logs:/logs"])
        #expect(app["cap_add"]?.items?.compactMap(\.text) == ["CHOWN", "KILL"])
        #expect(app["environment"]?.entries?.map { "\($0.key)=\($0.node.text ?? "")" } == ["A=1", "B=3", "C=4"])
        #expect(app["deploy"]?["labels"]?.entries?.map(\.key) == ["one", "two"])
        #expect(app["deploy"]?["replicas"]?.value == .integer(2))
        // A definition given again is replaced whole: s1 is no longer external.
        #expect(stack["secrets"]?["s1"]?.entries?.map(\.key) == ["name"])
        #expect(stack["secrets"]?["s1"]?.location.file == "/r/compose.extra.yml")
    }

    @Test("the written stack is plain JSON with every $ doubled: read again, with any environment, it is the same stack")
    func writtenStackReadsBack() throws {
        let yaml = """
            x-common: &common
              image: "busybox:${TAG:-1}"
              environment: [GREETING=costs $$5]
            services:
              app:
                <<: *common
                command: ["sh", "-c", "echo $${HOME}"]
            """
        let stack = try Self.rendered([("compose.yml", yaml)])
        let text = stack.json(escaping: true)
        #expect(try JSONSerialization.jsonObject(with: Data(text.utf8)) is [String: Any])
        #expect(!text.contains("x-common") && !text.contains("<<") && !text.contains("&common"))
        for environment in [[:], ["HOME": "/root", "TAG": "evil"]] {
            let again = try Self.rendered([("rendered.yml", text)], environment: environment)
            #expect(again["services"]?["app"]?["image"]?.text == "busybox:1")
            #expect(again["services"]?["app"]?["environment"]?["GREETING"]?.text == "costs $5")
            #expect(again["services"]?["app"]?["command"]?.items?.last?.text == "echo ${HOME}")
        }
    }

    @Test("a deploy's stack is written with copies of the files it references, their digests, and relative host paths anchored in the checkout")
    func writtenDeploy() throws {
        let checkout = try TemporaryDirectory("rendered-checkout")
        let work = try TemporaryDirectory("rendered-work")
        let files = [
            ".env.sample": "DOMAIN=r.ci.example\n",
            "compose.yml": """
                services:
                  app:
                    image: busybox:1
                    env_file: app.env
                    volumes: ["./data:/data", {type: bind, source: ./logs, target: /logs}, "named:/named"]
                configs:
                  conf: {file: ./app.conf}
                secrets:
                  token: {file: token.txt}
                """,
            "app.env": "A=1\n", "app.conf": "listen 80;\n", "token.txt": "not-so-secret\n",
        ]
        for (name, text) in files { try Data(text.utf8).write(to: checkout.url.appendingPathComponent(name)) }
        let recipe = try Recipe.load(directory: checkout.path)
        let app = AppDeployment(runID: "r1", recipe: "r", domain: "r.ci.example",
                                checkout: Checkout(directory: checkout.path, ref: "1.0.0\nservices: {}", commit: String(repeating: "b", count: 40)),
                                workDirectory: work.url)
        let first = try StackPreparation.write(recipe.compose.rendered, recipe: recipe, app: app)
        let second = try StackPreparation.write(recipe.compose.rendered, recipe: recipe, app: app)
        #expect(first.file == "deploys/1/rendered.yml" && second.file == "deploys/2/rendered.yml")
        #expect(first.copies.map(\.name).sorted() == ["./app.conf", "app.env", "token.txt"])
        #expect(first.copies.first { $0.name == "token.txt" }?.sha256 == Digest.sha256(of: Data("not-so-secret\n".utf8)).hex)
        let text = try String(contentsOf: work.url.appendingPathComponent(first.file), encoding: .utf8)
        #expect(Digest.sha256(of: Data(text.utf8)).hex == first.sha256)
        #expect(text.hasPrefix("# compose.yml of 1.0.0?services: {} (bbbbbbb), rendered and checked by cchost\n"))
        let stack = try Self.rendered([("rendered.yml", text)])
        let service = try #require(stack["services"]?["app"])
        #expect(service["env_file"]?.items?.first?.text == work.url.appendingPathComponent("deploys/1/files/env-app-1").path)
        #expect(stack["configs"]?["conf"]?["file"]?.text == work.url.appendingPathComponent("deploys/1/files/configs-conf").path)
        #expect(service["volumes"]?.items?.first?.text == checkout.url.appendingPathComponent("data").path + ":/data")
        #expect(service["volumes"]?.items?[1]["source"]?.text == checkout.url.appendingPathComponent("logs").path)
        #expect(service["volumes"]?.items?[2].text == "named:/named")
        #expect(StackPreparation.secretCopies(in: work.url) == ["deploys/1/files/secrets-token", "deploys/2/files/secrets-token"])
    }
}
