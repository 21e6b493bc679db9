import Foundation
import HostBase
import HostDocker
import PluginChannel

/// Which tiers run, which are `n/a`, which are `not run`, and when the run cannot go on. Pure: the
/// engine asks it before each tier and after each op, and writes the abort reason it gives, in one
/// place. Truth tables in the tests.
public enum TierPolicy {
    /// What the engine knows when a tier is about to start.
    public struct Situation: Sendable, Equatable {
        public var tier: Tier
        /// Why an earlier stage stopped the run, if one did.
        public var abort: String?
        /// Why the run was cancelled from outside, if it was.
        public var cancelled: String?
        /// The base is an earlier commit than the head (there is something to upgrade from).
        public var hasEarlierRelease: Bool
        /// Whether any service has `backupbot.backup=true`; an error when the recipe could not be read.
        public var backedUp: Result<Bool, DeployError>
        /// This run made a backup (the restore tier's input).
        public var hasBackup: Bool
        /// Why the deploy backend cannot back up and restore yet (`Deployer.backupUnsupported`).
        public var backupUnsupported: String?

        public init(tier: Tier, abort: String? = nil, cancelled: String? = nil, hasEarlierRelease: Bool = true,
                    backedUp: Result<Bool, DeployError> = .success(true), hasBackup: Bool = false, backupUnsupported: String? = nil) {
            self.tier = tier
            self.abort = abort
            self.cancelled = cancelled
            self.hasEarlierRelease = hasEarlierRelease
            self.backedUp = backedUp
            self.hasBackup = hasBackup
            self.backupUnsupported = backupUnsupported
        }
    }

    public enum Start: Sendable, Equatable {
        /// Run the tier's op, then its checks.
        case run
        /// The recipe cannot have this tier: a skip, with why.
        case notApplicable(String)
        /// The tier should have run and will not: `unverified`, with the op it would have run and why.
        case unverified(RunRecord.Op, String)
    }

    public static func start(_ situation: Situation) -> Start {
        let tier = situation.tier
        if let cancelled = situation.cancelled { return .unverified(.none, "not run: the run was cancelled (\(cancelled))") }
        if let abort = situation.abort, tier != .lint { return .unverified(.none, "not run: an earlier stage aborted (\(abort))") }
        switch tier {
        case .upgrade where !situation.hasEarlierRelease:
            return .notApplicable("there is no earlier release to upgrade from")
        case .backup, .restore:
            let op: RunRecord.Op = tier == .backup ? .backup : .restore
            switch situation.backedUp {
            case .failure(let error):
                return .unverified(op, "which services are backed up is unknown: \(error.description)")
            case .success(false):
                return .notApplicable("no service has backupbot.backup=true")
            case .success(true) where situation.backupUnsupported != nil:
                // The recipe backs up and the backend cannot prove it: neither green nor red.
                return .unverified(op, situation.backupUnsupported ?? "")
            case .success(true) where tier == .restore && !situation.hasBackup:
                return .unverified(.restore, "no backup of this run to restore (the backup tier was not selected or did not succeed)")
            case .success(true):
                return .run
            }
        default:
            return .run
        }
    }

    /// Why the run cannot go on after `tier`'s op, or nil: the deploy-count guard first (one fresh
    /// deploy per run), then the op's own reason (a deploy that failed), then a failed install or
    /// upgrade (nothing after them would test what it claims to), then the run folder past its budget
    /// (`runFolder`: what it holds and may hold, or why that is unknown).
    public static func abort(after tier: Tier, opVerdict: Verdict, opAbort: String?, deployCount: Int,
                             runFolder: Result<(bytes: UInt64, budget: UInt64), RunFolderUnknown>? = nil) -> String? {
        if deployCount > 1 { return "deploy-count guard: \(deployCount) deploys in one run, expected 1" }
        if let opAbort { return opAbort }
        if (tier == .install || tier == .upgrade) && opVerdict != .pass { return "\(tier.rawValue) failed" }
        switch runFolder {
        case .success(let usage) where usage.bytes > usage.budget:
            return "ceiling: the run folder holds \(ByteSize.text(usage.bytes)), over its \(ByteSize.text(usage.budget)) budget (ceilings.run_folder)"
        case .failure(let unknown):
            return "ceiling: the run folder's size is unknown, so its budget cannot be kept: \(unknown.reason)"
        default:
            return nil
        }
    }

    /// Why the run folder's size could not be read.
    public struct RunFolderUnknown: Error, Sendable, Equatable {
        public var reason: String
        public init(reason: String) { self.reason = reason }
    }
}
