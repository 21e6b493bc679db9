/// A recipe release, parsed from its git tag.
///
/// Co-op Cloud tags a release `<recipe semver>+<upstream version>`: `1.13.0+1.31.1`, `5.0.3+27.0.1-fpm`.
/// Tags found in the wild also omit the `+` part (`1.2.3`), carry a `v` prefix (`v1.2.3+4.5`), mark the
/// recipe part as a pre-release (`2.0.0-beta.1+1.2.3`), or follow the older **legacy** scheme
/// `<upstream>_<revision>` (`1.14.1-rootless_1`, `0.5.0_2`).
///
/// ## What parses
/// A tag of at most 255 bytes (`longestTag`: git cannot check out a longer one) is made of ASCII
/// letters, digits, `.`, `-`, `_` and `+`; a lowercase `v` directly before a digit at the start is a
/// prefix, recorded in `hasVPrefix` and otherwise ignored.
/// - With a `+`: `.semver`. Before it, `MAJOR.MINOR.PATCH` with an optional `-PRERELEASE`, by the
///   semver 2.0.0 rules (numbers without leading zeros, dot-separated pre-release identifiers of
///   letters, digits and `-`, numeric ones without leading zeros). After it, exactly one non-empty
///   upstream version.
/// - Without a `+` but with a `_`: `.legacy`. Before the last `_`, the upstream version (it must start
///   with a digit); after it, the revision: a number without leading zeros. `major`, `minor` and
///   `patch` are the upstream's leading `X.Y.Z` when it has one that fits an `Int`, else 0.
/// - Otherwise: `.semver` without an upstream.
///
/// An upstream version is split on `.`, `-` and `_` into segments, none of which may be empty.
/// Numbers stored as `Int` (`major`, `minor`, `patch`, `revision`) must fit one; a larger one is a
/// parse error, never a trap. Anything else is a `VersionParseError` saying what is wrong.
///
/// ## Order
/// Total and deterministic; two versions are equal only if their tags are identical.
/// 1. Every `.legacy` version sorts before every `.semver` version (the legacy scheme predates
///    semver tags). Legacy versions among themselves: by upstream (as in rule 3), then by revision.
/// 2. `.semver` versions: by recipe semver precedence (semver 2.0.0): major, minor, patch
///    numerically; a pre-release is lower than the same version without one; pre-release
///    identifiers compare one by one, numeric ones numerically, alphanumeric ones in ASCII order,
///    numeric lower than alphanumeric, and a shorter list is lower when all its identifiers are equal.
/// 3. Ties on the recipe semver are broken by the upstream: none sorts first; otherwise the segments
///    compare one by one: both numeric → numerically (digit strings of any length, `01` equals `1`),
///    both non-numeric → ASCII order (so `B` < `a`), a numeric segment before a non-numeric one, and a
///    shorter list first when it is a prefix of the other. So `1.0.0+1.2` < `1.0.0+1.10` and
///    `1.0.0+27.0.1` < `1.0.0+27.0.1-fpm`. The separators themselves do not count.
/// 4. Anything still tied (`1.2.3` and `v1.2.3`, `1.0.0+1.2` and `1.0.0+1-2`) is ordered by the raw
///    tag in ASCII order.
public struct RecipeVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// How the tag is spelled: `<recipe semver>[+<upstream>]`, or the older `<upstream>_<revision>`.
    public enum Scheme: Sendable, Hashable { case semver, legacy }

    /// The tag exactly as given.
    public let tag: String
    public let scheme: Scheme
    /// The recipe semver; for `.legacy`, the upstream's leading `X.Y.Z` if it has one, else 0.
    public let major: Int
    public let minor: Int
    public let patch: Int
    /// The recipe's semver pre-release identifiers (`["beta", "1"]` for `2.0.0-beta.1`); empty for none
    /// and always empty for `.legacy`.
    public let prerelease: [String]
    /// The upstream app version: after the `+` (`.semver`), or before the last `_` (`.legacy`).
    public let upstream: String?
    /// The recipe revision after the last `_`; `.legacy` only.
    public let revision: Int?
    public let hasVPrefix: Bool

    /// A recipe pre-release (`2.0.0-beta.1+1.2.3`); never `latest` in a `ReleaseSet`.
    public var isPrerelease: Bool { !prerelease.isEmpty }

    public var description: String { tag }

    /// The longest tag name git can check out, in bytes: a loose ref is a file, whose name has at most
    /// 255 bytes. A longer one is listed as not a release, on its own; the other tags still list.
    public static let longestTag = 255

    /// Parses a release tag; never traps, whatever the text.
    public init(parsing tag: String) throws(VersionParseError) {
        func failure(_ reason: String) -> VersionParseError { VersionParseError(tag: tag, reason: reason) }

        guard !tag.isEmpty else { throw failure("the tag is empty") }
        guard tag.utf8.count <= Self.longestTag else {
            throw failure("it is \(tag.utf8.count) bytes long; a release tag has at most \(Self.longestTag) "
                + "(a longer one cannot be a file name, so git cannot check it out)")
        }
        if let bad = tag.first(where: { !Self.isTagCharacter($0) }) {
            throw failure("it contains \(String(reflecting: String(bad))), which is not allowed in a release tag "
                + "(ASCII letters, digits, \".\", \"-\", \"_\" and \"+\" are)")
        }
        // From here on the text is ASCII: one Character per byte.
        var body = Substring(tag)
        let hasVPrefix = body.first == "v" && body.dropFirst().first.map(Self.isDigit) == true
        if hasVPrefix { body = body.dropFirst() }

        self.tag = tag
        self.hasVPrefix = hasVPrefix
        if let plus = body.firstIndex(of: "+") {
            let recipe = body[..<plus]
            let upstream = body[body.index(after: plus)...]
            guard !recipe.isEmpty else { throw failure("there is no recipe version before \"+\"") }
            guard !upstream.isEmpty else { throw failure("there is no upstream version after \"+\"") }
            guard !upstream.contains("+") else { throw failure("it has more than one \"+\"") }
            let semver = try Self.parseSemver(recipe, failure)
            try Self.checkUpstream(upstream, failure)
            (scheme, major, minor, patch, prerelease) = (.semver, semver.major, semver.minor, semver.patch, semver.prerelease)
            self.upstream = String(upstream)
            revision = nil
        } else if let underscore = body.lastIndex(of: "_") {
            guard body.first.map(Self.isDigit) == true else { throw failure("it does not start with a version number") }
            let upstream = body[..<underscore]
            let revision = body[body.index(after: underscore)...]
            guard !revision.isEmpty else { throw failure("there is no revision number after the last \"_\"") }
            try Self.checkUpstream(upstream, failure)
            self.revision = try Self.parseNumber(revision, named: "the revision", failure)
            let (major, minor, patch) = Self.leadingTriple(of: upstream)
            (scheme, self.major, self.minor, self.patch, prerelease) = (.legacy, major, minor, patch, [])
            self.upstream = String(upstream)
        } else {
            let semver = try Self.parseSemver(body, failure)
            (scheme, major, minor, patch, prerelease) = (.semver, semver.major, semver.minor, semver.patch, semver.prerelease)
            upstream = nil
            revision = nil
        }
    }

    // MARK: Order (see the type's documentation)

    public static func < (lhs: RecipeVersion, rhs: RecipeVersion) -> Bool {
        order(lhs, rhs) == .ascending
    }

    public static func == (lhs: RecipeVersion, rhs: RecipeVersion) -> Bool {
        lhs.tag.utf8.elementsEqual(rhs.tag.utf8)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(tag)
    }

    private static func order(_ a: RecipeVersion, _ b: RecipeVersion) -> Order {
        let byScheme: Order
        switch (a.scheme, b.scheme) {
        case (.legacy, .semver): byScheme = .ascending
        case (.semver, .legacy): byScheme = .descending
        case (.legacy, .legacy):
            byScheme = compareUpstreams(a.upstream, b.upstream)
                .then(Order(a.revision ?? 0, b.revision ?? 0))
        case (.semver, .semver):
            byScheme = Order(a.major, b.major)
                .then(Order(a.minor, b.minor))
                .then(Order(a.patch, b.patch))
                .then(comparePrereleases(a.prerelease, b.prerelease))
                .then(compareUpstreams(a.upstream, b.upstream))
        }
        return byScheme.then(compareASCII(Substring(a.tag), Substring(b.tag)))
    }

    /// Semver 2.0.0 §11: no pre-release is higher; identifiers one by one; a shorter list is lower.
    private static func comparePrereleases(_ a: [String], _ b: [String]) -> Order {
        switch (a.isEmpty, b.isEmpty) {
        case (true, true): return .same
        case (true, false): return .descending
        case (false, true): return .ascending
        case (false, false): return compareSegments(a.map { Substring($0) }, b.map { Substring($0) })
        }
    }

    private static func compareUpstreams(_ a: String?, _ b: String?) -> Order {
        switch (a, b) {
        case (nil, nil): return .same
        case (nil, _): return .ascending
        case (_, nil): return .descending
        case let (a?, b?): return compareSegments(upstreamSegments(Substring(a)), upstreamSegments(Substring(b)))
        }
    }

    /// One by one: numeric ones numerically, others in ASCII order, numeric before non-numeric;
    /// a list that is a prefix of the other sorts first. Serves pre-release identifiers and upstream segments.
    private static func compareSegments(_ a: [Substring], _ b: [Substring]) -> Order {
        for (x, y) in zip(a, b) {
            let xNumeric = x.allSatisfy(isDigit), yNumeric = y.allSatisfy(isDigit)
            let order: Order
            switch (xNumeric, yNumeric) {
            case (true, true): order = compareDigits(x, y)
            case (true, false): order = .ascending
            case (false, true): order = .descending
            case (false, false): order = compareASCII(x, y)
            }
            if order != .same { return order }
        }
        return Order(a.count, b.count)
    }

    /// Numeric order of two digit strings of any length, without converting them (no overflow).
    private static func compareDigits(_ a: Substring, _ b: Substring) -> Order {
        let a = a.drop { $0 == "0" }, b = b.drop { $0 == "0" }
        return Order(a.count, b.count).then(compareASCII(a, b))
    }

    private static func compareASCII(_ a: Substring, _ b: Substring) -> Order {
        if a.utf8.elementsEqual(b.utf8) { return .same }
        return a.utf8.lexicographicallyPrecedes(b.utf8) ? .ascending : .descending
    }

    // MARK: Parsing

    private static func parseSemver(
        _ text: Substring, _ failure: (String) -> VersionParseError
    ) throws(VersionParseError) -> (major: Int, minor: Int, patch: Int, prerelease: [String]) {
        guard text.first.map(isDigit) == true else { throw failure("it does not start with a version number") }
        let dash = text.firstIndex(of: "-")
        let core = text[..<(dash ?? text.endIndex)]
        let parts = core.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            throw failure("the recipe version \"\(core)\" is not major.minor.patch (three numbers)")
        }
        var numbers: [Int] = []
        for part in parts {
            guard !part.isEmpty else { throw failure("the recipe version \"\(core)\" has an empty number") }
            numbers.append(try parseNumber(part, named: "\"\(part)\" in the recipe version", failure))
        }
        var prerelease: [String] = []
        if let dash {
            let text = text[text.index(after: dash)...]
            guard !text.isEmpty else { throw failure("the pre-release after \"-\" is empty") }
            for identifier in text.split(separator: ".", omittingEmptySubsequences: false) {
                guard !identifier.isEmpty else {
                    throw failure("the pre-release \"\(text)\" has an empty identifier")
                }
                guard identifier.allSatisfy({ isAlphanumeric($0) || $0 == "-" }) else {
                    throw failure("the pre-release identifier \"\(identifier)\" may only contain letters, digits and \"-\"")
                }
                if identifier.allSatisfy(isDigit), identifier.count > 1, identifier.first == "0" {
                    throw failure("the pre-release identifier \"\(identifier)\" has a leading zero")
                }
                prerelease.append(String(identifier))
            }
        }
        return (numbers[0], numbers[1], numbers[2], prerelease)
    }

    /// A non-negative number without leading zeros that fits an `Int`; `name` says which, for the reason.
    private static func parseNumber(
        _ text: Substring, named name: String, _ failure: (String) -> VersionParseError
    ) throws(VersionParseError) -> Int {
        guard text.allSatisfy(isDigit) else { throw failure("\(name) is not a number") }
        guard text.count == 1 || text.first != "0" else { throw failure("\(name) has a leading zero") }
        guard let number = Int(text) else { throw failure("\(name) is too large") }
        return number
    }

    private static func checkUpstream(_ text: Substring, _ failure: (String) -> VersionParseError) throws(VersionParseError) {
        guard !text.isEmpty else { throw failure("the upstream version is empty") }
        guard !upstreamSegments(text).contains(where: \.isEmpty) else {
            throw failure("the upstream version \"\(text)\" has an empty part around \".\", \"-\" or \"_\"")
        }
    }

    private static func upstreamSegments(_ text: Substring) -> [Substring] {
        text.split(omittingEmptySubsequences: false) { $0 == "." || $0 == "-" || $0 == "_" }
    }

    /// `X.Y.Z` at the start of a legacy upstream (`1.14.1-rootless` → 1, 14, 1), else zeros.
    private static func leadingTriple(of upstream: Substring) -> (Int, Int, Int) {
        let parts = upstream.prefix { isDigit($0) || $0 == "." }.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 3, let x = Int(parts[0]), let y = Int(parts[1]), let z = Int(parts[2]) else { return (0, 0, 0) }
        return (x, y, z)
    }

    private static func isTagCharacter(_ character: Character) -> Bool {
        isAlphanumeric(character) || character == "." || character == "-" || character == "_" || character == "+"
    }

    /// ASCII only: `Character.isNumber` and `isLetter` accept far more than a tag may hold.
    private static func isDigit(_ character: Character) -> Bool {
        character.unicodeScalars.count == 1 && ("0"..."9").contains(character)
    }

    private static func isAlphanumeric(_ character: Character) -> Bool {
        isDigit(character) || (character.unicodeScalars.count == 1 && (("a"..."z").contains(character) || ("A"..."Z").contains(character)))
    }
}

