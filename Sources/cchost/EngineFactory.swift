import Foundation
import HostBase
import HostDocker
import HostRuns
import HostState

/// The Docker engine of this command: its address worked out once, when the command starts, from
/// the operator's side only (the configuration's `docker_host`, else cchost's `DOCKER_HOST`, else
/// the default socket; see `EngineAddress.resolve`), and every client of the engine built on it, so
/// the Engine API and the docker CLI never ask two different engines. A refused address (`tcp://…`)
/// stops the command before anything runs.
struct DockerEngine {
    let address: EngineAddress

    init(_ configuration: Configuration) throws {
        address = try EngineAddress.resolve(configured: configuration.dockerHost, environment: ProcessInfo.processInfo.environment)
    }

    var daemon: DockerDaemon { DockerDaemon(api: DockerAPI(address: address)) }
    var cli: DockerCLI { DockerCLI(address: address) }

    func swarm(defaultTimeout: Int = 300) -> SwarmDeployer {
        SwarmDeployer(docker: daemon, cli: cli, defaultTimeout: defaultTimeout)
    }

    /// The deployer of `backend`: swarm, or abra (`abra`, the executable, is asked for only then).
    func deployer(backend: String, abra: @autoclosure () throws -> String, defaultTimeout: Int) rethrows -> any Deployer {
        guard backend == "abra" else { return swarm(defaultTimeout: defaultTimeout) }
        return AbraDeployer(abra: try abra(), docker: daemon, cli: cli, defaultTimeout: defaultTimeout)
    }
}

/// How every command that deploys builds its run engine, so `cchost run` and `cchost sweep` judge a
/// recipe with the same plugins: the builtin suite and operator plugins that serve it (the ones
/// that cannot be used are printed as warnings), runs recorded in the state database, and the head's
/// repo-local overlays the allowlist approves (denied ones are printed and never loaded; a broken
/// allowlist stops the run before anything is deployed).
func makeRunEngine(setup: PluginSetup, recipe: String, deployer: any Deployer, runs: URL, recorder: any RunRecorder,
                   events: @escaping @Sendable (RunEvent) -> Void) throws -> RunEngine {
    let resolved = try setup.plugins(forRecipe: recipe, checkout: nil)
    for problem in resolved.problems { printError("cchost: warning: \(recipe): \(problem)") }
    let engine = RunEngine(deployer: deployer, plugins: resolved.plugins, launcher: setup.launcher, runsDirectory: runs,
                           retainedData: RetainedVolumes(docker: deployer.docker, stateDirectory: runs.deletingLastPathComponent().path),
                           events: events)
    engine.recorder = recorder
    engine.overlays = { checkout in
        let found = try setup.plugins(forRecipe: recipe, checkout: checkout)
        for denied in found.denied { printError("cchost: \(recipe): overlay not run: \(denied)") }
        return found.plugins.filter { if case .overlay = $0.origin { return true } else { return false } }
    }
    return engine
}
