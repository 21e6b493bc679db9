import CLibCrypto
import Foundation

/// SHA-256 through the system's OpenSSL libcrypto (libssl-dev), which the machine has anyway: the
/// only cryptography cchost needs, without compiling a cryptography package of its own on every
/// fresh build. Incremental: `update` as data arrives, then `finalize` once.
public struct SHA256 {
    private let context: Context

    public init() {
        context = Context()
    }

    /// The SHA-256 of `data`, at once.
    public static func hash(data: some DataProtocol) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: data)
        return hasher.finalize()
    }

    public mutating func update(data: some DataProtocol) {
        for region in data.regions {
            region.withUnsafeBytes { bytes in
                // EVP_DigestUpdate fails only on a context that was never initialised (see Context).
                _ = EVP_DigestUpdate(context.pointer, bytes.baseAddress, bytes.count)
            }
        }
    }

    /// The 32 bytes of the digest. Call once.
    public func finalize() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        _ = EVP_DigestFinal_ex(context.pointer, &digest, &length)
        return Array(digest.prefix(Int(length)))
    }

    /// The OpenSSL digest context, freed with its owner.
    private final class Context {
        let pointer: OpaquePointer

        init() {
            // A context is a small allocation: failing to get one, or to set it to SHA-256 (built
            // into every libcrypto), means the process cannot go on anyway.
            guard let pointer = EVP_MD_CTX_new(), EVP_DigestInit_ex(pointer, EVP_sha256(), nil) == 1 else {
                fatalError("OpenSSL could not start a SHA-256 digest")
            }
            self.pointer = pointer
        }

        deinit { EVP_MD_CTX_free(pointer) }
    }
}
