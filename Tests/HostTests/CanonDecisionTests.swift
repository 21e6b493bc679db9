@testable import HostBase
@testable import HostRuns
@testable import HostState
import Testing

@Suite("Promote gate and sweep decision")
struct CanonDecisionTests {
    /// Every combination of the gate's five inputs: only green, full, cold, not quick, on a tag promotes.
    static let combinations: [PromotionCandidate] = [true, false].flatMap { green in
        [true, false].flatMap { full in
            [true, false].flatMap { pullRequest in
                [true, false].flatMap { quick in
                    [String?.some("1.2.0+3.4"), nil].map { version in
                        PromotionCandidate(green: green, full: full, fromPullRequest: pullRequest, quick: quick, releaseVersion: version)
                    }
                }
            }
        }
    }

    @Test("the gate promotes only green, full, cold, not quick runs of a release tag", arguments: combinations)
    func gate(candidate: PromotionCandidate) {
        let decision = PromoteGate.decide(candidate)
        let shouldPromote = candidate.green && candidate.full && !candidate.fromPullRequest && !candidate.quick && candidate.releaseVersion != nil
        if shouldPromote {
            #expect(decision == .promote(version: "1.2.0+3.4"))
        } else {
            guard case .refuse(let reasons) = decision else { Issue.record("\(candidate) was promoted"); return }
            #expect(reasons.count == [!candidate.green, !candidate.full, candidate.fromPullRequest, candidate.quick, candidate.releaseVersion == nil]
                .filter { $0 }.count)
        }
    }

    @Test("the sweep decides on versions: newer runs, equal or older skips, none skips", arguments: [
        ("1.1.0+1", "1.0.0+1", "run 1.1.0+1"),
        ("1.0.0+2", "1.0.0+1", "run 1.0.0+2"),
        ("1.0.0+1", "1.0.0+1", "skip 1.0.0+1"),
        ("1.0.0+1", "1.1.0+1", "skip 1.0.0+1"),
        ("2.0.0+1", nil, "run 2.0.0+1"),
        ("v2.0.0+1", "2.0.0+1", "run v2.0.0+1"),
        ("1.0.0_3", "1.0.0+1", "skip 1.0.0_3"),
        ("1.2.0+1", "not-a-version", "run 1.2.0+1"),
    ] as [(String, String?, String)])
    func decision(latest: String, canonical: String?, expected: String) throws {
        let decision = SweepDecision.decide(latest: try RecipeVersion(parsing: latest), canonical: canonical)
        switch decision {
        case .run(let version): #expect("run \(version)" == expected)
        case .skipNoNewVersion(let newest, _): #expect("skip \(newest)" == expected)
        case .skipNeverReleased: Issue.record("unexpected never-released")
        }
    }

    @Test("a recipe without a release is skipped as never released, with its reason")
    func neverReleased() {
        #expect(SweepDecision.decide(latest: nil, canonical: nil) == .skipNeverReleased)
        #expect(SweepDecision.decide(latest: nil, canonical: "1.0.0+1").description.hasPrefix("skip never-released"))
    }

    @Test("the upgrade base defaults to the canonical for a newer head or a branch, else the release before the head", arguments: [
        ("1.2.0+1", "1.0.0+1", "1.0.0+1"),   // a newer release upgrades from the canonical
        ("my-branch", "1.1.0+1", "1.1.0+1"), // a branch under review upgrades from the canonical
        ("1.1.0+1", "1.1.0+1", "1.0.0+1"),   // the canonical itself: the release before it
        ("1.0.0+1", "1.1.0+1", nil),         // older than the canonical, and the first release
        ("1.1.0+1", nil, "1.0.0+1"),         // no canonical yet
        ("my-branch", nil, "1.2.0+1"),       // no canonical: the latest release
        ("1.2.0+1", "0.9.0+1", "1.1.0+1"),   // a canonical whose tag is gone is not a base
    ] as [(String, String?, String?)])
    func defaultBase(head: String, canonical: String?, expected: String?) {
        #expect(RunEngine.defaultBase(head: head, canonical: canonical, releases: ["1.0.0+1", "1.1.0+1", "1.2.0+1"]) == expected)
    }
}
