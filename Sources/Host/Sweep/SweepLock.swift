import Foundation

/// An exclusive lock on a file in the state folder (flock): held until released or until the process
/// dies, so a crashed sweep never blocks the next one. A second holder is refused, never interleaved.
public final class SweepLock {
    public let path: String
    private let descriptor: Int32

    public struct Busy: Error, CustomStringConvertible {
        public var path: String
        public var holder: String
        public var description: String { "another sweep holds \(path) (\(holder)); try again when it has finished" }
    }

    /// The lock a whole sweep holds, and the one each recipe's run-and-promote holds.
    public static func sweepPath(stateDirectory: String) -> String { "\(stateDirectory)/locks/sweep.lock" }
    public static func recipePath(_ recipe: String, stateDirectory: String) -> String { "\(stateDirectory)/locks/\(recipe).lock" }

    /// Takes the lock or throws `Busy` at once.
    public init(path: String) throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw SweepError("cannot open lock \(path): \(String(cString: strerror(errno)))") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(descriptor)
            throw Busy(path: path, holder: holder.isEmpty ? "unknown process" : holder)
        }
        // Who holds it, for the next one's message.
        ftruncate(descriptor, 0)
        let line = Array("pid \(getpid()) since \(ISO8601DateFormatter().string(from: Date()))\n".utf8)
        _ = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
