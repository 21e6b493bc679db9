import Foundation
import HostBase
import PluginChannel

/// What to run: a recipe's repository, the head under test, an optional base, the tiers.
public struct RunRequest: Sendable {
    public var recipe: String
    public var repository: String
    /// The code under test as given: a tag, branch or commit; default: the latest release.
    public var headRef: String?
    /// The version install deploys; default: the canonical (see `canonicalVersion`), else the
    /// release before the head.
    public var base: String?
    /// The recipe's canonical version, the default base of an upgrade to a newer head.
    public var canonicalVersion: String?
    public var stages: [Tier]
    public var trigger: RunRecord.Trigger
    public var baseDomain: String
    /// The app's own settings over `.env.sample` (the operator's `recipes[].env`).
    public var environment: [String: String]
    /// Typed-check parameters from the operator's configuration, over the plugins' defaults.
    public var checkArguments: [String: [String: ArgumentValue]]
    /// The path readiness checks ask (the operator's `recipes[].readiness`), over the recipe plugins'.
    public var readinessPath: String?
    /// How to seed the app's data through it after install (the operator's `recipes[].data_seed`).
    public var dataSeed: DataSeed?
    /// Keep the app's volumes after a run that passed every tier (the sweep's cold release runs:
    /// what a promotion makes the canonical's data).
    public var retainData: Bool
    /// Start from a copy of this canonical's data, at its version (a warm run; never promoted).
    public var warmFrom: RunRecord.CanonicalStart?
    /// A warm run that skips what it can (the caller chooses fewer tiers); recorded as `quick`.
    public var quick: Bool
    /// Stops the run from outside: the tiers not yet started are not run, and the run still tears
    /// down and records itself.
    public var cancellation: RunCancellation
    /// What the run may use: its deadline, its services' memory and CPUs, its folder's size.
    public var ceilings: RunCeilings
    /// What the operator lets this recipe do that the content policy refuses (`recipes[].allow`, `max_replicas`).
    public var allowance: PolicyAllowance

    public init(recipe: String, repository: String, headRef: String? = nil, base: String? = nil,
                stages: [Tier] = Tier.allCases, trigger: RunRecord.Trigger = .manual, baseDomain: String = "ci.example",
                environment: [String: String] = [:], checkArguments: [String: [String: ArgumentValue]] = [:],
                readinessPath: String? = nil, dataSeed: DataSeed? = nil, canonicalVersion: String? = nil, retainData: Bool = false,
                warmFrom: RunRecord.CanonicalStart? = nil, quick: Bool = false, cancellation: RunCancellation = RunCancellation(),
                ceilings: RunCeilings = .defaults,
                allowance: PolicyAllowance = .none) {
        self.recipe = recipe
        self.repository = repository
        self.headRef = headRef
        self.base = base
        self.stages = stages.sorted()
        self.trigger = trigger
        self.baseDomain = baseDomain
        self.environment = environment
        self.checkArguments = checkArguments
        self.readinessPath = readinessPath
        self.dataSeed = dataSeed
        self.canonicalVersion = canonicalVersion
        self.retainData = retainData
        self.warmFrom = warmFrom
        self.quick = quick
        self.cancellation = cancellation
        self.ceilings = ceilings
        self.allowance = allowance
    }
}

/// A run that could not even start (no such repository, ref or release; a broken allowlist; a
/// state database that cannot record it). Nothing was deployed.
public struct PlanError: Error, CustomStringConvertible {
    public var description: String

    public init(description: String) { self.description = description }
}

/// Stops runs from outside (Ctrl-C, a cancelled job) or at their deadline: thread-safe, once set it
/// stays set.
public final class RunCancellation: @unchecked Sendable {
    private let lock = NSLock()
    private var why: String?
    /// A run's own cancellation is cancelled with the one it was made from (the sweep's, Ctrl-C's).
    private let parent: RunCancellation?
    private let deadline: (at: Date, reason: String)?

    public init() {
        parent = nil
        deadline = nil
    }

