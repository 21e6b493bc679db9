import Yams

/// How a recipe's data is seeded through the app, for the data proof (`recipes[].data_seed`): after
/// install a request writes a fresh marker (`{marker}` in the path or body), and the probe must show
/// it then, after the upgrade and after the restore.
///
///     data_seed: {method: POST, path: /notes, body: "text={marker}", probe: /, expect: "{marker}"}
public struct DataSeed: Sendable, Equatable {
    public static let placeholder = "{marker}"
    /// GET or POST.
    public var method: String
    public var path: String
    public var body: String?
    /// The path whose answer must show the seeded data.
    public var probe: String
    /// What the probe's answer must contain; holds `{marker}`.
    public var expect: String

    public init(method: String = "POST", path: String, body: String? = nil, probe: String, expect: String = DataSeed.placeholder) {
        self.method = method
        self.path = path
        self.body = body
        self.probe = probe
        self.expect = expect
    }

    /// `text` with the marker in place of `{marker}`.
    public static func fill(_ text: String, marker: String) -> String {
        text.replacingOccurrences(of: placeholder, with: marker)
    }

    /// Reads `data_seed` of a recipe entry; every problem names its field and line.
    private static let fields = ["method", "path", "body", "probe", "expect"]

    static func parse(_ node: Node, field: String, file: String) throws(ConfigurationError) -> DataSeed {
        func wrong(_ key: String, _ line: Int?, _ expected: String) -> ConfigurationError {
            .wrongType(file: file, line: line, key: key, expected: expected)
        }
        guard let mapping = node.mapping else { throw wrong(field, node.mark?.line, "a mapping with method, path, body, probe and expect") }
        var values: [String: (String, Int?)] = [:]
        for (keyNode, value) in mapping {
            let key = keyNode.scalar?.string ?? ""
            guard fields.contains(key) else {
                throw .unknownKey(file: file, line: keyNode.mark?.line, key: "\(field).\(key)", known: fields)
            }
            guard let text = value.scalar?.string, value.tag != Tag(.null) else { throw wrong("\(field).\(key)", keyNode.mark?.line, "a string") }
            values[key] = (text, keyNode.mark?.line)
        }
        let method = values["method"]?.0.uppercased() ?? "POST"
        guard ["GET", "POST"].contains(method) else { throw wrong("\(field).method", values["method"]?.1, "GET or POST") }
        for key in ["path", "probe"] {
            guard let (path, _) = values[key] else { throw wrong("\(field).\(key)", node.mark?.line, "present: a path starting with /") }
            guard path.hasPrefix("/") else { throw wrong("\(field).\(key)", values[key]?.1, "a path starting with /") }
        }
        let seed = DataSeed(method: method, path: values["path"]!.0, body: values["body"]?.0, probe: values["probe"]!.0,
                            expect: values["expect"]?.0 ?? placeholder)
        guard seed.expect.contains(placeholder) else { throw wrong("\(field).expect", values["expect"]?.1, "text holding \(placeholder)") }
        guard (seed.path + (seed.body ?? "")).contains(placeholder) else {
            throw wrong("\(field).body", values["body"]?.1 ?? values["path"]?.1, "a path or body holding \(placeholder), so that each run seeds a fresh value")
        }
        return seed
    }
}
