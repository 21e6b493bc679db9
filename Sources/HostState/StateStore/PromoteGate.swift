import HostBase
import HostRuns

/// The promote gate: whether a finished run may become its recipe's canonical. Pure.
///
/// Promote only if the run is green ∧ full (it planned every tier that deploys: install, upgrade,
/// backup, restore) ∧ cold (not a PR's ref) ∧ not quick (it did not start from the canonical's data)
/// ∧ its head is a release tag. Everything else keeps the canonical where it is.
public struct PromotionCandidate: Sendable, Equatable {
    public var green: Bool
    /// The run tested a pull request's head (a PR ref), not a release of the recipe itself.
    public var fromPullRequest: Bool
    /// The run started from a copy of the canonical's retained data.
    public var quick: Bool
    /// The head's release version when the head is a release tag; nil for a branch or commit.
    public var releaseVersion: String?
    /// The run planned every tier that deploys (install, upgrade, backup, restore): a lint-only or
    /// install-only run proves too little to become the canonical.
    public var full: Bool

    public init(green: Bool, full: Bool = true, fromPullRequest: Bool, quick: Bool, releaseVersion: String?) {
        self.green = green
        self.full = full
        self.fromPullRequest = fromPullRequest
        self.quick = quick
        self.releaseVersion = releaseVersion
    }

    /// A finished run as the gate sees it: a warm or quick start counts as quick.
    public init(_ record: RunRecord, fromPullRequest: Bool) {
        self.init(green: record.isGreen, full: Set(record.stages).isSuperset(of: [.install, .upgrade, .backup, .restore]),
                  fromPullRequest: fromPullRequest, quick: record.start != .cold, releaseVersion: record.head.version)
    }
}

public enum PromoteGate {
    public enum Decision: Sendable, Equatable {
        case promote(version: String)
        /// Every reason the run may not be promoted, in a fixed order.
        case refuse(reasons: [String])
    }

    public static func decide(_ candidate: PromotionCandidate) -> Decision {
        var reasons: [String] = []
        if !candidate.green { reasons.append("the run is not green") }
        if !candidate.full { reasons.append("the run did not plan every tier that deploys (install, upgrade, backup, restore)") }
        if candidate.fromPullRequest { reasons.append("the run tested a pull request, not a release") }
        if candidate.quick { reasons.append("the run was quick (it started from the canonical's data)") }
        if candidate.releaseVersion == nil { reasons.append("the head is not a release tag") }
        guard reasons.isEmpty, let version = candidate.releaseVersion else { return .refuse(reasons: reasons) }
        return .promote(version: version)
    }
}

/// The sweep's decision for one recipe, keyed on version, never on commit. Pure.
public enum SweepDecision: Sendable, Equatable, CustomStringConvertible {
    /// Test this release (newer than the canonical, or the first one).
    case run(version: String)
    /// The newest release is not newer than the canonical.
    case skipNoNewVersion(latest: String, canonical: String)
    /// The recipe has no release tag.
    case skipNeverReleased

    /// `latest`: the newest release of the recipe (pre-releases excluded); `canonical`: the version
    /// of its canonical, if it has one.
    public static func decide(latest: RecipeVersion?, canonical: String?) -> SweepDecision {
        guard let latest else { return .skipNeverReleased }
        guard let canonical else { return .run(version: latest.tag) }
        // A canonical whose version no longer parses (a renamed tag) cannot be compared: test the latest.
        // Kept: the fallback runs a test rather than skipping one, so it never spares a release a verdict.
        guard let current = try? RecipeVersion(parsing: canonical) else { return .run(version: latest.tag) }
        return current < latest ? .run(version: latest.tag) : .skipNoNewVersion(latest: latest.tag, canonical: canonical)
    }

    public var description: String {
        switch self {
        case .run(let version): return "run \(version): newer than the canonical (or the first release tested)"
        case .skipNoNewVersion(let latest, let canonical):
            return "skip no-new-version: the newest release \(latest) is not newer than the canonical \(canonical)"
        case .skipNeverReleased: return "skip never-released: the recipe has no release tag"
        }
    }
}
