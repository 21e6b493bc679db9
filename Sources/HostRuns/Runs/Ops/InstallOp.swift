import Foundation

/// Install: the base deployed fresh and converged, then the plugins' install steps (a warm app's
/// data is already set up: steps would set it up twice, so it gets the canonical-data proof instead).
struct InstallOp: TierOp {
    func run(_ run: RunContext, from state: RunState) -> OpResult {
        var result = run.deployBase(hooksFor: .install, from: state)
        guard result.verdict == .pass else { return result }
        if let canonical = run.request.warmFrom {
            let proven = run.canonicalDataCheck(of: canonical, app: result.state.app)
            result.checks = [proven.check]
            result.state.markers.canonical = proven.markers
        } else {
            result.steps += run.plugins.runInstallSteps(in: run, at: result.state)
        }
        if let seeded = run.seedThroughApp(result.state.app) {
            result.checks.append(seeded.check)
            result.state.markers.seed = seeded.marker
        }
        return result
    }
}
