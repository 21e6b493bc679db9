import CLibGit2
import Foundation

/// A failed git operation: what was attempted, on which repository, and libgit2's own message.
public struct GitError: Error, Sendable, Equatable, CustomStringConvertible {
    public let operation: String
    public let repository: String
    public let message: String
    /// libgit2's error code (e.g. GIT_ENOTFOUND = -3).
    public let code: Int32

    /// A URL's credential is never part of it, whatever libgit2's message quotes.
    public var description: String {
        Redactor(RepositoryAddress.credentials(repository)).redact("git \(operation) in \(RepositoryAddress.display(repository)): \(message)")
    }
    public var isNotFound: Bool { code == GIT_ENOTFOUND.rawValue }
}

/// A tag of a repository, peeled to the commit it releases.
public struct GitTag: Sendable, Equatable, Codable {
    public var name: String
    /// The commit the tag points at (for an annotated tag: its target, never the tag object).
    public var commit: String
    public var annotated: Bool

    public init(name: String, commit: String, annotated: Bool) {
        self.name = name
        self.commit = commit
        self.annotated = annotated
    }
}

/// The one wrapper around libgit2: every git operation of cchost goes through here, in-process.
/// Not shared between tasks; open one per task (libgit2 is thread-safe across repositories).
public final class GitRepository {
    public let path: String
    private let handle: OpaquePointer

    private init(path: String, handle: OpaquePointer) {
        self.path = path
        self.handle = handle
    }

    deinit { git_repository_free(handle) }

    /// libgit2 wants one global initialisation per process; the runtime keeps this alive for good.
    private static let initialised: Bool = { git_libgit2_init() > 0 }()

    static func check(_ status: Int32, _ operation: String, _ repository: String) throws(GitError) {
        guard status < 0 else { return }
        let message = git_error_last().map { String(cString: $0.pointee.message) } ?? "libgit2 error \(status)"
        throw GitError(operation: operation, repository: repository, message: message, code: status)
    }

    // MARK: Opening, creating, cloning

    public static func open(_ path: String) throws(GitError) -> GitRepository {
        _ = initialised
        var handle: OpaquePointer?
        try check(git_repository_open_ext(&handle, path, UInt32(GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue), nil), "open", path)
        return GitRepository(path: path, handle: handle!)
    }

    public static func create(at path: String, bare: Bool) throws(GitError) -> GitRepository {
        _ = initialised
        var handle: OpaquePointer?
        try check(git_repository_init(&handle, path, bare ? 1 : 0), "init", path)
        return GitRepository(path: path, handle: handle!)
    }

    /// Clones `url` (a local path, `file://`, https, or ssh through the agent) into `path`.
    /// A bare clone is a mirror: every branch and every tag git can hold, no working tree.
    public static func clone(_ url: String, to path: String, bare: Bool) throws(GitError) -> GitRepository {
        _ = initialised
        if bare { return try mirror(url, to: path) }
        var options = git_clone_options()
        cchost_git_clone_options(&options)
        options.bare = 0
        options.fetch_opts.callbacks.credentials = cchost_git_credentials
        options.fetch_opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_ALL
        var handle: OpaquePointer?
        try check(git_clone(&handle, url, path, &options), "clone \(url)", path)
        return GitRepository(path: path, handle: handle!)
    }

    /// A mirror of `url` built by hand rather than by `git_clone`, which fetches every tag the
    /// remote has whatever it is asked (a tag name over 255 bytes is no file name, and stopped the
    /// whole clone): upstream branches as its own, tags as `fetch` takes them, HEAD the upstream's.
    private static func mirror(_ url: String, to path: String) throws(GitError) -> GitRepository {
        let repository = try create(at: path, bare: true)
        var remote: OpaquePointer?
        try check(git_remote_create_with_fetchspec(&remote, repository.handle, "origin", url, "+refs/heads/*:refs/heads/*"),
                  "clone \(url)", path)
        git_remote_free(remote)
        // From the URL itself, so that a failure names it (as a failed clone did).
        if let head = try repository.fetchReportingHead(from: url, refspecs: ["+refs/heads/*:refs/heads/*", tagsRefspec], prune: false) {
            try check(git_repository_set_head(repository.handle, head), "clone \(url): set HEAD to \(head)", path)
        }
        return repository
    }

