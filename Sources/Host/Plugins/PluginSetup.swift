import Foundation

/// Everything the plugin commands need, resolved from configuration and environment once.
public struct PluginSetup: Sendable {
    public let configuration: Configuration
    public let launcher: WorkerLauncher
    public let prober: PluginProber
    public let environment: [String: String]

    /// `sandboxed: false` is the development-only `--no-sandbox`: workers still confine themselves
    /// (rlimits, syscall filter) but run without bubblewrap's namespaces and empty root.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment, sandboxed: Bool = true) throws {
        self.environment = environment
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

    public func catalog() -> PluginCatalog {
        PluginCatalog(stateDirectory: configuration.stateDirectory, prober: prober)
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
