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

    /// bubblewrap on the search path, or the error that refuses plugin execution.
    public static func bubblewrap(searchPath: String = "/usr/local/bin:/usr/bin:/bin") throws(SandboxError) -> String {
        guard let path = searchPath.split(separator: ":").map({ "\($0)/bwrap" })
            .first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw .bubblewrapMissing
        }
        return path
    }

    /// Finds bubblewrap and the worker's runtime library folders.
    public static func locate(worker: String, searchPath: String = "/usr/local/bin:/usr/bin:/bin") throws(SandboxError) -> Sandbox {
        try Sandbox(bubblewrap: try bubblewrap(searchPath: searchPath), worker: worker)
    }

    /// The sandbox for `worker`, whose runtime library folders it reports itself
    /// (`cchost-worker --runtime-libraries`: cchost's own binary, never plugin code). With a cache
    /// folder, the report is kept there, keyed by the worker's path, size and mtime.
    public init(bubblewrap: String, worker: String, cacheDirectory: String? = nil) throws(SandboxError) {
        var directories: [String] = []
        var symlinks: [(link: String, target: String)] = []
        // Each library's folder is bound at its real path; symbolic links on the way (a parent such as
        // /lib64 -> usr/lib64, or the file itself, like the loader) are recreated and followed.
        func visit(_ path: String, depth: Int) {
            guard depth < 8 else { return }
            let folder = (path as NSString).deletingLastPathComponent
            var prefix = ""
            for component in folder.split(separator: "/") {
                prefix += "/\(component)"
                // Kept (both): a link that cannot be read is bound at its real path only; a library
                // the worker then misses stops it loading, a plugin error (unverified), never a pass.
                if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: prefix) {
                    if !symlinks.contains(where: { $0.link == prefix }) { symlinks.append((prefix, target)) }
                    break
                }
            }
            let real = URL(fileURLWithPath: folder).resolvingSymlinksInPath().path
            if !directories.contains(real) { directories.append(real) }
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path) {
                visit(target.hasPrefix("/") ? target : (folder as NSString).appendingPathComponent(target), depth: depth + 1)
            }
        }
        for library in try Self.runtimeLibraries(of: worker, cacheDirectory: cacheDirectory) { visit(library, depth: 0) }
        self.init(bubblewrap: bubblewrap, runtimeDirectories: directories.sorted(), symlinks: symlinks)
    }

    struct RuntimeReport: Codable {
        var worker: String
        var size: UInt64
        var modified: Double
        var libraries: [String]
    }

    static func runtimeLibraries(of worker: String, cacheDirectory: String?) throws(SandboxError) -> [String] {
        guard let cacheDirectory else { return try runtimeLibraries(of: worker) }
        let cache = URL(fileURLWithPath: cacheDirectory).appendingPathComponent("worker-runtime.json")
        // A worker whose size and mtime cannot be read has no key: it is asked, and nothing is cached.
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: worker),
              let size = (attributes[.size] as? NSNumber)?.uint64Value,
              let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 else {
            return try runtimeLibraries(of: worker)
        }
        // Kept: a cache that is missing or unreadable only means the worker is asked again.
        if let data = try? Data(contentsOf: cache), let report = try? JSONDecoder().decode(RuntimeReport.self, from: data),
           report.worker == worker, report.size == size, report.modified == modified {
            return report.libraries
        }
        let libraries = try runtimeLibraries(of: worker)
        // Only a speed-up: a cache that cannot be written costs the next run one worker start.
        if let data = try? JSONEncoder().encode(RuntimeReport(worker: worker, size: size, modified: modified, libraries: libraries)) {
            try? FileManager.default.createDirectory(atPath: cacheDirectory, withIntermediateDirectories: true)
            try? data.write(to: cache, options: .atomic)
        }
        return libraries
    }

    static func runtimeLibraries(of worker: String) throws(SandboxError) -> [String] {
        let child: ChildProcess
        do { child = try ChildProcess(executable: worker, arguments: ["--runtime-libraries"], environment: [:]) } catch {
            throw .runtimeUnknown(error.description)
        }
        child.closeInput()
        let output = FileHandle(fileDescriptor: child.output, closeOnDealloc: false).readDataToEndOfFile()
        guard child.wait() == .exited(0) else { throw .runtimeUnknown("\(worker) --runtime-libraries failed") }
        let libraries = String(decoding: output, as: UTF8.self).split(separator: "\n").map(String.init).filter { $0.hasPrefix("/") }
        guard !libraries.isEmpty else { throw .runtimeUnknown("\(worker) reported no runtime libraries") }
        // The kernel starts the worker through the interpreter path written in its ELF header
        // (e.g. /lib64/ld-linux-x86-64.so.2), which the mapped path alone does not give.
        return [try interpreter(of: worker)] + libraries
    }

    /// The PT_INTERP path of a 64-bit little-endian ELF executable.
    static func interpreter(of executable: String) throws(SandboxError) -> String {
        guard let data = FileManager.default.contents(atPath: executable), data.count > 64,
              data.prefix(4) == Data([0x7f, 0x45, 0x4c, 0x46]), data[4] == 2, data[5] == 1 else {
            throw .runtimeUnknown("\(executable) is not a 64-bit little-endian ELF file")
        }
        func integer(_ offset: Int, _ size: Int) -> Int {
            (0..<size).reduce(0) { $0 | Int(data[data.startIndex + offset + $1]) << (8 * $1) }
        }
        let (headers, size, count) = (integer(0x20, 8), integer(0x36, 2), integer(0x38, 2))
        for index in 0..<count {
            let header = headers + index * size
            guard header + 40 <= data.count else { break }
            if integer(header, 4) == 3 {  // PT_INTERP
                let (offset, length) = (integer(header + 8, 8), integer(header + 32, 8))
                guard offset + length <= data.count, length > 1 else { break }
                return String(decoding: data[(data.startIndex + offset)..<(data.startIndex + offset + length - 1)], as: UTF8.self)
            }
        }
        throw .runtimeUnknown("\(executable) names no program interpreter")
    }
}
