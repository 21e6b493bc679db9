import HostBase
import Testing

/// Recipe release tags: parsing, errors, the order, and picking the latest release.
@Suite("Recipe release versions")
struct RecipeVersionTests {
    // MARK: Order

    @Test("recipe semver precedence follows semver 2.0.0, pre-releases included")
    func semverPrecedence() throws {
        try expectOrder([
            "0.9.9", "1.0.0-1", "1.0.0-2", "1.0.0-10", "1.0.0-Z", "1.0.0-alpha", "1.0.0-alpha.1",
            "1.0.0-alpha.beta", "1.0.0-alpha-1", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1",
            "1.0.0", "1.0.1", "1.2.0", "1.10.0", "2.0.0", "10.0.0",
        ])
    }

    @Test("the recipe semver decides before the upstream version")
    func semverBeforeUpstream() throws {
        try expectOrder(["1.0.0-rc.1+99", "1.0.0+99", "1.0.1+1", "1.9.0+100.0", "1.10.0+1.0"])
    }

    @Test("ties on the recipe semver are broken by the upstream, segment by segment")
    func upstreamTiebreak() throws {
        try expectOrder([
            "1.0.0", "1.0.0+1", "1.0.0+1.2", "1.0.0+1.2.1", "1.0.0+1.10", "1.0.0+2", "1.0.0+10",
            "1.0.0+27.0.1", "1.0.0+27.0.1.1", "1.0.0+27.0.1-fpm", "1.0.0+27.0.1-fpm-alpine", "1.0.0+27.0.1-rootless",
            "1.0.0+RC", "1.0.0+rc", "1.0.0+rc10", "1.0.0+rc2", "1.0.0+v2.0", "1.0.1",
        ])
    }

    @Test("what is still tied is ordered by the raw tag, so a v prefix has a fixed place")
    func rawTagTiebreak() throws {
        try expectOrder([
            "1.0.0+01.2", "1.0.0+1-2", "1.0.0+1.2", "1.0.0+1_2", "v1.0.0+1.2",
            "1.2.3", "v1.2.3", "1.2.3+4.5", "v1.2.3+4.5", "1.2.4-rc.1", "v1.2.4-rc.1", "1.2.4",
        ])
    }

    @Test("legacy tags sort before every semver tag, by upstream and then revision")
    func legacyFirst() throws {
        try expectOrder([
            "0.5.0_2", "v0.5.0_2", "0.5.0_10", "0.5.0.1_1", "1.14.1_3", "1.14.1-rootless_1", "1.14.1-rootless_2",
            "2.0_1", "10.0.0_1", "99.0.0-rc.1_1", "0.0.0-0", "0.0.0", "0.0.1",
        ])
    }

    @Test("a shuffled mix of every kind of tag sorts into one exact order")
    func everythingTogether() throws {
        try expectOrder([
            "0.5.0_2", "v0.5.0_2", "0.5.0_10", "0.5.0.1_1", "1.14.1_3", "1.14.1-rootless_1", "1.14.1-rootless_2",
            "2.0_1", "10.0.0_1",
            "0.0.1-rc.1", "0.0.1", "1.0.0-alpha+1.2", "1.0.0-alpha.1", "1.0.0-beta.2+5", "1.0.0-beta.11",
            "1.0.0", "v1.0.0", "1.0.0+01.2", "1.0.0+1-2", "1.0.0+1.2", "1.0.0+1_2", "v1.0.0+1.2", "1.0.0+1.2.1",
            "1.0.0+1.10", "1.0.0+27.0.1", "1.0.0+27.0.1.1", "1.0.0+27.0.1-fpm", "1.0.0+27.0.1-fpm-alpine",
            "1.0.0+27.0.1-rootless", "1.0.0+RC", "1.0.0+rc", "1.0.0+v2.0", "1.0.1", "1.10.0+1",
            "2.0.0-beta.1+1.2.3", "2.0.0+1.2.3", "5.0.3+27.0.1-fpm", "10.0.0",
        ])
    }

    @Test("versions are equal only when their tags are identical, and hash alike then")
    func equalityFollowsTheTag() throws {
        let plain = try RecipeVersion(parsing: "1.2.3")
        let again = try RecipeVersion(parsing: "1.2.3")
        let prefixed = try RecipeVersion(parsing: "v1.2.3")
        #expect(plain == again && plain.hashValue == again.hashValue)
        #expect(!(plain < again) && !(again < plain))
        #expect(plain != prefixed)
        #expect(plain < prefixed && !(prefixed < plain))
        #expect(Set([plain, again, prefixed]).count == 2)
    }