    /// Every tag, as a refspec; `fetch` turns it into one refspec per tag git can hold.
    public static let tagsRefspec = "+refs/tags/*:refs/tags/*"

    // MARK: Fetch and push

    /// Fetches `refspecs` from `remote` (a configured remote name, or a URL or path). The default
    /// refreshes every branch and tag, pruning what the remote deleted.
    ///
    /// Tags (`tagsRefspec`) are fetched one refspec each, for the tags the remote advertises whose
    /// names git can hold as refs (`RecipeVersion.longestTag` bytes at most, a valid ref name): a
    /// wildcard would stop the whole fetch at a longer one, and every other tag would be missing.
    /// Tags the remote no longer has are pruned by hand, since no wildcard covers them.
    public func fetch(from remote: String = "origin",
                      refspecs: [String] = ["+refs/heads/*:refs/heads/*", tagsRefspec],
                      prune: Bool = true) throws(GitError) {
        _ = try fetchReportingHead(from: remote, refspecs: refspecs, prune: prune)
    }

    /// `fetch`, returning the remote's default branch (`refs/heads/main`) when it listed the
    /// remote's refs (to fetch its tags) and the remote has one.
    private func fetchReportingHead(from remote: String, refspecs: [String], prune: Bool) throws(GitError) -> String? {
        let handle = try remoteHandle(remote)
        defer { git_remote_free(handle) }
        var options = git_fetch_options()
        cchost_git_fetch_options(&options)
        options.callbacks.credentials = cchost_git_credentials
        options.prune = prune ? GIT_FETCH_PRUNE : GIT_FETCH_NO_PRUNE
        options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE
        var wanted = refspecs.filter { $0 != Self.tagsRefspec }
        var advertisedTags: Set<String>?
        var head: String?
        if refspecs.contains(Self.tagsRefspec) {
            let listing = try advertised(handle, remote: remote, options: &options)
            head = listing.head
            let tags = listing.refs.filter { $0.hasPrefix("refs/tags/") && !$0.hasSuffix("^{}") }.map { String($0.dropFirst("refs/tags/".count)) }
            advertisedTags = Set(tags)
            wanted += tags.filter { $0.utf8.count <= RecipeVersion.longestTag && Self.isValidReference("refs/tags/" + $0) }
                .map { "+refs/tags/\($0):refs/tags/\($0)" }
        }
        if !wanted.isEmpty {
            try withStrArray(wanted) { array throws(GitError) in
                try Self.check(git_remote_fetch(handle, &array, &options, nil), "fetch from \(remote)", path)
            }
        }
        if prune, let advertisedTags {
            for tag in try tags() where !advertisedTags.contains(tag.name) {
                try Self.check(git_reference_remove(self.handle, "refs/tags/\(tag.name)"), "prune tag \(tag.name)", path)
            }
        }
        return head
    }

    /// Whether git would hold `name` as a ref (a remote may advertise anything).
    static func isValidReference(_ name: String) -> Bool {
        var valid: Int32 = 0
        return git_reference_name_is_valid(&valid, name) == 0 && valid == 1
    }

    /// The refs `remote` advertises, by name, and its default branch (a connection of its own).
    private func advertised(_ remote: OpaquePointer, remote name: String,
                            options: inout git_fetch_options) throws(GitError) -> (refs: [String], head: String?) {
        try Self.check(git_remote_connect(remote, GIT_DIRECTION_FETCH, &options.callbacks, &options.proxy_opts, nil),
                       "connect to \(name)", path)
        defer { git_remote_disconnect(remote) }
        var branch = git_buf()
        // Kept: an empty remote, or one that names no HEAD, has no default branch; that is all it means.
        let head: String? = git_remote_default_branch(&branch, remote) == 0 ? branch.ptr.map { String(cString: $0) } : nil
        git_buf_dispose(&branch)
        var heads: UnsafeMutablePointer<UnsafePointer<git_remote_head>?>?
        var count = 0
        try Self.check(git_remote_ls(&heads, &count, remote), "list the refs of \(name)", path)
        return ((0..<count).compactMap { heads?[$0].map { String(cString: $0.pointee.name) } }, head)
    }

