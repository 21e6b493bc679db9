import Foundation

/// The members of a tar archive, read from its headers (ustar, with GNU long names): what the backup
/// verifies before it trusts an archive. An archive that ends inside a member, or before its end
/// blocks, is cut off and an error.
struct TarListing {
    enum Kind: Equatable { case file, directory, link, other }

    struct Member: Equatable {
        /// The path as archived, without a leading `./` or trailing `/` ("" for the root itself).
        var path: String
        var kind: Kind
        var size: Int
    }

    struct Damaged: Error, CustomStringConvertible {
        var description: String
    }

    let members: [Member]

    init(file: URL) throws {
        let handle = try FileHandle(forReadingFrom: file)
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
            if type == UInt8(ascii: "L") {  // GNU: the next member's long name, as this member's data
                guard let data = try handle.read(upToCount: padded), data.count == padded else {
                    throw Damaged(description: "the archive ends inside a long name")
                }
                longName = Self.string(data.prefix(size))
                continue
            }
            var name = Self.string(bytes[0..<100])
            if bytes[257..<262].elementsEqual("ustar".utf8), case let prefix = Self.string(bytes[345..<500]), !prefix.isEmpty {
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
            members.append(Member(path: Self.normalized(name), kind: kind, size: size))
            let offset = try handle.offset() + UInt64(padded)
            guard offset <= length else {
                throw Damaged(description: "the archive ends inside \(name): it is cut off")
            }
            try handle.seek(toOffset: offset)
        }
        self.members = members
    }

    /// Why `path` (as a backup label names it, relative to the volume root; "." for the whole
    /// volume) is missing or empty in the archive; nil when it is there with content: a file of at
    /// least one byte, a folder holding at least one member, or a link.
    func problem(with path: String) -> String? {
        let wanted = Self.normalized(path)
        let inside = { (member: Member) in wanted.isEmpty ? !member.path.isEmpty : member.path.hasPrefix(wanted + "/") }
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
            return field.dropFirst().reduce(Int(first & 0x7f)) { $0 << 8 | Int($1) }
        }
        let text = string(field).trimmingCharacters(in: .whitespaces)
        guard let value = Int(text.isEmpty ? "0" : text, radix: 8) else {
            throw Damaged(description: "a member header after \(member ?? "the start") has a size that is not a number: it is not a tar archive")
        }
        return value
    }
}
