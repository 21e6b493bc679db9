// cchost-bench: the measurements scripts/bench cannot take from the command line. Prints one line a
// measurement, "NAME MEDIAN_US P90_US", for scripts/bench to tabulate.
//
//   cchost-bench WORKER PLUGIN HOST_CALLS_PLUGIN ITERATIONS
//
// PLUGIN is any loadable plugin (the handshake); HOST_CALLS_PLUGIN is the test fixture with the
// config-loop check (one host-table round trip a config lookup).
import Foundation
import Host
import Logging
import PluginChannel

LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = .error
    return handler
}

let arguments = CommandLine.arguments
guard arguments.count == 5, let iterations = Int(arguments[4]), iterations > 0 else {
    FileHandle.standardError.write(Data("usage: cchost-bench WORKER PLUGIN HOST_CALLS_PLUGIN ITERATIONS\n".utf8))
    exit(2)
}
let (worker, plugin, hostCalls) = (arguments[1], arguments[2], arguments[3])

func measure(_ name: String, divisor: Double = 1, _ body: () throws -> Void) rethrows {
    var samples: [Double] = []
    for _ in 0..<iterations {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1000 / divisor)
    }
    samples.sort()
    let median = samples[(samples.count - 1) / 2]
    let p90 = samples[min(samples.count - 1, (samples.count * 9 + 9) / 10 - 1)]
    print(name, String(format: "%.2f", median), String(format: "%.2f", p90))
}

do {
    let sandboxed = WorkerLauncher(workerPath: worker, sandbox: try Sandbox.locate(worker: worker))
    let unsandboxed = WorkerLauncher(workerPath: worker, sandbox: nil)

    try measure("spawn-floor") {
        let child = try ChildProcess(executable: "/bin/true", arguments: [], environment: [:])
        child.wait()
    }
    for (label, launcher) in [("unsandboxed", unsandboxed), ("sandboxed", sandboxed)] {
        try measure("handshake-\(label)") {
            let session = try WorkerSession(plugin: plugin, launcher: launcher, services: HostServices())
            session.close()
        }
    }
    let calls = 2000
    for (label, launcher) in [("unsandboxed", unsandboxed), ("sandboxed", sandboxed)] {
        var limits = HostServices.Limits()
        limits.maximumCalls = Int.max
        let session = try WorkerSession(plugin: hostCalls, launcher: launcher,
                                        services: HostServices(configuration: ["calls": String(calls)], limits: limits))
        defer { session.close() }
        try measure("roundtrip-\(label)", divisor: Double(calls)) {
            _ = try session.invoke(Invocation(kind: .check, name: "config-loop", tier: "install"), timeout: 60).get()
        }
    }
} catch {
    FileHandle.standardError.write(Data("cchost-bench: \(error)\n".utf8))
    exit(1)
}
