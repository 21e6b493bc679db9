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

/// The data markers of a run: a fresh value written into every backed-up folder before the backup
/// (a backed-up file is the recipe's own, e.g. a dump its pre-hook writes, and gets none), changed
/// after it (a restore that does nothing is caught), and, in a warm run, the canonical's own markers
/// read back from the app's volumes. cchost's helper container writes and reads them: nothing is
/// asked of the app's image.
extension RunContext {
    /// Where `volume` (the recipe's name) is mounted in a running container of `service`.
    func mountPoint(service: String, volume: String) throws -> String {
        try docker.mountPoint(of: "\(app.stack)_\(volume)", in: try docker.runningContainer(stack: app.stack, service: service))
    }

    /// Writes a fresh marker into every backed-up folder: data continuity is proven when the marker
    /// comes back after restore. No folder (only files backed up): no marker, and the restore's data
    /// proof is left to the recipe's plugins.
    func seedMarker() throws -> AppContext.BackupMarker {
        let marker = "cchost-\(app.runID)-\(UUID().uuidString.prefix(8))"
        var files: [AppContext.BackupMarker.MarkerFile] = []
        markerPlaces = []
        for service in try backedUpServices() {
            for selection in BackupLabels.selections(service) {
                let volume = "\(app.stack)_\(selection.volume)"
                let folders = try deployer.helper.mark(marker, as: BackupLabels.markerFile(inFolder: "."),
                                                       inFoldersAmong: selection.paths, inVolume: volume, stack: app.stack)
                guard !folders.isEmpty else { continue }
                let markerFiles = folders.map(BackupLabels.markerFile(inFolder:))
                let mount = try mountPoint(service: service.name, volume: selection.volume)
                for file in markerFiles {
                    files.append(.init(service: service.name, path: "\(mount)/\(file)"))
                    markerPlaces.append((selection.volume, file))
                }
            }
        }
        return AppContext.BackupMarker(marker: marker, files: files)
    }

    /// Changes the data after the backup, so that a restore that does nothing is caught.
    func mutateMarker() throws {
        for place in markerPlaces {
            try deployer.helper.write([place.file: "mutated"], inVolume: "\(app.stack)_\(place.volume)", stack: app.stack)
        }
    }

    /// The backup markers in the canonical's retained volumes, read by the helper (never on the host:
    /// the app may have turned a marker into a link). A volume without a marker file has none to
    /// expect; a marker that exists and cannot be read is an error.
    func canonicalMarkers(of canonical: RunRecord.CanonicalStart) throws -> [CanonicalMarker] {
        var markers: [CanonicalMarker] = []
        for service in try backedUpServices() {
            for selection in BackupLabels.selections(service) {
                guard let volume = retainedData.retainedVolume(of: selection.volume, recipe: request.recipe, in: canonical) else { continue }
                for file in selection.paths.map(BackupLabels.markerFile(inFolder:)) {
                    guard let value = try deployer.helper.read(file, inVolume: volume, limit: 4096, stack: app.stack) else { continue }
                    markers.append(CanonicalMarker(service: service.name, volume: selection.volume, path: file, value: value))
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
                let value = try deployer.helper.read(marker.path, inVolume: "\(app.stack)_\(marker.volume)", limit: 4096, stack: app.stack)
                switch value {
                case nil: problems.append("\(place) is missing")
                case marker.value: found.append(place)
                case let other?: problems.append("\(place) holds '\(other.prefix(60))', not the canonical's marker \(marker.value)")
                }
            } catch {
                problems.append("\(place) could not be read: \(error)")
            }
        }
        return problems.isEmpty
            ? check(.pass, "the canonical's data is there: marker \(canonicalMarkers[0].value) in \(found.joined(separator: ", "))")
            : check(.fail, problems.joined(separator: "; "))
    }
}
