import Foundation

/// The operator's approvals for repo-local plugin overlays. Default-deny: a missing or empty file
/// approves nothing, and a malformed line rejects the whole file (fail closed).
///
/// Format, one approval per line; `#` starts a comment (at the start of a line or after a space):
///
///     gitea sha256:<64 hex digits>   # approve exactly this .so for recipe gitea
///     nextcloud any-digest           # approve any overlay binary for nextcloud (warns on every use)
public struct Allowlist: Sendable {
    /// One approval: a recipe and the digest of the overlay binary it may run.
    public struct Entry: Sendable, Equatable {
        public var recipe: String
        /// The approved binary; `nil` approves any binary (`any-digest`).
        public var digest: Digest?
        /// 1-based line number in the file, for messages.
        public var line: Int

        public init(recipe: String, digest: Digest?, line: Int) {
            self.recipe = recipe
            self.digest = digest
            self.line = line
        }
    }

    /// The file the approvals came from, for messages.
    public let source: String
    public let entries: [Entry]
    /// `false` when the file does not exist, which denies every overlay.
    public let fileExists: Bool

    /// Reads the allowlist at `path`. A missing file is not an error: it is an allowlist that
    /// approves nothing.
    public static func load(from path: String) throws(AllowlistError) -> Allowlist {
        guard let text = try readText(at: path) else {
            return Allowlist(source: path, entries: [], fileExists: false)
        }
        return try Allowlist(parsing: text, source: path)
    }

    /// Parses allowlist text; `source` names it in messages.
    public init(parsing text: String, source: String) throws(AllowlistError) {
        var entries: [Entry] = []
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for (index, rawLine) in lines.enumerated() {
            let number = index + 1
            let fields = Self.fields(ofLine: rawLine)
            guard !fields.isEmpty else { continue }
            do throws(EntryProblem) {
                entries.append(try Self.entry(from: fields, line: number))
            } catch {
                throw .malformed(file: source, line: number, reason: error.reason)
            }
        }
        self.init(source: source, entries: entries, fileExists: true)
    }

    private init(source: String, entries: [Entry], fileExists: Bool) {
        self.source = source
        self.entries = entries
        self.fileExists = fileExists
    }

    /// The one function that decides whether a repo-local overlay may run. Pure.
    ///
    /// An entry pinning this exact digest wins over an `any-digest` entry for the same recipe.
    public func decide(recipe: String, digest: Digest) -> AllowlistDecision {
        let suggestion = "\(recipe) \(digest)"
        guard fileExists else {
            return .denied(reason: "allowlist \(source) does not exist: every repo-local overlay is denied; "
                + "to approve this one, create it with the line: \(suggestion)")
        }
        guard !entries.isEmpty else {
            return .denied(reason: "allowlist \(source) has no approvals: every repo-local overlay is denied; "
                + "to approve this one, add: \(suggestion)")
        }
        let forRecipe = entries.filter { $0.recipe == recipe }
        if let pinned = forRecipe.first(where: { $0.digest == digest }) {
            return .approved(line: pinned.line, warning: nil)
        }
        if let any = forRecipe.first(where: { $0.digest == nil }) {
            return .approved(line: any.line, warning: "\(source):\(any.line): approves any overlay binary for "
                + "recipe '\(recipe)' (this one is \(digest.short)); pinning a sha256 is safer: \(suggestion)")
        }
        if !forRecipe.isEmpty {
            let approved = forRecipe.compactMap { entry in
                entry.digest.map { "\($0.short) (line \(entry.line))" }
            }
            return .denied(reason: "this overlay binary (\(digest.short)) is not approved for recipe '\(recipe)': "
                + "\(source) approves only \(approved.joined(separator: ", ")), so it is a different or changed binary; "
                + "if it is trusted, add: \(suggestion)")
        }
        return .denied(reason: "no line in \(source) approves recipe '\(recipe)' with \(digest.short); "
            + "add: \(suggestion)")
    }

