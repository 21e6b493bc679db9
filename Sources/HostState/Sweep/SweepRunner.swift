import Foundation
import HostBase
import HostDocker
import HostRuns
import PluginChannel
import Synchronization

/// What the sweep did for one recipe.
public struct SweepOutcome: Sendable {
    public var item: SweepItem
    public var run: RunRecord?
    /// `promoted <version>`, or why not.
    public var promotion: String?
    public var error: String?
}

/// The scheduled job: for each enrolled recipe, sync the mirror, decide on versions, run the new
/// release cold, gate, promote. Recipes run in parallel up to the configured bound, each under its
/// own lock; the whole sweep holds a lock too, so a second sweep is refused, never interleaved.
///
/// Who does what: this process schedules, holds the locks (`sweep`, and `recipe:<name>` from
/// before a recipe's run until after its promotion), reads each run's record, gates, promotes and
/// collects garbage; the run itself (deploy, tiers, teardown, its row in the state database) is
/// `runs`' — in `cchost sweep`, a process of its own per run (`ChildSweepRuns`).
public final class SweepRunner: Sendable {
    public let configuration: Configuration
    public let store: StateStore
    /// The engine whose retained volumes the sweep collects and promotes (each run's deployer speaks to it too).
    public let docker: any Docker
    /// Runs one recipe's release (each recipe on its own thread here).
    public let runs: any SweepRuns
    public let progress: @Sendable (String) -> Void
    /// Stops the sweep from outside: a running run stops and tears down, no new one starts.
    public let cancellation: RunCancellation

    public init(configuration: Configuration, store: StateStore, docker: any Docker = DockerDaemon(), runs: any SweepRuns,
                progress: @escaping @Sendable (String) -> Void = { _ in }, cancellation: RunCancellation = RunCancellation()) {
        self.configuration = configuration
        self.store = store
        self.docker = docker
        self.runs = runs
        self.progress = progress
        self.cancellation = cancellation
    }

    /// A sweep whose runs run in this process, on engines `makeEngine` builds.
    public convenience init(configuration: Configuration, store: StateStore, docker: any Docker = DockerDaemon(),
                            makeEngine: @escaping @Sendable (RecipeSettings) throws -> RunEngine,
                            progress: @escaping @Sendable (String) -> Void = { _ in }, cancellation: RunCancellation = RunCancellation()) {
        self.init(configuration: configuration, store: store, docker: docker,
                  runs: InProcessSweepRuns(configuration: configuration, store: store, makeEngine: makeEngine),
                  progress: progress, cancellation: cancellation)
    }

    /// Decides for every recipe; with `dryRun`, stops there.
    public func sweep(recipes: [RecipeSettings], dryRun: Bool) throws -> [SweepOutcome] {
        let sweepLock = try StateLock(StateLock.sweep, store: store)
        defer { withExtendedLifetime(sweepLock) {} }
        let items = try SweepPlan.plan(recipes, stateDirectory: configuration.stateDirectory) { recipe in
            try self.store.canonical(recipe: recipe)?.version
        }
        for item in items { progress("\(item.recipe.name): \(item.decision)") }
        guard !dryRun else { return items.map { SweepOutcome(item: $0) } }
        collectGarbage(recipes: Set(recipes.map(\.name)))

        let outcomes = Mutex<[Int: SweepOutcome]>([:])
        let slots = DispatchSemaphore(value: max(1, configuration.concurrency))
        let group = DispatchGroup()
        for (index, item) in items.enumerated() {
            guard case .run(let version) = item.decision else {
                outcomes.withLock { $0[index] = SweepOutcome(item: item) }
                continue
            }
            slots.wait()
            group.enter()
            DispatchQueue.global().async {
                defer { slots.signal(); group.leave() }
                let outcome = self.runAndPromote(item, version: version)
                outcomes.withLock { $0[index] = outcome }
            }
        }
        group.wait()
        pruneRunFolders()
        return outcomes.withLock { results in items.indices.compactMap { results[$0] } }
    }

    /// Past run folders beyond the retention policy go (never a canonical's or a live run's); a
    /// problem is a warning: the runs themselves are done, and the next sweep or `cchost gc` tries again.
    func pruneRunFolders() {
        let folders = RunFolders(stateDirectory: configuration.stateDirectory, store: store)
        do {
            let removals = try folders.removals(policy: configuration.retention)
            let failures = folders.remove(removals)
            for removal in removals where !failures.contains(where: { $0.0 == removal }) {
                progress("removed run folder \(RunFolders.line(removal))")
            }
            for (removal, why) in failures { progress("warning: run folder \(removal.folder.runID) was not removed: \(why)") }
        } catch {
            progress("warning: past run folders were not pruned (the next sweep or cchost gc tries again): \(error)")
        }
    }

    /// Removes the recipes' retained volumes no canonical references (a previous canonical's, a
    /// refused run's, or what a promotion stopped midway left). The caller holds the sweep lock or
    /// the recipe's lock, so no run of these recipes is between retaining and promoting.
    func collectGarbage(recipes: Set<String>) {
        do {
            let keep = try store.retainedRunsInUse()
            let removed = try RetainedVolumes(docker: docker, stateDirectory: configuration.stateDirectory).collectGarbage(recipes: recipes, keep: keep)
            if !removed.isEmpty { progress("removed retained volumes no canonical uses: \(removed.joined(separator: ", "))") }
        } catch {
            progress("warning: retained volumes no canonical uses were not removed (the next sweep tries again): \(error)")
        }
    }

    /// A cold run of `version` that keeps its data, then the gate, then (maybe) the promotion: all
    /// under the recipe's lock, which this process holds and the run's own process never does.
    func runAndPromote(_ item: SweepItem, version: String) -> SweepOutcome {
        var outcome = SweepOutcome(item: item)
        do {
            if let reason = cancellation.reason { throw PlanError(description: "not run: the sweep was cancelled (\(reason))") }
            let lock = try StateLock(StateLock.recipe(item.recipe.name), store: store)
            defer { withExtendedLifetime(lock) {} }
            progress("\(item.recipe.name): running \(version) cold (base: \(item.canonical ?? "the previous release"))")
            let result = runs.run(item, version: version, cancellation: cancellation)
            outcome.run = result.record
            // Promoted, refused or failed, the volumes no canonical references are garbage afterwards:
            // the previous canonical's, or this run's. A promotion's own error is what the sweep reports.
            defer { collectGarbage(recipes: [item.recipe.name]) }
            // A run that did not start, or whose process died, is never gated.
            guard let record = result.record, result.problem == nil else {
                throw PlanError(description: result.problem ?? "no run was recorded")
            }
            let promoter = Promoter(store: store, volumes: RetainedVolumes(docker: docker, stateDirectory: configuration.stateDirectory))
            switch PromoteGate.decide(PromotionCandidate(record, fromPullRequest: false)) {
            case .promote(let version):
                let canonical = try promoter.promote(record, version: version, holding: lock)
                outcome.promotion = "promoted \(canonical.version) (\(canonical.commit.prefix(12)))"
            case .refuse(let reasons):
                outcome.promotion = "not promoted: " + reasons.joined(separator: "; ")
            }
            progress("\(item.recipe.name): \(record.verdict.rawValue); \(outcome.promotion ?? "")")
        } catch {
            outcome.error = "\(error)"
            progress("\(item.recipe.name): \(error)")
        }
        return outcome
    }
}
