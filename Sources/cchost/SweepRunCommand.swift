import ArgumentParser
import Foundation
import HostBase
import HostDocker
import HostRuns
import HostState

/// One recipe's run of a sweep, in a process of its own (internal: `cchost sweep` starts it; see
/// `ChildSweepRuns`): deploy, tiers, teardown, the run's row in the state database. It takes no
/// lock and never promotes: the sweep holds the recipe's lock and decides after reading the record.
///
/// It speaks to the sweep on stdout (`run <id>` once the run is registered, `error <text>` when none
/// could start) and prints progress on stderr, which the sweep relays with the recipe's name. It
/// reads its stdin to the end: the sweep keeps it open, so a sweep that is gone stops the run, which
/// tears down and records itself as on SIGTERM.
///
/// Test hook: with `CCHOST_TEST_CRASH_RECIPE=<recipe>` in its environment, the run process of that
/// recipe dies of SIGSEGV (its default action, as an uncaught crash) as its first tier finishes (its
/// run registered and recorded, its app deployed by install): how the tests crash one run of a sweep.
struct SweepRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep-run", abstract: "Internal: one recipe's run of a sweep, in its own process.", shouldDisplay: false)

    @Option(help: "The recipe (one of the configuration's recipes).") var recipe: String
    @Option(help: "The recipe's mirror.") var mirror: String
    @Option(help: "The release to run.") var version: String
    @Option(help: "The recipe's canonical version, the upgrade's base.") var canonical: String?
    @Option(help: "The configuration file.") var config: String?
    @OptionGroup var sandbox: SandboxOptions

    func run() throws {
        // The sweep may be gone: a write to its pipes must fail, not kill the run before its teardown.
        signal(SIGPIPE, SIG_IGN)
        do {
            try runRecipe()
        } catch let exit as ExitCode {
            throw exit
        } catch {
            print("error " + "\(error)".replacingOccurrences(of: "\n", with: " "))
            throw ExitCode(2)
        }
        if let signalNumber = TeardownOnSignal.received { throw ExitCode(128 + signalNumber) }
    }

    func runRecipe() throws {
        if let config { setenv("CCHOST_CONFIG", config, 1) }
        let setup = try sandbox.setup()
        let configuration = setup.configuration
        guard let settings = configuration.recipes.first(where: { $0.name == recipe }) else {
            throw Failure(message: "\(recipe) is not among the configuration's recipes")
        }
        let docker = try DockerEngine(configuration)
        let store = try StateStore.toWrite(stateDirectory: configuration.stateDirectory)
        let runs = URL(fileURLWithPath: configuration.stateDirectory).appendingPathComponent("runs")
        let cancellation = RunCancellation()
        TeardownOnSignal.install(deployer: docker.swarm(), registry: ActiveRuns(directory: runs.appendingPathComponent("active")),
                                 cancellation: cancellation)
        Thread.detachNewThread {
            var byte: UInt8 = 0
            while true {
                let count = read(0, &byte, 1)
                if count == 0 || (count < 0 && errno != EINTR) { break }
            }
            cancellation.cancel("the sweep that started this run is gone")
        }
        let deployer = docker.deployer(backend: configuration.backend, abra: ProcessInfo.processInfo.environment["CCHOST_ABRA"] ?? "abra",
                                       defaultTimeout: settings.timeout ?? 300)
        let crashing = ProcessInfo.processInfo.environment["CCHOST_TEST_CRASH_RECIPE"] == recipe
        let engine = try makeRunEngine(setup: setup, recipe: recipe, deployer: deployer, runs: runs, recorder: store, events: { event in
            printError(event.line)
            if case .started(let runID, _, _, _) = event {
                FileHandle.standardOutput.write(Data("run \(runID)\n".utf8))
            }
            if crashing, case .tierFinished = event {
                // The default action: Swift's backtracer would print and return, and a raised signal returns with it.
                signal(SIGSEGV, SIG_DFL)
                raise(SIGSEGV)
            }
        })
        _ = try engine.run(.sweep(settings, mirror: mirror, version: version, canonical: canonical,
                                  configuration: configuration, cancellation: cancellation))
    }
}
