import Foundation

/// Reads an operator's text file (configuration, allowlist). `nil` when nothing exists at the path;
/// a folder, an unreadable file or non-UTF-8 content is an error with the reason.
enum TextFile {
    struct Unreadable: Error {
        var reason: String
    }

    static func read(_ path: String) throws(Unreadable) -> String? {
        var isDirectory: ObjCBool = false
        // A dangling symlink or an unsearchable folder also lands here: treated as absent.
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return nil }
        if isDirectory.boolValue { throw Unreadable(reason: "it is a directory, not a file") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Unreadable(reason: "permission denied")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw Unreadable(reason: "it is not UTF-8 text") }
        return text
    }
}
