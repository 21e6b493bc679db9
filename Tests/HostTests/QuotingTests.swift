import Foundation
@testable import HostBase
@testable import HostDocker
import Testing

@Suite("Quoting for YAML and JSON")
struct QuotingTests {
    static let texts = [
        "plain", "a \"quote\" and a \\ backslash", "line\nbreak", "tab\there", "next line\u{85}x",
        "line separator\u{2028}x", "paragraph\u{2029}x", "bom\u{FEFF}x", "delete\u{7F}x", "ünïcödé ✓", "",
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
        #expect(compose.services["app"]?.deployLabels["k"] == text, "\(quoted)")
        #expect(SwarmDeployer.quoted(text) == quoted)
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
