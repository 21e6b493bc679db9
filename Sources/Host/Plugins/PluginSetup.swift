import Foundation

/// Everything the plugin commands need, resolved from configuration and environment once.
public struct PluginSetup: Sendable {
    public let configuration: Configuration
    public let launcher: WorkerLauncher
    public let prober: PluginProber
    public let environment: [String: String]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.environment = environment
        configuration = try Configuration.load(environment: environment)
        launcher = WorkerLauncher(workerPath: try WorkerLauncher.locateWorker(configured: configuration.workerPath))
        prober = PluginProber(launcher: launcher)
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
