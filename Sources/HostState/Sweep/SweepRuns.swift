import Foundation
import HostBase
import HostDocker
import HostRuns
import PluginChannel

/// What came of one recipe's release run in a sweep, as the sweep's gate reads it.
public struct SweepRunResult: Sendable {
    /// The run's record as the state database holds it; nil when no run was recorded.
    public var record: RunRecord?
    /// Why the record may not be gated: the run did not start (nothing deployed), or its process
    /// died or ended without a finished record (the run is then recorded aborted, unverified). nil:
    /// `record` is the run's own finished record.
    public var problem: String?

    public init(record: RunRecord?, problem: String?) {
        self.record = record
        self.problem = problem
    }
}

/// How a sweep runs one recipe's release: the deploy, the tiers, teardown and the run's row in the
/// state database. Scheduling, the recipe's lock, the gate, the promotion and garbage collection
/// stay with the sweep (`SweepRunner`). `cchost sweep` runs each in a process of its own
/// (`ChildSweepRuns`), so that one run's crash cannot take the others down; the tests of the sweep's
/// decisions run them in-process (`InProcessSweepRuns`).
public protocol SweepRuns: Sendable {
    func run(_ item: SweepItem, version: String, cancellation: RunCancellation) -> SweepRunResult
}

extension RunRequest {
    /// A sweep's run of `version`: cold, every tier the recipe's `stages` name (default: all), from
    /// the recipe's mirror, upgrading from its canonical, keeping its data for the promotion.
    public static func sweep(_ recipe: RecipeSettings, mirror: String, version: String, canonical: String?,
                             configuration: Configuration, cancellation: RunCancellation) -> RunRequest {
        RunRequest(recipe: recipe.name, repository: mirror, headRef: version, base: canonical,
                   stages: recipe.stages ?? Tier.allCases, trigger: .sweep, baseDomain: configuration.baseDomain,
                   environment: recipe.env, checkArguments: recipe.checks, readinessPath: recipe.readinessPath, dataSeed: recipe.dataSeed,
                   retainData: true, cancellation: cancellation, ceilings: configuration.ceilings(for: recipe.name),
                   allowance: recipe.allowance)
    }
}

/// A sweep's runs in the sweep's own process, on engines `makeEngine` builds, recorded in `store`.
/// A crash here takes the whole sweep down: `cchost sweep` uses `ChildSweepRuns`.
public struct InProcessSweepRuns: SweepRuns {
    public let configuration: Configuration
    public let store: StateStore
    public let makeEngine: @Sendable (RecipeSettings) throws -> RunEngine

    public init(configuration: Configuration, store: StateStore, makeEngine: @escaping @Sendable (RecipeSettings) throws -> RunEngine) {
        self.configuration = configuration
        self.store = store
        self.makeEngine = makeEngine
    }

    public func run(_ item: SweepItem, version: String, cancellation: RunCancellation) -> SweepRunResult {
        do {
            let engine = try makeEngine(item.recipe)
            // Every sweep run is in the state database from its start.
            engine.recorder = store
            return SweepRunResult(record: try engine.run(.sweep(item.recipe, mirror: item.mirror, version: version, canonical: item.canonical,
                                                                configuration: configuration, cancellation: cancellation)),
                                  problem: nil)
        } catch {
            return SweepRunResult(record: nil, problem: "\(error)")
        }
    }
}
