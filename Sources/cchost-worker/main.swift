// cchost-worker: loads ONE plugin and serves host <-> plugin calls over a framed channel.
//
//   cchost-worker [--confine as=BYTES,cpu=SECONDS,nofile=N,nproc=N,fsize=BYTES] PLUGIN.so
//
// With --confine, the worker limits itself (see Confinement) before any plugin code is loaded.
// cchost starts it inside bubblewrap; see Sources/HostBase/Sandbox/Sandbox.swift.
//
// The channel is the worker's stdin (host -> worker) and stdout (worker -> host) as launched. Both
// are moved to private descriptors before the plugin is loaded, and stdout is pointed at stderr, so
// whatever the plugin prints lands in the host's capped diagnostics, never in the protocol.
// Exit statuses: see WorkerExit (0 done, 2 usage, 3 rejected, 5 init/metadata failed, 6 protocol).
import Glibc
import PluginABI
import PluginChannel

let channelIn = fcntl(0, F_DUPFD_CLOEXEC, 3)
let channelOut = fcntl(1, F_DUPFD_CLOEXEC, 3)
let devNull = open("/dev/null", O_RDONLY)
dup2(devNull, 0)
dup2(2, 1)
channel = WorkerChannel(input: channelIn, output: channelOut)

var arguments = Array(CommandLine.arguments.dropFirst())
if arguments == ["--runtime-libraries"] {
    // The shared libraries this process has loaded: exactly what the sandbox must bind for it.
    // A list cut short would be cached as the sandbox's binds: a write that fails is a failure.
    for library in loadedLibraries() {
        do { try writeAll(channelOut, Array((library + "\n").utf8)) } catch {
            diagnose("cchost-worker: cannot report its runtime libraries: \(error)")
            exit(WorkerExit.protocolError)
        }
    }
    exit(WorkerExit.ok)
}
var confinement: Confinement? = nil
if arguments.first == "--confine", arguments.count >= 2 {
    do { confinement = try Confinement(parsing: arguments[1]) } catch {
        diagnose("cchost-worker: \(error)")
        exit(WorkerExit.usage)
    }
    arguments.removeFirst(2)
}
guard arguments.count == 1, !arguments[0].hasPrefix("-") else {
    diagnose("usage: cchost-worker [--confine LIMITS] PLUGIN.so (started by cchost, speaks the framed channel on stdin/stdout)")
    exit(WorkerExit.usage)
}
let path = arguments[0]
if let confinement {
    do { try confinement.apply() } catch {
        diagnose("cchost-worker: cannot confine itself: \(error)")
        exit(WorkerExit.confinementFailed)
    }
}

func reject(_ rejection: Rejection, status: Int32) -> Never {
    // Kept: the exit status says "rejected" even when the details cannot be sent; the host then
    // reports the status and the worker's diagnostics.
    try? channel.send(.rejected(rejection))
    exit(status)
}

let plugin: cchost_plugin
let signatures: [String: CSignature]
switch LoadedPlugin.load(path: path) {
case .failure(let rejection): reject(rejection, status: WorkerExit.rejected)
case .success(let loaded): (plugin, signatures) = loaded
}

var initError = cchost_buffer(data: nil, len: 0)
let initStatus = withUnsafePointer(to: &hostTable) { plugin.initialize($0, &initError) }
let initMessage = LoadedPlugin.take(&initError, from: plugin)
if initStatus != 0 {
    reject(Rejection(stage: .initialise, problems: [.init(
        field: "initialize", expected: "0", found: "\(initStatus)",
        message: "initialize() failed: \(initMessage.isEmpty ? "returned \(initStatus)" : initMessage)")]),
        status: WorkerExit.initFailed)
}
var metadataBuffer = cchost_buffer(data: nil, len: 0)
let metadataStatus = plugin.metadata(&metadataBuffer)
let metadataJSON = LoadedPlugin.take(&metadataBuffer, from: plugin)
if metadataStatus != 0 {
    reject(Rejection(stage: .initialise, problems: [.init(
        field: "metadata", expected: "0", found: "\(metadataStatus)",
        message: "metadata() failed: \(metadataJSON.isEmpty ? "returned \(metadataStatus)" : metadataJSON)")]),
        status: WorkerExit.initFailed)
}

func exitOnChannelError(_ error: ChannelError) -> Never {
    if error == .closed { exit(WorkerExit.ok) }
    diagnose("cchost-worker: \(error)")
    exit(WorkerExit.protocolError)
}

do {
    try channel.send(.ready(LoadedPlugin.describe(plugin, metadataJSON: metadataJSON, signatures: signatures)))
} catch { exitOnChannelError(error) }

/// Runs one entry and says what it returned. Unknown names and unbindable arguments are reported as
/// failures of the call, not as verdicts.
func invoke(_ invocation: Invocation, on plugin: cchost_plugin, signatures: [String: CSignature]) -> EntryResult {
    func find<T>(_ table: UnsafePointer<T>?, _ count: Int, _ name: (T) -> UnsafePointer<CChar>?) -> T? {
        guard let table else { return nil }
        return (0..<count).lazy.map { table[$0] }.first { String(cString: name($0)!) == invocation.name }
    }
    var detail = cchost_buffer(data: nil, len: 0)
    let code: Int32
    let run: cchost_entry_fn
    let userData: UnsafeMutableRawPointer?
    switch invocation.kind {
    case .check:
        guard let check = find(plugin.checks, plugin.check_count, { $0.name }) else {
            return EntryResult(code: nil, detail: "", failure: "plugin \(String(cString: plugin.name)) has no check named \"\(invocation.name)\"")
        }
        if let typed = check.typed, let signature = signatures[invocation.name] {
            do {
                code = try TypedCall.call(typed, check: invocation.name, signature: signature,
                                          arguments: invocation.arguments)
            } catch { return EntryResult(code: nil, detail: "", failure: "\(error)") }
            return EntryResult(code: code, detail: "")
        }
        (run, userData) = (check.run!, check.user_data)
    case .installStep, .hook:
        let steps = invocation.kind == .hook ? (plugin.hooks, plugin.hook_count)
                                             : (plugin.install_steps, plugin.install_step_count)
        guard let step = find(steps.0, steps.1, { $0.name }) else {
            return EntryResult(code: nil, detail: "", failure: "plugin \(String(cString: plugin.name)) has no \(invocation.kind.rawValue) named \"\(invocation.name)\"")
        }
        (run, userData) = (step.run!, step.user_data)
    }
    code = invocation.name.withCString { name in
        invocation.tier.withCString { tier in
            var call = cchost_call(name: name, tier: tier)
            return run(userData, &call, &detail)
        }
    }
    return EntryResult(code: code, detail: LoadedPlugin.take(&detail, from: plugin))
}

while true {
    do {
        switch try channel.receive() {
        case .invoke(let invocation): try channel.send(.result(invoke(invocation, on: plugin, signatures: signatures)))
        case .shutdown: exit(WorkerExit.ok)
        case .reply(let id, _): exitOnChannelError(.malformed("a reply to call \(id), but no call is pending"))
        }
    } catch { exitOnChannelError(error) }
}
