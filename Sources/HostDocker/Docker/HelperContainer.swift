import Foundation
import HostBase

/// cchost's own helper container (`cchost/helper:1`, static busybox, built by scripts/helper-image):
/// what the host must not ask of an app's image. It copies backed-up volume paths into and out of
/// the run's archives, and seeds and reads data markers, mounting only the one volume and with no
/// network, as backupbot does. Whatever it reads in a volume resolves inside the helper's own root,
/// never the host's.
///
/// It runs with `docker run --rm` on the engine the deployers use; archives stream through its
/// stdin and stdout into files (no memory buffer, no size limit but the disk). It carries the stack's
/// label, so teardown removes one that a cancelled run leaves behind.
public struct HelperContainer: Sendable {
    public static let image = "cchost/helper:1"
    public let cli: DockerCLI

    public init(cli: DockerCLI = DockerCLI()) {
        self.cli = cli
    }

    /// Where a run mounts the volume in the helper.
    static let volumeRoot = "/volume"

    /// Runs `script` with busybox `sh -c` (its arguments `$1…`) in a fresh helper container with
    /// `volume` mounted at /volume (when given) and `network` (none by default; `container:<id>`
    /// joins an app container's namespace). Whatever the script exits with is the result; a helper
    /// that could not run at all (image missing, volume gone) is an error saying what to do. A
    /// helper still running at the deadline is removed (killing the docker client alone would leave
    /// it holding the volume).
    public func run(_ script: String, _ arguments: [String] = [], volume: String? = nil, readOnly: Bool = true,
                    network: String = "none", stack: String, input: CommandInput = .none, stdoutFile: URL? = nil,
                    timeout: Double, operation: String) throws(DeployError) -> CommandOutput {
        let name = "cchost-helper-\(UUID().uuidString.prefix(12).lowercased())"
        var options = ["run", "--rm", "--name", name, "--pull", "never", "--network", network, "--log-driver", "none",
                       "--security-opt", "no-new-privileges", "--label", "com.docker.stack.namespace=\(stack)", "--label", "cchost.helper=1"]
        if case .none = input {} else { options.append("-i") }
        if let volume {
            // Docker's own rule for volume names; anything else could smuggle options into --mount.
            guard let first = volume.first, first.isLetter || first.isNumber,
                  volume.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }) else {
                throw DeployError(operation: operation, stack: stack, reason: "\"\(volume)\" is not a volume name Docker accepts")
            }
            let inspected = try cli.output(["volume", "inspect", volume])
            guard inspected.succeeded else {
                throw DeployError(operation: operation, stack: stack, reason: "volume \(volume): \(DockerCLI.message(inspected))")
            }
            options += ["--mount", "type=volume,source=\(volume),target=\(Self.volumeRoot)\(readOnly ? ",readonly" : "")"]
        }
        let arguments = options + ["--entrypoint", "/bin/sh", Self.image, "-c", script, "sh"] + arguments
        let output: CommandOutput
        let environment = try cli.environment()
        do {
            output = try Command.run(cli.executable, arguments, environment: environment, input: input,
                                     stdoutFile: stdoutFile, timeout: timeout)
        } catch {
            // Kept: the helper already failed and that is thrown; a container left behind still
            // mounts the stack's volume, so teardown finds and reports it as a leftover.
            _ = try? cli.output(["rm", "-f", name], timeout: 30)
            throw DeployError(operation: operation, stack: stack, reason: error.reason, isHostFault: error.isHostFault)
        }
        // docker run's own failures exit 125 (126, 127: the helper's shell could not be started).
        if [.exited(125), .exited(126), .exited(127)].contains(output.termination) {
            let said = DockerCLI.message(output)
            let missing = said.contains("No such image") || said.contains("pull access denied") || said.contains("Unable to find image")
            throw DeployError(operation: operation, stack: stack,
                              reason: missing ? "cchost's helper image \(Self.image) is missing: run scripts/setup (or scripts/helper-image)" : said)
        }
        return output
    }
}

