import Foundation
import Synchronization

/// Starts `cchost-worker` processes. The one place that builds a worker's command line, so that the
/// sandbox (bubblewrap, rlimits) can wrap every launch by changing `wrapper` alone.
public final class WorkerLauncher: Sendable {
    /// The cchost-worker executable.
    public let workerPath: String
    /// Prefix placed before the worker command (e.g. a bubblewrap invocation); empty runs it directly.
    public let wrapper: [String]
    private let launches = Atomic<Int>(0)

    public init(workerPath: String, wrapper: [String] = []) {
        self.workerPath = workerPath
        self.wrapper = wrapper
    }

    /// How many workers this launcher has started: listings answered from the cache start none.
    public var launchCount: Int { launches.load(ordering: .relaxed) }

    public func launch(plugin path: String) throws(SpawnError) -> ChildProcess {
        let command = wrapper + [workerPath, path]
        launches.add(1, ordering: .relaxed)
        // Workers get an empty environment: nothing of the operator's (tokens, paths) leaks into them.
        return try ChildProcess(executable: command[0], arguments: Array(command.dropFirst()), environment: [:])
    }

    /// The worker next to the running executable (how `swift build` and installs lay them out),
    /// unless configuration names one.
    public static func locateWorker(configured: String?) throws(WorkerLocationError) -> String {
        if let configured {
            guard FileManager.default.isExecutableFile(atPath: configured) else {
                throw WorkerLocationError(path: configured, reason: "is not an executable file (worker_path in the configuration)")
            }
            return configured
        }
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let candidate = executable.deletingLastPathComponent().appendingPathComponent("cchost-worker").path
        guard FileManager.default.isExecutableFile(atPath: candidate) else {
            throw WorkerLocationError(path: candidate, reason: "not found next to \(executable.path); build it (swift build) or set worker_path")
        }
        return candidate
    }
}

public struct WorkerLocationError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "cchost-worker \(path) \(reason)" }
}
