/// How the backupbot labels of a recipe's services read, as backup-bot-two reads them: which
/// services are backed up, which of their volumes, and which paths of each. The backup, the data
/// markers and the lint all read them here, so that lint passes exactly what the backup handles.
public enum BackupLabels {
    /// One volume a service backs up, and the paths inside it (relative to the volume root; `["."]`
    /// is the whole volume).
    public struct Selection: Sendable, Equatable {
        public var volume: String
        public var paths: [String]
        public var isWholeVolume: Bool { paths == ["."] }
    }

    public static let volumePrefix = "backupbot.backup.volumes."

    /// Services with `backupbot.backup=true`.
    public static func backedUpServices(_ compose: ComposeProject) -> [ComposeProject.Service] {
        compose.services.values.filter { $0.deployLabels["backupbot.backup"]?.lowercased() == "true" }.sorted { $0.name < $1.name }
    }

    /// Every named volume the service mounts, except those labelled
    /// `backupbot.backup.volumes.<volume>=false`; each whole, or the paths its
    /// `backupbot.backup.volumes.<volume>.path` label lists (comma-separated). A path label lint
    /// rejects saves nothing here: the backup then fails on it (see `paths(inLabel:)`).
    public static func selections(_ service: ComposeProject.Service) -> [Selection] {
        service.volumes.sorted().compactMap { volume in
            if service.deployLabels[volumePrefix + volume]?.lowercased() == "false" { return nil }
            guard let label = service.deployLabels[volumePrefix + volume + ".path"] else { return Selection(volume: volume, paths: ["."]) }
            return Selection(volume: volume, paths: paths(inLabel: label) ?? [])
        }
    }

    /// The paths a `.path` label lists: comma-separated, relative to the volume's root, files or
    /// folders (`./` and a trailing `/` dropped; `.` is the whole volume). Nil when one of them is
    /// empty, absolute or climbs out with `..`.
    public static func paths(inLabel value: String) -> [String]? {
        var paths: [String] = []
        for raw in value.split(separator: ",", omittingEmptySubsequences: false) {
            var path = Substring(raw.trimmingCharacters(in: .whitespaces))
            while path.hasPrefix("./") { path = path.dropFirst(2) }
            while path.count > 1 && path.hasSuffix("/") { path = path.dropLast() }
            if path.isEmpty || path.hasPrefix("/") || path.split(separator: "/").contains("..") { return nil }
            paths.append(String(path))
        }
        return paths.isEmpty ? nil : paths
    }

    /// The data marker's file inside a backed-up folder `path` of a volume.
    public static func markerFile(inFolder path: String) -> String {
        path == "." ? ".cchost-marker" : "\(path)/.cchost-marker"
    }
}
