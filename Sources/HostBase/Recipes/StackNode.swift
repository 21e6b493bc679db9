import Foundation

/// One value of a rendered stack: plain data (no anchor, alias, merge key, tag or variable left),
/// typed the way docker's YAML reader types it, each node with the file and line it was written at.
/// The content policy reads this tree and docker deploys its text: the checked object and the
/// deployed object are one.
public struct StackNode: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case null
        case bool(Bool)
        case integer(Int64)
        case double(Double)
        case string(String)
        case list([StackNode])
        case map([Entry])
    }

    /// A mapping's entry; keys are always text (docker refuses any other key).
    public struct Entry: Sendable, Equatable {
        public var key: String
        public var node: StackNode
        /// Where the key is written (the value may start on a later line).
        public var location: ComposeProject.Location
    }

    public var value: Value
    public var location: ComposeProject.Location
    /// A string's text before interpolation, when interpolation changed it (object names are
    /// computed again for other stacks from it); nil otherwise.
    public var written: String?

    public init(_ value: Value, at location: ComposeProject.Location, written: String? = nil) {
        self.value = value
        self.location = location
        self.written = written
    }

    // MARK: Reading

    public var entries: [Entry]? {
        if case .map(let entries) = value { return entries }
        return nil
    }

    public var items: [StackNode]? {
        if case .list(let items) = value { return items }
        return nil
    }

    public var isNull: Bool { value == .null }

    /// The entry `key` of a mapping.
    public func entry(_ key: String) -> Entry? { entries?.first { $0.key == key } }

    public subscript(key: String) -> StackNode? { entry(key)?.node }

    /// A scalar as docker turns it into text (`2`, `true`, `0.5`); nil for null, a list or a mapping.
    public var text: String? {
        switch value {
        case .string(let text): text
        case .integer(let number): String(number)
        case .double(let number): Self.numberText(number)
        case .bool(let flag): flag ? "true" : "false"
        case .null, .list, .map: nil
        }
    }

    static func numberText(_ number: Double) -> String {
        number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
    }

    // MARK: Changing (cchost's own additions: labels, limits, copied file paths)

    /// Sets `key` of a mapping to `node` (replacing it, or appending it), the key written at
    /// `location` (the node's own when not given); a null node becomes a mapping first.
    public mutating func set(_ key: String, to node: StackNode, keyAt location: ComposeProject.Location? = nil) {
        var entries = self.entries ?? []
        if let index = entries.firstIndex(where: { $0.key == key }) {
            entries[index].node = node
            if let location { entries[index].location = location }
        } else {
            entries.append(Entry(key: key, node: node, location: location ?? node.location))
        }
        value = .map(entries)
    }

    /// The mapping at `path` under this one, created (with this node's location) where missing,
    /// changed in place by `body`.
    public mutating func update(_ path: [String], _ body: (inout StackNode) -> Void) {
        guard let first = path.first else { return body(&self) }
        var child = self[first].flatMap { $0.entries == nil ? nil : $0 } ?? StackNode(.map([]), at: location)
        child.update(Array(path.dropFirst()), body)
        set(first, to: child)
    }

    // MARK: Writing

    /// The node as JSON, which is YAML too: every string quoted, every number and boolean plain, so
    /// no reader can take a value for another type. When `escaping`, the node is a stack docker reads
    /// and interpolates again, in the sections it interpolates (ComposeFileReader's): there every
    /// `$` is doubled, `$$` being its literal `$`; elsewhere (`version`) it stays as it is, as docker
    /// would leave a doubled one.
    public func json(escaping: Bool, indent: String = "") -> String {
        guard escaping, case .map(let sections) = value else { return json(doublingDollars: escaping, indent: indent) }
        let inner = indent + "  "
        return Self.object(sections.map { section in
            (section.key, section.node.json(doublingDollars: ComposeFileReader.interpolatedSections.contains(section.key), indent: inner))
        }, indent: indent)
    }

    private func json(doublingDollars: Bool, indent: String) -> String {
        let inner = indent + "  "
        switch value {
        case .null: return "null"
        case .bool(let flag): return flag ? "true" : "false"
        case .integer(let number): return String(number)
        // `1.0`, not `1`: a whole double must read back as a double (every double here is finite).
        case .double(let number): return String(number)
        case .string(let text):
            return JSONValue.quoted(doublingDollars ? text.replacingOccurrences(of: "$", with: "$$") : text)
        case .list(let items):
            if items.isEmpty { return "[]" }
            return "[\n" + items.map { inner + $0.json(doublingDollars: doublingDollars, indent: inner) }.joined(separator: ",\n") + "\n\(indent)]"
        case .map(let entries):
            return Self.object(entries.map { ($0.key, $0.node.json(doublingDollars: doublingDollars, indent: inner)) }, indent: indent)
        }
    }

    /// A JSON object of `members` (each value already written, indented one step past `indent`).
    private static func object(_ members: [(key: String, json: String)], indent: String) -> String {
        if members.isEmpty { return "{}" }
        return "{\n" + members.map { indent + "  " + JSONValue.quoted($0.key) + ": " + $0.json }.joined(separator: ",\n") + "\n\(indent)}"
    }
}
