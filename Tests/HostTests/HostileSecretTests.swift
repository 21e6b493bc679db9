import Foundation
@testable import HostBase
@testable import HostDocker
@testable import HostRuns
@testable import HostState
import Synchronization
import Testing

/// Hostile recipes on the real swarm (Tests/Fixtures/hostile-recipes/leak-*): an app that prints its
/// generated secret, a backup hook that echoes it and fails, a volume full of links to the host.
/// Each test first proves the hostile act happened (the raw `docker service logs` held the secret,
/// the archive held the link), then that nothing cchost wrote for people holds what leaked.
@Suite("Hostile recipes: secrets and links", .serialized)
struct HostileSecretTests {
    static let repositories = Result { try SwarmRuns.repositories("leak", fixtures: "hostile-recipes") }

    /// `cchost run` in its own process; `whileUp` gets the app's running container (retried until
    /// it stops throwing, for up to 60 s) while the run goes on. The console is stdout and stderr.
    static func cli(_ arguments: [String], state: TemporaryDirectory,
                    whileUp: @escaping (_ container: String) throws -> Void) throws -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestPaths.cli)
        process.arguments = arguments
        process.environment = ["CCHOST_STATE_DIR": state.path, "CCHOST_PLUGIN_PATH": state.path,
                               "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        let out = Pipe(), err = Pipe()
        (process.standardOutput, process.standardError) = (out, err)
        let stdout = Collected(), stderr = Collected()
        let done = DispatchGroup()
        for (pipe, box) in [(out, stdout), (err, stderr)] {
            done.enter()
            let handle = pipe.fileHandleForReading
            DispatchQueue.global().async {
                while case let chunk = handle.availableData, !chunk.isEmpty { box.data.withLock { $0.append(chunk) } }
                done.leave()
            }
        }
        try process.run()
        var stack: String?
        var lastProblem = "the run never said its stack"
        let deadline = Date().addingTimeInterval(120)
        watching: while process.isRunning, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.2)
            if stack == nil {
                let said = stderr.text
                stack = said.firstMatch(of: /run \S+ of \S+ as (\S+):/).map { String($0.1) }
                continue
            }
            let containers = try run("/usr/bin/docker", ["ps", "-q", "--filter", "label=com.docker.swarm.service.name=\(stack!)_app"])
            guard let container = containers.stdout.split(separator: "\n").first.map(String.init) else { continue }
            do {
                try whileUp(container)
                lastProblem = ""
                break watching
            } catch {
                lastProblem = "\(error)"
            }
        }
        process.waitUntilExit()
        done.wait()
        if !lastProblem.isEmpty { Issue.record("while the app was up: \(lastProblem)") }
        return CommandResult(status: process.terminationStatus, stdout: stdout.text, stderr: stderr.text)
    }

    /// Output read so far from a pipe.
    final class Collected: Sendable {
        let data = Mutex(Data())
        var text: String { data.withLock { String(decoding: $0, as: UTF8.self) } }
    }

    struct NotYet: Error, CustomStringConvertible { var description: String }

    /// The generated secret, read in the app's container as the app reads it.
    static func secret(in container: String) throws -> String {
        let read = try run("/usr/bin/docker", ["exec", container, "cat", "/run/secrets/admin_password"])
        guard read.status == 0, read.stdout.count >= 8 else { throw NotYet(description: "no secret yet: \(read.stderr)") }
        return read.stdout
    }

    /// What a CLI run left for people: its console, the reports it wrote, and every file of its state
    /// (run.json, artifacts, the state database) except the backup archives, kept byte-exact.
    static func expectNoTrace(of secret: String, in result: CommandResult, state: TemporaryDirectory) throws {
        #expect(!result.stdout.contains(secret), "the console summary holds the secret")
        #expect(!result.stderr.contains(secret), "the console's progress holds the secret")
        #expect(try SecretRedactionTests.files(under: state.url, holding: secret) == [])
        #expect(FileManager.default.fileExists(atPath: state.file("run.json")) && FileManager.default.fileExists(atPath: state.file("cchost.sqlite")))
    }

    @Test("an app that prints its generated secret to its log: the raw service log holds it, nothing cchost writes does", .requiresDocker)
    func appPrintsItsSecret() throws {
        let state = try TemporaryDirectory("leak-state")
        let found = Mutex<(secret: String, logs: String)?>(nil)
        let result = try Self.cli(["run", "leak-app-logs", "--repo", try Self.repositories.get().file("leak-app-logs"),
                                   "--stages", "install,backup", "--json", state.file("run.json"), "--junit", state.file("run.xml"),
                                   "--markdown", state.file("run.md")], state: state) { container in
            let secret = try Self.secret(in: container)
            let service = try run("/usr/bin/docker", ["service", "logs", "--raw", try Self.service(of: container)])
            guard service.stdout.contains(secret) else { throw NotYet(description: "the app has not printed its secret yet") }
            found.withLock { $0 = (secret, service.stdout) }
        }
        let (secret, logs) = try #require(found.withLock { $0 }, "the app's secret was never seen in its raw log")
        #expect(logs.contains(secret))
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        try Self.expectNoTrace(of: secret, in: result, state: state)
        #expect(try String(contentsOfFile: state.file("run.json"), encoding: .utf8).contains("\"schema\""))
    }

    @Test("a backup pre-hook that echoes the secret and fails: it really echoes it, and the failure shown names no secret", .requiresDocker)
    func hookEchoesTheSecret() throws {
        let state = try TemporaryDirectory("leak-state")
        let found = Mutex<String?>(nil)
        let result = try Self.cli(["run", "leak-hook", "--repo", try Self.repositories.get().file("leak-hook"),
                                   "--stages", "install,backup", "--json", state.file("run.json"), "--junit", state.file("run.xml"),
                                   "--markdown", state.file("run.md")], state: state) { container in
            let secret = try Self.secret(in: container)
            // The hook as the recipe labels it, run by hand: it echoes the secret to stderr and fails.
            let hook = try run("/usr/bin/docker", ["exec", container, "sh", "-c",
                                                   "echo \"dump refused for password $(cat /run/secrets/admin_password)\" >&2; exit 1"])
            guard hook.status == 1, hook.stderr.contains(secret) else { throw NotYet(description: "the hook said \(hook.stderr)") }
            found.withLock { $0 = secret }
        }
        let secret = try #require(found.withLock { $0 }, "the hook was never seen echoing the secret")
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        let json = try String(contentsOfFile: state.file("run.json"), encoding: .utf8)
        #expect(json.contains("dump refused for password [redacted]"), "\(json)")
        try Self.expectNoTrace(of: secret, in: result, state: state)
    }

    /// The swarm service a container belongs to.
    static func service(of container: String) throws -> String {
        let inspected = try run("/usr/bin/docker", ["inspect", "-f", "{{index .Config.Labels \"com.docker.swarm.service.name\"}}", container])
        return inspected.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: Links out of the volume

    @Test("a volume holding links to a host canary and to /dev/zero: backup, restore, retention and the warm check never read through them", .requiresDocker)
    func linksOutOfTheVolume() throws {
        // Host canaries: a root-only file in a root-only folder; the app links to both.
        let host = try TemporaryDirectory("leak-host")
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: host.path)
        let canary = host.file("canary")
        let content = "canary-\(UUID().uuidString)"
        #expect(FileManager.default.createFile(atPath: canary, contents: Data(content.utf8), attributes: [.posixPermissions: 0o600]))
        let state = try TemporaryDirectory("leak-state")
        let engine = SwarmRuns.engine(state, plugins: [try SwarmRuns.generic()])
        engine.recorder = try StateStore(stateDirectory: state.path)
        let retained = RetainedVolumes(stateDirectory: state.path)
        defer { try? retained.collectGarbage(recipes: nil, keep: []) }
        let repository = try Self.repositories.get().file("leak-links")
        let started = Date()
        let cold = try engine.run(RunRequest(recipe: "leak-links", repository: repository, stages: [.install, .backup, .restore],
                                             environment: ["CANARY": canary], retainData: true))
        #expect(cold.isGreen, "\(RunReport.console(cold))")
        // The hostile act: the archive holds the links (their targets), never what they lead to.
        let archive = try Data(contentsOf: state.url.appendingPathComponent("runs/\(cold.id)/backup/app/content.tar"))
        #expect(archive.range(of: Data(canary.utf8)) != nil && archive.range(of: Data("/dev/zero".utf8)) != nil)
        let listing = try TarListing(file: state.url.appendingPathComponent("runs/\(cold.id)/backup/app/content.tar"))
        #expect(Set(listing.members.filter { $0.kind == .link }.map(\.path)) == ["files/canary", "files/host-folder", "files/zero"])
        // Retained as links; their checksum is of the links, whatever is behind them.
        let volumes = try #require(cold.retainedVolumes)
        let before = try volumes.map(retained.checksum)
        try Data("changed \(content)".utf8).write(to: URL(fileURLWithPath: canary))
        #expect(try volumes.map(retained.checksum) == before)
        // A warm run from the retained data: its check compares backups of the links.
        let warm = try engine.run(RunRequest(recipe: "leak-links", repository: repository, stages: [.install],
                                             environment: ["CANARY": canary],
                                             warmFrom: .init(version: "1.0.0+2.0.0", commit: cold.head.commit, runID: cold.id, volumes: volumes)))
        #expect(try warm.check(.install, "canonical-data", plugin: "cchost").verdict != .fail, "\(RunReport.console(warm))")
        #expect(Date().timeIntervalSince(started) < 600, "the runs took too long: something read /dev/zero")
        // Nothing anywhere, backups included, holds the canary's content.
        for text in [RunReport.console(cold), RunReport.console(warm)] { #expect(!text.contains(content)) }
        #expect(try SecretRedactionTests.files(under: state.url, holding: content, includingBackups: true) == [])
        #expect(SwarmRuns.leftovers(AppNaming.stackName(forDomain: cold.domain)).isEmpty)
        #expect(SwarmRuns.leftovers(AppNaming.stackName(forDomain: warm.domain)).isEmpty)
    }
}
