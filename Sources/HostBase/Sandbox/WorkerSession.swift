#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PluginChannel

/// Why a worker could not do what it was asked. Every case carries what the worker printed, capped.
public enum WorkerFailure: Error, Sendable, Equatable, CustomStringConvertible {
    case launch(String)
    case rejected(Rejection)
    case crashed(Termination, during: String, diagnostics: String)
    case timedOut(seconds: Double, during: String, diagnostics: String)
    case protocolViolation(String, during: String, diagnostics: String)

    public var description: String {
        switch self {
        case .launch(let why): return why
        case .rejected(let rejection): return rejection.summary
        case .crashed(let how, let during, _): return "the plugin worker \(how) during \(during)"
        case .timedOut(let seconds, let during, _):
            return "the plugin worker did not finish \(during) within \(Self.format(seconds)) s and was killed"
        case .protocolViolation(let why, let during, _):
            return "the plugin worker broke the channel protocol during \(during): \(why)"
        }
    }

    public var diagnostics: String {
        switch self {
        case .launch, .rejected: return ""
        case .crashed(_, _, let d), .timedOut(_, _, let d), .protocolViolation(_, _, let d): return d
        }
    }

    static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }
}

extension Rejection {
    /// One line naming every problem.
    public var summary: String {
        let what: String
        switch stage {
        case .load: what = "cannot be loaded"
        case .entry: what = "has no usable entry point"
        case .abi: what = "does not match ABI v1"
        case .initialise: what = "failed to initialise"
        case .metadata: what = "has invalid metadata"
        }
        return "plugin \(what): " + problems.map(\.message).joined(separator: "; ")
    }
}

/// What a worker printed on stderr (and, redirected there, stdout): the last `limit` bytes, and how
/// many more were discarded, so a plugin that floods its output cannot make the host hold it all.
struct CappedOutput {
    let limit: Int
    private(set) var bytes: [UInt8] = []
    private(set) var discarded = 0

    init(limit: Int) { self.limit = limit }

    mutating func append(_ chunk: ArraySlice<UInt8>) {
        bytes.append(contentsOf: chunk)
        if bytes.count > limit {
            let excess = bytes.count - limit
            discarded += excess
            bytes.removeFirst(excess)
        }
    }

    var text: String {
        let body = String(decoding: bytes, as: UTF8.self)
        return discarded > 0 ? "[\(discarded) earlier bytes discarded]\n" + body : body
    }
}

/// One conversation with one worker that has loaded one plugin. Not shared between tasks: a check
/// runs on one session at a time. Deadlines are enforced here, by killing the worker's process group.
public final class WorkerSession {
    public let pluginPath: String
    public let services: HostServices
    public let profile: SandboxProfile
    public private(set) var plugin: PluginDescription?
    private let process: ChildProcess
    private var decoder = FrameDecoder()
    private var output = CappedOutput(limit: 64 << 10)
    private var failure: WorkerFailure?

