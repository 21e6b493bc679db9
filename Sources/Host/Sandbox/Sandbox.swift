import Foundation

/// Resource limits for one worker. Repo-local overlays always get `strict`; operator plugins get
/// `operatorDefault`, which configuration may raise (memory, CPU, time) — never network or files.
public struct SandboxProfile: Sendable, Equatable {
    public var name: String
    public var addressSpaceBytes: UInt64
    public var cpuSeconds: UInt64
    public var openFiles: UInt64
    public var processes: UInt64
    public var fileSizeBytes: UInt64
    /// Size of the private /tmp (memory-backed).
    public var tmpBytes: UInt64
    /// Wall-clock deadline of one call (load, check, step, hook), after which the worker is killed.
    public var callTimeout: Double

    public static let strict = SandboxProfile(
        name: "strict", addressSpaceBytes: 1 << 30, cpuSeconds: 30, openFiles: 64, processes: 64,
        fileSizeBytes: 16 << 20, tmpBytes: 32 << 20, callTimeout: 60)

    public static let operatorDefault = SandboxProfile(
        name: "operator", addressSpaceBytes: 2 << 30, cpuSeconds: 120, openFiles: 256, processes: 128,
        fileSizeBytes: 64 << 20, tmpBytes: 128 << 20, callTimeout: 300)

    /// The worker's `--confine` argument.
    public var confineArgument: String {
        "as=\(addressSpaceBytes),cpu=\(cpuSeconds),nofile=\(openFiles),nproc=\(processes),fsize=\(fileSizeBytes)"
    }
}

public enum SandboxError: Error, Sendable, Equatable, CustomStringConvertible {
    case bubblewrapMissing
    case runtimeUnknown(String)
    case unusable(String)

    public var description: String {
        switch self {
        case .bubblewrapMissing:
            return "bubblewrap (bwrap) is not installed, so plugin code will not run: install it (apt-get install bubblewrap), or for development only pass --no-sandbox"
        case .runtimeUnknown(let why):
            return "cannot tell which runtime libraries the worker needs: \(why)"
        case .unusable(let why):
            return "the bubblewrap sandbox does not work on this machine, so plugin code will not run: \(why)"
        }
    }
}

/// How workers are confined: the bubblewrap command around `cchost-worker`. Building the command is
/// pure; `locate` reads the machine (bwrap's path, the worker's runtime library folders).
public struct Sandbox: Sendable, Equatable {
    public let bubblewrap: String
    /// Folders holding the worker's shared libraries (Swift runtime, libc, libffi), bound read-only
    /// at the same paths; symbolic links among their parents are recreated.
    public let runtimeDirectories: [String]
    public let symlinks: [(link: String, target: String)]

    public static func == (a: Sandbox, b: Sandbox) -> Bool {
        a.bubblewrap == b.bubblewrap && a.runtimeDirectories == b.runtimeDirectories
            && a.symlinks.map(\.link) == b.symlinks.map(\.link) && a.symlinks.map(\.target) == b.symlinks.map(\.target)
    }

    public init(bubblewrap: String, runtimeDirectories: [String], symlinks: [(link: String, target: String)] = []) {
        self.bubblewrap = bubblewrap
        self.runtimeDirectories = runtimeDirectories
        self.symlinks = symlinks
    }

    /// Inside the sandbox, the worker and the plugin live here and nowhere else.
    public static let workerInside = "/cchost/cchost-worker"
    public static let pluginInside = "/cchost/plugin.so"

    /// The full command line: bubblewrap, then the confined worker on the one plugin.
    ///
    /// New user, pid, network, IPC, UTS and cgroup namespaces (no network at all: only a loopback that
    /// is down); an empty root with read-only binds of just the runtime libraries, the worker and the
    /// plugin; a private, size-capped /tmp; no environment, no capabilities, no further namespaces;
    /// its own session; it dies with the host. Nothing else of the host is visible: no docker socket,
    /// no abra folder, no state database, no allowlist, no home, no tokens.
    public func command(worker: String, plugin: String, profile: SandboxProfile) -> [String] {
        var arguments = [bubblewrap,
                         "--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
                         "--unshare-cgroup-try", "--disable-userns",
                         "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--clearenv",
                         "--hostname", "cchost-sandbox"]
        for directory in runtimeDirectories { arguments += ["--ro-bind", directory, directory] }
        for link in symlinks { arguments += ["--symlink", link.target, link.link] }
        arguments += ["--ro-bind", worker, Self.workerInside,
                      "--ro-bind", plugin, Self.pluginInside,
                      "--proc", "/proc", "--dev", "/dev",
                      "--size", String(profile.tmpBytes), "--tmpfs", "/tmp",
                      "--remount-ro", "/dev", "--remount-ro", "/", "--chdir", "/tmp",
                      Self.workerInside, "--confine", profile.confineArgument, Self.pluginInside]
        return arguments
    }

    /// Finds bubblewrap and the worker's runtime library folders (from `ldd` on the worker, which is
    /// cchost's own binary, never on plugin code).
    public static func locate(worker: String, searchPath: String = "/usr/local/bin:/usr/bin:/bin") throws(SandboxError) -> Sandbox {
        guard let bubblewrap = searchPath.split(separator: ":").map({ "\($0)/bwrap" })
            .first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw .bubblewrapMissing
        }
        let libraries = try sharedLibraries(of: worker)
        var directories: [String] = []
        var symlinks: [(link: String, target: String)] = []
        for library in libraries {
            let folder = (library as NSString).deletingLastPathComponent
            let real = URL(fileURLWithPath: folder).resolvingSymlinksInPath().path
            if !directories.contains(real) { directories.append(real) }
            // Recreate each symbolic link on the way to the folder (e.g. /lib -> usr/lib, /lib64 -> usr/lib64).
            var prefix = ""
            for component in folder.split(separator: "/") {
                prefix += "/\(component)"
                if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: prefix),
                   !symlinks.contains(where: { $0.link == prefix }) {
                    symlinks.append((prefix, target))
                    break
                }
            }
        }
        return Sandbox(bubblewrap: bubblewrap, runtimeDirectories: directories.sorted(), symlinks: symlinks)
    }

    /// The resolved shared libraries of an executable, and its program interpreter.
    static func sharedLibraries(of executable: String) throws(SandboxError) -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ldd")
        process.arguments = [executable]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = Pipe()
        do { try process.run() } catch { throw .runtimeUnknown("cannot run ldd: \(error.localizedDescription)") }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw .runtimeUnknown("ldd \(executable) exited \(process.terminationStatus)") }
        return Self.parseLDD(String(decoding: data, as: UTF8.self))
    }

    /// `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)` and `/lib64/ld-linux-x86-64.so.2 (0x...)`.
    static func parseLDD(_ text: String) -> [String] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ").map(String.init).filter { !$0.isEmpty }
            if let arrow = fields.firstIndex(of: "=>"), arrow + 1 < fields.count, fields[arrow + 1].hasPrefix("/") {
                return fields[arrow + 1]
            }
            if let first = fields.first?.trimmingCharacters(in: .whitespaces), first.hasPrefix("/") { return first }
            return nil
        }
    }
}
