import Foundation
import PluginChannel

/// What is known about one plugin library after probing it in a worker.
public enum PluginState: Sendable, Equatable, Codable {
    /// Passed the ABI check, initialised, and its metadata is valid.
    case loadable(PluginInfo)
    /// Refused with reasons that name the fields (ABI mismatch, load error, bad metadata).
    case rejected(Rejection)
    /// The worker crashed, hung or broke the protocol while probing it.
    case broken(reason: String, diagnostics: String)

    public var isLoadable: Bool { if case .loadable = self { return true } else { return false } }

    /// One line saying why the plugin cannot be used; nil when it can.
    public var problem: String? {
        switch self {
        case .loadable: return nil
        case .rejected(let rejection): return rejection.summary
        case .broken(let reason, _): return reason
        }
    }
}

public struct PluginInfo: Sendable, Equatable, Codable {
    public var description: PluginDescription
    public var metadata: PluginMetadata
}

/// Loads a plugin in a throwaway worker to learn its descriptor and metadata. The host process never
/// loads plugin code itself.
public struct PluginProber: Sendable {
    public let launcher: WorkerLauncher
    /// Deadline of a probe: loading, checking and describing a plugin is quick or broken.
    public var timeout: Double

    public init(launcher: WorkerLauncher, timeout: Double = 10) {
        self.launcher = launcher
        self.timeout = timeout
    }

    /// Probes in the sandbox under `profile`. A worker that cannot start at all (no sandbox on this
    /// machine) is thrown, not recorded against the plugin.
    public func probe(_ path: String, profile: SandboxProfile = .strict) throws(WorkerFailure) -> PluginState {
        let session: WorkerSession
        do {
            session = try WorkerSession(plugin: path, launcher: launcher, services: HostServices(), profile: profile,
                                        timeout: timeout)
        } catch {
            switch error {
            case .rejected(let rejection): return .rejected(rejection)
            case .launch: throw error
            default: return .broken(reason: error.description, diagnostics: error.diagnostics)
            }
        }
        defer { session.close() }
        // A session that loaded has a description (WorkerSession.init throws otherwise).
        guard let description = session.plugin else {
            return .broken(reason: "the worker loaded \(path) but described nothing", diagnostics: session.diagnostics)
        }
        do {
            return .loadable(PluginInfo(description: description, metadata: try PluginMetadata(json: description.metadataJSON)))
        } catch {
            return .rejected(error)
        }
    }
}
