import Foundation
import HostBase

extension PluginSetup {
    /// The plugin setup whose plugin cache is the state database's (`StateStore` is a `PluginCache`).
    public init(environment: [String: String] = ProcessInfo.processInfo.environment, sandboxed: Bool = true) throws {
        try self.init(environment: environment, sandboxed: sandboxed, openCache: { try StateStore(stateDirectory: $0) })
    }
}
