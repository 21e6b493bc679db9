import Foundation
import HostBase
import HostDocker

/// Reaps what killed runs of one state folder left, and only that: stacks of the folder's registered
/// runs whose process is gone, and test stacks (under the test base domain) labelled with the folder's
/// identity (`StateIdentity`) that no live run owns and that are older than a threshold. A stack
/// another state folder deployed, or one cchost never deployed, is never touched, whatever its name.
public struct Janitor: Sendable {
    public let deployer: SwarmDeployer
    public let registry: ActiveRuns
    /// The state folder's identity: the `cchost.state` label its runs put on what they create.
    public let owner: String
    /// Stacks of test apps end with this (the base domain with `.` → `_`).
    public let testStackSuffix: String
    /// Where a dead run's record is finished as interrupted (the state database).
    public var recorder: (any RunRecorder)?

    public init(deployer: SwarmDeployer, registry: ActiveRuns, owner: String, baseDomain: String) {
        self.deployer = deployer
        self.registry = registry
        self.owner = owner
        testStackSuffix = "_" + AppNaming.stackName(forDomain: baseDomain)
    }

    public struct Reaped: Sendable, Codable, Equatable {
        public var stack: String
        public var reason: String
        public var leftovers: [String]
        /// What could not be done for a dead run besides its app: its record finished as interrupted.
        public var problems: [String] = []
        /// The dead runs that had registered the stack (none for a stack no run registered).
        public var runIDs: [String] = []
    }

    /// What to reap, without touching anything: `(stack, reason)`. Docker not answering is an error,
    /// never "nothing to reap".
    public func candidates(olderThan age: TimeInterval) throws(DeployError) -> [(stack: String, reason: String)] {
        var found: [(String, String)] = []
        let entries = try registry.entries()
        let live = Set(entries.filter(\.processIsAlive).map(\.stack))
        for entry in entries where !entry.processIsAlive {
            found.append((entry.stack, "run \(entry.runID) (pid \(entry.pid)) is gone"))
        }
        let stacks = try DeployError.wrapping { () throws(DockerError) in try deployer.docker.stacks() }
        for stack in stacks where stack.owners.contains(owner) && stack.name.hasSuffix(testStackSuffix)
            && !live.contains(stack.name) && !found.contains(where: { $0.0 == stack.name }) {
            guard let created = stack.createdAt, Date().timeIntervalSince(created) >= age else { continue }
            found.append((stack.name, "test stack of this state folder with no live run, created \(Int(Date().timeIntervalSince(created) / 60)) min ago"))
        }
        // Secrets of this state folder's test stacks whose services are already gone (cchost labels
        // the secrets it generates). The age matters here too: a run may be between `docker stack rm`
        // and its teardown (retaining its data), and its secrets are then as young as the run.
        let running = Set(stacks.map(\.name))
        for kind in [SwarmObject.Kind.secret, .config] {
            let objects = try DeployError.wrapping { () throws(DockerError) in try deployer.docker.swarmObjects(kind) }
            for object in objects where object.labels[StateIdentity.label] == owner {
                guard let range = object.name.range(of: testStackSuffix + "_") else { continue }
                let stack = String(object.name[..<range.lowerBound]) + testStackSuffix
                guard !live.contains(stack) && !running.contains(stack) && !found.contains(where: { $0.0 == stack }),
                      let created = object.createdAt, Date().timeIntervalSince(created) >= age else { continue }
                found.append((stack, "\(kind.rawValue)s left by a test stack that no longer runs, created \(Int(Date().timeIntervalSince(created) / 60)) min ago"))
            }
        }
        return found
    }

    struct NoRecorder: Error, CustomStringConvertible { var description: String { "the state database could not be opened" } }

    public func reap(olderThan age: TimeInterval) throws(DeployError) -> [Reaped] {
        var reaped: [Reaped] = []
        for (stack, reason) in try candidates(olderThan: age) {
            reaped.append(try reap(stack: stack, reason: reason) { "interrupted: its process (pid \($0.pid)) was gone; the janitor tore its app down" })
        }
        return reaped
    }

    /// The runs process `pid` registered, once it is gone (a sweep's run process that died): each
    /// one's app torn down, its checkouts removed and its record finished as aborted for
    /// `interruption`, as `reap(olderThan:)` does for any dead run. Only runs of that process are touched.
    public func reapRuns(ofProcess pid: Int32, interruption: String) throws(DeployError) -> [Reaped] {
        var reaped: [Reaped] = []
        for entry in try registry.entries() where entry.pid == pid && !entry.processIsAlive {
            reaped.append(try reap(stack: entry.stack, reason: "run \(entry.runID) (pid \(entry.pid)) is gone") { _ in interruption })
        }
        return reaped
    }

    /// Tears `stack` down, then finishes the record of each dead run that registered it (with the
    /// reason `interruption` gives for its entry), unregistering it once its teardown is known clean.
    func reap(stack: String, reason: String, interruption: (ActiveRuns.Entry) -> String) throws(DeployError) -> Reaped {
        let result = deployer.teardown(stack: stack)
        // What could not be listed: whether the stack is gone is not known (said, never read as gone).
        var problems = result.unknown
        var runIDs: [String] = []
        for entry in try registry.entries() where entry.stack == stack {
            runIDs.append(entry.runID)
            // A dead run's checkouts go with its app; its record and artifacts stay, the record finished.
            RunPlan.removeCheckouts(in: registry.directory.deletingLastPathComponent().appendingPathComponent(entry.runID))
            do {
                guard let recorder else { throw NoRecorder() }
                try recorder.interrupted(runID: entry.runID, reason: interruption(entry))
                // Kept while anything may be left: the entry is how the next janitor finds a stack
                // whose services are gone but whose volumes or networks are not.
                if result.isClean {
                    registry.unregister(runID: entry.runID)
                } else {
                    problems.append("run \(entry.runID) stays registered: its teardown is not known clean (the janitor tries again)")
                }
            } catch {
                problems.append("run \(entry.runID) was not recorded as interrupted (the janitor tries again): \(error)")
            }
        }
        return Reaped(stack: stack, reason: reason, leftovers: result.leftovers, problems: problems, runIDs: runIDs)
    }
}