    /// Pushes `refspecs` (e.g. `+refs/heads/main:refs/heads/main`, `refs/tags/1.0.0+1.2:refs/tags/1.0.0+1.2`)
    /// to `remote` (a configured remote name, or a URL or path).
    public func push(to remote: String, refspecs: [String]) throws(GitError) {
        let handle = try remoteHandle(remote)
        defer { git_remote_free(handle) }
        var options = git_push_options()
        cchost_git_push_options(&options)
        options.callbacks.credentials = cchost_git_credentials
        try withStrArray(refspecs) { array throws(GitError) in
            try Self.check(git_remote_push(handle, &array, &options), "push to \(remote)", path)
        }
    }

    /// Forgets every configured remote (with its remote-tracking branches), so that nothing
    /// working in this repository can fetch from anywhere.
    public func removeRemotes() throws(GitError) {
        var names = git_strarray()
        try Self.check(git_remote_list(&names, handle), "list remotes", path)
        defer { git_strarray_dispose(&names) }
        for index in 0..<names.count {
            guard let name = names.strings[index] else { continue }
            try Self.check(git_remote_delete(handle, name), "remove remote \(String(cString: name))", path)
        }
    }

    private func remoteHandle(_ remote: String) throws(GitError) -> OpaquePointer {
        var handle: OpaquePointer?
        if git_remote_lookup(&handle, self.handle, remote) == 0, let handle { return handle }
        try Self.check(git_remote_create_anonymous(&handle, self.handle, remote), "use remote \(remote)", path)
        return handle!
    }

    // MARK: Reading

    /// Every tag, peeled to its commit, sorted by name. Tags that do not lead to a commit (a tag of a
    /// tree or blob, a tag whose object is missing) are left out: they cannot be releases.
    ///
    /// The references are walked (loose and packed alike) and each is read as found, never looked up
    /// again by name: a name git cannot look up (one over the file system's 255 bytes, which only
    /// `packed-refs` can hold) is listed like any other, for the release parser to refuse on its own,
    /// instead of stopping the listing (`git_tag_list` stopped at it, so every tag after it was missing).
    public func tags() throws(GitError) -> [GitTag] {
        var iterator: OpaquePointer?
        try Self.check(git_reference_iterator_glob_new(&iterator, handle, "refs/tags/*"), "list tags", path)
        defer { git_reference_iterator_free(iterator) }
        var tags: [GitTag] = []
        var reference: OpaquePointer?
        while true {
            let status = git_reference_next(&reference, iterator)
            if status == GIT_ITEROVER.rawValue { break }
            try Self.check(status, "list tags", path)
            defer { git_reference_free(reference) }
            let name = String(cString: git_reference_name(reference)).dropFirst("refs/tags/".count)
            if let tag = Self.tag(String(name), reference: reference!, in: handle) { tags.append(tag) }
        }
        return tags.sorted { $0.name < $1.name }
    }

    /// The tag `reference` points at, peeled to its commit; nil when it leads to no commit.
    private static func tag(_ name: String, reference: OpaquePointer, in repository: OpaquePointer) -> GitTag? {
        // A direct reference is read as it is: resolving it would look its name up again.
        var symbolic: OpaquePointer?
        if git_reference_type(reference) != GIT_REFERENCE_DIRECT, git_reference_resolve(&symbolic, reference) != 0 { return nil }
        defer { git_reference_free(symbolic) }
        var object: OpaquePointer?
        guard let target = git_reference_target(symbolic ?? reference),
              git_object_lookup(&object, repository, target, GIT_OBJECT_ANY) == 0 else { return nil }
        defer { git_object_free(object) }
        var commit: OpaquePointer?
        guard git_object_peel(&commit, object, GIT_OBJECT_COMMIT) == 0 else { return nil }
        defer { git_object_free(commit) }
        return GitTag(name: name, commit: hex(git_object_id(commit)), annotated: git_object_type(object) == GIT_OBJECT_TAG)
    }

