import Foundation
import HostBase
import HostDocker
import PluginChannel

/// The host's data checks, each a `DataProof` over what the recipe itself backs up:
/// `cchost/canonical-data` (a warm app holds the canonical's data), `cchost/data-intact` (what was
/// seeded before the upgrade is still there after it) and `cchost/data-proof` (the restore brought
/// back everything the backup held beyond a fresh install). Each is also the proof plugins see in
/// app info's `backup.proof` (`RunState.prove(by:)`).
extension RunContext {
    /// The services of `app` whose backups are proven by what their pre-hook dumps.
    func hookedServices(of app: AppDeployment) throws -> Set<String> {
        Set(try backedUpServices(of: app).filter { $0.deployLabels["backupbot.backup.pre-hook"] != nil }.map(\.name))
    }

    /// A host data check's record.
    func dataCheck(_ name: String, _ verdict: Verdict, _ detail: String, since started: Date) -> RunRecord.CheckRecord {
        .init(plugin: "cchost", name: name, verdict: verdict, detail: detail, cause: nil, seconds: Date().timeIntervalSince(started))
    }

    /// Warm install: the canonical run's own backups (its last one, and the one of its fresh
    /// install) against a backup of the warm app. Where the canonical's data holds cchost's markers
    /// beyond its fresh install, each must be in the warm app (the warm app has restarted since, so
    /// files it rewrites may differ, and differing items are only counted); where it holds none, the
    /// items compare as at the restore (the app runs the canonical's version, so dumps compare line by
    /// line). The markers found are returned for the upgrade's check.
    func canonicalDataCheck(of canonical: RunRecord.CanonicalStart,
                            app: AppDeployment) -> (check: RunRecord.CheckRecord, markers: Set<String>) {
        var canonicalSeeded: Set<String> = []
        let check = canonicalDataCheck(of: canonical, app: app, markers: &canonicalSeeded)
        return (check, canonicalSeeded)
    }

    /// The check of `canonicalDataCheck(of:app:)`; `canonicalSeeded`: the canonical's markers, once read.
    private func canonicalDataCheck(of canonical: RunRecord.CanonicalStart, app: AppDeployment,
                                    markers canonicalSeeded: inout Set<String>) -> RunRecord.CheckRecord {
        let started = Date()
        let folder = plan.work.deletingLastPathComponent().appendingPathComponent(canonical.runID)
        let last: [BackupArchive], fresh: [BackupArchive], hooked: Set<String>
        do {
            guard !(try backedUpServices(of: app)).isEmpty else {
                return dataCheck("canonical-data", .skip, "the recipe backs nothing up", since: started)
            }
            last = try ["backup-restored", "backup"].lazy.map { try DataProof.archives(in: folder.appendingPathComponent($0)) }
                .first { !$0.isEmpty } ?? []
            fresh = try DataProof.archives(in: folder.appendingPathComponent("backup-fresh"))
            hooked = try hookedServices(of: app)
        } catch {
            return dataCheck("canonical-data", .unverified, "the canonical's backups could not be read: \(error)", since: started)
        }
        guard !last.isEmpty, !fresh.isEmpty else {
            let missing = last.isEmpty ? "no backup" : "no backup of a fresh install (it restored in place)"
            return dataCheck("canonical-data", .unverified,
                             "the canonical's run \(canonical.runID) kept \(missing) in \(folder.path), so its data cannot be compared", since: started)
        }
        let warm: BackupRecord
        do { warm = try deployer.backup(app, into: "backup-warm") } catch {
            return dataCheck("canonical-data", .fail, "the backup of the warm app failed: \(error)", since: started)
        }
        // Kept: the comparison is made from the archives read here; a copy left behind is only disk.
        defer { try? FileManager.default.removeItem(at: app.workDirectory.appendingPathComponent("backup-warm")) }
        let comparison: DataProof.Comparison, search: DataProof.MarkerSearch
        do {
            canonicalSeeded = try DataProof.search(last).markers.subtracting(try DataProof.search(fresh).markers)
            search = try DataProof.search(warm.archives)
            comparison = DataProof.compare(before: try DataProof.items(of: last, hooked: hooked), fresh: try DataProof.items(of: fresh, hooked: hooked),
                                           after: try DataProof.items(of: warm.archives, hooked: hooked))
        } catch {
            return dataCheck("canonical-data", .unverified, "the canonical's data could not be compared: \(error)", since: started)
        }
        let source = "the canonical's data (run \(canonical.runID))"
        if !canonicalSeeded.isEmpty {
            let lost = canonicalSeeded.subtracting(search.markers).sorted()
            guard lost.isEmpty else {
                return dataCheck("canonical-data", search.unsearchable.isEmpty ? .fail : .unverified,
                                 "the warm app lacks \(lost.count) of the \(canonicalSeeded.count) marker(s) \(source) held: \(DataProof.named(lost))\(search.unsearchedNote)",
                                 since: started)
            }
            let items = if case .lost(let differing, let of) = comparison { "; \(differing.count) of its \(of) other item(s) differ, as files the app rewrites do" } else { "" }
            return dataCheck("canonical-data", .pass, "all \(canonicalSeeded.count) marker(s) \(source) held are in the warm app\(items)", since: started)
        }
        switch comparison {
        case .nothingSeeded(let items):
            return dataCheck("canonical-data", .unverified,
                             "nothing seeded: the canonical's backup holds nothing its fresh install lacked (\(items) item(s)); \(DataProof.seedAdvice)", since: started)
        case .lost(let lost, let seeded):
            return dataCheck("canonical-data", .fail,
                             "the warm app lacks \(lost.count) of the \(seeded) item(s) \(source) held beyond a fresh install: \(DataProof.named(lost))", since: started)
        case .kept(let seeded):
            return dataCheck("canonical-data", .pass, "all \(seeded) item(s) \(source) held beyond a fresh install are in the warm app", since: started)
        }
    }

