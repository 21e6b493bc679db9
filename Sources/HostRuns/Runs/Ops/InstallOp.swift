import Foundation

/// Install: the base deployed fresh and converged, then the plugins' install steps (a warm app's
/// data is already set up: steps would set it up twice, so it gets the canonical-data proof instead).
struct InstallOp: TierOp {
    func run(_ run: RunContext) -> OpResult {
        var result = run.deployBase(hooksFor: .install)
        guard result.verdict == .pass else { return result }
        if let canonical = run.request.warmFrom { result.checks = [run.canonicalDataCheck(of: canonical)] } else { run.plugins.runInstallSteps(in: run) }
        if let seeded = run.seedThroughApp() { result.checks.append(seeded) }
        return result
    }
}
