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
    /// A bound on the text's nesting (`nestingBound`, which can only overestimate) checked before
    /// Yams sees it: Yams composes recursively (over 1 KB of stack a level in a debug build), and
    /// 20 KB of `[` crashed the process. Yams runs on a thread of `stackBytes`, which holds this
    /// many levels whatever thread asked, so the bound can sit far above any real file.
    static let maximumNesting = 10_000
    /// How deep a composed document may nest, measured on that thread before the tree is handed
    /// back: every later walk (and the tree's release) runs on the caller's thread, whose stack may
    /// be small. Far beyond any real file (a compose file nests about ten deep).
    static let maximumDepth = 100
    static let stackBytes = 64 << 20

    struct Problem: Error {
        var line: Int?
        var problem: String
    }

    /// The document's root, `nil` for an empty one (or comments only).
    static func compose(_ text: String) throws(Problem) -> Node? {
        guard nestingBound(text) <= maximumNesting else {
            throw Problem(line: nil, problem: "its collections may nest more than \(maximumNesting) deep (counting its `[`, `{`, "
                + "indentation and `-` conservatively); cchost refuses such YAML")
        }
        // Composed, checked and (when refused) released on a thread of its own large stack.
        let outcome = LargeStack.run(stackBytes: stackBytes) { () -> Result<Node?, Problem> in
            let root: Node?
            do {
                root = try Yams.compose(yaml: text)
            } catch let error as YamlError {
                let (line, problem) = error.lineAndProblem
                return .failure(Problem(line: line, problem: problem))
            } catch {
                return .failure(Problem(line: nil, problem: "\(error)"))
            }
            if let root {
                var budget = maximumNodes
                do throws(Problem) { try spend(&budget, on: root, depth: 1) } catch { return .failure(error) }
            }
            return .success(root)
        }
        return try outcome.get()
    }

    /// An upper bound on how deep the text's collections nest, read from the text alone (it is
    /// checked before Yams recurses into them). Flow: every `[` or `{` that could start a
    /// collection, never minus a closing one (a quoted `]` would undercount) — one right after a
    /// scalar's character (`${`, `a[`) cannot: it is in a scalar, or libyaml stops there with an
    /// error before composing it. Block: a collection is indented past its parent (a sequence in a
    /// mapping may share its column), so one that starts at column c is at most 2c + 2 deep, and
    /// on a line one starts only after the indentation and the `-`, `?`, `:`, `&anchor`, `!tag` before it.
    static func nestingBound(_ text: String) -> Int {
        var flow = 0, block = 0
        var previous: Unicode.Scalar = "\n"
        var run = 0, inRun = true, inProperty = false
        for scalar in text.unicodeScalars {
            if scalar == "\n" || scalar == "\r" {
                if inRun { block = max(block, 2 * run + 2) }
                (run, inRun, inProperty, previous) = (0, true, false, scalar)
                continue
            }
            if inRun {
                if inProperty {
                    inProperty = scalar != " " && scalar != "\t"
                    run += 1
                } else if " \t-?:".unicodeScalars.contains(scalar) {
                    run += 1
                } else if scalar == "&" || scalar == "!" {
                    (inProperty, run) = (true, run + 1)
                } else {
                    inRun = false
                    block = max(block, 2 * run + 2)
                }
            }
            if (scalar == "[" || scalar == "{") && (previous.value > 0x7F || " \t\n\r[{,:?-".unicodeScalars.contains(previous)) {
                flow += 1
            }
            previous = scalar
        }
        if inRun { block = max(block, 2 * run + 2) }
        return flow + block
    }

    /// Counts `node`'s expanded size against `budget`, stopping as soon as it is spent: the walk
    /// costs at most `maximumNodes` steps, whatever the aliases stand for.
    private static func spend(_ budget: inout Int, on node: Node, isKey: Bool = false, depth: Int) throws(Problem) {
        guard depth <= maximumDepth else {
            throw Problem(line: node.mark?.line, problem: "it nests more than \(maximumDepth) levels deep; cchost refuses such YAML")
        }
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
                try spend(&budget, on: key, isKey: true, depth: depth + 1)
                try spend(&budget, on: value, depth: depth + 1)
            }
        case .sequence(let sequence):
            for item in sequence { try spend(&budget, on: item, depth: depth + 1) }
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
