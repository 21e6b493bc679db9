import Foundation
@testable import HostBase
@testable import HostDocker
import Testing

@Suite("Quoting for YAML and JSON")
struct QuotingTests {
    static let texts = [
        "plain", "a \"quote\" and a \\ backslash", "line\nbreak", "tab\there", "next line\u{85}x",
        "line separator\u{2028}x", "paragraph\u{2029}x", "bom\u{FEFF}x", "delete\u{7F}x", "ünïcödé ✓", "",
        "costs $$5 and $${HOME}",
    ]

    @Test("a quoted text reads back as itself, through JSON and through the compose reader", arguments: texts)
    func roundTrip(_ text: String) throws {
        let quoted = JSONValue.quoted(text)
        #expect(try JSONDecoder().decode(String.self, from: Data(quoted.utf8)) == text)
        let compose = try ComposeProject(files: [("/r/compose.yml", """
            services:
              app:
                deploy:
                  labels:
                    "k": \(quoted)
            """)], environment: [:])
        let label = try #require(compose.services["app"]?.deployLabels["k"])
        #expect(label == text.replacingOccurrences(of: "$$", with: "$"), "\(quoted)")
        // The rendered stack docker is handed reads back as the same value, `$` and all.
        let again = try ComposeProject(files: [("/r/rendered.yml", compose.rendered.json(escaping: true))], environment: ["HOME": "/root"])
        #expect(again.services["app"]?.deployLabels["k"] == label)
    }

    @Test("an Engine API filter is written with its keys sorted and reads back as itself")
    func filters() throws {
        let filters = ["type": ["container"], "label": ["com.docker.stack.namespace=s", "a\"b"]]
        let text = DockerAPI.filters(filters)
        #expect(text == #"{"label":["com.docker.stack.namespace=s","a\"b"],"type":["container"]}"#)
        #expect(try JSONDecoder().decode([String: [String]].self, from: Data(text.utf8)) == filters)
        #expect(DockerAPI.filters([:]) == "{}")
    }
}
