import Foundation

/// A SHA-256 content digest, written `sha256:<64 lowercase hex digits>`.
///
/// The allowlist approves repo-local overlays by digest and the metadata cache is keyed by it,
/// so a swapped binary is a different plugin as far as the host is concerned.
public struct Digest: Sendable, Hashable, CustomStringConvertible {
    /// The 64 lowercase hex digits, without the `sha256:` prefix.
    public let hex: String

    /// A digest from 64 hex digits, upper or lower case; `nil` for anything else.
    public init?(hex: String) {
        guard hex.utf8.count == 64, hex.utf8.allSatisfy(\.isASCIIHexDigit) else { return nil }
        self.hex = hex.lowercased()
    }

    /// `sha256:` followed by the hex digits, the form the allowlist and messages use.
    public var description: String { "sha256:\(hex)" }

    /// The first 12 hex digits, enough to tell digests apart in a message.
    public var short: String { "sha256:\(hex.prefix(12))…" }

    /// The SHA-256 of some bytes.
    public static func sha256(of bytes: some DataProtocol) -> Digest {
        Digest(SHA256.hash(data: bytes))
    }

    /// The SHA-256 of a file's contents, read in chunks so a large file is never held whole.
    public static func sha256(ofFileAt path: String) throws(DigestError) -> Digest {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw .unreadable(file: path, reason: "it is a directory")
        }
        let handle: FileHandle
        do {
            handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        } catch {
            throw .unreadable(file: path, reason: Self.reason(for: error))
        }
        // Kept: closing a file that was only read cannot change what was read.
        defer { try? handle.close() }
        return try sha256(of: handle, path: path)
    }

    /// The SHA-256 of the regular file at `path` itself, as data from an untrusted volume is read:
    /// a link is never followed, and a FIFO or device (a link could not lead to one, but the entry
    /// itself may be one) is an error rather than a read that never ends.
    public static func sha256(ofRegularFileAt path: String) throws(DigestError) -> Digest {
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { throw .unreadable(file: path, reason: String(cString: strerror(errno))) }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw .unreadable(file: path, reason: "it is not a regular file")
        }
        return try sha256(of: handle, path: path)
    }

    private static func sha256(of handle: FileHandle, path: String) throws(DigestError) -> Digest {
        var hasher = SHA256()
        do {
            while let chunk = try handle.read(upToCount: chunkSize), !chunk.isEmpty {
                hasher.update(data: chunk)
            }
        } catch {
            throw .unreadable(file: path, reason: Self.reason(for: error))
        }
        return Digest(hasher.finalize())
    }

    private static let chunkSize = 1 << 20

    private init(_ digest: [UInt8]) {
        hex = digest.map { byte in
            let digits = String(byte, radix: 16)
            return byte < 0x10 ? "0" + digits : digits
        }.joined()
    }

    private static func reason(for error: any Error) -> String {
        let nsError = error as NSError
        if let posix = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, posix.domain == NSPOSIXErrorDomain,
           let message = strerror(Int32(posix.code)) {
            return String(cString: message)
        }
        return nsError.localizedDescription
    }
}

/// Why a digest could not be computed.
public enum DigestError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file is missing, unreadable or not a regular file.
    case unreadable(file: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason):
            "cannot compute the sha256 of \(file): \(reason)"
        }
    }
}

extension UInt8 {
    fileprivate var isASCIIHexDigit: Bool {
        switch self {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"),
             UInt8(ascii: "A")...UInt8(ascii: "F"):
            true
        default:
            false
        }
    }
}
