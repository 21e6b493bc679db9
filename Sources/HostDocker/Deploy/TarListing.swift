import Foundation
import HostBase

/// The members of a tar archive, read from its headers (ustar, with GNU long names): what the backup
/// verifies before it trusts an archive, and, when asked, what its files hold (the data proof's
/// items). An archive that ends inside a member, or before its end blocks, is cut off and an error.
public struct TarListing: Sendable {
    public enum Kind: Equatable, Sendable { case file, directory, link, other }

    public struct Member: Equatable, Sendable {
        /// The path as archived, without a leading `./` or trailing `/` ("" for the root itself).
        public var path: String
        public var kind: Kind
        public var size: Int
        /// When the listing read contents: a file's SHA-256, and its text when it is UTF-8 without
        /// NUL bytes and no larger than the limit asked for.
        public var digest: String? = nil
        public var text: String? = nil

        init(path: String, kind: Kind, size: Int, digest: String? = nil, text: String? = nil) {
            self.path = path
            self.kind = kind
            self.size = size
            self.digest = digest
            self.text = text
        }
    }

    struct Damaged: Error, CustomStringConvertible {
        var description: String
    }

    public let members: [Member]

    /// The archive's members; with `contents`, each file is read (in chunks) for its digest, and
    /// its text is kept up to `textLimit` bytes.
    public init(file: URL, contents: Bool = false, textLimit: Int = 16 << 20) throws {
        let handle = try FileHandle(forReadingFrom: file)
        // Kept: closing a file that was only read cannot change what was read.
        defer { try? handle.close() }
        let length = try handle.seekToEnd()
        try handle.seek(toOffset: 0)
        var members: [Member] = []
        var longName: String?
        while true {
            guard let header = try handle.read(upToCount: 512), header.count == 512 else {
                throw Damaged(description: "the archive ends without its end blocks after \(members.count) member(s): it is cut off")
            }
            let bytes = [UInt8](header)
            if bytes.allSatisfy({ $0 == 0 }) { break }
            let size = try Self.number(bytes[124..<136], member: members.last?.path)
            let type = bytes[156]
            let padded = (size + 511) / 512 * 512
            // Headers that describe the next member (GNU long name and long link target, pax), not members.
            if [UInt8(ascii: "L"), UInt8(ascii: "K"), UInt8(ascii: "x"), UInt8(ascii: "g")].contains(type) {
                guard let data = try handle.read(upToCount: padded), data.count == padded else {
                    throw Damaged(description: "the archive ends inside an extended header")
                }
                if type == UInt8(ascii: "L") { longName = Self.string(data.prefix(size)) }
                continue
            }
            var name = Self.string(bytes[0..<100])
            // POSIX ustar ("ustar\0") has a name prefix; old GNU ("ustar  \0") keeps times there.
            if bytes[257..<263].elementsEqual("ustar\0".utf8), case let prefix = Self.string(bytes[345..<500]), !prefix.isEmpty {
                name = prefix + "/" + name
            }
            name = longName ?? name
            longName = nil
            let kind: Kind = switch type {
            case 0, UInt8(ascii: "0"), UInt8(ascii: "7"): .file
            case UInt8(ascii: "5"): .directory
            case UInt8(ascii: "1"), UInt8(ascii: "2"): .link
            default: .other
            }
            var member = Member(path: Self.normalized(name), kind: kind, size: size)
            let offset = try handle.offset() + UInt64(padded)
            guard offset <= length else {
                throw Damaged(description: "the archive ends inside \(Self.normalized(name)): it is cut off")
            }
            if contents && kind == .file {
                var hash = SHA256()
                var kept = Data()
                var left = size
                while left > 0, let chunk = try handle.read(upToCount: min(left, 1 << 20)), !chunk.isEmpty {
                    hash.update(data: chunk)
                    if size <= textLimit { kept.append(chunk) }
                    left -= chunk.count
                }
                member.digest = hash.finalize().map { String(format: "%02x", $0) }.joined()
                if size <= textLimit, !kept.contains(0), let text = String(data: kept, encoding: .utf8) { member.text = text }
            }
            members.append(member)
            try handle.seek(toOffset: offset)
        }
        self.members = members
    }

    /// Why `path` (as a backup label names it, relative to the volume root; "." for the whole
    /// volume) is missing or empty in the archive; nil when it is there with content: a file of at
    /// least one byte, a folder holding at least one member, or a link. cchost's own data marker
    /// does not count as content.
    public func problem(with path: String) -> String? {
        let wanted = Self.normalized(path)
        let inside = { (member: Member) in
            (wanted.isEmpty ? !member.path.isEmpty : member.path.hasPrefix(wanted + "/"))
                && !member.path.hasSuffix("/" + Self.marker) && member.path != Self.marker
        }
        if wanted.isEmpty {
            return members.contains(where: inside) ? nil : "the volume is empty"
        }
        guard let member = members.first(where: { $0.path == wanted }) else { return "\(path) is not in the archive" }
        switch member.kind {
        case .file: return member.size > 0 ? nil : "\(path) is empty"
        case .directory: return members.contains(where: inside) ? nil : "the folder \(path) is empty"
        case .link, .other: return nil
        }
    }

    public static let marker = BackupLabels.markerFile(inFolder: ".")

    static func normalized(_ path: String) -> String {
        var path = Substring(path)
        while path.hasPrefix("./") { path = path.dropFirst(2) }
        while path.hasSuffix("/") { path = path.dropLast() }
        return path == "." ? "" : String(path)
    }

    private static func string<C: Collection<UInt8>>(_ bytes: C) -> String {
        String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// An octal field, or base-256 when its first byte has the high bit set (members over 8 GiB).
    private static func number(_ field: ArraySlice<UInt8>, member: String?) throws -> Int {
        if let first = field.first, first & 0x80 != 0 {
            // Base-256; a negative size (0xff) or one past 2^62 is not an archive cchost wrote.
            guard first == 0x80, field.dropFirst().prefix(4).allSatisfy({ $0 == 0 }) else {
                throw Damaged(description: "a member header after \(member ?? "the start") has an impossible size")
            }
            return field.dropFirst().reduce(0) { $0 << 8 | Int($1) }
        }
        let text = string(field).trimmingCharacters(in: .whitespaces)
        guard let value = Int(text.isEmpty ? "0" : text, radix: 8), value >= 0 else {
            throw Damaged(description: "a member header after \(member ?? "the start") has a size that is not a number: it is not a tar archive")
        }
        return value
    }
}