    // MARK: Parsing

    private struct EntryProblem: Error {
        var reason: String
    }

    /// The whitespace-separated fields of a line, without its comment. A comment starts at a `#`
    /// that begins the line or follows whitespace, so `any-digest#x` stays one (bad) field.
    private static func fields(ofLine line: Substring) -> [Substring] {
        var fields: [Substring] = []
        var start: Substring.Index?
        var index = line.startIndex
        while index < line.endIndex {
            let character = line[index]
            if character.isWhitespace {
                if let fieldStart = start {
                    fields.append(line[fieldStart..<index])
                    start = nil
                }
            } else if start == nil {
                if character == "#" { return fields }
                start = index
            }
            index = line.index(after: index)
        }
        if let fieldStart = start { fields.append(line[fieldStart...]) }
        return fields
    }

    private static let expectedForm = "RECIPE sha256:<64 hex digits> or RECIPE any-digest"

    private static func entry(from fields: [Substring], line: Int) throws(EntryProblem) -> Entry {
        guard fields.count == 2 else {
            let found = fields.joined(separator: " ")
            let problem = fields.count == 1 ? "'\(found)' has no digest" : "'\(found)' has \(fields.count) fields"
            throw EntryProblem(reason: "\(problem) (expected \(expectedForm))")
        }
        let recipe = String(fields[0])
        let approval = String(fields[1])
        guard isRecipeName(recipe) else {
            throw EntryProblem(reason: "'\(recipe)' is not a recipe name (expected lowercase letters, digits, "
                + "'.', '_' or '-', starting with a letter or digit)")
        }
        if approval == "any-digest" {
            return Entry(recipe: recipe, digest: nil, line: line)
        }
        let prefix = "sha256:"
        guard approval.hasPrefix(prefix) else {
            throw EntryProblem(reason: "'\(approval)' is neither a sha256 digest nor any-digest "
                + "(expected sha256: followed by 64 hex digits)")
        }
        guard let digest = Digest(hex: String(approval.dropFirst(prefix.count))) else {
            throw EntryProblem(reason: "'\(approval)' is not a sha256 digest "
                + "(expected sha256: followed by 64 hex digits)")
        }
        return Entry(recipe: recipe, digest: digest, line: line)
    }

    /// `[a-z0-9][a-z0-9_.-]*`
    private static func isRecipeName(_ name: String) -> Bool {
        func isLowerAlphanumeric(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
        guard let first = name.utf8.first, isLowerAlphanumeric(first) else { return false }
        return name.utf8.dropFirst().allSatisfy { byte in
            isLowerAlphanumeric(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
        }
    }

    // MARK: Reading

    /// The file's text, or `nil` when nothing exists at `path`.
    private static func readText(at path: String) throws(AllowlistError) -> String? {
        do { return try TextFile.read(path) } catch { throw .unreadable(file: path, reason: error.reason) }
    }
}

/// Whether a repo-local overlay may run, and why.
public enum AllowlistDecision: Sendable, Equatable {
    /// Approved by the entry on `line`; `warning` is set when that entry is `any-digest`.
    case approved(line: Int, warning: String?)
    /// Denied; `reason` says what to add to the allowlist to approve it.
    case denied(reason: String)

    public var isApproved: Bool {
        if case .approved = self { true } else { false }
    }
}

/// Why an allowlist could not be used. Either way nothing is approved.
public enum AllowlistError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A line is not `RECIPE sha256:<hex>` or `RECIPE any-digest`; the whole file is rejected.
    case malformed(file: String, line: Int, reason: String)
    /// The file exists but cannot be read.
    case unreadable(file: String, reason: String)

    public var description: String {
        switch self {
        case let .malformed(file, line, reason):
            "\(file):\(line): \(reason)"
        case let .unreadable(file, reason):
            "cannot read allowlist \(file): \(reason); every repo-local overlay is denied until it can be read"
        }
    }
}
