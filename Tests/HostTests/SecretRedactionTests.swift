import Foundation
@testable import HostBase
@testable import HostDocker
@testable import HostRuns
@testable import HostState
import PluginChannel
import Synchronization
import Testing

/// Secrets never reach what cchost writes for people, whoever printed them: the run engine on fakes
/// (an app log and a hook error holding a generated secret, a repository URL with a credential),
/// and what the host reads of app data (never through a link, never unbounded).
@Suite("Secrets and app data on fakes")
struct SecretRedactionTests {
    typealias Harness = RunEngineTests.Harness

    static let secret = "Gen3rated-s3cret-0f-the-app"

    /// Every file under `folder` that holds `needle`, except backup archives (kept byte-exact)
    /// unless asked.
    static func files(under folder: URL, holding needle: String, includingBackups: Bool = false) throws -> [String] {
        let needle = Data(needle.utf8)
        var found: [String] = []
        let enumerator = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey])
        while let url = enumerator?.nextObject() as? URL {
            guard try url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile == true,
                  includingBackups || !url.pathComponents.contains(where: { $0.hasPrefix("backup") }) else { continue }
            if try Data(contentsOf: url).range(of: needle) != nil { found.append(url.path) }
        }
        return found
    }

    /// Every text people see of a run: the events as they came (lines and records), the four reports.
    static func shown(_ record: RunRecord, events: [RunEvent]) -> [String] {
        var texts = events.map(\.line)
        for event in events {
            switch event {
            case .tierFinished(let tier): texts.append(String(decoding: try! JSONEncoder().encode(tier), as: UTF8.self))
            case .finished(let record): texts.append(String(decoding: try! RunReport.json(record), as: UTF8.self))
            default: break
            }
        }
        return texts + [RunReport.console(record), String(decoding: try! RunReport.json(record), as: UTF8.self),
                        RunReport.junit(record), RunReport.markdown(record)]
    }

    @Test("a secret the app logs and a failing hook prints reaches no event, report, artifact or database row")
    func appAndHookOutputIsRedacted() throws {
        let harness = try Harness { behaviour in
            behaviour.failures["backup"] = DeployError(operation: "backup pre-hook of app", stack: "s",
                                                       reason: "exit 1: pg_dump: password \(Self.secret) was refused")
        }
        harness.deployer.secrets.record(Self.secret)
        let docker = harness.docker
        harness.deployer.behaviour.withLock { behaviour in
            behaviour.afterDeploy = { app, _ in
                docker.update { $0.logs["\(app.stack)/app"] = "starting\nadmin password: \(Self.secret)\nlistening\n" }
            }
        }
        harness.engine.recorder = try StateStore(stateDirectory: harness.state.path)
        let record = try harness.run(stages: [.install, .backup, .restore])
        // The hostile acts happened: the backup failed with the hook's words, the app's log was read.
        #expect(try Self.tier(record, .backup).opDetail.contains("was refused"))
        #expect(harness.docker.calls.contains { $0.contains("serviceLogs") })
        let events = harness.events.list.withLock { $0 }
        for text in Self.shown(record, events: events) {
            #expect(!text.contains(Self.secret), "\(text)")
        }
        #expect(try Self.files(under: harness.state.url, holding: Self.secret) == [])
    }

    static func tier(_ record: RunRecord, _ tier: Tier) throws -> RunRecord.TierRecord { try RunEngineTests.tier(record, tier) }

    // MARK: App data read on the host

    @Test("a retained volume's checksum never reads through a link: a host folder, a host file and /dev/zero stay unread")
    func checksumNeverFollowsLinks() throws {
        let host = try TemporaryDirectory("leak-host")
        let canary = host.url.appendingPathComponent("canary")
        try FileManager.default.createDirectory(at: canary, withIntermediateDirectories: true)
        try Data("canary one".utf8).write(to: canary.appendingPathComponent("secret.txt"))
        let volume = try TemporaryDirectory("leak-volume")
        try Data("app data".utf8).write(to: volume.url.appendingPathComponent("data.txt"))
        let links = ["to-folder": canary.path, "to-file": canary.appendingPathComponent("secret.txt").path, "to-zero": "/dev/zero"]
        for (name, target) in links {
            try FileManager.default.createSymbolicLink(atPath: volume.file(name), withDestinationPath: target)
        }
        #expect(mkfifo(volume.file("fifo"), 0o600) == 0)
        let started = Date()
        let before = try RetainedVolumes.treeDigest(volume.path)
        // Were any link followed, the digest would change with what is behind it.
        try Data("canary two, longer".utf8).write(to: canary.appendingPathComponent("secret.txt"))
        try Data("more".utf8).write(to: canary.appendingPathComponent("another.txt"))
        #expect(try RetainedVolumes.treeDigest(volume.path) == before)
        #expect(Date().timeIntervalSince(started) < 5)
        // And the links themselves count: a changed target is a different tree.
        try FileManager.default.removeItem(atPath: volume.file("to-file"))
        try FileManager.default.createSymbolicLink(atPath: volume.file("to-file"), withDestinationPath: "/etc/hostname")
        #expect(try RetainedVolumes.treeDigest(volume.path) != before)
    }

    // MARK: A repository URL with a credential

    static let token = "tok3n-secret-value"

    @Test("a repository URL's credential is fetched with and never shown: not in events, reports, run.json or the database")
    func repositoryCredentialIsNeverShown() throws {
        let daemon = try GitDaemon(serving: try RunEngineTests.repositories.get().path)
        let address = "git://user:\(Self.token)@127.0.0.1:\(daemon.port)/static-site"
        let harness = try Harness()
        harness.engine.recorder = try StateStore(stateDirectory: harness.state.path)
        let record = try harness.engine.run(RunRequest(recipe: "static-site", repository: address, stages: [.install]))
        // The credential was there to use: the clone went through the URL that holds it.
        #expect(record.head.commit.count == 40)
        #expect(record.repository == "git://127.0.0.1:\(daemon.port)/static-site")
        for text in Self.shown(record, events: harness.events.list.withLock { $0 }) {
            #expect(!text.contains(Self.token), "\(text)")
        }
        #expect(try Self.files(under: harness.state.url, holding: Self.token) == [])
    }

    @Test("cchost run with a repository URL that cannot be fetched names the URL without its credential")
    func unreachableRepositoryCredentialIsNeverShown() throws {
        let state = try TemporaryDirectory("state")
        let result = try run(TestPaths.cli, ["run", "static-site", "--repo", "http://user:\(Self.token)@127.0.0.1:9/static-site.git",
                                                       "--stages", "lint", "--json", state.file("run.json")],
                                       environment: ["CCHOST_STATE_DIR": state.path, "CCHOST_PLUGIN_PATH": state.path,
                                                     "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("127.0.0.1:9/static-site.git"), "\(result.stderr)")
        #expect(!(result.stdout + result.stderr).contains(Self.token), "\(result.stdout)\(result.stderr)")
        #expect(try Self.files(under: state.url, holding: Self.token) == [])
    }
}

/// `git daemon` serving a folder of repositories at git://127.0.0.1:`port`/<name> until dropped.
final class GitDaemon {
    let process = Process()
    let port = Int.random(in: 20_000..<40_000)

    init(serving folder: String) throws {
        // The daemon itself, not `git daemon` (which would leave it running as an orphan when killed);
        // nothing of the test's own output is handed to it, so no reader waits on it.
        process.executableURL = URL(fileURLWithPath: "/usr/lib/git-core/git-daemon")
        process.arguments = ["--export-all", "--reuseaddr", "--base-path=\(folder)", "--listen=127.0.0.1", "--port=\(port)", folder]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Ready once it answers a listing.
        for _ in 0..<50 {
            let listing = try run("/usr/bin/git", ["ls-remote", "git://127.0.0.1:\(port)/static-site"])
            if listing.status == 0 { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        process.terminate()
        throw GitFixtureError(description: "git daemon did not answer on port \(port)")
    }

    deinit {
        // SIGKILL: the daemon inherits an ignored SIGTERM from the test process. No waiting:
        // Foundation may never learn of its end when another part of the process reaps children.
        kill(process.processIdentifier, SIGKILL)
    }
}