    /// The full commit id of any ref, tag, branch, or (short) sha. Annotated tags peel to their commit.
    public func resolve(_ reference: String) throws(GitError) -> String {
        var object: OpaquePointer?
        try Self.check(git_revparse_single(&object, handle, reference), "resolve \"\(reference)\"", path)
        defer { git_object_free(object) }
        var commit: OpaquePointer?
        try Self.check(git_object_peel(&commit, object, GIT_OBJECT_COMMIT), "resolve \"\(reference)\" to a commit", path)
        defer { git_object_free(commit) }
        return Self.hex(git_object_id(commit))
    }

    /// Branch names (`refs/heads/*`) with their commits.
    public func branches() throws(GitError) -> [String: String] {
        var iterator: OpaquePointer?
        try Self.check(git_branch_iterator_new(&iterator, handle, GIT_BRANCH_LOCAL), "list branches", path)
        defer { git_branch_iterator_free(iterator) }
        var result: [String: String] = [:]
        var reference: OpaquePointer?
        var type = GIT_BRANCH_LOCAL
        while git_branch_next(&reference, &type, iterator) == 0 {
            defer { git_reference_free(reference) }
            var name: UnsafePointer<CChar>?
            guard git_branch_name(&name, reference) == 0, let name else { continue }
            var peeled: OpaquePointer?
            guard git_reference_peel(&peeled, reference, GIT_OBJECT_COMMIT) == 0 else { continue }
            result[String(cString: name)] = Self.hex(git_object_id(peeled))
            git_object_free(peeled)
        }
        return result
    }

    // MARK: Per-run working trees

    /// Checks `reference` out into a new folder of its own (a local clone of this repository, HEAD
    /// detached at the commit). Every run gets its own tree, so runs of one recipe never race.
    public func checkout(_ reference: String, into directory: String) throws(GitError) -> Checkout {
        let commit = try resolve(reference)
        let tree = try Self.clone(path, to: directory, bare: false)
        try tree.detach(at: commit)
        return Checkout(directory: directory, ref: reference, commit: commit)
    }

    /// Points HEAD at `commit` (detached) and makes the working tree match it.
    func detach(at commit: String) throws(GitError) {
        var oid = git_oid()
        try Self.check(git_oid_fromstr(&oid, commit), "parse commit \(commit)", path)
        var object: OpaquePointer?
        try Self.check(git_object_lookup(&object, handle, &oid, GIT_OBJECT_COMMIT), "find commit \(commit)", path)
        defer { git_object_free(object) }
        var options = git_checkout_options()
        cchost_git_checkout_options(&options)
        options.checkout_strategy = GIT_CHECKOUT_FORCE.rawValue | GIT_CHECKOUT_REMOVE_UNTRACKED.rawValue
        try Self.check(git_checkout_tree(handle, object, &options), "check out \(commit)", path)
        try Self.check(git_repository_set_head_detached(handle, &oid), "detach HEAD at \(commit)", path)
    }

    /// The commit HEAD points at.
    public func head() throws(GitError) -> String { try resolve("HEAD") }

    static func hex(_ oid: UnsafePointer<git_oid>?) -> String {
        var buffer = [CChar](repeating: 0, count: 41)
        git_oid_tostr(&buffer, 41, oid)
        return String(cString: buffer)
    }

    private func withStrArray(_ strings: [String], _ body: (inout git_strarray) throws(GitError) -> Void) throws(GitError) {
        let copies = strings.map { strdup($0) }
        defer { copies.forEach { free($0) } }
        var pointers = copies
        try pointers.withUnsafeMutableBufferPointer { buffer throws(GitError) in
            var array = git_strarray(strings: buffer.baseAddress, count: buffer.count)
            try body(&array)
        }
    }
}

/// A per-run working tree: what was asked for, and the exact commit it is at.
public struct Checkout: Sendable, Equatable {
    public var directory: String
    /// The ref as given: a release tag, a branch, a commit (a PR's head).
    public var ref: String
    /// The full commit the ref resolved to.
    public var commit: String
    public var shortCommit: String { String(commit.prefix(7)) }
}
