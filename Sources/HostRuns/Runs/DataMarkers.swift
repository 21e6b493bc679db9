import Foundation
import HostBase
import HostDocker
import PluginChannel

/// A backup marker found in the canonical's data (its run's backup tier wrote it): a warm app
/// must show it, after install and after the upgrade.
struct CanonicalMarker {
    var service: String
    var volume: String
    /// The file's path inside the volume.
    var path: String
    var value: String
}

/// The data markers of a run: a fresh value written into every backed-up volume path before the
/// backup, changed after it (a restore that does nothing is caught), and, in a warm run, the
/// canonical's own markers read back from the app.
extension RunContext {
    /// Runs `command` in a running container of `service`, once, within 30 s; its stdout when it
    /// exits 0, else an error with what it printed.
    func execInApp(_ service: String, _ command: [String]) throws -> String {
        let container = try docker.runningContainer(stack: app.stack, service: service)
        let result = try docker.exec(command, in: container, deadline: Date().addingTimeInterval(30))
        let stdout = String(decoding: result.stdout, as: UTF8.self)
        guard result.exitCode == 0 else {
            throw DeployError(operation: "\(command.joined(separator: " ")) in \(container)", stack: app.stack,
                              reason: "exit \(result.exitCode): \(String(decoding: result.stderr, as: UTF8.self))\(stdout)")
        }
        return stdout
    }

    /// Where `volume` (the recipe's name) is mounted in a running container of `service`.
    func mountPoint(service: String, volume: String) throws -> String {
        try docker.mountPoint(of: "\(app.stack)_\(volume)", in: try docker.runningContainer(stack: app.stack, service: service))
    }

    /// Writes a fresh marker into every backed-up volume path: data continuity is proven when the
    /// marker comes back after restore.
    func seedMarker() throws -> AppContext.BackupMarker {
        let marker = "cchost-\(app.runID)-\(UUID().uuidString.prefix(8))"
        var files: [AppContext.BackupMarker.MarkerFile] = []
        for service in try backedUpServices() {
            for (volume, path) in BackupLabels.volumePaths(service) {
                let file = "\(try mountPoint(service: service.name, volume: volume))/\(BackupLabels.markerFile(inPath: path))"
                _ = try execInApp(service.name, ["sh", "-c", "printf %s \"$1\" > \"$2\"", "sh", marker, file])
                files.append(.init(service: service.name, path: file))
            }
        }
        return AppContext.BackupMarker(marker: marker, files: files)
    }

    /// Changes the data after the backup, so that a restore that does nothing is caught.
    func mutateMarker() throws {
        for file in marker?.files ?? [] {
            _ = try execInApp(file.service, ["sh", "-c", "printf mutated > \"$1\"", "sh", file.path])
        }
    }

    /// The backup markers in the canonical's retained volumes, read on this host. A volume without
    /// a marker file has none to expect; a marker that exists and cannot be read is an error.
    func canonicalMarkers(of canonical: RunRecord.CanonicalStart) throws -> [CanonicalMarker] {
        var markers: [CanonicalMarker] = []
        for service in try backedUpServices() {
            for (volume, path) in BackupLabels.volumePaths(service) {
                guard let folder = try retainedData.folder(of: volume, recipe: request.recipe, in: canonical) else { continue }
                let file = BackupLabels.markerFile(inPath: path)
                let location = "\(folder)/\(file)"
                guard FileManager.default.fileExists(atPath: location) else { continue }
                do {
                    markers.append(CanonicalMarker(service: service.name, volume: volume, path: file,
                                                   value: try String(contentsOfFile: location, encoding: .utf8)))
                } catch {
                    throw DeployError(operation: "read the canonical's data marker \(location)", stack: app.stack, reason: "\(error)")
                }
            }
        }
        return markers
    }

    /// Whether the warm app holds the canonical's data: every marker the canonical's volumes hold,
    /// read back from the running app.
    func canonicalDataCheck() -> RunRecord.CheckRecord {
        let started = Date()
        func check(_ verdict: Verdict, _ detail: String) -> RunRecord.CheckRecord {
            .init(plugin: "cchost", name: "canonical-data", verdict: verdict, detail: detail, cause: nil,
                  seconds: Date().timeIntervalSince(started))
        }
        guard !canonicalMarkers.isEmpty else {
            return check(.skip, "the canonical's data holds no backup marker (its run had no backup tier)")
        }
        var found: [String] = [], problems: [String] = []
        for marker in canonicalMarkers {
            let place = "\(marker.service):\(marker.volume)/\(marker.path)"
            do {
                let value = try execInApp(marker.service, ["cat", "\(try mountPoint(service: marker.service, volume: marker.volume))/\(marker.path)"])
                if value == marker.value { found.append(place) }
                else { problems.append("\(place) holds '\(value.prefix(60))', not the canonical's marker \(marker.value)") }
            } catch {
                problems.append("\(place) could not be read: \(error)")
            }
        }
        return problems.isEmpty
            ? check(.pass, "the canonical's data is there: marker \(canonicalMarkers[0].value) in \(found.joined(separator: ", "))")
            : check(.fail, problems.joined(separator: "; "))
    }
}