    @Test("for 200 random valid tags the order is a strict total order that every shuffle sorts the same way")
    func randomTagsOrderConsistently() throws {
        var generator = SplitMix64(seed: 0x5EED_C0_0C10D)
        var tags: [String] = []
        var seen: Set<String> = []
        while tags.count < 200 {
            let tag = randomTag(using: &generator)
            if seen.insert(tag).inserted { tags.append(tag) }
        }
        let versions = try tags.map { tag in
            try #require(try? RecipeVersion(parsing: tag), "generated tag \(tag) should parse")
        }
        for a in versions {
            #expect(a == a && !(a < a))
            for b in versions where a < b {
                #expect(!(b < a), "\(a) < \(b) and \(b) < \(a)")
            }
            for b in versions where a != b {
                #expect(a < b || b < a, "\(a) and \(b) are unordered")
            }
        }
        let sorted = versions.sorted()
        // Every earlier element below every later one: with antisymmetry above, the relation on this
        // set is exactly the sorted sequence, hence transitive.
        for i in sorted.indices {
            for j in sorted.indices where i < j {
                #expect(sorted[i] < sorted[j], "\(sorted[i]) before \(sorted[j]) in the sort, but not below it")
            }
        }
        for _ in 0..<5 {
            #expect(versions.shuffled(using: &generator).sorted().map(\.tag) == sorted.map(\.tag))
        }
    }

    // MARK: Parsing

    @Test("tags parse into their parts", arguments: [
        ("1.13.0+1.31.1", Fields(.semver, 1, 13, 0, upstream: "1.31.1")),
        ("5.0.3+27.0.1-fpm", Fields(.semver, 5, 0, 3, upstream: "27.0.1-fpm")),
        ("1.2.3", Fields(.semver, 1, 2, 3)),
        ("0.0.0", Fields(.semver, 0, 0, 0)),
        ("v1.2.3+4.5", Fields(.semver, 1, 2, 3, upstream: "4.5", vPrefix: true)),
        ("v10.20.30", Fields(.semver, 10, 20, 30, vPrefix: true)),
        ("2.0.0-beta.1+1.2.3", Fields(.semver, 2, 0, 0, prerelease: ["beta", "1"], upstream: "1.2.3")),
        ("1.0.0-rc-1.x-y.0", Fields(.semver, 1, 0, 0, prerelease: ["rc-1", "x-y", "0"])),
        ("1.0.0+v2.9.1", Fields(.semver, 1, 0, 0, upstream: "v2.9.1")),
        ("1.0.0+RELEASE.2023-01-01T00-00-00Z", Fields(.semver, 1, 0, 0, upstream: "RELEASE.2023-01-01T00-00-00Z")),
        ("1.0.0+1_2", Fields(.semver, 1, 0, 0, upstream: "1_2")),
        ("1.0.0+01", Fields(.semver, 1, 0, 0, upstream: "01")),
        ("9223372036854775807.0.0", Fields(.semver, Int.max, 0, 0)),
        ("1.14.1-rootless_1", Fields(.legacy, 1, 14, 1, upstream: "1.14.1-rootless", revision: 1)),
        ("0.5.0_2", Fields(.legacy, 0, 5, 0, upstream: "0.5.0", revision: 2)),
        ("v0.5.0_2", Fields(.legacy, 0, 5, 0, upstream: "0.5.0", revision: 2, vPrefix: true)),
        ("2.0_1", Fields(.legacy, 0, 0, 0, upstream: "2.0", revision: 1)),
        ("1.2.3.4_0", Fields(.legacy, 1, 2, 3, upstream: "1.2.3.4", revision: 0)),
        ("1.2_3_4", Fields(.legacy, 0, 0, 0, upstream: "1.2_3", revision: 4)),
        ("1.2.3-beta.1_5", Fields(.legacy, 1, 2, 3, upstream: "1.2.3-beta.1", revision: 5)),
        ("99999999999999999999.1.2_3", Fields(.legacy, 0, 0, 0, upstream: "99999999999999999999.1.2", revision: 3)),
    ])
    func parses(tag: String, expected: Fields) throws {
        let version = try RecipeVersion(parsing: tag)
        #expect(Fields(version) == expected)
        #expect(version.tag == tag && version.description == tag)
    }

