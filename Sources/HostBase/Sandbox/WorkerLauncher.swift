import Foundation
import Logging
import Synchronization

/// Starts `cchost-worker` processes: the one place that builds a worker's command line. Every worker
/// runs inside the bubblewrap sandbox and confines itself (`--confine`) before loading plugin code;
/// only the development-only `--no-sandbox` (`sandbox == nil`) drops the bubblewrap part, loudly.
public final class WorkerLauncher: Sendable {
    /// The cchost-worker executable.
    public let workerPath: String
    /// False only under the development-only `--no-sandbox`.
    public let isSandboxed: Bool
    private let bubblewrap: String?
    private let cacheDirectory: String?
    /// Resolved on the first launch, so that a listing answered from the cache costs nothing.
    private let sandbox: Mutex<Sandbox?>
    private let launches = Atomic<Int>(0)
    private let logger = Logger(label: "cchost.sandbox")

    /// A launcher with a known sandbox, or none (`nil`: `--no-sandbox`).
    public init(workerPath: String, sandbox: Sandbox?) {
        self.workerPath = workerPath
        isSandboxed = sandbox != nil
        bubblewrap = sandbox?.bubblewrap
        cacheDirectory = nil
        self.sandbox = Mutex(sandbox)
    }

    /// A sandboxed launcher that learns the worker's runtime libraries when it first starts one
    /// (remembered in `cacheDirectory` across runs).
    public init(workerPath: String, bubblewrap: String, cacheDirectory: String? = nil) {
        self.workerPath = workerPath
        isSandboxed = true
        self.bubblewrap = bubblewrap
        self.cacheDirectory = cacheDirectory
        sandbox = Mutex(nil)
    }

    /// The command that runs the worker on `plugin` under `profile`.
    public func command(plugin path: String, profile: SandboxProfile) throws(SandboxError) -> [String] {
        guard isSandboxed, let bubblewrap else { return [workerPath, "--confine", profile.confineArgument, path] }
        let known = sandbox.withLock { $0 }
        let resolved: Sandbox
        if let known {
            resolved = known
        } else {
            resolved = try Sandbox(bubblewrap: bubblewrap, worker: workerPath, cacheDirectory: cacheDirectory)
            sandbox.withLock { $0 = resolved }
        }
        return resolved.command(worker: workerPath, plugin: path, profile: profile)
    }

    /// How many workers this launcher has started: listings answered from the cache start none.
    public var launchCount: Int { launches.load(ordering: .relaxed) }

    public func launch(plugin path: String, profile: SandboxProfile) throws(SpawnError) -> ChildProcess {
        let command: [String]
        do { command = try self.command(plugin: path, profile: profile) } catch {
            throw SpawnError(executable: workerPath, reason: error.description)
        }
        if !isSandboxed {
            logger.warning("running plugin code WITHOUT the bubblewrap sandbox (--no-sandbox, development only)",
                           metadata: ["plugin": "\(path)"])
        }
        logger.debug("starting worker", metadata: ["command": "\(command.joined(separator: " "))"])
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