    private init(parent: RunCancellation, deadline: (at: Date, reason: String)) {
        self.parent = parent
        self.deadline = deadline
    }

    /// A cancellation for one run: cancelled with this one, and once `date` has passed, saying `reason`.
    public func until(_ date: Date, reason: String) -> RunCancellation {
        RunCancellation(parent: self, deadline: (date, reason))
    }

    /// Asks every run holding this to stop, saying why.
    public func cancel(_ reason: String) {
        lock.withLock { if why == nil { why = reason } }
    }

    /// Why the run was cancelled; nil while it may go on.
    public var reason: String? {
        if let own = lock.withLock({ why }) { return own }
        if let inherited = parent?.reason { return inherited }
        guard let deadline, Date() >= deadline.at else { return nil }
        // Time only moves on: once passed, the deadline stays the reason.
        cancel(deadline.reason)
        return lock.withLock { why }
    }
}

/// What a run tells while it goes, as typed events: the console prints them today, a live page can
/// follow them later.
public enum RunEvent: Sendable {
    /// Planned: the run's id, its app's stack and the tiers it will go through.
    case started(runID: String, recipe: String, stack: String, stages: [Tier])
    case tierStarted(Tier)
    /// A tier's record, as the run keeps it.
    case tierFinished(RunRecord.TierRecord)
    /// Something the run is doing or found on the way (a hook's verdict, data being copied).
    case note(tier: Tier?, String)
    /// The run's record is complete (judged, torn down).
    case finished(RunRecord)

    /// The event as one console line.
    public var line: String {
        switch self {
        case .started(let runID, let recipe, let stack, let stages):
            "run \(runID) of \(recipe) as \(stack): \(stages.map(\.rawValue).joined(separator: ", "))"
        case .tierStarted(let tier): "[\(tier.rawValue)] starting"
        case .tierFinished(let record):
            record.notApplicable.map { "[\(record.tier.rawValue)] n/a: \($0)" }
                ?? "[\(record.tier.rawValue)] \(record.verdict.rawValue) in \(Int(record.seconds)) s"
        case .note(let tier, let text): (tier.map { "[\($0.rawValue)] " } ?? "") + text
        case .finished(let record):
            "run \(record.id) finished: \(record.judgement.line), \(record.judgement.levelText)"
        }
    }
}

/// Where runs are recorded as they start and as they finish (the state database): a run killed
/// outright is never missing, it stays recorded as unfinished.
public protocol RunRecorder: Sendable {
    /// The run is about to deploy: its record so far (nothing run yet).
    func started(_ record: RunRecord) throws
    /// The run is over: its whole, judged record replaces the one recorded at the start.
    func finished(_ record: RunRecord) throws
    /// The run's process died before it finished (the janitor found it gone): its record, if it was
    /// recorded and never finished, is finished as aborted for `reason` (unverified).
    func interrupted(runID: String, reason: String) throws
}

extension RunEngine {
    /// Whether a deployed `chaos-version` label names `commit`: a short commit (abra writes 8
    /// characters, the swarm backend 7) that the full commit starts with, and not marked `+U`
    /// (uncommitted changes: not the code under test).
    public static func chaosVersion(_ label: String?, matches commit: String) -> Bool {
        guard let label, label.count >= 7, !label.hasSuffix("+U") else { return false }
        return commit.hasPrefix(label)
    }

    /// The base when none is given: the canonical when the head is a newer release or not a release
    /// at all (a branch or commit under review) and the canonical's tag exists; else the release just
    /// before the head (or the latest release when the head is not a release).
    /// `releases`: the release tags (pre-releases excluded), oldest to newest. Pure.
    static func defaultBase(head: String, canonical: String?, releases: [String]) -> String? {
        let headIndex = releases.firstIndex(of: head)
        if let canonical, let canonicalIndex = releases.firstIndex(of: canonical), headIndex.map({ $0 > canonicalIndex }) ?? true {
            return canonical
        }
        if let headIndex { return headIndex > 0 ? releases[headIndex - 1] : nil }
        return releases.last
    }
}