    @Test("only a pre-release of the recipe semver is a pre-release", arguments: [
        ("2.0.0-beta.1+1.2.3", true), ("1.0.0-0", true), ("1.0.0+1.2.3-rc.1", false),
        ("1.0.0", false), ("1.2.3-rc.1_1", false),
    ])
    func prereleaseFlag(tag: String, isPrerelease: Bool) throws {
        #expect(try RecipeVersion(parsing: tag).isPrerelease == isPrerelease)
    }

    @Test("tags that are not release versions are errors that say why", arguments: [
        ("", "the tag is empty"),
        ("latest", "it does not start with a version number"),
        ("main", "it does not start with a version number"),
        ("release-1", "it does not start with a version number"),
        ("v", "it does not start with a version number"),
        ("V1.2.3", "it does not start with a version number"),
        ("vv1.2.3", "it does not start with a version number"),
        ("v+1.2", "it does not start with a version number"),
        ("main_1", "it does not start with a version number"),
        ("_2", "it does not start with a version number"),
        ("+1.2", "there is no recipe version before \"+\""),
        ("1.2.3+", "there is no upstream version after \"+\""),
        ("1.2.3+4+5", "it has more than one \"+\""),
        ("1.2", "the recipe version \"1.2\" is not major.minor.patch (three numbers)"),
        ("1.2.3.4", "the recipe version \"1.2.3.4\" is not major.minor.patch (three numbers)"),
        ("1..3", "the recipe version \"1..3\" has an empty number"),
        ("1.2.x", "\"x\" in the recipe version is not a number"),
        ("01.2.3", "\"01\" in the recipe version has a leading zero"),
        ("1.02.3+4", "\"02\" in the recipe version has a leading zero"),
        ("9223372036854775808.0.0", "\"9223372036854775808\" in the recipe version is too large"),
        ("1.2.3-", "the pre-release after \"-\" is empty"),
        ("1.2.3-a..b", "the pre-release \"a..b\" has an empty identifier"),
        ("1.2.3-rc.", "the pre-release \"rc.\" has an empty identifier"),
        ("1.2.3-01", "the pre-release identifier \"01\" has a leading zero"),
        ("1.2.3-a_b+4", "the pre-release identifier \"a_b\" may only contain letters, digits and \"-\""),
        ("1.2.3+4..5", "the upstream version \"4..5\" has an empty part around \".\", \"-\" or \"_\""),
        ("1.2.3+-fpm", "the upstream version \"-fpm\" has an empty part around \".\", \"-\" or \"_\""),
        ("1.2.3+4-", "the upstream version \"4-\" has an empty part around \".\", \"-\" or \"_\""),
        ("0.5..0_2", "the upstream version \"0.5..0\" has an empty part around \".\", \"-\" or \"_\""),
        ("1.2.3-_1", "the upstream version \"1.2.3-\" has an empty part around \".\", \"-\" or \"_\""),
        ("0.5.0_", "there is no revision number after the last \"_\""),
        ("0.5.0_x", "the revision is not a number"),
        ("0.5.0_02", "the revision has a leading zero"),
        ("0.5.0_99999999999999999999", "the revision is too large"),
        ("1.2.3 ", "it contains \" \", which is not allowed in a release tag (ASCII letters, digits, \".\", \"-\", \"_\" and \"+\" are)"),
        ("1.2.3\n", "it contains \"\\n\", which is not allowed in a release tag (ASCII letters, digits, \".\", \"-\", \"_\" and \"+\" are)"),
        ("1.2.3+é", "it contains \"é\", which is not allowed in a release tag (ASCII letters, digits, \".\", \"-\", \"_\" and \"+\" are)"),
        ("١.٢.٣", "it contains \"١\", which is not allowed in a release tag (ASCII letters, digits, \".\", \"-\", \"_\" and \"+\" are)"),
        ("refs/tags/1.2.3", "it contains \"/\", which is not allowed in a release tag (ASCII letters, digits, \".\", \"-\", \"_\" and \"+\" are)"),
    ])
    func parseErrors(tag: String, reason: String) {
        #expect(throws: VersionParseError(tag: tag, reason: reason)) {
            try RecipeVersion(parsing: tag)
        }
    }

    @Test("an error's description names the tag and the reason")
    func errorDescription() {
        #expect(throws: VersionParseError.self) { try RecipeVersion(parsing: "latest") }
        do {
            _ = try RecipeVersion(parsing: "latest")
        } catch {
            #expect(error.description == "tag \"latest\" is not a release version: it does not start with a version number")
        }
        #expect(VersionParseError(tag: "a\"b\n", reason: "why").description == #"tag "a\"b\n" is not a release version: why"#)
    }

    @Test("hostile input parses or is an error, never a trap", arguments: [
        ("1.2.3\u{0}", false), ("🙂1.2.3", false), ("1.2.3\u{301}", false), ("e\u{301}", false),
        ("\r\n", false), ("1.2.3\r\n", false), ("+", false), ("_", false), ("-", false), (".", false),
        ("v_", false), ("0_0", true), ("0.0.0-0+0", true),
    ])
    func neverTraps(tag: String, parses: Bool) {
        do {
            let version = try RecipeVersion(parsing: tag)
            #expect(parses && version.tag == tag)
        } catch {
            #expect(!parses && error.tag == tag)
        }
    }

    @Test("very long tags parse or are errors, never a trap; over 255 bytes, none is a release")
    func longTags() {
        let cases = [
            (String(repeating: "9", count: 10_000) + ".0.0", false),
            ("1.2.3" + String(repeating: "+", count: 1_000), false),
            (String(repeating: "1.", count: 5_000) + "1", false),
            ("1.2.3-" + String(repeating: "a.", count: 5_000) + "a", false),
            ("1.0.0+" + String(repeating: "27.0.1-", count: 5_000) + "fpm", false),
            ("1.2.3-" + String(repeating: "a.", count: 124) + "a", true),
            ("1.0.0+" + String(repeating: "27.0.1-", count: 35) + "fpm", true),
            ("1.2.3_" + String(repeating: "_", count: 1_000), false),
            (String(repeating: "1.", count: 5_000) + "1_" + String(repeating: "9", count: 100), false),
        ]
        for (index, (tag, parses)) in cases.enumerated() {
            #expect(((try? RecipeVersion(parsing: tag)) != nil) == parses, "case \(index)")
        }
    }

    // MARK: ReleaseSet

    @Test("unparseable tags are reported in the order given and are never the latest")
    func unparseableReported() throws {
        let set = ReleaseSet(tags: ["latest", "1.0.0+1", "main", "0.9.0+1", "1.2", "v"])
        #expect(set.releases.map(\.tag) == ["0.9.0+1", "1.0.0+1"])
        #expect(set.unparseable.map(\.tag) == ["latest", "main", "1.2", "v"])
        #expect(set.latest?.tag == "1.0.0+1")
        #expect(set.latestIncludingPrereleases?.tag == "1.0.0+1")
    }

    @Test("latest skips recipe pre-releases; latestIncludingPrereleases does not")
    func latestSkipsPrereleases() throws {
        let set = ReleaseSet(tags: ["1.1.0-beta+1", "1.0.0+1", "1.1.0-rc.1+1", "0.9.0+2"])
        #expect(set.releases.map(\.tag) == ["0.9.0+2", "1.0.0+1", "1.1.0-beta+1", "1.1.0-rc.1+1"])
        #expect(set.latest?.tag == "1.0.0+1")
        #expect(set.latestIncludingPrereleases?.tag == "1.1.0-rc.1+1")
    }

    @Test("only pre-releases: no latest, but a latest pre-release")
    func onlyPrereleases() {
        let set = ReleaseSet(tags: ["1.0.0-rc.1+1", "1.0.0-beta+1"])
        #expect(set.latest == nil)
        #expect(set.latestIncludingPrereleases?.tag == "1.0.0-rc.1+1")
    }

    @Test("a semver release is newer than any legacy release")
    func semverNewerThanLegacy() {
        let set = ReleaseSet(tags: ["10.0.0_3", "0.1.0+1.0", "9.0.0_1"])
        #expect(set.releases.map(\.tag) == ["9.0.0_1", "10.0.0_3", "0.1.0+1.0"])
        #expect(set.latest?.tag == "0.1.0+1.0")
        #expect(ReleaseSet(tags: ["10.0.0_3", "9.0.0_1"]).latest?.tag == "10.0.0_3")
    }

    @Test("no tags, or no parseable tags: no releases and no latest", arguments: [[], ["latest", "main", ""]])
    func noReleases(tags: [String]) {
        let set = ReleaseSet(tags: tags)
        #expect(set.releases.isEmpty)
        #expect(set.unparseable.map(\.tag) == tags)
        #expect(set.latest == nil && set.latestIncludingPrereleases == nil)
    }

    @Test("a tag listed twice counts once")
    func duplicatesCountOnce() {
        let set = ReleaseSet(tags: ["1.0.0+1", "latest", "1.0.0+1", "latest", "v1.0.0+1"])
        #expect(set.releases.map(\.tag) == ["1.0.0+1", "v1.0.0+1"])
        #expect(set.unparseable.map(\.tag) == ["latest"])
    }

    // MARK: Helpers

    /// Sorting any shuffle of `expected` gives `expected`, and every earlier tag is below every later one.
    private func expectOrder(_ expected: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let versions = try expected.map { try RecipeVersion(parsing: $0) }
        var generator = SplitMix64(seed: UInt64(expected.count))
        for round in 0..<8 {
            let input: [RecipeVersion] = round == 0 ? versions.reversed() : versions.shuffled(using: &generator)
            #expect(input.sorted().map(\.tag) == expected, sourceLocation: sourceLocation)
        }
        for i in versions.indices {
            for j in versions.indices where i < j {
                #expect(versions[i] < versions[j] && !(versions[j] < versions[i]),
                        "\(versions[i]) should sort before \(versions[j])", sourceLocation: sourceLocation)
            }
        }
    }

    private func randomTag(using generator: inout SplitMix64) -> String {
        func pick(_ choices: [String]) -> String { choices.randomElement(using: &generator)! }
        func segments(first: [String], rest: [String], upTo count: Int) -> String {
            var text = pick(first)
            for _ in 0..<Int.random(in: 0..<count, using: &generator) {
                text += pick([".", "-", "_"]) + pick(rest)
            }
            return text
        }
        let numbers = ["0", "1", "2", "10"]
        let upstreamSegments = ["0", "1", "2", "10", "01", "fpm", "alpine", "rootless", "RC1", "rc10", "v2"]
        let prefix = Int.random(in: 0..<5, using: &generator) == 0 ? "v" : ""
        if Int.random(in: 0..<6, using: &generator) == 0 {
            return prefix + segments(first: numbers, rest: upstreamSegments, upTo: 4)
                + "_" + String(Int.random(in: 0...12, using: &generator))
        }
        var tag = prefix + [pick(numbers), pick(numbers), pick(numbers)].joined(separator: ".")
        if Int.random(in: 0..<3, using: &generator) == 0 {
            let identifiers = (0..<Int.random(in: 1...3, using: &generator)).map { _ in
                pick(["alpha", "beta", "rc", "0", "1", "2", "11", "x-y", "B"])
            }
            tag += "-" + identifiers.joined(separator: ".")
        }
        if Int.random(in: 0..<10, using: &generator) < 7 {
            tag += "+" + segments(first: upstreamSegments, rest: upstreamSegments, upTo: 4)
        }
        return tag
    }

    /// The parsed parts of a version, compared as one value.
    struct Fields: Equatable, Sendable, CustomStringConvertible {
        var scheme: RecipeVersion.Scheme
        var major: Int, minor: Int, patch: Int
        var prerelease: [String] = []
        var upstream: String?
        var revision: Int?
        var vPrefix = false

        init(_ scheme: RecipeVersion.Scheme, _ major: Int, _ minor: Int, _ patch: Int, prerelease: [String] = [],
             upstream: String? = nil, revision: Int? = nil, vPrefix: Bool = false) {
            (self.scheme, self.major, self.minor, self.patch) = (scheme, major, minor, patch)
            (self.prerelease, self.upstream, self.revision, self.vPrefix) = (prerelease, upstream, revision, vPrefix)
        }

        init(_ version: RecipeVersion) {
            self.init(version.scheme, version.major, version.minor, version.patch, prerelease: version.prerelease,
                      upstream: version.upstream, revision: version.revision, vPrefix: version.hasVPrefix)
        }

        var description: String {
            "\(scheme) \(major).\(minor).\(patch) pre=\(prerelease) upstream=\(upstream ?? "-") revision=\(revision.map(String.init) ?? "-") v=\(vPrefix)"
        }
    }
}
