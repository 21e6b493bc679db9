import HostBase

/// How the backupbot labels of a recipe's services read: which services are backed up, and which
/// path of which volume each one saves.
public enum BackupLabels {
    /// Services with `backupbot.backup=true`.
    public static func backedUpServices(_ compose: ComposeProject) -> [ComposeProject.Service] {
        compose.services.values.filter { $0.deployLabels["backupbot.backup"]?.lowercased() == "true" }.sorted { $0.name < $1.name }
    }

    /// Volume → path inside it to save, from `backupbot.backup.volumes.<volume>[.path]`; a service
    /// without volume labels saves every named volume it mounts, whole.
    public static func volumePaths(_ service: ComposeProject.Service) -> [(String, String)] {
        let prefix = "backupbot.backup.volumes."
        var paths: [String: String] = [:]
        var excluded = Set<String>()
        for (key, value) in service.deployLabels where key.hasPrefix(prefix) {
            let rest = String(key.dropFirst(prefix.count))
            if rest.hasSuffix(".path") { paths[String(rest.dropLast(5))] = value.split(separator: ",").first.map(String.init) ?? "." }
            else if value.lowercased() == "false" { excluded.insert(rest) }
            else if paths[rest] == nil { paths[rest] = "." }
        }
        if paths.isEmpty { for volume in service.volumes { paths[volume] = "." } }
        return paths.filter { !excluded.contains($0.key) }.sorted { $0.key < $1.key }
    }

    /// Where the host's data marker lives inside a volume, for a backed-up `path` of it: the backup
    /// tier writes it there, and a warm run looks for it in the canonical's copy.
    public static func markerFile(inPath path: String) -> String {
        path == "." || path.isEmpty ? ".cchost-marker" : "\(path)/.cchost-marker"
    }

}