    /// After the upgrade: every marker seeded before it (this run's, or a warm run's canonical's)
    /// is still somewhere in what the recipe backs up. Nil when the recipe backs nothing up.
    func dataIntactCheck(in state: RunState) -> RunRecord.CheckRecord? {
        let started = Date()
        let (app, markers) = (state.app, state.markers)
        let services: [ComposeProject.Service]
        do { services = try backedUpServices(of: app) } catch {
            return dataCheck("data-intact", .unverified, "which services the head backs up is unknown: \(error)", since: started)
        }
        guard !services.isEmpty else { return nil }
        if let problem = markers.problem { return dataCheck("data-intact", .unverified, problem, since: started) }
        let seeded = request.warmFrom == nil ? markers.seededBeforeUpgrade(through: request.dataSeed)
            : Dictionary(uniqueKeysWithValues: markers.canonical.map { ($0, "the canonical's data") })
        guard !seeded.isEmpty else {
            return dataCheck("data-intact", .skip, request.warmFrom == nil
                             ? "nothing cchost seeded before the upgrade to look for (no backed-up folder, no data_seed); the data is proven at the restore"
                             : "no cchost marker of the canonical's data to look for (see cchost/canonical-data)", since: started)
        }
        // A marker file in a volume the head no longer backs up is data the head's backups lose.
        let backedUp = Set(services.flatMap { service in BackupLabels.selections(service).map { "\(service.name):\($0.volume)" } })
        let dropped = markers.places.filter { !backedUp.contains("\($0.service):\($0.volume)") }
        guard dropped.isEmpty else {
            return dataCheck("data-intact", .fail, "the head no longer backs up "
                             + dropped.map { "\($0.service):\($0.volume)" }.joined(separator: ", ") + ", where cchost's marker was seeded before the upgrade", since: started)
        }
        if let unsupported = deployer.backupUnsupported {
            return markerFilesCheck(backend: "backups are \(unsupported)", seedUnchecked: markers.seed != nil, in: state, since: started)
        }
        let backup: BackupRecord
        do { backup = try deployer.backup(app, into: "backup-upgraded") } catch {
            return dataCheck("data-intact", .fail, "the backup after the upgrade failed: \(error)", since: started)
        }
        // Kept: the comparison is made from the archives read here; a copy left behind is only disk.
        defer { try? FileManager.default.removeItem(at: app.workDirectory.appendingPathComponent("backup-upgraded")) }
        let search: DataProof.MarkerSearch
        do { search = try DataProof.search(backup.archives) } catch {
            return dataCheck("data-intact", .unverified, "the backup after the upgrade could not be read: \(error)", since: started)
        }
        let lost = seeded.filter { !search.markers.contains($0.key) }.sorted { $0.key < $1.key }
        guard lost.isEmpty else {
            // A marker is only known to be gone when every backed-up file could be searched for it.
            return dataCheck("data-intact", search.unsearchable.isEmpty ? .fail : .unverified,
                             "the data seeded before the upgrade is not in what the recipe backs up after it: "
                             + lost.map { "\($0.key) (\($0.value))" }.joined(separator: "; ") + search.unsearchedNote, since: started)
        }
        return dataCheck("data-intact", .pass,
                         "all \(seeded.count) marker(s) seeded before the upgrade are in the backup after it", since: started)
    }

