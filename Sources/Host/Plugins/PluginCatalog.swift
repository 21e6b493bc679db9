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
}

public enum CatalogError: Error, Sendable, CustomStringConvertible {
    case missingPath(String, origin: String)
    case unreadable(String, reason: String)
    case cacheUnwritable(String, reason: String)
    case workerUnavailable(String)

    public var description: String {
        switch self {
        case .missingPath(let path, let origin): return "plugin path \(path) does not exist (from \(origin))"
        case .unreadable(let path, let reason): return "cannot read \(path): \(reason)"
        case .cacheUnwritable(let path, let reason): return "cannot write the plugin cache \(path): \(reason)"
        case .workerUnavailable(let why): return why
        }
    }
}

/// Finds plugin libraries and knows what each one is, from a metadata cache in the state folder.
/// A library whose path, size and mtime match the cache is answered without starting a worker; one
/// whose size or mtime changed is hashed, and probed only when its sha256 changed too. A library that
/// crashed its probe stays recorded as broken until the file changes: it is not retried every run.
public final class PluginCatalog {
    public let cachePath: String
    private let prober: PluginProber
    private var entries: [String: CatalogEntry]
    private var dirty = false
    private let logger = Logger(label: "cchost.plugins")

    public init(stateDirectory: String, prober: PluginProber) {
        cachePath = (stateDirectory as NSString).appendingPathComponent("plugin-cache.json")
        self.prober = prober
        // An unreadable or corrupt cache only costs re-probing; it is rebuilt on save.
        if let data = FileManager.default.contents(atPath: cachePath),
           let file = try? Self.decoder.decode(CacheFile.self, from: data), file.version == CacheFile.currentVersion {
            entries = Dictionary(uniqueKeysWithValues: file.entries.map { ($0.path, $0) })
        } else {
            entries = [:]
        }
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
            dirty = true
            return cached
        }
        logger.info("probing plugin", metadata: ["path": "\(path)"])
        let state: PluginState
        do { state = try prober.probe(path, profile: profile) } catch { throw .workerUnavailable(error.description) }
        let entry = CatalogEntry(path: path, size: stat.size, modifiedNanoseconds: stat.mtime, sha256: digest.hex,
                                 probedAt: Date(), state: state)
        entries[path] = entry
        dirty = true
        return entry
    }

    /// Writes the cache if anything changed (atomically: a crash leaves the old file).
    public func save() throws(CatalogError) {
        guard dirty else { return }
        let file = CacheFile(version: CacheFile.currentVersion, entries: entries.values.sorted { $0.path < $1.path })
        do {
            try FileManager.default.createDirectory(atPath: (cachePath as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try Self.encoder.encode(file).write(to: URL(fileURLWithPath: cachePath), options: .atomic)
            dirty = false
        } catch {
            throw .cacheUnwritable(cachePath, reason: error.localizedDescription)
        }
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

    struct CacheFile: Codable {
        static let currentVersion = 1
        var version: Int
        var entries: [CatalogEntry]
    }

    static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        e.dateEncodingStrategy = .iso8601
        return e
    }

    static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }
}