/// What cchost's helper does for a run besides the deployer's archive copies: data markers in a
/// volume. `HelperContainer` does it on the
/// engine; tests of the run engine use one in memory.
public protocol Helper: Sendable {
    /// Writes `contents` into the file `name` of each of `paths` (relative to the root of volume
    /// `volume`) that is a folder inside it (a link is not), in one go; returns those folders.
    func mark(_ contents: String, as name: String, inFoldersAmong paths: [String], inVolume volume: String,
              stack: String) throws(DeployError) -> [String]
    /// Writes each file (path relative to the volume's root → contents); its folder must exist
    /// inside the volume.
    func write(_ files: [String: String], inVolume volume: String, stack: String) throws(DeployError)
    /// At most `limit` bytes of `path` in the volume; nil when there is no such file. A link that
    /// leads out of the volume, or anything but a regular file (a FIFO would never end), is an error.
    func read(_ path: String, inVolume volume: String, limit: Int, stack: String) throws(DeployError) -> String?
}

extension HelperContainer: Helper {
    /// Fails unless every argument path is inside the volume; defines `inside` for the script.
    private static let insideCheck = """
        cd /volume || exit 2
        inside() { r=$(realpath "$1" 2>/dev/null) || return 1; case "$r" in /volume|/volume/*) return 0 ;; esac; return 1; }
        """

    public func mark(_ contents: String, as name: String, inFoldersAmong paths: [String], inVolume volume: String,
                     stack: String) throws(DeployError) -> [String] {
        let operation = "write \(name) in the folders of \(volume)"
        // Arguments: the contents, the file name, then the paths. A marker already there as a link is
        // replaced, never written through.
        let script = Self.insideCheck + """

            contents=$1 name=$2
            shift 2
            for p do
              if [ -d "$p" ] && [ ! -L "$p" ] && inside "$p"; then
                [ ! -L "$p/$name" ] || rm -f "$p/$name"
                printf %s "$contents" > "$p/$name" || exit 4
                printf '%s\\n' "$p"
              fi
            done
            """
        let output = try checked(run(script, [contents, name] + paths.map(Self.relative), volume: volume, readOnly: false,
                                     stack: stack, timeout: 120, operation: operation), operation, stack)
        let found = Set(output.stdoutText.split(separator: "\n").map(String.init))
        return paths.filter { found.contains(Self.relative($0)) }
    }

    public func write(_ files: [String: String], inVolume volume: String, stack: String) throws(DeployError) {
        let operation = "write \(files.keys.sorted().joined(separator: ", ")) in \(volume)"
        // Arguments in pairs: path, contents. A file's folder must resolve inside the volume, and
        // the file itself must not be a link (it would be written through).
        let script = Self.insideCheck + """

            while [ $# -gt 0 ]; do
              d=$(dirname "$1")
              inside "$d" || { echo "$d leads out of the volume" >&2; exit 3; }
              [ ! -L "$1" ] || rm -f "$1"
              printf %s "$2" > "$1" || exit 4
              shift 2
            done
            """
        let arguments = files.sorted { $0.key < $1.key }.flatMap { [Self.relative($0.key), $0.value] }
        _ = try checked(run(script, arguments, volume: volume, readOnly: false, stack: stack, timeout: 120, operation: operation),
                        operation, stack)
    }

    public func read(_ path: String, inVolume volume: String, limit: Int, stack: String) throws(DeployError) -> String? {
        let operation = "read \(path) in \(volume)"
        let script = Self.insideCheck + """

            [ -e "$1" ] || [ -L "$1" ] || exit 10
            inside "$1" || { echo "$1 leads out of the volume" >&2; exit 3; }
            [ -f "$1" ] || { echo "$1 is not a regular file" >&2; exit 3; }
            head -c "$2" "$1"
            """
        let output = try run(script, [Self.relative(path), String(limit)], volume: volume, stack: stack, timeout: 120, operation: operation)
        if output.termination == .exited(10) { return nil }
        return try checked(output, operation, stack).stdoutText
    }

    /// A path relative to the volume's root as the helper's scripts take it: `./`-prefixed, so that
    /// no path reads as an option.
    static func relative(_ path: String) -> String { path == "." || path.hasPrefix("./") ? path : "./" + path }

    private func checked(_ output: CommandOutput, _ operation: String, _ stack: String) throws(DeployError) -> CommandOutput {
        guard output.succeeded else { throw DeployError(operation: operation, stack: stack, reason: DockerCLI.message(output)) }
        return output
    }
}
