import Foundation
import HostBase

/// One recipe's place in a sweep: its mirror, its newest release, its canonical, and the decision.
public struct SweepItem: Sendable, Equatable {
    public var recipe: RecipeSettings
    public var mirror: String
    public var latest: String?
    public var latestCommit: String?
    public var canonical: String?
    public var decision: SweepDecision
}

public struct SweepError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// What a sweep will do: the enrolled recipes, their mirrors synced from upstream, and each one's
/// decision keyed on version.
public enum SweepPlan {
    /// The enrolled set: configured recipes with `enrolled: true`, plus recipes whose plugin metadata
    /// enrols them in the canonical sweep (they must be configured, for their upstream). Empty is an
    /// error: a sweep that tests nothing must not look like a quiet success.
    public static func enrolled(_ configuration: Configuration, plugins: [PluginInfo]) throws(SweepError) -> [RecipeSettings] {
        let configured = Dictionary(configuration.recipes.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var names = configuration.recipes.filter(\.enrolled).map(\.name)
        let byPlugins = Set(plugins.filter(\.metadata.canonicalSweep).flatMap(\.metadata.recipes)).subtracting(["*"])
        let missing = byPlugins.filter { configured[$0] == nil }.sorted()
        guard missing.isEmpty else {
            throw SweepError("plugins enrol \(missing.joined(separator: ", ")) in the sweep, but the configuration has no upstream for \(missing.count == 1 ? "it" : "them"): add each under recipes: with name and upstream")
        }
        for name in byPlugins.sorted() where !names.contains(name) && configured[name]?.enrolled != false { names.append(name) }
        guard !names.isEmpty else {
            throw SweepError("no recipe is enrolled in the sweep: add recipes to the configuration (recipes: - name, upstream) or install plugins that enrol them")
        }
        return names.compactMap { configured[$0] }
    }

    /// The mirror of a recipe: cloned (bare) from upstream when missing, else fetched from it.
    public static func syncMirror(_ recipe: RecipeSettings, stateDirectory: String) throws(SweepError) -> (String, GitRepository) {
        let path = recipe.mirror ?? (stateDirectory as NSString).appendingPathComponent("mirrors/\(recipe.name).git")
        do {
            if FileManager.default.fileExists(atPath: path) {
                let mirror = try GitRepository.open(path)
                try mirror.fetch(from: recipe.upstream)
                return (path, mirror)
            }
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            return (path, try GitRepository.clone(recipe.upstream, to: path, bare: true))
        } catch {
            throw SweepError("recipe \(recipe.name): cannot sync its mirror \(path) from \(RepositoryAddress.display(recipe.upstream)): \(error)")
        }
    }

    /// Syncs every enrolled recipe's mirror and decides, given each recipe's canonical version.
    public static func plan(_ recipes: [RecipeSettings], stateDirectory: String,
                            canonical: (String) throws -> String?) throws -> [SweepItem] {
        try recipes.map { recipe in
            let (path, mirror) = try syncMirror(recipe, stateDirectory: stateDirectory)
            let listing = try ReleaseListing(source: recipe.upstream, repository: mirror)
            // The listing's latest parsed as a version already; were it not to now, that is an error,
            // never "never released".
            let latest = try listing.latest.map { try RecipeVersion(parsing: $0) }
            let current = try canonical(recipe.name)
            return SweepItem(recipe: recipe, mirror: path, latest: latest?.tag,
                             latestCommit: listing.releases.first { $0.tag == latest?.tag }?.commit, canonical: current,
                             decision: SweepDecision.decide(latest: latest, canonical: current))
        }
    }
}
