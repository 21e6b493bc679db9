#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PluginChannel

/// What a finished command printed and how it ended.
public struct CommandOutput: Sendable, Equatable {
    public var termination: Termination
    public var stdout: Data
    public var stderr: Data
    /// Bytes of stdout written into a file instead of `stdout` (see `Command.run(…stdoutFile:…)`).
    public var streamedBytes: Int = 0
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    public var succeeded: Bool { termination == .exited(0) }
}

public struct CommandError: Error, Sendable, Equatable, CustomStringConvertible {
    public var command: String
    public var reason: String
    /// The command's output could not be written into cchost's own file (a full disk): the host's
    /// fault, not the command's.
    public var isHostFault = false
    public var description: String { "\(command): \(reason)" }
}

/// Where a command's stdin comes from: bytes in memory, or a file streamed in chunks (a restore
/// archive of any size).
public enum CommandInput: Sendable {
    case none
    case data(Data)
    case file(URL)
}

/// Runs an external tool (docker, abra) to completion: no shell, its own process group, stdin fed
/// from `input`, both outputs collected (capped) or stdout streamed into a file, and a deadline after
/// which the whole group is killed.
///
/// The input is written without blocking, between reads of the outputs: a child that writes before it
/// reads cannot stall on a full pipe, and one that never reads is still killed at the deadline. Input
/// carries secrets and restore archives, so a command that did not take all of it never looks like a
/// success: if it stops reading (broken pipe) and then fails, its own status and stderr say why; if it
/// exits 0 anyway, or the write fails in any other way, that is an error naming how much was written.
/// (Input that fits in the pipe counts as delivered: whether the child read it cannot be told.)
public enum Command {
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String],
                           input: Data? = nil, timeout: Double, outputLimit: Int = 16 << 20) throws(CommandError) -> CommandOutput {
        try run(executable, arguments, environment: environment, input: input.map { .data($0) } ?? .none,
                stdoutFile: nil, timeout: timeout, outputLimit: outputLimit)
    }

    /// Runs the command with stdin from `input` and, when `stdoutFile` is given, its stdout written
    /// into that file (created or truncated) as it comes: no memory buffer, no size limit but the disk.
    /// The returned output's `stdout` is then empty; `streamedBytes` says how much was written.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String],
                           input: CommandInput, stdoutFile: URL?, timeout: Double,
                           outputLimit: Int = 16 << 20) throws(CommandError) -> CommandOutput {
        let label = ([executable] + arguments).joined(separator: " ")
        var source = try InputSource(input, command: label)
        defer { source.close() }
        var sink: Int32 = -1
        if let stdoutFile {
            sink = open(stdoutFile.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard sink >= 0 else {
                throw CommandError(command: label, reason: "cannot write \(stdoutFile.path): \(String(cString: strerror(errno)))", isHostFault: true)
            }
        }
        defer { if sink >= 0 { Glibc.close(sink) } }
        let child: ChildProcess
        do { child = try ChildProcess(executable: executable, arguments: arguments, environment: environment) } catch {
            throw CommandError(command: label, reason: error.description)
        }
        var writeError: Int32? = nil
        if source.isEmpty { child.closeInput() } else { _ = fcntl(child.input, F_SETFL, fcntl(child.input, F_GETFL) | O_NONBLOCK) }
        var stdout = Data(), stderr = Data(), streamed = 0
        var open: [Int32] = [child.output, child.errors]
        var chunk = [UInt8](repeating: 0, count: 65536)
        let deadline = monotonicMilliseconds() + UInt64(timeout * 1000)
        func fail(_ reason: String) -> CommandError {
            child.kill()
            child.wait()
            return CommandError(command: label, reason: reason)
        }
        while !open.isEmpty || child.input >= 0 {
            let wait = pollTimeout(until: deadline)
            if wait == 0 { throw fail("did not finish within \(Int(timeout)) s and was killed") }
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if child.input >= 0 { fds.append(pollfd(fd: child.input, events: Int16(POLLOUT), revents: 0)) }
            guard poll(&fds, nfds_t(fds.count), wait) >= 0 || errno == EINTR else {
                throw fail("poll failed: \(String(cString: strerror(errno)))")
            }
            for fd in fds where fd.revents != 0 {
                if fd.fd == child.input {
                    switch source.write(to: fd.fd) {
                    case .more: break
                    case .done: child.closeInput()
                    case .failed(let error): writeError = error; child.closeInput()
                    case .unreadable(let reason): throw fail(reason)
                    }
                    continue
                }
                let n = chunk.withUnsafeMutableBytes { read(fd.fd, $0.baseAddress, $0.count) }
                if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                if n <= 0 { open.removeAll { $0 == fd.fd }; continue }
                if fd.fd == child.output && sink >= 0 {
                    guard writeAll(sink, chunk, count: n) else {
                        let reason = String(cString: strerror(errno))
                        // What was written is of no use, and may be filling the disk that just ran out.
                        if let stdoutFile { unlink(stdoutFile.path) }
                        var error = fail("cannot write its output to \(stdoutFile?.path ?? "?") after \(streamed) bytes: \(reason)")
                        error.isHostFault = true
                        throw error
                    }
                    streamed += n
                } else if fd.fd == child.output { if stdout.count < outputLimit { stdout.append(contentsOf: chunk[0..<n]) } }
                else if stderr.count < outputLimit { stderr.append(contentsOf: chunk[0..<n]) }
            }
        }
        child.closeInput()
        let termination = child.wait()
        if let writeError, writeError != EPIPE || termination == .exited(0) {
            throw CommandError(command: label, reason: "\(termination), but only \(source.written) of \(source.total) bytes of its "
                + "input were written to it: \(String(cString: strerror(writeError)))")
        }
        return CommandOutput(termination: termination, stdout: stdout, stderr: stderr, streamedBytes: streamed)
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], count: Int) -> Bool {
        var done = 0
        while done < count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, count - done) }
            if n > 0 { done += n } else if errno != EINTR { return false }
        }
        return true
    }
}

