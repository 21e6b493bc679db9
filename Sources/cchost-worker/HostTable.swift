import Glibc
import PluginABI
import PluginChannel
import FoundationEssentials

/// The host function table handed to the plugin. Every slot forwards over the channel; the host
/// decides and enforces policy. Slots are C functions, so they reach the channel through a global.
nonisolated(unsafe) var channel: WorkerChannel!
/// Serialises host calls: a plugin may call from several threads, the channel takes one at a time.
nonisolated(unsafe) var callLock = pthread_mutex_t()

nonisolated(unsafe) var hostTable = cchost_host_table(
    size: UInt32(MemoryLayout<cchost_host_table>.size),
    abi_minor: CCHOST_ABI_MINOR,
    log: hostLog, exec: hostExec, http: hostHTTP, app_info: hostAppInfo, config: hostConfig,
    artifact_write: hostArtifactWrite, buffer_free: hostBufferFree)

/// Sends a call and fills `out` (when given) with the reply's data. A broken channel ends the worker:
/// the host has gone or misbehaved, and nothing the plugin does next could be reported.
private func forward(_ call: HostCall, into out: UnsafeMutablePointer<cchost_buffer>?) -> HostReply {
    pthread_mutex_lock(&callLock)
    defer { pthread_mutex_unlock(&callLock) }
    let reply: HostReply
    do { reply = try channel.call(call) } catch {
        diagnose("cchost-worker: host call failed: \(error)")
        exit(WorkerExit.protocolError)
    }
    if let out { out.pointee = ownedBuffer(reply.data) }
    return reply
}

/// A malloc'd copy the plugin releases through `buffer_free`.
func ownedBuffer(_ data: Data) -> cchost_buffer {
    guard !data.isEmpty, let memory = malloc(data.count) else { return cchost_buffer(data: nil, len: 0) }
    let bytes = memory.assumingMemoryBound(to: UInt8.self)
    data.copyBytes(to: bytes, count: data.count)
    return cchost_buffer(data: bytes, len: data.count)
}

private func text(_ p: UnsafePointer<CChar>?) -> String? { p.map { String(cString: $0) } }

private func hostLog(_ level: Int32, _ message: UnsafePointer<CChar>?) {
    guard let message else { return }
    pthread_mutex_lock(&callLock)
    defer { pthread_mutex_unlock(&callLock) }
    do { try channel.send(.log(level: level, message: String(cString: message))) } catch {
        exit(WorkerExit.protocolError)
    }
}

private func hostExec(_ service: UnsafePointer<CChar>?, _ argv: UnsafePointer<UnsafePointer<CChar>?>?,
                      _ exitCode: UnsafeMutablePointer<Int32>?, _ output: UnsafeMutablePointer<cchost_buffer>?) -> Int32 {
    guard let service = text(service), let argv else { return HostReply.invalid }
    var args: [String] = []
    while let arg = argv[args.count], args.count < 4096 { args.append(String(cString: arg)) }
    let reply = forward(.exec(service: service, argv: args), into: output)
    exitCode?.pointee = reply.exitCode ?? -1
    return reply.status
}

private func hostHTTP(_ method: UnsafePointer<CChar>?, _ path: UnsafePointer<CChar>?, _ body: UnsafePointer<CChar>?,
                      _ status: UnsafeMutablePointer<Int32>?, _ response: UnsafeMutablePointer<cchost_buffer>?) -> Int32 {
    guard let method = text(method), let path = text(path) else { return HostReply.invalid }
    let reply = forward(.http(method: method, path: path, body: text(body)), into: response)
    status?.pointee = reply.httpStatus ?? 0
    return reply.status
}

private func hostAppInfo(_ out: UnsafeMutablePointer<cchost_buffer>?) -> Int32 {
    forward(.appInfo, into: out).status
}

private func hostConfig(_ key: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<cchost_buffer>?) -> Int32 {
    guard let key = text(key) else { return HostReply.invalid }
    return forward(.config(key: key), into: out).status
}

private func hostArtifactWrite(_ name: UnsafePointer<CChar>?, _ data: UnsafePointer<UInt8>?, _ len: Int) -> Int32 {
    guard let name = text(name), data != nil || len == 0 else { return HostReply.invalid }
    let bytes = len > 0 ? Data(bytes: data!, count: len) : Data()
    return forward(.artifact(name: name, data: bytes), into: nil).status
}

private func hostBufferFree(_ buffer: UnsafeMutablePointer<cchost_buffer>?) {
    guard let buffer else { return }
    free(buffer.pointee.data)
    buffer.pointee = cchost_buffer(data: nil, len: 0)
}

/// One line to stderr, which the host captures as diagnostics.
func diagnose(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}
