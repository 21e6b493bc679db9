import Foundation

/// Everything the plugin commands need, resolved from configuration and environment once.
public struct PluginSetup: Sendable {
    public let configuration: Configuration
    public let launcher: WorkerLauncher
    public let prober: PluginProber
    public let environment: [String: String]
    /// Opens the plugin cache of a state folder (HostState: the state database's, see `PluginSetup+StateStore`).
    public let openCache: @Sendable (_ stateDirectory: String) throws -> any PluginCache

    /// `sandboxed: false` is the development-only `--no-sandbox`: workers still confine themselves
    /// (rlimits, syscall filter) but run without bubblewrap's namespaces and empty root.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment, sandboxed: Bool = true,
                openCache: @escaping @Sendable (_ stateDirectory: String) throws -> any PluginCache) throws {
        self.environment = environment
        self.openCache = openCache
        configuration = try Configuration.load(environment: environment)
        let worker = try WorkerLauncher.locateWorker(configured: configuration.workerPath)
        launcher = sandboxed ? WorkerLauncher(workerPath: worker, bubblewrap: try Sandbox.bubblewrap(),
                                              cacheDirectory: configuration.stateDirectory)
                             : WorkerLauncher(workerPath: worker, sandbox: nil)
        prober = PluginProber(launcher: launcher)
    }

    /// Overlays always get the strict profile; operator and builtin plugins the configured one.
    public func profile(for origin: PluginOrigin) -> SandboxProfile {
        if case .overlay = origin { return .strict }
        return configuration.operatorProfile
    }

    /// The catalog over the plugin cache of the state folder.
    public func catalog() throws -> PluginCatalog {
        try PluginCatalog(cache: try openCache(configuration.stateDirectory), prober: prober)
    }

    /// The generic suite ships next to the worker.
    public var builtinPlugins: [String] {
        let path = ((launcher.workerPath as NSString).deletingLastPathComponent as NSString)
            .appendingPathComponent("libcchost-generic.so")
        return FileManager.default.fileExists(atPath: path) ? [path] : []
    }

    /// Operator plugin folders in search order, each with where it was configured.
    public var operatorFolders: [(path: String, origin: String)] {
        let fromEnvironment = Set((environment["CCHOST_PLUGIN_PATH"] ?? "").split(separator: ":").map(String.init))
        return configuration.pluginPaths.map { path in
            (path, fromEnvironment.contains(path) ? "CCHOST_PLUGIN_PATH" : "plugin_paths in \(configuration.source ?? "the configuration")")
        }
    }

    public func overlayGate() throws -> OverlayGate {
        OverlayGate(allowlist: try Allowlist.load(from: configuration.allowlistPath),
                    stateDirectory: configuration.stateDirectory)
    }
}

/// A plugin chosen for a run: where it is, what it is, and how it is confined.
public struct ResolvedPlugin: Sendable {
    public var path: String
    public var origin: PluginOrigin
    public var info: PluginInfo
    public var profile: SandboxProfile
}

extension PluginSetup {
    /// The plugins that serve `recipe`: the builtin generic suite, operator plugins whose metadata
    /// names the recipe, and the checkout's repo-local overlays the allowlist approves (others are
    /// reported in `denied`, never loaded). Broken or rejected plugins are returned in `problems`.
    /// With no recipe: every loadable builtin and operator plugin (what the sweep's enrolment reads).
    ///
    /// The probes are saved to the plugin cache even when the search fails part-way. A cache that
    /// cannot be saved costs only re-probing next time: it is reported in `problems`, not thrown.
    public func plugins(forRecipe recipe: String?, checkout: String?) throws
        -> (plugins: [ResolvedPlugin], denied: [String], problems: [String]) {
        let catalog = try catalog()
        let search = Result { try resolvePlugins(forRecipe: recipe, checkout: checkout, in: catalog) }
        var unsaved: [String] = []
        do { try catalog.save() } catch { unsaved.append("plugin cache not saved: \(error)") }
        var found = try search.get()
        found.problems += unsaved
        return found
    }

    private func resolvePlugins(forRecipe recipe: String?, checkout: String?, in catalog: PluginCatalog) throws
        -> (plugins: [ResolvedPlugin], denied: [String], problems: [String]) {
        var plugins: [ResolvedPlugin] = []
        var denied: [String] = []
        var problems: [String] = []
        func consider(_ path: String, origin: PluginOrigin, probePath: String? = nil) throws {
            let profile = profile(for: origin)
            let entry = try catalog.entry(for: probePath ?? path, profile: profile)
            switch entry.state {
            case .loadable(let info) where recipe.map { info.metadata.serves(recipe: $0) } ?? true:
                plugins.append(ResolvedPlugin(path: probePath ?? path, origin: origin, info: info, profile: profile))
            case .loadable: break
            default: problems.append("plugin not used: \(path): \(entry.state.problem ?? "not loadable")")
            }
        }
        for path in builtinPlugins { try consider(path, origin: .builtin) }
        for path in try PluginCatalog.operatorPlugins(in: operatorFolders) where !builtinPlugins.contains(path) {
            try consider(path, origin: .operatorFolder(path))
        }
        if let checkout, let recipe, case let overlays = try PluginCatalog.overlays(inCheckout: checkout), !overlays.isEmpty {
            // The allowlist is read only when there is an overlay to judge: a recipe without one
            // never depends on it.
            let gate = try overlayGate()
            for overlay in overlays {
                switch try gate.admit(recipe: recipe, overlay: overlay) {
                case .denied(let path, _, let reason): denied.append("\(path): \(reason)")
                case .approved(let approved):
                    try consider(overlay, origin: .overlay(recipe: recipe), probePath: approved.stagedPath)
                }
            }
        }
        return (plugins, denied, problems)
    }
}