/// Three-way result of a comparison, chained with `then` for lexicographic orders.
private enum Order {
    case ascending, same, descending

    init<T: Comparable>(_ a: T, _ b: T) {
        self = a < b ? .ascending : (b < a ? .descending : .same)
    }

    func then(_ next: @autoclosure () -> Order) -> Order {
        self == .same ? next() : self
    }
}

/// A tag that is not a release version, and why.
public struct VersionParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public let tag: String
    public let reason: String

    public init(tag: String, reason: String) {
        self.tag = tag
        self.reason = reason
    }

    public var description: String {
        "tag \(tag.count > 60 ? Self.shortened(tag) : String(reflecting: tag)) is not a release version: \(reason)"
    }

    /// A tag over 60 characters as its first 40, `…` and its length, so that a hostile tag does not
    /// fill the line that names it; a shorter one as it is.
    public static func shortened(_ tag: String) -> String {
        tag.count > 60 ? "\(tag.prefix(40))… (\(tag.count) characters)" : tag
    }
}

/// A recipe's releases, from the names of its tags.
public struct ReleaseSet: Sendable {
    /// Every tag that parses, oldest first (the order of `RecipeVersion`); each tag once.
    public let releases: [RecipeVersion]
    /// Every tag that does not parse, in the order given; each tag once.
    public let unparseable: [VersionParseError]

    public init(tags: [String]) {
        var seen: Set<String> = []
        var releases: [RecipeVersion] = []
        var unparseable: [VersionParseError] = []
        for tag in tags where seen.insert(tag).inserted {
            do {
                releases.append(try RecipeVersion(parsing: tag))
            } catch {
                unparseable.append(error)
            }
        }
        self.releases = releases.sorted()
        self.unparseable = unparseable
    }

    /// The newest release that is not a recipe pre-release.
    public var latest: RecipeVersion? {
        releases.last { !$0.isPrerelease }
    }

    /// The newest release, pre-releases included.
    public var latestIncludingPrereleases: RecipeVersion? {
        releases.last
    }
}
