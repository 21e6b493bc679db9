import Foundation
import Logging

/// Where a plugin library came from, which decides how far it is trusted.
public enum PluginOrigin: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Shipped with cchost (the generic suite).
    case builtin
    /// Installed by the operator in a plugin folder.
    case operatorFolder(String)
    /// Shipped in a recipe repository under .cchost/plugins; runs only when the allowlist approves it.
    case overlay(recipe: String)

    public var description: String {
        switch self {
        case .builtin: return "builtin"
        case .operatorFolder: return "operator"
        case .overlay: return "overlay"
        }
    }
}

/// One plugin library as the catalog knows it. The key is path + size + mtime + sha256.
public struct CatalogEntry: Sendable, Equatable, Codable {
    public var path: String
    public var size: Int64
    public var modifiedNanoseconds: Int64
    public var sha256: String
    public var probedAt: Date
    public var state: PluginState

    public init(path: String, size: Int64, modifiedNanoseconds: Int64, sha256: String, probedAt: Date, state: PluginState) {
        (self.path, self.size, self.modifiedNanoseconds, self.sha256, self.probedAt, self.state) = (path, size, modifiedNanoseconds, sha256, probedAt, state)
    }
}

/// Where probed plugin metadata is kept between processes: the state database's `plugin_cache`
/// table (HostState's `StateStore` conforms). Its errors are the catalog's: `cacheUnreadable`, `cacheUnwritable`.
public protocol PluginCache: Sendable {
    /// Where the cache is, for messages.
    var path: String { get }
    /// Every cached library.
    func pluginCacheEntries() throws(CatalogError) -> [CatalogEntry]
    /// Inserts or replaces the entries of `entries`, leaving other libraries' entries as they are
    /// (another process may have just written them).
    func savePluginCache(_ entries: [CatalogEntry]) throws(CatalogError)
}

public enum CatalogError: Error, Sendable, CustomStringConvertible {
    case missingPath(String, origin: String)
    case unreadable(String, reason: String)
    case cacheUnreadable(String, reason: String)
    case cacheUnwritable(String, reason: String)
    case workerUnavailable(String)

    public var description: String {
        switch self {
        case .missingPath(let path, let origin): return "plugin path \(path) does not exist (from \(origin))"
        case .unreadable(let path, let reason): return "cannot read \(path): \(reason)"
        case .cacheUnreadable(let path, let reason): return "cannot read the plugin cache in \(path): \(reason)"
        case .cacheUnwritable(let path, let reason): return "cannot write the plugin cache in \(path): \(reason)"
        case .workerUnavailable(let why): return why
        }
    }
}

/// Finds plugin libraries and knows what each one is, from the metadata cache in the state database
/// (the `plugin_cache` table, shared by every cchost process on the host). A library whose path, size
/// and mtime match the cache is answered without starting a worker; one whose size or mtime changed is
/// hashed, and probed only when its sha256 changed too. A library that crashed its probe stays
/// recorded as broken until the file changes: it is not retried every run.
///
/// The cache is read once, when the catalog is made; `save()` writes back only the entries this
/// catalog changed, so it never undoes what another process saved meanwhile.
public final class PluginCatalog {
    /// Where the cache lives.
    public let cache: any PluginCache
    private let prober: PluginProber
    private var entries: [String: CatalogEntry]
    /// Paths whose entries were probed or re-keyed since the last save.
    private var changed: Set<String> = []
    private let logger = Logger(label: "cchost.plugins")

    public init(cache: any PluginCache, prober: PluginProber) throws(CatalogError) {
        self.cache = cache
        self.prober = prober
        entries = Dictionary(uniqueKeysWithValues: try cache.pluginCacheEntries().map { ($0.path, $0) })
    }

    /// What `path` is: from the cache when its key matches, otherwise probed (once) and cached.
    public func entry(for path: String, profile: SandboxProfile = .strict) throws(CatalogError) -> CatalogEntry {
        let stat = try Self.fileKey(path)
        if let cached = entries[path], cached.size == stat.size, cached.modifiedNanoseconds == stat.mtime {
            return cached
        }
        let digest: Digest
        do { digest = try Digest.sha256(ofFileAt: path) } catch { throw .unreadable(path, reason: error.description) }
        if var cached = entries[path], cached.sha256 == digest.hex {
            cached.size = stat.size
            cached.modifiedNanoseconds = stat.mtime
            entries[path] = cached
            changed.insert(path)
            return cached
        }
        logger.info("probing plugin", metadata: ["path": "\(path)"])
        let state: PluginState
        do { state = try prober.probe(path, profile: profile) } catch { throw .workerUnavailable(error.description) }
        let entry = CatalogEntry(path: path, size: stat.size, modifiedNanoseconds: stat.mtime, sha256: digest.hex,
                                 probedAt: Date(), state: state)
        entries[path] = entry
        changed.insert(path)
        return entry
    }

    /// Writes the entries that changed since the last save, in one transaction.
    public func save() throws(CatalogError) {
        guard !changed.isEmpty else { return }
        try cache.savePluginCache(changed.sorted().compactMap { entries[$0] })
        changed = []
    }

    /// The `.so` files in operator plugin folders, in search order. A folder that does not exist is an
    /// error naming where it came from: a typo must not look like "no plugins".
    public static func operatorPlugins(in folders: [(path: String, origin: String)]) throws(CatalogError) -> [String] {
        var found: [String] = []
        for folder in folders {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory) else {
                throw .missingPath(folder.path, origin: folder.origin)
            }
            if !isDirectory.boolValue {
                found.append(folder.path)
                continue
            }
            found += try libraries(in: folder.path)
        }
        var seen = Set<String>()
        return found.filter { seen.insert($0).inserted }
    }

    /// Repo-local overlays of a recipe checkout: `.cchost/plugins/*.so`. Listing them loads nothing;
    /// running one goes through `OverlayGate`.
    public static func overlays(inCheckout checkout: String) throws(CatalogError) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: checkout, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .missingPath(checkout, origin: "the recipe checkout given")
        }
        let folder = (checkout as NSString).appendingPathComponent(".cchost/plugins")
        guard FileManager.default.fileExists(atPath: folder) else { return [] }
        return try libraries(in: folder)
    }

    static func libraries(in folder: String) throws(CatalogError) -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: folder)
                .filter { $0.hasSuffix(".so") }
                .sorted()
                .map { (folder as NSString).appendingPathComponent($0) }
        } catch {
            throw .unreadable(folder, reason: error.localizedDescription)
        }
    }

    static func fileKey(_ path: String) throws(CatalogError) -> (size: Int64, mtime: Int64) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw .unreadable(path, reason: String(cString: strerror(errno)))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw .unreadable(path, reason: "not a regular file") }
        return (Int64(info.st_size), Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec))
    }
}
