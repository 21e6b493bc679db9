import Foundation
import HostBase
import HostDocker
import PluginChannel

/// Data seeded through the app (the recipe's `data_seed`): after a cold install a request writes a
/// fresh marker, and the probe must show it then, after the upgrade and after the restore. What the
/// app stores lands in what the recipe backs up, so the data proof sees it too.
extension RunContext {
    /// The host's own requests to `app`, the way plugins reach it (through the proxy).
    func appGateway(_ app: AppDeployment) -> SwarmGateway { SwarmGateway(deployer: deployer, app: app) }

    /// Seeds `app`'s data after install: the seed request, then the probe; the marker once the
    /// request was answered. Nil when the recipe declares no seed or the run is warm (the
    /// canonical's data is the data).
    func seedThroughApp(_ app: AppDeployment) -> (check: RunRecord.CheckRecord, marker: String?)? {
        guard let seed = request.dataSeed, request.warmFrom == nil else { return nil }
        let started = Date()
        let marker = DataProof.freshMarker(runID: app.runID, seed: true)
        let path = DataSeed.fill(seed.path, marker: marker)
        do {
            let answer = try appGateway(app).http(method: seed.method, path: path, body: seed.body.map { DataSeed.fill($0, marker: marker) })
            guard answer.status < 400 else {
                return (seedCheck(.fail, "\(seed.method) \(path) answered \(answer.status): \(Self.excerpt(answer.body))", since: started), nil)
            }
        } catch {
            return (seedCheck(.fail, "\(seed.method) \(path) failed: \(error)", since: started), nil)
        }
        var check = probe(seed, for: marker, after: .install, in: app)
        check.detail = "seeded \(marker) with \(seed.method) \(path); " + check.detail
        check.seconds = Date().timeIntervalSince(started)
        return (check, marker)
    }

    /// Whether the probe still shows the seeded data; nil when nothing was seeded through the app.
    func seededDataCheck(after tier: Tier, in state: RunState) -> RunRecord.CheckRecord? {
        guard let seed = request.dataSeed, let marker = state.markers.seed else { return nil }
        return probe(seed, for: marker, after: tier, in: state.app)
    }

    /// Whether `seed`'s probe shows `marker` after `tier`.
    private func probe(_ seed: DataSeed, for marker: String, after tier: Tier, in app: AppDeployment) -> RunRecord.CheckRecord {
        let started = Date()
        let expected = DataSeed.fill(seed.expect, marker: marker)
        do {
            let answer = try appGateway(app).http(method: "GET", path: seed.probe, body: nil)
            let body = String(decoding: answer.body, as: UTF8.self)
            if answer.status < 400, body.contains(expected) {
                return seedCheck(.pass, "GET \(seed.probe) shows \(expected) after the \(tier.rawValue)", since: started)
            }
            return seedCheck(.fail, "the seeded data is gone after the \(tier.rawValue): GET \(seed.probe) answered \(answer.status) without \(expected)", since: started)
        } catch {
            return seedCheck(.fail, "GET \(seed.probe) after the \(tier.rawValue) failed: \(error)", since: started)
        }
    }

    private func seedCheck(_ verdict: Verdict, _ detail: String, since started: Date) -> RunRecord.CheckRecord {
        .init(plugin: "cchost", name: "data-seed", verdict: verdict, detail: detail, cause: nil, seconds: Date().timeIntervalSince(started))
    }

    private static func excerpt(_ body: Data) -> String {
        Judgement.oneLine(String(decoding: body.prefix(400), as: UTF8.self), limit: 200)
    }
}
