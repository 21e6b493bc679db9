import Foundation
import HostBase
import HostDocker
import HostRuns
import Synchronization

/// A sweep's runs, each in a process of its own: the cchost binary re-executed with its hidden
/// `sweep-run` subcommand, which deploys, runs the tiers, tears down and records the run. A run
/// process that crashes takes only its own run with it; this process then does for it what
/// `cchost janitor` does for a dead run: tears its app down, finishes its record as aborted
/// (unverified), and the sweep never promotes it.
///
/// The run process speaks on its stdout: `run <id>` once its run is registered and recorded,
/// `error <text>` when it could not start one (nothing deployed). Every other line it prints
/// (progress, warnings, a crash's own words) is relayed with its recipe. Its stdin stays open and
/// unwritten while this process lives: a run process whose sweep is gone reads its end and stops.
///
/// Locks: this process (the sweep) holds `sweep` and the recipe's `recipe:<name>` around the run;
/// the run process holds no lock of those and cannot take one (see `StateLock`), so it can never
/// promote. What it holds dies with it: its entry in the registry of active runs names its pid.
public final class ChildSweepRuns: SweepRuns {
    /// The executable and the arguments before the run's own: `[cchost, "sweep-run", …]`.
    public let command: [String]
    public let environment: [String: String]
    public let store: StateStore
    /// Reaps what a dead run process left: its registry entries, its app, its record.
    public let janitor: Janitor
    /// Each line a run process printed, with its recipe.
    public let relay: @Sendable (_ recipe: String, _ line: String) -> Void
    /// The live run processes, and the last signal passed on to them (for one started just after it).
    private let live = Mutex<(pids: Set<pid_t>, signal: Int32?)>(([], nil))

    public init(command: [String], environment: [String: String], store: StateStore, janitor: Janitor,
                relay: @escaping @Sendable (_ recipe: String, _ line: String) -> Void) {
        self.command = command
        self.environment = environment
        self.store = store
        self.janitor = janitor
        self.relay = relay
    }

    /// Passes `signal` on to every live run process (each stops its run before the next step, tears
    /// down and records it; a second one tears down at once), and to each started after it.
    public func signal(_ signal: Int32) {
        live.withLock { live in
            live.signal = signal
            for pid in live.pids { kill(pid, signal) }
        }
    }

    /// `cancellation` reaches a run process as the signal that set it (`signal(_:)`): the sweep
    /// checks it before it starts one.
    public func run(_ item: SweepItem, version: String, cancellation: RunCancellation) -> SweepRunResult {
        let recipe = item.recipe.name
        var arguments = Array(command.dropFirst()) + ["--recipe", recipe, "--mirror", item.mirror, "--version", version]
        if let canonical = item.canonical { arguments += ["--canonical", canonical] }
        let child: ChildProcess
        do { child = try ChildProcess(executable: command[0], arguments: arguments, environment: environment) } catch {
            return SweepRunResult(record: nil, problem: "its run process could not start: \(error)")
        }
        live.withLock { live in
            live.pids.insert(child.pid)
            if let signal = live.signal { kill(child.pid, signal) }
        }
        var (announced, refusal): (String?, String?) = (nil, nil)
        Self.readLines(child.output, child.errors) { fd, line in
            if fd == child.output, line.hasPrefix("run ") { announced = String(line.dropFirst(4)) }
            else if fd == child.output, line.hasPrefix("error ") { refusal = String(line.dropFirst(6)) }
            else { relay(recipe, line.hasPrefix("cchost: ") ? String(line.dropFirst(8)) : line) }
        }
        // Out of the set before it is reaped: no signal ever reaches a pid that has been reused.
        live.withLock { _ = $0.pids.remove(child.pid) }
        let termination = child.wait()
        return finish(recipe: recipe, pid: child.pid, termination: termination, announced: announced, refusal: refusal)
    }

    /// After the run process ended: what it left registered is reaped (its process is gone), its
    /// record read back, and whether the gate may read it decided.
    func finish(recipe: String, pid: pid_t, termination: Termination, announced: String?, refusal: String?) -> SweepRunResult {
        var problems: [String] = []
        var reaped: [Janitor.Reaped] = []
        let interruption = "interrupted: its run process (pid \(pid)) \(termination) before the run finished; the sweep tore its app down"
        do { reaped = try janitor.reapRuns(ofProcess: pid, interruption: interruption) } catch {
            problems.append("what it left could not be reaped (cchost janitor tries again): \(error)")
        }
        for item in reaped {
            relay(recipe, "tore down \(item.stack), left by its run process" + (item.leftovers.isEmpty ? "" : "; left: \(item.leftovers.joined(separator: ", "))"))
            problems += item.problems
        }
        var record: RunRecord?
        if let runID = announced ?? reaped.flatMap(\.runIDs).first {
            do { record = try store.run(id: runID).map { try RunReport.decode(Data($0.record.utf8)) } } catch {
                problems.append("run \(runID) could not be read back from the state database: \(error)")
            }
        }
        let exited = if case .exited = termination { true } else { false }
        if exited && reaped.isEmpty && problems.isEmpty, let record, record.finishedAt != nil {
            return SweepRunResult(record: record, problem: nil)
        }
        if exited && reaped.isEmpty && record == nil, let refusal {
            return SweepRunResult(record: nil, problem: refusal)
        }
        let what = record.map { "run \($0.id) is recorded " + ($0.finishedAt == nil ? "unfinished" : "\($0.judgement.verdict.rawValue)" + ($0.aborted == nil ? "" : ", aborted")) }
            ?? "no run was recorded"
        // What it left registered says it died mid-run; else it died before its run began, or after it was recorded.
        let when = reaped.isEmpty ? "" : " before its run finished"
        return SweepRunResult(record: record, problem: (["its run process \(termination)\(when); \(what)"] + problems).joined(separator: "; "))
    }

    /// Reads both pipes to their end, handing each whole line (without its newline) to `body`,
    /// with the descriptor it came from.
    static func readLines(_ output: Int32, _ errors: Int32, _ body: (Int32, String) -> Void) {
        let streams = [output, errors]
        var pending: [[UInt8]] = [[], []]
        var open: Set<Int32> = [output, errors]
        var chunk = [UInt8](repeating: 0, count: 65536)
        while !open.isEmpty {
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            guard poll(&fds, nfds_t(fds.count), -1) >= 0 || errno == EINTR else { return }
            for fd in fds where fd.revents != 0 {
                let index = fd.fd == output ? 0 : 1
                let n = chunk.withUnsafeMutableBytes { read(fd.fd, $0.baseAddress, $0.count) }
                if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                guard n > 0 else {
                    open.remove(fd.fd)
                    if !pending[index].isEmpty { body(streams[index], String(decoding: pending[index], as: UTF8.self)) }
                    pending[index] = []
                    continue
                }
                pending[index] += chunk[..<n]
                while let newline = pending[index].firstIndex(of: UInt8(ascii: "\n")) {
                    body(streams[index], String(decoding: pending[index][..<newline], as: UTF8.self))
                    pending[index].removeSubrange(...newline)
                }
            }
        }
    }
}
