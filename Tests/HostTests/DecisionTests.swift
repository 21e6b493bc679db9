import Foundation
import HostBase
import HostRuns
import PluginChannel
import Testing

/// Pure parts of the plugin boundary, as truth tables.
@Suite("Signatures, frames and metadata")
struct DecisionTests {
    @Test("typed-check signatures parse into named, typed parameters", arguments: [
        ("int http_expect(const char *path, int status, const char *needle)",
         ["path: const char *", "status: int", "needle: const char *"]),
        ("int (const char*path,int64_t n)", ["path: const char *", "n: int64_t"]),
        ("int32_t check(void)", []),
        ("int check()", []),
        ("int f(double ratio, bool strict, long count, int32_t x)", ["ratio: double", "strict: bool", "count: long", "x: int32_t"]),
    ])
    func signatureParses(text: String, parameters: [String]) throws {
        let signature = try CSignature(parsing: text)
        #expect(signature.parameters.map { "\($0.name): \($0.type.rawValue)" } == parameters)
    }

    @Test("unsupported signatures are errors that say what is wrong", arguments: [
        ("void f(int x)", "return type must be int"),
        ("int f(float x)", "unsupported type \"float\""),
        ("int f(char *s)", "unsupported type \"char *\""),
        ("int f(int)", "needs a type and a name"),
        ("int f(int a, int a)", "declared twice"),
        ("int f(int a,)", "missing after"),
        ("int f(int a", "missing \")\""),
        ("int f(int a) extra", "unexpected \"extra\""),
    ])
    func signatureErrors(text: String, reason: String) {
        #expect {
            try CSignature(parsing: text)
        } throws: { error in
            (error as? CSignature.ParseError)?.description.contains(reason) == true
        }
    }

    @Test("frames split across reads are reassembled, and an oversized length is refused before buffering")
    func frameDecoding() throws {
        var decoder = FrameDecoder(limit: 1024)
        let frames = Frame.encode(Array("first".utf8)) + Frame.encode(Array("second".utf8))
        decoder.append(Array(frames[0..<3]))
        #expect(try decoder.nextFrame() == nil)
        decoder.append(Array(frames[3...]))
        #expect(try decoder.nextFrame() == Array("first".utf8))
        #expect(try decoder.nextFrame() == Array("second".utf8))
        #expect(try decoder.nextFrame() == nil)

        var hostile = FrameDecoder(limit: 1024)
        hostile.append([0x7f, 0xff, 0xff, 0xff])
        #expect(throws: ChannelError.oversized(length: 0x7fffffff, limit: 1024)) { try hostile.nextFrame() }
    }

    @Test("a frame that is not a message is a malformed-message error")
    func garbageFrame() {
        #expect(throws: ChannelError.self) { try WorkerMessage.fromFrame(Array("garbage".utf8)) }
    }

    @Test("valid metadata keeps every field")
    func metadataParses() throws {
        let metadata = try PluginMetadata(json: """
            {"recipes": ["gitea"], "canonical_sweep": true, "stages": ["install", "upgrade"], "expected_na": ["backup"],
             "skip_generic": true, "timeouts": {"deploy": 600, "check": 30}, "readiness": {"path": "/api/healthz"},
             "env": {"LETS_ENCRYPT_ENV": "staging"}, "depends_on": ["keycloak"],
             "config": {"http-expect": {"path": "/", "status": 200, "ratio": 0.5, "strict": true}}}
            """)
        #expect(metadata.recipes == ["gitea"])
        #expect(metadata.canonicalSweep && metadata.skipGeneric)
        #expect(metadata.stages == [.install, .upgrade])
        #expect(metadata.expectedNA == [.backup])
        #expect(metadata.timeouts.deploy == 600 && metadata.timeouts.check == 30)
        #expect(metadata.readiness == PluginMetadata.Readiness(path: "/api/healthz", status: 200))
        #expect(metadata.env == ["LETS_ENCRYPT_ENV": "staging"])
        #expect(metadata.dependsOn == ["keycloak"])
        #expect(metadata.config["http-expect"] == ["path": .string("/"), "status": .integer(200), "ratio": .double(0.5), "strict": .bool(true)])
        #expect(metadata.serves(recipe: "gitea") && !metadata.serves(recipe: "wordpress"))
    }

    @Test("invalid metadata names the field", arguments: [
        ("[1, 2]", "metadata"),
        ("{}", "metadata.recipes"),
        ("{\"recipes\": []}", "metadata.recipes"),
        ("{\"recipes\": \"gitea\"}", "metadata.recipes"),
        ("{\"recipes\": [\"*\"], \"stages\": [\"deploy\"]}", "metadata.stages[0]"),
        ("{\"recipes\": [\"*\"], \"skip_generic\": 1}", "metadata.skip_generic"),
        ("{\"recipes\": [\"*\"], \"timeouts\": {\"deploy\": -5}}", "metadata.timeouts.deploy"),
        ("{\"recipes\": [\"*\"], \"timeouts\": {\"build\": 5}}", "metadata.timeouts.build"),
        ("{\"recipes\": [\"*\"], \"readiness\": {\"path\": \"health\"}}", "metadata.readiness.path"),
        ("{\"recipes\": [\"*\"], \"readiness\": {\"path\": \"/\", \"status\": 42}}", "metadata.readiness.status"),
        ("{\"recipes\": [\"*\"], \"env\": {\"1BAD\": \"x\"}}", "metadata.env.1BAD"),
        ("{\"recipes\": [\"*\"], \"depends_on\": [\"*\"]}", "metadata.depends_on[0]"),
        ("{\"recipes\": [\"*\"], \"config\": {\"c\": {\"p\": [1]}}}", "metadata.config.c.p"),
        ("{\"recipes\": [\"*\"], \"enrol\": true}", "metadata.enrol"),
    ])
    func metadataErrors(json: String, field: String) {
        #expect {
            try PluginMetadata(json: json)
        } throws: { error in
            (error as? Rejection)?.problems.map(\.field) == [field]
        }
    }

    @Test("chaos-version names the head only as a short prefix of its commit, never with +U", arguments: [
        ("abcdef1", true), ("abcdef12", true), ("abcdef1+U", false), ("abcdef", false), ("bcdef12", false), (nil, false),
    ] as [(String?, Bool)])
    func chaosVersionMatching(label: String?, matches: Bool) {
        #expect(RunEngine.chaosVersion(label, matches: "abcdef1234567890abcdef1234567890abcdef12") == matches)
    }
}
