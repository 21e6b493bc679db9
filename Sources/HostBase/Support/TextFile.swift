import Foundation

/// Reads a text file cchost parses: an operator's (configuration, allowlist) or a recipe's
/// (compose files, `.env.sample`, `abra.sh`, README, release notes). `nil` when nothing exists at
/// the path; a folder, anything but a regular file (a FIFO would block the read forever), a file
/// over `maximumBytes`, an unreadable file or non-UTF-8 content is an error with the reason.
public enum TextFile {
    public struct Unreadable: Error {
        public var reason: String
    }

    /// Far beyond any configuration or recipe file (a large compose file is a few tens of KiB);
    /// a bigger one is refused before it is read, not parsed for minutes.
    public static let maximumBytes = 4 << 20

    static func read(_ path: String) throws(Unreadable) -> String? {
        guard let data = try data(at: path) else { return nil }
        guard let text = String(data: data, encoding: .utf8) else { throw Unreadable(reason: "it is not UTF-8 text") }
        return text
    }

    /// The bytes of the regular file at `path` (links followed), at most `maximumBytes` of them.
    public static func data(at path: String, maximumBytes: Int = maximumBytes) throws(Unreadable) -> Data? {
        var isDirectory: ObjCBool = false
        // A dangling symlink or an unsearchable folder also lands here: treated as absent.
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return nil }
        if isDirectory.boolValue { throw Unreadable(reason: "it is a directory, not a file") }
        let attributes: [FileAttributeKey: Any]
        do { attributes = try FileManager.default.attributesOfItem(atPath: URL(fileURLWithPath: path).resolvingSymlinksInPath().path) } catch {
            throw Unreadable(reason: "permission denied")
        }
        guard attributes[.type] as? FileAttributeType == .typeRegular else { throw Unreadable(reason: "it is not a regular file") }
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        guard size <= maximumBytes else {
            throw Unreadable(reason: "it holds \(ByteSize.text(UInt64(size))), over the \(ByteSize.text(UInt64(maximumBytes))) cchost reads")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw Unreadable(reason: "permission denied") }
        // It may have grown between the look and the read.
        guard data.count <= maximumBytes else { throw Unreadable(reason: "it grew past \(ByteSize.text(UInt64(maximumBytes))) while read") }
        return data
    }
}
