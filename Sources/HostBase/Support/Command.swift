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
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    public var succeeded: Bool { termination == .exited(0) }
}

public struct CommandError: Error, Sendable, Equatable, CustomStringConvertible {
    public var command: String
    public var reason: String
    public var description: String { "\(command): \(reason)" }
}

/// Runs an external tool (docker, abra) to completion: no shell, its own process group, stdin fed
/// from `input`, both outputs collected (capped), and a deadline after which the whole group is killed.
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
        let label = ([executable] + arguments).joined(separator: " ")
        let child: ChildProcess
        do { child = try ChildProcess(executable: executable, arguments: arguments, environment: environment) } catch {
            throw CommandError(command: label, reason: error.description)
        }
        let bytes = [UInt8](input ?? Data())
        var written = 0
        var writeError: Int32? = nil
        if bytes.isEmpty { child.closeInput() } else { _ = fcntl(child.input, F_SETFL, fcntl(child.input, F_GETFL) | O_NONBLOCK) }
        var stdout = Data(), stderr = Data()
        var open: [Int32] = [child.output, child.errors]
        var chunk = [UInt8](repeating: 0, count: 65536)
        let deadline = monotonicMilliseconds() + UInt64(timeout * 1000)
        while !open.isEmpty || child.input >= 0 {
            let wait = pollTimeout(until: deadline)
            if wait == 0 {
                child.kill()
                child.wait()
                throw CommandError(command: label, reason: "did not finish within \(Int(timeout)) s and was killed")
            }
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if child.input >= 0 { fds.append(pollfd(fd: child.input, events: Int16(POLLOUT), revents: 0)) }
            guard poll(&fds, nfds_t(fds.count), wait) >= 0 || errno == EINTR else { break }
            for fd in fds where fd.revents != 0 {
                if fd.fd == child.input {
                    let n = bytes.withUnsafeBytes { write(fd.fd, $0.baseAddress! + written, $0.count - written) }
                    if n > 0 { written += n } else if errno != EAGAIN && errno != EINTR { writeError = errno }
                    if written == bytes.count || writeError != nil { child.closeInput() }
                    continue
                }
                let n = chunk.withUnsafeMutableBytes { read(fd.fd, $0.baseAddress, $0.count) }
                if n <= 0 { open.removeAll { $0 == fd.fd }; continue }
                if fd.fd == child.output { if stdout.count < outputLimit { stdout.append(contentsOf: chunk[0..<n]) } }
                else if stderr.count < outputLimit { stderr.append(contentsOf: chunk[0..<n]) }
            }
        }
        child.closeInput()
        let termination = child.wait()
        if let writeError, writeError != EPIPE || termination == .exited(0) {
            throw CommandError(command: label, reason: "\(termination), but only \(written) of \(bytes.count) bytes of its "
                + "input were written to it: \(String(cString: strerror(writeError)))")
        }
        return CommandOutput(termination: termination, stdout: stdout, stderr: stderr)
    }
}
