import Foundation
import Host

/// How every command that deploys builds its run engine, so `cchost run` and `cchost sweep` judge a
/// recipe with the same plugins: the builtin suite and operator plugins that serve it (the ones
/// that cannot be used are printed as warnings), convergence as Docker answers it, and the head's
/// repo-local overlays the allowlist approves (denied ones are printed and never loaded; a broken
/// allowlist stops the run before anything is deployed).
func makeRunEngine(setup: PluginSetup, recipe: String, deployer: any Deployer, runs: URL,
                   progress: @escaping @Sendable (String) -> Void) throws -> RunEngine {
    let resolved = try setup.plugins(forRecipe: recipe, checkout: nil)
    for problem in resolved.problems { printError("cchost: warning: \(recipe): \(problem)") }
    let engine = RunEngine(deployer: deployer, plugins: resolved.plugins, launcher: setup.launcher, runsDirectory: runs,
                           waitForConvergence: convergenceWaiter, progress: progress)
    engine.overlays = { checkout in
        let found = try setup.plugins(forRecipe: recipe, checkout: checkout)
        for denied in found.denied { printError("cchost: \(recipe): overlay not run: \(denied)") }
        return found.plugins.filter { if case .overlay = $0.origin { return true } else { return false } }
    }
    return engine
}

/// Convergence as Docker answers it, the way every command that deploys waits for it.
let convergenceWaiter: ConvergenceWaiter = { stack, deadline in
    do {
        switch try DockerDaemon().waitForConvergence(stack: stack, deadline: deadline) {
        case .converged: return (true, [])
        case .waiting(let reasons), .failed(let reasons): return (false, reasons)
        }
    } catch {
        return (false, ["\(error)"])
    }
}
