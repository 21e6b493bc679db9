import Yams

/// YAML as cchost reads it — its configuration and recipes' compose files — composed by Yams and
/// refused, with the line it stopped at, when its aliases expand past `maximumNodes` nodes. Yams
/// shares an anchored node among its aliases, but every walk of the tree visits each alias in full:
/// nested anchors (a "billion laughs") make a few lines stand for billions of nodes, and a lint or a
/// run would spin on them with no deadline.
///
/// Refused too: a tag written in the YAML (`!!binary`, `!custom`, the non-specific `!`, a tagged
/// merge key). Readers disagree on what tags mean (`! <<:` is a plain key to Yams and a merge to
/// docker's reader; a `!!binary` value is skipped by one and decoded by the other), and a check is
/// only as good as its agreement with the reader that acts. No compose file or configuration needs one.
enum YAMLDocument {
    /// Far beyond any real configuration or compose file (a large recipe's has a few thousand).
    static let maximumNodes = 100_000

    struct Problem: Error {
        var line: Int?
        var problem: String
    }

    /// The document's root, `nil` for an empty one (or comments only).
    static func compose(_ text: String) throws(Problem) -> Node? {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            let (line, problem) = error.lineAndProblem
            throw Problem(line: line, problem: problem)
        } catch {
            throw Problem(line: nil, problem: "\(error)")
        }
        if let root {
            var budget = maximumNodes
            try spend(&budget, on: root)
        }
        return root
    }

    /// Counts `node`'s expanded size against `budget`, stopping as soon as it is spent: the walk
    /// costs at most `maximumNodes` steps, whatever the aliases stand for.
    private static func spend(_ budget: inout Int, on node: Node, isKey: Bool = false) throws(Problem) {
        if let tag = writtenTag(node, isKey: isKey) {
            throw Problem(line: node.mark?.line, problem: "it carries the YAML tag `\(tag)`; tags mean different things to "
                + "different YAML readers (docker's among them), so cchost refuses tagged YAML")
        }
        budget -= 1
        guard budget >= 0 else {
            throw Problem(line: node.mark?.line, problem: """
                its aliases expand to more than \(maximumNodes) nodes (anchors nested in anchors, a "billion laughs"); \
                cchost refuses such YAML
                """)
        }
        switch node {
        case .scalar:
            return
        case .mapping(let mapping):
            for (key, value) in mapping {
                try spend(&budget, on: key, isKey: true)
                try spend(&budget, on: value)
            }
        case .sequence(let sequence):
            for item in sequence { try spend(&budget, on: item) }
        }
    }

    /// The tag written on `node`, shortened (`!!binary`), or nil when none was. Yams keeps an
    /// untagged node's tag implicit, except that a quoted scalar is a string, and that composing
    /// resolves mapping keys (it hashes them): a key is untagged when its tag is what its text
    /// alone resolves to (a `<<` key tagged anything is not a merge to Yams, and is to docker).
    private static func writtenTag(_ node: Node, isKey: Bool) -> String? {
        let name: String
        switch node {
        case .scalar(let scalar):
            name = scalar.tag.description
            if name.isEmpty { return nil }
            if name == Tag.Name.str.rawValue && [.singleQuoted, .doubleQuoted].contains(scalar.style) { return nil }
            if isKey && name == Resolver.default.resolveTag(of: .scalar(.init(scalar.string))).rawValue { return nil }
        case .mapping(let mapping):
            name = mapping.tag.description
        case .sequence(let sequence):
            name = sequence.tag.description
        }
        guard !name.isEmpty else { return nil }
        let core = "tag:yaml.org,2002:"
        return name.hasPrefix(core) ? "!!" + name.dropFirst(core.count) : name
    }
}
