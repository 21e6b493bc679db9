import Foundation
import HostBase
import HostDocker
import HostRuns

/// A canonical's data: the volumes of the run that earned it, kept as Docker volumes after the
/// run's stack is gone, named `warm-<recipe>-<run id>_<volume>`. Warm and quick runs start from
/// copies of them; nothing ever mounts them, so they stay byte-for-byte as the run left them.
///
/// Copies go through the volumes' folders on this host (the local driver's mountpoints), so
/// cchost must run on the swarm node, as root, as its systemd unit does.
public struct RetainedVolumes: Sendable {
    public let docker: any Docker
    /// The state folder these volumes belong to: two cchost states on one engine never touch each
    /// other's canonicals.
    public let stateDirectory: String

    public init(docker: any Docker = DockerDaemon(), stateDirectory: String) {
        self.docker = docker
        self.stateDirectory = stateDirectory
    }

    enum Label {
        static let state = "cchost.canon.state"
        static let recipe = "cchost.canon.recipe"
        static let run = "cchost.canon.run"
        static let volume = "cchost.canon.volume"
    }

    /// One retained volume, as its labels describe it.
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var recipe: String
        public var runID: String
        /// The volume's name in the recipe's compose file (`data` of `<stack>_data`).
        public var volume: String
    }

    public static func name(recipe: String, runID: String, volume: String) -> String {
        "warm-\(recipe)-\(runID)_\(volume)"
    }

    // MARK: Retaining a run's data

    /// Stops `stack` (its services removed as `docker stack rm` does, so databases shut down
    /// cleanly) and copies each of its volumes into a retained volume labelled with the recipe and
    /// run. Teardown removes the rest of the stack and its own volumes afterwards as usual. Returns
    /// the retained volumes' names.
    public func retain(stack: String, recipe: String, runID: String, stopTimeout: Double = 120) throws(DeployError) -> [String] {
        let volumes = try DeployError.wrapping { () throws(DockerError) in
            try docker.volumes(labels: ["com.docker.stack.namespace": stack]).map(\.name)
        }
        guard !volumes.isEmpty else { return [] }
        do {
            try docker.removeServices(stack: stack, timeout: stopTimeout)
        } catch where error.kind == .timedOut {
            throw DeployError(operation: "retain the data", stack: stack,
                              reason: "its containers did not stop within \(Int(stopTimeout)) s, so the data was not quiescent")
        } catch {
            throw DeployError(error)
        }
        var retained: [String] = []
        do {
            for source in volumes.sorted() {
                let volume = source.hasPrefix(stack + "_") ? String(source.dropFirst(stack.count + 1)) : source
                let target = Self.name(recipe: recipe, runID: runID, volume: volume)
                try create(target, labels: [Label.state: stateDirectory, Label.recipe: recipe, Label.run: runID, Label.volume: volume])
                retained.append(target)
                try copy(from: source, to: target, stack: stack)
            }
        } catch {
            // Half-retained data is never promoted; the sweep's garbage collection retries a removal that fails here.
            // Kept: the retention already failed with `error`, which is what is thrown; no verdict reads these volumes.
            try? remove(retained)
            throw error
        }
        return retained
    }

    // MARK: Starting from a canonical's data

    /// Creates `stack`'s volumes as copies of the canonical's before the stack's first deploy, labelled
    /// as the stack's own so that teardown removes them. The canonical's volumes are only read.
    /// Returns the stack volumes created.
    public func seed(stack: String, recipe: String, from canonical: RunRecord.CanonicalStart) throws(DeployError) -> [String] {
        var created: [String] = []
        let prefix = Self.name(recipe: recipe, runID: canonical.runID, volume: "")
        for name in canonical.volumes {
            guard name.hasPrefix(prefix), name.count > prefix.count else {
                throw DeployError(operation: "copy the canonical's volume \(name)", stack: stack, reason: "it is not named \(prefix)<volume>")
            }
            let volume = String(name.dropFirst(prefix.count))
            let target = "\(stack)_\(volume)"
            try create(target, labels: ["com.docker.stack.namespace": stack])
            created.append(target)
            try copy(from: name, to: target, stack: stack)
        }
        return created
    }

    // MARK: Housekeeping

    /// Every retained volume of this state folder, by name (one request).
    public func list() throws(DeployError) -> [Entry] {
        try DeployError.wrapping { () throws(DockerError) in
            try docker.volumes(labels: [Label.state: stateDirectory]).map { volume in
                Entry(name: volume.name, recipe: volume.labels[Label.recipe] ?? "", runID: volume.labels[Label.run] ?? "",
                      volume: volume.labels[Label.volume] ?? "")
            }
        }
    }

    /// Removes volumes; Docker's message for each that could not be removed.
    public func remove(_ names: [String]) throws(DeployError) {
        guard !names.isEmpty else { return }
        try DeployError.wrapping { () throws(DockerError) in try docker.removeVolumes(names) }
    }

    /// Removes retained volumes no canonical references (left by a promotion that was stopped, or by
    /// a run that was not promoted). `keep`: run ids whose volumes stay (the current canonicals').
    /// Only the given recipes are touched (the ones whose lock the caller holds); nil: every recipe
    /// of this state folder. With `dryRun`, only says which.
    @discardableResult
    public func collectGarbage(recipes: Set<String>?, keep: Set<String>, dryRun: Bool = false) throws(DeployError) -> [String] {
        let garbage = try list().filter { (recipes?.contains($0.recipe) ?? true) && !keep.contains($0.runID) }.map(\.name)
        if !dryRun { try remove(garbage) }
        return garbage
    }

    /// Where a volume's files are on this host.
    public func mountpoint(_ volume: String) throws(DeployError) -> String {
        let path = try DeployError.wrapping { () throws(DockerError) in try docker.volumeMountpoint(volume) }
        guard !path.isEmpty, FileManager.default.isReadableFile(atPath: path) else {
            throw DeployError(operation: "read volume \(volume)", stack: "",
                              reason: "its folder \(path.isEmpty ? "(none)" : path) is not readable here: cchost must run as root on the swarm node, with the local volume driver")
        }
        return path
    }

    /// A digest of a volume's whole tree: every entry's path, type, mode, owner and contents (or
    /// link target). Equal digests mean the data is byte-for-byte the same. The app wrote this data:
    /// a link is hashed as its target's text, never followed, and only regular files are read.
    public func checksum(_ volume: String) throws(DeployError) -> String {
        let root = try mountpoint(volume)
        do { return try Self.treeDigest(root) } catch {
            throw DeployError(operation: "checksum volume \(volume)", stack: "", reason: "\(error)")
        }
    }

    static func treeDigest(_ root: String) throws -> String {
        var hasher = SHA256()
        for (relative, info) in try Self.entries(under: root) {
            let path = relative.isEmpty ? root : "\(root)/\(relative)"
            hasher.update(data: Data("\(relative)\0\(info.st_mode)\0\(info.st_uid):\(info.st_gid)\0".utf8))
            switch info.st_mode & S_IFMT {
            case S_IFREG: hasher.update(data: Data(try Digest.sha256(ofRegularFileAt: path).hex.utf8))
            case S_IFLNK: hasher.update(data: Data(try FileManager.default.destinationOfSymbolicLink(atPath: path).utf8))
            default: break
            }
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Every entry under `root` ("" for the root itself) with its `lstat`, sorted by path; only real
    /// folders are entered, so a link to a folder elsewhere on the host is an entry, not a way out.
    static func entries(under root: String) throws -> [(String, stat)] {
        var found: [(String, stat)] = []
        var folders = [""]
        while let folder = folders.popLast() {
            let path = folder.isEmpty ? root : "\(root)/\(folder)"
            var info = stat()
            guard lstat(path, &info) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            found.append((folder, info))
            guard info.st_mode & S_IFMT == S_IFDIR else { continue }
            for name in try FileManager.default.contentsOfDirectory(atPath: path) {
                folders.append(folder.isEmpty ? name : "\(folder)/\(name)")
            }
        }
        return found.sorted { $0.0 < $1.0 }
    }

    // MARK: Volumes and files

    func create(_ name: String, labels: [String: String]) throws(DeployError) {
        try DeployError.wrapping { () throws(DockerError) in try docker.createVolume(name, labels: labels) }
    }

    /// Copies a volume's files into another, keeping owners, modes, links and times (`cp -a`).
    func copy(from source: String, to target: String, stack: String) throws(DeployError) {
        let from = try mountpoint(source), to = try mountpoint(target)
        let output: CommandOutput
        do {
            output = try Command.run("/bin/cp", ["-a", "\(from)/.", "\(to)/"], environment: [:], timeout: 3600)
        } catch {
            throw DeployError(operation: "copy volume \(source) to \(target)", stack: stack, reason: error.description)
        }
        guard output.succeeded else {
            throw DeployError(operation: "copy volume \(source) to \(target)", stack: stack, reason: output.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }
}

/// The run engine's retained data (see `RetainedData`).
extension RetainedVolumes: RetainedData {
    public func retain(stack: String, recipe: String, runID: String) throws(DeployError) -> [String] {
        try retain(stack: stack, recipe: recipe, runID: runID, stopTimeout: 120)
    }

    public func retainedVolume(of volume: String, recipe: String, in canonical: RunRecord.CanonicalStart) -> String? {
        let retained = Self.name(recipe: recipe, runID: canonical.runID, volume: volume)
        return canonical.volumes.contains(retained) ? retained : nil
    }
}
