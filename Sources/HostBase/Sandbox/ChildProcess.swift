#if canImport(Glibc)
import Glibc
#endif
import PluginChannel

/// How a child process ended.
public enum Termination: Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case signalled(Int32)

    public var description: String {
        switch self {
        case .exited(let status): return "exited with status \(status)"
        case .signalled(let signal): return "was killed by signal \(signal) (\(Termination.signalName(signal)))"
        }
    }

    static func signalName(_ signal: Int32) -> String {
        [SIGSEGV: "SIGSEGV", SIGABRT: "SIGABRT", SIGKILL: "SIGKILL", SIGBUS: "SIGBUS", SIGFPE: "SIGFPE",
         SIGILL: "SIGILL", SIGTERM: "SIGTERM", SIGXCPU: "SIGXCPU", SIGXFSZ: "SIGXFSZ", SIGPIPE: "SIGPIPE",
         SIGTRAP: "SIGTRAP", SIGSYS: "SIGSYS"][signal] ?? "signal \(signal)"
    }
}

public struct SpawnError: Error, CustomStringConvertible {
    public let executable: String
    public let reason: String
    public var description: String { "cannot start \(executable): \(reason)" }
}

/// A child process in its own process group, with its stdin, stdout and stderr on pipes.
/// Spawned with posix_spawn: no shell, no inherited descriptors beyond the three pipes.
public final class ChildProcess {
    public let pid: pid_t
    /// Write end of the child's stdin (-1 once closed with `closeInput`).
    public private(set) var input: Int32
    /// Read ends of the child's stdout and stderr.
    public let output: Int32
    public let errors: Int32
    private var termination: Termination?

    public init(executable: String, arguments: [String], environment: [String: String]) throws(SpawnError) {
        var pipes: [[Int32]] = []
        for _ in 0..<3 {
            var fds: [Int32] = [-1, -1]
            // Close-on-exec, so no other child inherits these; posix_spawn's dup2 clears it on 0-2.
            guard pipe(&fds) == 0, fcntl(fds[0], F_SETFD, FD_CLOEXEC) == 0, fcntl(fds[1], F_SETFD, FD_CLOEXEC) == 0 else {
                pipes.flatMap { $0 }.forEach { close($0) }
                throw SpawnError(executable: executable, reason: "pipe: \(String(cString: strerror(errno)))")
            }
            pipes.append(fds)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipes[0][0], 0)
        posix_spawn_file_actions_adddup2(&actions, pipes[1][1], 1)
        posix_spawn_file_actions_adddup2(&actions, pipes[2][1], 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Own process group, so a deadline can kill the child and anything it started at once.
        posix_spawnattr_setpgroup(&attributes, 0)
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var child: pid_t = 0
        let status = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
        close(pipes[0][0]); close(pipes[1][1]); close(pipes[2][1])
        guard status == 0 else {
            close(pipes[0][1]); close(pipes[1][0]); close(pipes[2][0])
            throw SpawnError(executable: executable, reason: String(cString: strerror(status)))
        }
        pid = child
        input = pipes[0][1]
        output = pipes[1][0]
        errors = pipes[2][0]
        // A child that dies must not take the host with it through SIGPIPE on a write.
        signal(SIGPIPE, SIG_IGN)
    }

    /// Closes the child's stdin: it reads end-of-file.
    public func closeInput() {
        if input >= 0 { close(input) }
        input = -1
    }

    /// Signals the whole process group.
    public func kill(_ signal: Int32 = SIGKILL) {
        guard termination == nil else { return }
        _ = Glibc.kill(-pid, signal)
    }

    /// Reaps the child, waiting for it. Idempotent.
    @discardableResult
    public func wait() -> Termination {
        if let termination { return termination }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let ended = Self.decode(status)
        termination = ended
        return ended
    }

    /// Reaps the child if it has ended, without blocking.
    public func poll() -> Termination? {
        if let termination { return termination }
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
        termination = Self.decode(status)
        return termination
    }

    /// Waits up to `milliseconds` for the child to end on its own.
    public func wait(milliseconds: Int) -> Termination? {
        let deadline = monotonicMilliseconds() + UInt64(milliseconds)
        while monotonicMilliseconds() < deadline {
            if let ended = poll() { return ended }
            usleep(2000)
        }
        return poll()
    }

    static func decode(_ status: Int32) -> Termination {
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
    }

    deinit {
        if termination == nil {
            kill()
            wait()
        }
        if input >= 0 { close(input) }
        close(output); close(errors)
    }
}
