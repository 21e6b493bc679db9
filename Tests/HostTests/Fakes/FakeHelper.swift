import Foundation
@testable import HostDocker
import Synchronization

/// cchost's helper in memory: each volume is a real folder under `root` (`root/<volume>`), so the
/// run engine's markers are written and read as files. Records
/// every call, e.g. `"write s_content .cchost-marker"`, `"mark s_content ."`.
final class FakeHelper: Helper {
    let root: URL
    let state: Mutex<(calls: [String], failures: [String: DeployError])>

    init(root: URL) {
        self.root = root
        state = Mutex(([], [:]))
    }

    var calls: [String] { state.withLock { $0.calls } }

    /// Every later call of `method` (`mark`, `write`, `read`) throws `error`.
    func fail(_ method: String, with error: DeployError) { state.withLock { $0.failures[method] = error } }

    private func called(_ method: String, _ detail: String) throws(DeployError) {
        if let failure = state.withLock({ state -> DeployError? in
            state.calls.append("\(method) \(detail)")
            return state.failures[method]
        }) { throw failure }
    }

    func folder(_ volume: String) -> URL { root.appendingPathComponent(volume) }

    func mark(_ contents: String, as name: String, inFoldersAmong paths: [String], inVolume volume: String,
              stack: String) throws(DeployError) -> [String] {
        try called("mark", "\(volume) \(paths.joined(separator: ","))")
        try? FileManager.default.createDirectory(at: folder(volume), withIntermediateDirectories: true)
        let folders = paths.filter { path in
            var isFolder: ObjCBool = false
            return FileManager.default.fileExists(atPath: folder(volume).appendingPathComponent(path).path, isDirectory: &isFolder) && isFolder.boolValue
        }
        for path in folders { try? Data(contents.utf8).write(to: folder(volume).appendingPathComponent(path).appendingPathComponent(name)) }
        return folders
    }

    func write(_ files: [String: String], inVolume volume: String, stack: String) throws(DeployError) {
        try called("write", "\(volume) \(files.keys.sorted().joined(separator: ","))")
        for (path, contents) in files {
            try? Data(contents.utf8).write(to: folder(volume).appendingPathComponent(path))
        }
    }

    func read(_ path: String, inVolume volume: String, limit: Int, stack: String) throws(DeployError) -> String? {
        try called("read", "\(volume) \(path)")
        return (try? String(contentsOf: folder(volume).appendingPathComponent(path), encoding: .utf8)).map { String($0.prefix(limit)) }
    }

}