    /// After the restore: the backup tier's backup, the fresh install's and one taken now. A
    /// backend that restored in place has no fresh install to compare with: there, the marker files
    /// cchost changed after the backup must hold the marker again.
    func restoreProof(backup: BackupRecord, fresh: BackupRecord?, in state: RunState) -> RunRecord.CheckRecord {
        let started = Date()
        guard let fresh else { return inPlaceProof(in: state, since: started) }
        let restored: BackupRecord
        do { restored = try deployer.backup(state.app, into: "backup-restored") } catch {
            return dataCheck("data-proof", .fail, "the backup after the restore failed: \(error)", since: started)
        }
        do {
            let hooked = try hookedServices(of: state.app)
            let judged = DataProof.judge(backup: try DataProof.items(of: backup.archives, hooked: hooked),
                                         fresh: try DataProof.items(of: fresh.archives, hooked: hooked),
                                         restored: try DataProof.items(of: restored.archives, hooked: hooked))
            return dataCheck("data-proof", judged.verdict, judged.detail, since: started)
        } catch {
            return dataCheck("data-proof", .unverified, "the backups could not be compared: \(error)", since: started)
        }
    }

    private func inPlaceProof(in state: RunState, since started: Date) -> RunRecord.CheckRecord {
        let backend = "restored in place (the \(deployer.name) backend cannot give the app fresh volumes)"
        let markers = state.markers
        if let problem = markers.problem { return dataCheck("data-proof", .unverified, "\(backend), and \(problem)", since: started) }
        guard let marker = markers.marker, !markers.places.isEmpty else {
            return dataCheck("data-proof", .unverified,
                             "nothing seeded: \(backend), and the recipe backs up no folder cchost could put its marker in", since: started)
        }
        let problems = markerFiles(lacking: marker.marker, in: state)
        return problems.isEmpty
            ? dataCheck("data-proof", .pass, "\(backend): the marker is back in the \(markers.places.count) file(s) cchost changed after the backup; a database's own data is compared only on fresh volumes", since: started)
            : dataCheck("data-proof", .fail, "\(backend): the restore did not bring the marker back: \(problems.joined(separator: "; "))", since: started)
    }

    /// After the upgrade, where the backend cannot back up: the marker files, read by the helper
    /// (in volumes the head still backs up); a seed sent through the app is left to its probe.
    private func markerFilesCheck(backend: String, seedUnchecked: Bool, in state: RunState, since started: Date) -> RunRecord.CheckRecord {
        guard let marker = state.markers.marker, !state.markers.places.isEmpty else {
            return dataCheck("data-intact", .skip, "\(backend), and cchost wrote no marker file before the upgrade; the data_seed probe and plugins' checks speak for the data", since: started)
        }
        let problems = markerFiles(lacking: marker.marker, in: state)
        let seed = seedUnchecked ? "; the data_seed value is left to its probe (cchost/data-seed)" : ""
        return problems.isEmpty
            ? dataCheck("data-intact", .pass, "\(backend): the marker is still in the \(state.markers.places.count) file(s) cchost wrote before the upgrade\(seed)", since: started)
            : dataCheck("data-intact", .fail, "\(backend): the data seeded before the upgrade is gone: \(problems.joined(separator: "; "))", since: started)
    }

    /// The marker files that do not hold `expected`, each named with what it holds, read by the
    /// helper (never on the host: the app may have turned one into a link).
    private func markerFiles(lacking expected: String, in state: RunState) -> [String] {
        let app = state.app
        var problems: [String] = []
        for place in state.markers.places {
            let name = "\(place.service):\(place.volume)/\(place.file)"
            do {
                let value = try deployer.helper.read(place.file, inVolume: "\(app.stack)_\(place.volume)", limit: 4096, stack: app.stack)
                if value != expected { problems.append("\(name) holds \(value.map { "'\($0.prefix(40))'" } ?? "nothing")") }
            } catch {
                problems.append("\(name) could not be read: \(error)")
            }
        }
        return problems
    }
}

extension RunRecord.CheckRecord {
    /// The host's data checks: the latest one made is the proof plugins see.
    static let dataCheckNames: Set<String> = ["canonical-data", "data-intact", "data-proof"]

    /// This check as the data proof plugins see in app info, when it is one of the host's data checks.
    var dataProof: AppContext.BackupMarker.Proof? {
        guard plugin == "cchost", Self.dataCheckNames.contains(name) else { return nil }
        return .init(check: "cchost/\(name)", verdict: verdict.rawValue, detail: detail)
    }
}
