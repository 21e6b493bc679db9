import ArgumentParser
import Foundation
import HostBase
import HostDocker
import HostRuns
import HostState

struct JanitorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "janitor",
        abstract: "Reap what killed runs left behind: stacks, containers, volumes, secrets, configs, networks.",
        discussion: """
            Only what this state folder's runs made is touched (they label it with the folder's identity, \
            kept in <state_dir>/state-id): a stack is reaped when the run that registered it is gone, or when \
            it is a test stack (under the test base domain) of this state folder that no live run owns and is \
            older than --older-than. Another state folder's stacks and stacks cchost did not deploy are never \
            touched. Retained volumes of this \
            state folder that no canonical uses are removed too, unless a sweep is running. Exit status: 0 \
            when nothing is left, 1 when something could not be removed, 2 on error.
            """)

    @Option(help: "Minutes a test stack without a registered run must have existed before it is reaped.")
    var olderThan: Double = 30
    @Option(help: "Base domain of test apps.") var baseDomain: String = "ci.example"
    @Flag(help: "Only say what would be reaped.") var dryRun = false

    func run() throws {
        var (janitor, configuration, docker) = try failingClearly { () throws -> (Janitor, Configuration, DockerEngine) in
            let configuration = try Configuration.load()
            let docker = try DockerEngine(configuration)
            let state = URL(fileURLWithPath: configuration.stateDirectory)
            let registry = ActiveRuns(directory: state.appendingPathComponent("runs/active"))
            return (Janitor(deployer: docker.swarm(), registry: registry, owner: try StateIdentity.of(stateDirectory: state),
                            baseDomain: baseDomain), configuration, docker)
        }
        // Opened (and checked, when a run was killed) before the janitor reaps what the killed runs left.
        let store = Result { try StateStore.toWrite(stateDirectory: configuration.stateDirectory) }
        // Kept: without a recorder, each killed run the janitor cannot record as interrupted is a
        // problem it prints (exit 1), and the database's own error is printed below, where the
        // retained volumes need it.
        janitor.recorder = try? store.get()
        var failed = false
        if dryRun {
            let found = try failingClearly { try janitor.candidates(olderThan: olderThan * 60) }
            for candidate in found { printLine("would reap \(candidate.stack): \(candidate.reason)") }
            if found.isEmpty { printLine("no stack to reap") }
        } else {
            let reaped = try failingClearly { try janitor.reap(olderThan: olderThan * 60) }
            for item in reaped {
                printLine("reaped \(item.stack): \(item.reason)" + (item.leftovers.isEmpty ? "" : "; left: \(item.leftovers.joined(separator: ", "))"))
                for problem in item.problems { printError("cchost: \(problem)") }
            }
            if reaped.isEmpty { printLine("no stack to reap") }
            failed = reaped.contains { !$0.leftovers.isEmpty || !$0.problems.isEmpty }
        }
        do {
            let unused = try Janitor.unusedRetainedVolumes(store: try store.get(), volumes: RetainedVolumes(docker: docker.daemon, stateDirectory: configuration.stateDirectory),
                                                           dryRun: dryRun)
            for volume in unused { printLine("\(dryRun ? "would remove" : "removed") retained volume \(volume): no canonical uses it") }
            if unused.isEmpty { printLine("no unused retained volume") }
        } catch let busy as StateLock.Busy {
            printLine("retained volumes left to the running sweep: \(busy)")
        } catch {
            printError("cchost: unused retained volumes were not removed: \(error)")
            failed = true
        }
        if failed { throw ExitCode(1) }
    }
}
