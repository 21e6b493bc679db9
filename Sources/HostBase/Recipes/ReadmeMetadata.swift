import Foundation

/// The metadata block of a recipe's README:
///
///     <!-- metadata -->
///     * **Category**: Apps
///     * **Status**: 3, stable
///     * **Image**: [`wordpress`](https://hub.docker.com/_/wordpress), 4, upstream
///     * **Healthcheck**: Yes
///     <!-- endmetadata -->
///
/// Bullets may be `*` or `-`; the colon may sit outside or inside the bold (`**Status:**`). Other
/// lines inside the block are ignored. Keys keep their spelling; a key given twice keeps the last value.
public struct ReadmeMetadata: Sendable, Equatable {
    /// `Category` → `Apps`.
    public let fields: [String: String]
    /// The line of each field.
    public let fieldLines: [String: Int]
    /// The line of `<!-- metadata -->`.
    public let line: Int
    /// The README, for messages.
    public let source: String

    public subscript(key: String) -> String? { fields[key] }

    /// The metadata of the recipe's own README in the checkout `directory` (never a file outside it).
    public static func load(directory: String) throws(RecipeError) -> ReadmeMetadata? {
        guard let text = try RecipeFile.text(named: "README.md", in: directory) else { return nil }
        return try parse(text, source: RecipeFile.path("README.md", in: directory))
    }

    /// The metadata of the README at `path`; `nil` when there is no README or it has no block.
    public static func load(path: String) throws(RecipeError) -> ReadmeMetadata? {
        guard let text = try RecipeFile.text(at: path) else { return nil }
        return try parse(text, source: path)
    }

    /// The metadata block of README text; `nil` when it has none. A start marker without an end
    /// marker is an error naming the start marker's line.
    public static func parse(_ text: String, source: String) throws(RecipeError) -> ReadmeMetadata? {
        var start: Int?
        var fields: [String: String] = [:]
        var fieldLines: [String: Int] = [:]
        for (index, line) in RecipeFile.lines(of: text).enumerated() {
            let marker = Self.marker(line)
            guard let start else {
                if marker == "metadata" { start = index + 1 }
                continue
            }
            if marker == "endmetadata" {
                return ReadmeMetadata(fields: fields, fieldLines: fieldLines, line: start, source: source)
            }
            if let (key, value) = Self.field(line) {
                fields[key] = value
                fieldLines[key] = index + 1
            }
        }
        if let start { throw .unterminatedMetadata(file: source, line: start) }
        return nil
    }

    /// `metadata` for `<!-- metadata -->` (spaces inside the comment are optional).
    private static func marker(_ line: Substring) -> String? {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("<!--"), trimmed.hasSuffix("-->"), trimmed.count >= 7 else { return nil }
        return trimmed.dropFirst(4).dropLast(3).trimmingCharacters(in: .whitespaces).lowercased()
    }

    /// `("Category", "Apps")` for `* **Category**: Apps`.
    private static func field(_ line: Substring) -> (String, String)? {
        var rest = line.drop { $0 == " " || $0 == "\t" }
        guard let bullet = rest.first, bullet == "*" || bullet == "-" else { return nil }
        rest = rest.dropFirst()
        guard rest.first == " " || rest.first == "\t" else { return nil }
        rest = rest.drop { $0 == " " || $0 == "\t" }
        guard rest.hasPrefix("**") else { return nil }
        rest = rest.dropFirst(2)
        guard let close = rest.firstRange(of: "**") else { return nil }
        var key = rest[..<close.lowerBound].trimmingCharacters(in: .whitespaces)
        var value = rest[close.upperBound...].drop { $0 == " " || $0 == "\t" }
        if key.hasSuffix(":") {
            key.removeLast()
            key = key.trimmingCharacters(in: .whitespaces)
        } else {
            guard value.first == ":" else { return nil }
            value = value.dropFirst()
        }
        guard !key.isEmpty else { return nil }
        return (key, value.trimmingCharacters(in: .whitespaces))
    }
}