    /// Starts a worker on `path` and waits until it has loaded, checked and initialised the plugin.
    /// `timeout` defaults to the profile's call deadline.
    public init(plugin path: String, launcher: WorkerLauncher, services: HostServices,
                profile: SandboxProfile = .strict, timeout: Double? = nil) throws(WorkerFailure) {
        pluginPath = path
        self.services = services
        self.profile = profile
        do { process = try launcher.launch(plugin: path, profile: profile) } catch { throw .launch(error.description) }
        let loaded: WorkerMessage
        do { loaded = try converse(seconds: timeout ?? profile.callTimeout, during: "loading") } catch {
            // bubblewrap exits 1 when it cannot build the sandbox (the worker itself never exits 1):
            // that is the machine's problem, not the plugin's.
            if case .crashed(.exited(1), _, let output) = error, output.hasPrefix("bwrap:") {
                throw .launch("the sandbox could not start: \(output.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
            throw error
        }
        switch loaded {
        case .ready(let description): plugin = description
        case .rejected(var rejection):
            close()
            // The worker saw the plugin at its path inside the sandbox; the operator knows the real one.
            for index in rejection.problems.indices {
                rejection.problems[index].message = rejection.problems[index].message
                    .replacingOccurrences(of: Sandbox.pluginInside, with: path)
            }
            throw .rejected(rejection)
        case let other:
            throw fail(.protocolViolation("expected ready or rejected, got \(Self.kind(other))", during: "loading", diagnostics: ""))
        }
    }

    /// Calls one check, step or hook. A worker that crashes, hangs or misbehaves gives a failure and
    /// cannot be used again; the host carries on.
    public func invoke(_ invocation: Invocation, timeout: Double? = nil) -> Result<EntryResult, WorkerFailure> {
        if let failure { return .failure(failure) }
        let seconds = timeout ?? profile.callTimeout
        let during = "\(invocation.kind.rawValue) \(invocation.name)"
        do {
            try send(.invoke(invocation), during: during)
            switch try converse(seconds: seconds, during: during) {
            case .result(let result): return .success(result)
            case let other:
                return .failure(fail(.protocolViolation("expected a result, got \(Self.kind(other))", during: during, diagnostics: "")))
            }
        } catch {
            return .failure(error)
        }
    }

    /// Asks the worker to end, then makes sure it has.
    public func close() {
        if failure == nil, process.poll() == nil {
            // Kept: a polite request only; the worker is killed below whether or not it was sent.
            try? writeAll(process.input, (try? HostMessage.shutdown.frameBytes()) ?? [])
            if process.wait(milliseconds: 1000) == nil { process.kill() }
        }
        process.kill()
        process.wait()
    }

    deinit { close() }

    /// What the worker has printed so far.
    public var diagnostics: String { output.text }

    private func send(_ message: HostMessage, during: String) throws(WorkerFailure) {
        do { try writeAll(process.input, try message.frameBytes()) } catch {
            throw fail(ended(during: during))
        }
    }

    /// Reads until the worker says something that ends this exchange (ready, rejected, result),
    /// answering its host calls and recording its logs meanwhile.
    private func converse(seconds: Double, during: String) throws(WorkerFailure) -> WorkerMessage {
        let deadline = monotonicMilliseconds() + UInt64(max(0, seconds) * 1000)
        var chunk = [UInt8](repeating: 0, count: 65536)
        var errorsOpen = true
        while true {
            do {
                while let payload = try decoder.nextFrame() {
                    let message = try WorkerMessage.fromFrame(payload)
                    switch message {
                    case .log(let level, let text): services.log(level: level, message: text)
                    case .call(let id, let call): try send(.reply(id: id, services.answer(call)), during: during)
                    case .ready, .rejected, .result: return message
                    }
                }
            } catch let error as ChannelError {
                throw fail(.protocolViolation(error.description, during: during, diagnostics: ""))
            } catch let error as WorkerFailure {
                throw error
            } catch {
                throw fail(.protocolViolation("\(error)", during: during, diagnostics: ""))
            }
            var fds = [pollfd(fd: process.output, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: errorsOpen ? process.errors : -1, events: Int16(POLLIN), revents: 0)]
            let timeout = pollTimeout(until: deadline)
            if timeout == 0 {
                process.kill()
                process.wait()
                drainErrors(&chunk)
                throw fail(.timedOut(seconds: seconds, during: during, diagnostics: ""))
            }
            let ready = poll(&fds, 2, timeout)
            if ready < 0 {
                if errno == EINTR { continue }
                throw fail(.protocolViolation("poll failed: \(String(cString: strerror(errno)))", during: during, diagnostics: ""))
            }
            if fds[1].revents != 0 {
                let n = chunk.withUnsafeMutableBytes { read(process.errors, $0.baseAddress, $0.count) }
                if n > 0 { output.append(chunk[0..<n]) } else if n == 0 { errorsOpen = false }
            }
            if fds[0].revents != 0 {
                let n = chunk.withUnsafeMutableBytes { read(process.output, $0.baseAddress, $0.count) }
                if n > 0 {
                    chunk.withUnsafeBytes { decoder.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                } else if n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN) {
                    throw fail(ended(during: during))
                }
            }
        }
    }

    /// The worker closed the channel: wait for it (briefly) and say how it ended.
    private func ended(during: String) -> WorkerFailure {
        var termination = process.wait(milliseconds: 2000) ?? {
            process.kill()
            return process.wait()
        }()
        // bubblewrap's init reports a child killed by signal N as exit status 128 + N; the worker's own
        // statuses are all below 10, so this reads back unambiguously.
        if case .exited(let status) = termination, status > 128, status < 128 + 65 {
            termination = .signalled(status - 128)
        }
        var chunk = [UInt8](repeating: 0, count: 65536)
        drainErrors(&chunk)
        if termination == .exited(WorkerExit.protocolError) {
            return .protocolViolation("the worker reported a protocol error and exited", during: during, diagnostics: "")
        }
        return .crashed(termination, during: during, diagnostics: "")
    }

    /// Reads what is left on stderr once the worker is gone (the pipe is at EOF then, so this ends).
    private func drainErrors(_ chunk: inout [UInt8]) {
        var fds = [pollfd(fd: process.errors, events: Int16(POLLIN), revents: 0)]
        while poll(&fds, 1, 0) > 0 {
            let n = chunk.withUnsafeMutableBytes { read(process.errors, $0.baseAddress, $0.count) }
            guard n > 0 else { return }
            output.append(chunk[0..<n])
        }
    }

    /// Records the failure (the session is unusable from now on), attaching the captured output.
    private func fail(_ failure: WorkerFailure) -> WorkerFailure {
        let withOutput: WorkerFailure
        switch failure {
        case .crashed(let how, let during, _): withOutput = .crashed(how, during: during, diagnostics: output.text)
        case .timedOut(let s, let during, _): withOutput = .timedOut(seconds: s, during: during, diagnostics: output.text)
        case .protocolViolation(let why, let during, _):
            process.kill()
            process.wait()
            withOutput = .protocolViolation(why, during: during, diagnostics: output.text)
        case .launch, .rejected: withOutput = failure
        }
        self.failure = withOutput
        return withOutput
    }

    static func kind(_ message: WorkerMessage) -> String {
        switch message {
        case .ready: return "ready"
        case .rejected: return "rejected"
        case .log: return "log"
        case .call: return "call"
        case .result: return "result"
        }
    }
}
