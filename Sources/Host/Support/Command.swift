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
public enum Command {
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String],
                           input: Data? = nil, timeout: Double, outputLimit: Int = 16 << 20) throws(CommandError) -> CommandOutput {
        let label = ([executable] + arguments).joined(separator: " ")
        let child: ChildProcess
        do { child = try ChildProcess(executable: executable, arguments: arguments, environment: environment) } catch {
            throw CommandError(command: label, reason: error.description)
        }
        if let input, !input.isEmpty { try? writeAll(child.input, Array(input)) }
        child.closeInput()
        var stdout = Data(), stderr = Data()
        var open: [Int32] = [child.output, child.errors]
        var chunk = [UInt8](repeating: 0, count: 65536)
        let deadline = monotonicMilliseconds() + UInt64(timeout * 1000)
        while !open.isEmpty {
            let wait = pollTimeout(until: deadline)
            if wait == 0 {
                child.kill()
                child.wait()
                throw CommandError(command: label, reason: "did not finish within \(Int(timeout)) s and was killed")
            }
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            guard poll(&fds, nfds_t(fds.count), wait) >= 0 || errno == EINTR else { break }
            for fd in fds where fd.revents != 0 {
                let n = chunk.withUnsafeMutableBytes { read(fd.fd, $0.baseAddress, $0.count) }
                if n <= 0 { open.removeAll { $0 == fd.fd }; continue }
                if fd.fd == child.output { if stdout.count < outputLimit { stdout.append(contentsOf: chunk[0..<n]) } }
                else if stderr.count < outputLimit { stderr.append(contentsOf: chunk[0..<n]) }
            }
        }
        return CommandOutput(termination: child.wait(), stdout: stdout, stderr: stderr)
    }
}
