import Yams

/// YAML as cchost reads it — its configuration and recipes' compose files — composed by Yams and
/// refused, with the line it stopped at, when its aliases expand past `maximumNodes` nodes. Yams
/// shares an anchored node among its aliases, but every walk of the tree visits each alias in full:
/// nested anchors (a "billion laughs") make a few lines stand for billions of nodes, and a lint or a
/// run would spin on them with no deadline.
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
    private static func spend(_ budget: inout Int, on node: Node) throws(Problem) {
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
                try spend(&budget, on: key)
                try spend(&budget, on: value)
            }
        case .sequence(let sequence):
            for item in sequence { try spend(&budget, on: item) }
        }
    }
}