/// A command's stdin as it is fed: a buffer refilled from the file, if any, as the child takes it.
private struct InputSource {
    enum Step { case more, done, failed(Int32), unreadable(String) }
    private var buffer: [UInt8] = []
    private var offset = 0
    private var file: Int32 = -1
    private var path = ""
    private(set) var written = 0
    /// The input's size: the data's, or the file's when it was opened.
    private(set) var total = 0

    init(_ input: CommandInput, command: String) throws(CommandError) {
        switch input {
        case .none: break
        case .data(let data):
            buffer = [UInt8](data)
            total = buffer.count
        case .file(let url):
            path = url.path
            file = open(url.path, O_RDONLY | O_CLOEXEC)
            guard file >= 0 else { throw CommandError(command: command, reason: "cannot read \(url.path): \(String(cString: strerror(errno)))") }
            var status = stat()
            if fstat(file, &status) == 0 { total = Int(status.st_size) }
            guard refill() else {
                let reason = String(cString: strerror(errno))
                close()
                throw CommandError(command: command, reason: "cannot read \(url.path): \(reason)")
            }
        }
    }

    var isEmpty: Bool { offset == buffer.count && file < 0 }

    /// Reads the next chunk of the file once the buffer is spent; false on a read error.
    private mutating func refill() -> Bool {
        guard file >= 0, offset == buffer.count else { return true }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var n: Int
        repeat { n = chunk.withUnsafeMutableBytes { read(file, $0.baseAddress, $0.count) } } while n < 0 && errno == EINTR
        guard n >= 0 else { return false }
        if n == 0 { close() }
        buffer = Array(chunk[0..<n])
        offset = 0
        return true
    }

    /// Writes what the pipe takes now.
    mutating func write(to fd: Int32) -> Step {
        let n = buffer.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
        if n < 0 { return errno == EAGAIN || errno == EINTR ? .more : .failed(errno) }
        offset += n
        written += n
        guard refill() else { return .unreadable("cannot read \(path) after \(written) bytes: \(String(cString: strerror(errno)))") }
        return isEmpty ? .done : .more
    }

    mutating func close() {
        if file >= 0 { Glibc.close(file) }
        file = -1
    }
}
