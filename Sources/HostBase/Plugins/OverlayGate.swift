import Foundation

/// A repo-local overlay the allowlist approved, copied to a content-addressed path so that the bytes
/// that run are exactly the bytes whose digest was approved (the checkout may change underneath).
public struct ApprovedOverlay: Sendable, Equatable {
    public var recipe: String
    public var sourcePath: String
    public var digest: Digest
    /// The copy to load: `<state>/overlays/<sha256>.so`.
    public var stagedPath: String
    /// Set when approved through `any-digest`.
    public var warning: String?
}

public enum OverlayDecision: Sendable, Equatable {
    case approved(ApprovedOverlay)
    case denied(path: String, digest: Digest, reason: String)
}

public enum OverlayGateError: Error, Sendable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case staging(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "cannot read overlay \(path): \(reason)"
        case .staging(let path, let reason): return "cannot stage approved overlay at \(path): \(reason)"
        }
    }
}

/// The only way a repo-local overlay becomes loadable: its bytes are read once, digested, judged by
/// `Allowlist.decide`, and only approved bytes are staged for a worker. Default deny.
public struct OverlayGate: Sendable {
    public let allowlist: Allowlist
    public let stagingDirectory: String

    public init(allowlist: Allowlist, stateDirectory: String) {
        self.allowlist = allowlist
        stagingDirectory = (stateDirectory as NSString).appendingPathComponent("overlays")
    }

    /// Judges an overlay without staging it (for `cchost allowlist check`).
    public func decide(recipe: String, overlay path: String) throws(OverlayGateError) -> (Digest, AllowlistDecision) {
        let digest = Digest.sha256(of: try Self.read(path))
        return (digest, allowlist.decide(recipe: recipe, digest: digest))
    }

    /// Judges an overlay and, when approved, stages the very bytes that were judged.
    public func admit(recipe: String, overlay path: String) throws(OverlayGateError) -> OverlayDecision {
        let bytes = try Self.read(path)
        let digest = Digest.sha256(of: bytes)
        switch allowlist.decide(recipe: recipe, digest: digest) {
        case .denied(let reason):
            return .denied(path: path, digest: digest, reason: reason)
        case .approved(_, let warning):
            let staged = (stagingDirectory as NSString).appendingPathComponent("\(digest.hex).so")
            do {
                try FileManager.default.createDirectory(atPath: stagingDirectory, withIntermediateDirectories: true)
                if !FileManager.default.fileExists(atPath: staged) {
                    try bytes.write(to: URL(fileURLWithPath: staged), options: .atomic)
                    try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: staged)
                }
            } catch {
                throw .staging(path: staged, reason: error.localizedDescription)
            }
            return .approved(ApprovedOverlay(recipe: recipe, sourcePath: path, digest: digest, stagedPath: staged,
                                             warning: warning))
        }
    }

    static func read(_ path: String) throws(OverlayGateError) -> Data {
        guard let data = FileManager.default.contents(atPath: path) else {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            throw .unreadable(path: path, reason: !exists ? "no such file" : isDirectory.boolValue ? "it is a folder" : "permission denied")
        }
        return data
    }
}
