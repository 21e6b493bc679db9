import Foundation

/// Where a recipe's history comes from: a local repository, or a URL cloned (bare) into scratch space.
public enum RecipeSource {
    /// True for `https://…`, `file://…`, `ssh://…` and scp-like `git@host:owner/repo.git`.
    public static func isURL(_ text: String) -> Bool {
        if text.contains("://") { return true }
        guard let colon = text.firstIndex(of: ":"), let at = text.firstIndex(of: "@"), at < colon else { return false }
        return !text[..<at].contains("/")
    }

    public enum OpenError: Error, Sendable, CustomStringConvertible {
        case missing(String)
        case git(GitError)

        public var description: String {
            switch self {
            case .missing(let path): return "\(path) does not exist"
            case .git(let error): return error.description
            }
        }
    }

    /// Opens `pathOrURL`: a repository on disk as it is, a URL as a fresh bare clone under `scratch`.
    public static func open(_ pathOrURL: String, scratch: String) throws(OpenError) -> GitRepository {
        do {
            if isURL(pathOrURL) {
                let name = pathOrURL.split(whereSeparator: { "/:".contains($0) }).last.map(String.init) ?? "recipe"
                return try GitRepository.clone(pathOrURL, to: (scratch as NSString).appendingPathComponent(name), bare: true)
            }
            guard FileManager.default.fileExists(atPath: pathOrURL) else { throw OpenError.missing(pathOrURL) }
            return try GitRepository.open(pathOrURL)
        } catch let error as GitError {
            throw .git(error)
        } catch let error as OpenError {
            throw error
        } catch {
            throw .missing(pathOrURL)
        }
    }
}

/// One release of a recipe as `cchost recipe versions` reports it.
public struct ReleaseListing: Sendable, Codable, Equatable {
    public struct Release: Sendable, Codable, Equatable {
        public var tag: String
        public var commit: String
        public var annotated: Bool
        public var prerelease: Bool
        public var upstream: String?
    }

    public struct Unparseable: Sendable, Codable, Equatable {
        public var tag: String
        public var reason: String
    }

    public var source: String
    /// Oldest to newest.
    public var releases: [Release]
    /// The newest release that is not a pre-release.
    public var latest: String?
    public var unparseable: [Unparseable]

    /// Lists the releases of `repository` (all its tags, ordered by recipe version).
    public init(source: String, repository: GitRepository) throws(GitError) {
        let tags = try repository.tags()
        let byName = Dictionary(tags.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let set = ReleaseSet(tags: tags.map(\.name))
        self.source = source
        releases = set.releases.compactMap { version in
            byName[version.tag].map {
                Release(tag: version.tag, commit: $0.commit, annotated: $0.annotated, prerelease: version.isPrerelease,
                        upstream: version.upstream)
            }
        }
        latest = set.latest?.tag
        unparseable = set.unparseable.map { Unparseable(tag: $0.tag, reason: $0.reason) }
    }
}

/// Local mirrors of recipe repositories.
public enum Mirrors {
    /// Fetches every mirror from its `origin` and names its latest release (nil: no release tag),
    /// at most `width` at a time; each task opens its own repository handle.
    public static func refresh(_ mirrors: [String], width: Int) async throws -> [String: String?] {
        try await withThrowingTaskGroup(of: (String, String?).self) { group in
            var pending = mirrors.makeIterator()
            var latest: [String: String?] = [:]
            func startNext() -> Bool {
                guard let mirror = pending.next() else { return false }
                group.addTask {
                    let repository = try GitRepository.open(mirror)
                    try repository.fetch()
                    return (mirror, ReleaseSet(tags: try repository.tags().map(\.name)).latest?.tag)
                }
                return true
            }
            for _ in 0..<max(1, width) where startNext() {}
            while let (mirror, tag) = try await group.next() {
                latest[mirror] = .some(tag)
                _ = startNext()
            }
            return latest
        }
    }
}
