import Foundation
import HostBase
import HostDocker
import PluginChannel

/// The data markers of a cold run: a fresh value written into every backed-up folder as soon as the
/// app is up (a backed-up file is the recipe's own, e.g. a dump its pre-hook writes, and gets none),
/// so that the upgrade, the backup and the restore all carry it; changed after the backup when the
/// restore happens in place (a restore that does nothing is caught). cchost's helper container
/// writes and reads them: nothing is asked of the app's image.
extension RunContext {
    /// Where `volume` (the recipe's name) is mounted in a running container of `app`'s `service`.
    func mountPoint(service: String, volume: String, in app: AppDeployment) throws -> String {
        try docker.mountPoint(of: "\(app.stack)_\(volume)", in: try docker.runningContainer(stack: app.stack, service: service))
    }

    /// Writes a fresh marker into every backed-up folder of `app`: the marker as plugins see it,
    /// and where its files are. No folder (only files backed up): no marker file, and the data is
    /// proven by what the recipe's own hooks dump.
    func seedMarkers(in app: AppDeployment) throws -> (marker: AppContext.BackupMarker, places: [DataMarkers.Place]) {
        let marker = DataProof.freshMarker(runID: app.runID)
        var files: [AppContext.BackupMarker.MarkerFile] = []
        var places: [DataMarkers.Place] = []
        for service in try backedUpServices(of: app) {
            for selection in BackupLabels.selections(service) {
                let volume = "\(app.stack)_\(selection.volume)"
                let folders = try deployer.helper.mark(marker, as: BackupLabels.markerFile(inFolder: "."),
                                                       inFoldersAmong: selection.paths, inVolume: volume, stack: app.stack)
                guard !folders.isEmpty else { continue }
                let markerFiles = folders.map(BackupLabels.markerFile(inFolder:))
                let mount = try mountPoint(service: service.name, volume: selection.volume, in: app)
                for file in markerFiles {
                    files.append(.init(service: service.name, path: "\(mount)/\(file)"))
                    places.append(.init(service: service.name, volume: selection.volume, file: file))
                }
            }
        }
        return (AppContext.BackupMarker(marker: marker, files: files), places)
    }

    /// Changes the data after the backup, so that a restore in place that does nothing is caught.
    func mutateMarkers(_ markers: DataMarkers, in app: AppDeployment) throws {
        for place in markers.places {
            try deployer.helper.write([place.file: "mutated"], inVolume: "\(app.stack)_\(place.volume)", stack: app.stack)
        }
    }
}

extension DataMarkers {
    /// The markers seeded in this run before the upgrade, each with where it was put: the marker
    /// files, and the value the recipe's `data_seed` (`seed`) sent through the app.
    func seededBeforeUpgrade(through seed: DataSeed?) -> [String: String] {
        var seeded: [String: String] = [:]
        if let marker, !places.isEmpty {
            seeded[marker.marker] = "the marker file in " + places.map { "\($0.service):\($0.volume)/\($0.file)" }.joined(separator: ", ")
        }
        if let value = self.seed, let seed { seeded[value] = "the data_seed sent with \(seed.method) \(seed.path)" }
        return seeded
    }
}
