import Foundation

/// How much a folder holds on disk, for the run folder's budget and retention.
public enum DiskUsage {
    /// The bytes of the regular files under `folder` (links are not followed; `skipping` names
    /// top-level entries left out). Allocated sizes, so a sparse file counts what it really takes.
    public static func bytes(of folder: URL, skipping: Set<String> = []) throws -> UInt64 {
        let manager = FileManager.default
        var total: UInt64 = 0
        for name in try manager.contentsOfDirectory(atPath: folder.path) where !skipping.contains(name) {
            let entry = folder.appendingPathComponent(name)
            let values = try entry.resourceValues(forKeys: [.isDirectoryKey, .isSymbolicLinkKey, .totalFileAllocatedSizeKey, .fileSizeKey])
            if values.isSymbolicLink == true { continue }
            if values.isDirectory == true {
                total += try bytes(of: entry)
            } else {
                total += UInt64(values.totalFileAllocatedSize ?? values.fileSize ?? 0)
            }
        }
        return total
    }
}
