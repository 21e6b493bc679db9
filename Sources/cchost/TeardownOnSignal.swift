import Foundation
import HostDocker
import HostRuns
import Synchronization

/// SIGINT or SIGTERM during a run: the first one cancels the runs of this process, which stop
/// before their next step, tear down and record themselves (red), then the process exits 130/143;
/// a second one tears down this process's registered apps at once and exits 130/143. Teardown is
/// sacred even when the operator gives up on a run.
enum TeardownOnSignal {
    nonisolated(unsafe) static var sources: [DispatchSourceSignal] = []
    private static let first = Mutex<Int32?>(nil)

    /// The signal that cancelled this process's runs, if one did.
    static var received: Int32? { first.withLock { $0 } }

    /// For a process whose runs are its own processes (a sweep's, `ChildSweepRuns`): every SIGINT or
    /// SIGTERM is passed on to them (`children`) — the first cancels their runs, which stop before
    /// their next step, tear down and record themselves; a second tears down at once — and no new
    /// run starts. This process waits for them and exits 130/143 after.
    static func forward(to children: @escaping @Sendable (Int32) -> Void, cancellation: RunCancellation) {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                let name = signalNumber == SIGINT ? "SIGINT" : "SIGTERM"
                let again = cancellation.reason != nil
                first.withLock { $0 = $0 ?? signalNumber }
                cancellation.cancel("\(name) received")
                children(signalNumber)
                printError(again ? "cchost: \(name) again: the runs tear down now; waiting for them"
                                 : "cchost: \(name): the runs stop before their next step, tear down and record themselves (again to tear down at once); no new run starts")
            }
            source.resume()
            sources.append(source)
        }
    }

    static func install(deployer: SwarmDeployer, registry: ActiveRuns, cancellation: RunCancellation) {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                let name = signalNumber == SIGINT ? "SIGINT" : "SIGTERM"
                guard cancellation.reason != nil else {
                    first.withLock { $0 = $0 ?? signalNumber }
                    cancellation.cancel("\(name) received")
                    printError("cchost: \(name): stopping the run before its next step; it tears down and records itself (again to tear down at once)")
                    return
                }
                printError("cchost: \(name) again: tearing down now")
                let entries: [ActiveRuns.Entry]
                do { entries = try registry.entries() } catch {
                    printError("cchost: \(error); tearing down what this process registered is not possible")
                    exit(128 + signalNumber)
                }
                for entry in entries where entry.pid == getpid() {
                    let result = deployer.teardown(stack: entry.stack)
                    // Left registered when not known clean: the janitor finds and reaps it later.
                    if result.isClean { registry.unregister(runID: entry.runID) }
                    printError("cchost: tore down \(entry.stack)" + (result.isClean ? "" : "; left: \((result.leftovers + result.unknown).joined(separator: ", "))"))
                }
                exit(128 + signalNumber)
            }
            source.resume()
            sources.append(source)
        }
    }
}
