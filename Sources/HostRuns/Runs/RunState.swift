import Foundation
import HostBase
import HostDocker
import PluginChannel

/// What a run has found so far, as a value: the engine passes it into each tier's op and carries
/// on with the one the op hands back in its result (`OpResult.state`). Nothing is shared: an op
/// that did not run changed nothing.
struct RunState {
    /// The app as the last op left it: its env once installed, its checkout once upgraded.
    var app: AppDeployment
    /// The record being written: the tiers so far, the deploy count.
    var record: RunRecord
    /// The app was deployed (once: the deploy-count guard watches).
    var deployed = false
    /// The backup tier's backup: the restore's input.
    var backup: BackupRecord?
    /// What cchost seeded into the app's data, for the data checks to look for.
    var markers = DataMarkers()
    /// The host's latest data proof, as plugins see it in app info.
    var dataProof: AppContext.BackupMarker.Proof?

    /// The app of a run about to start: the base checked out (the head when there is none), not deployed yet.
    static func app(of request: RunRequest, plan: RunPlan, owner: String?) -> AppDeployment {
        AppDeployment(runID: plan.runID, recipe: request.recipe, domain: plan.domain, checkout: plan.base ?? plan.head,
                      overrides: request.environment, workDirectory: plan.work,
                      serviceCeilings: request.ceilings.services, owner: owner, allowance: request.allowance,
                      maxTasks: request.ceilings.tasks)
    }

    /// The latest of the host's own data checks among `checks` (an op's, never a plugin's, which
    /// could take the name) becomes the proof plugins see from now on.
    mutating func prove(by checks: [RunRecord.CheckRecord]) {
        if let proof = checks.compactMap(\.dataProof).last { dataProof = proof }
    }
}

/// What cchost seeded into the app's data (see `DataMarkers.swift` and `DataSeeding.swift`).
struct DataMarkers {
    /// Where a marker file is: service, volume (the recipe's name) and file inside it.
    struct Place {
        var service: String
        var volume: String
        var file: String
    }

    /// The marker a cold run wrote into the backed-up folders once the app was up, as plugins see
    /// it; nil before, and on a warm run.
    var marker: AppContext.BackupMarker?
    /// Why no marker was written, when writing it failed.
    var problem: String?
    /// Where the marker files are.
    var places: [Place] = []
    /// The marker seeded through the app (the recipe's `data_seed`), once it was.
    var seed: String?
    /// A warm run's markers found in the canonical's data beyond a fresh install: after the
    /// upgrade, they must still be there.
    var canonical: Set<String> = []
}
