import Foundation
@testable import HostBase
@testable import HostDocker
@testable import HostRuns
@testable import HostState
import Testing
import Yams

/// Faults lose nothing: the janitor touches only what its own state folder made.
@Suite("Faults lose nothing")
struct FaultsLoseNothingTests {
    /// A stack deployed with plain `docker stack deploy` (no cchost involved), with `labels` on its
    /// one service: a service of no replicas, so nothing runs. Returns its name.
    static func plainStack(_ prefix: String, labels: [String: String] = [:], in folder: TemporaryDirectory) throws -> String {
        let stack = "\(prefix)\(UUID().uuidString.prefix(8).lowercased())_ci_example"
        let labelLines = labels.map { "          \($0.key): \"\($0.value)\"" }.joined(separator: "\n")
        let compose = """
            version: "3.8"
            services:
              idle:
                image: cchost-test/busybox:engine-tests
                command: ["sleep", "3600"]
                deploy:
                  replicas: 0
            \(labels.isEmpty ? "" : "      labels:\n" + labelLines)

            """
        let file = folder.url.appendingPathComponent("\(stack).yml")
        try Data(compose.utf8).write(to: file)
        let deployed = try run("/usr/bin/docker", ["stack", "deploy", "-c", file.path, stack])
        #expect(deployed.status == 0, "\(deployed.stderr)")
        return stack
    }

    static func removeStack(_ stack: String) {
        _ = try? run("/usr/bin/docker", ["stack", "rm", stack])
    }

    @Test("a state folder's identity is made once and read back the same; a damaged one is an error naming its file")
    func stateIdentity() throws {
        let state = try TemporaryDirectory("state")
        let first = try StateIdentity.of(stateDirectory: state.url)
        #expect(try StateIdentity.of(stateDirectory: state.url) == first)
        #expect(try String(contentsOf: state.url.appendingPathComponent("state-id"), encoding: .utf8) == first + "\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: state.path) == ["state-id"])
        try Data("not an id!\n".utf8).write(to: state.url.appendingPathComponent("state-id"))
        #expect { try StateIdentity.of(stateDirectory: state.url) } throws: { "\($0)".contains("\(state.path)/state-id is not an id") }
    }

    @Test("a deploy labels every service of the recipe with its run and state folder, and the coop-cloud labels stay on app")
    func deployLabelsEveryService() throws {
        let folder = try TemporaryDirectory("labels")
        let recipe = try Recipe.load(directory: TestPaths.packageRoot.appendingPathComponent("Tests/Fixtures/recipes/notes-db").path)
        let app = AppDeployment(runID: "3f9a0c1d", recipe: "notes-db", domain: "n-3f9a0c1d.ci.example",
                                checkout: Checkout(directory: folder.path, ref: "1.0.0+1", commit: String(repeating: "a", count: 40)),
                                workDirectory: folder.url, owner: "state-a")
        let stack = SwarmDeployer().withAdditions(recipe, app: app, kind: .install(ref: "1.0.0+1"))
        let yaml = try #require(try Yams.load(yaml: stack.json(escaping: true)) as? [String: Any])
        let services = try #require(yaml["services"] as? [String: [String: Any]])
        let labels = services.mapValues { (($0["deploy"] as? [String: Any])?["labels"] as? [String: String]) ?? [:] }
        #expect(Set(services.keys) == ["app", "db"])
        for (name, service) in labels {
            #expect(service["cchost.state"] == "state-a", "\(name)")
            #expect(service["cchost.run"] == "3f9a0c1d", "\(name)")
        }
        #expect(labels["app"]?["coop-cloud.n-3f9a0c1d_ci_example.version"] == "1.0.0+1")
        #expect(labels["db"]?.keys.contains { $0.hasPrefix("coop-cloud.") } == false)
    }

    @Test("the janitor of one state folder never picks another state's stack, a stack cchost never made, or a secret it did not make", .requiresDocker)
    func janitorTouchesOnlyItsOwn() throws {
        let stateA = try TemporaryDirectory("state-a"), stateB = try TemporaryDirectory("state-b")
        // State B's run, dead (its registry names a pid no process has), and a plain `docker stack deploy`.
        let ownerB = "state-b-\(UUID().uuidString.lowercased())"
        let stackB = try Self.plainStack("stb", labels: ["cchost.state": ownerB], in: stateB)
        defer { Self.removeStack(stackB) }
        let registryB = ActiveRuns(directory: stateB.url.appendingPathComponent("runs/active"))
        try FileManager.default.createDirectory(at: registryB.directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        try encoder.encode(ActiveRuns.Entry(runID: "dead", stack: stackB, pid: Int32.max, startedAt: Date()))
            .write(to: registryB.directory.appendingPathComponent("dead.json"))
        let foreign = try Self.plainStack("stf", in: stateA)
        defer { Self.removeStack(foreign) }
        let secret = "sts\(UUID().uuidString.prefix(8).lowercased())_ci_example_db_password_v1"
        #expect(try run("/bin/sh", ["-c", "printf x | docker secret create \(secret) -"]).status == 0)
        defer { _ = try? run("/usr/bin/docker", ["secret", "rm", secret]) }

        let janitorA = Janitor(deployer: SwarmDeployer(), registry: ActiveRuns(directory: stateA.url.appendingPathComponent("runs/active")),
                               owner: try StateIdentity.of(stateDirectory: stateA.url), baseDomain: "ci.example")
        // Only candidates (what `reap` tears down), at age 0: reaping would tear down other tests' stacks too.
        let picked = try janitorA.candidates(olderThan: 0).map(\.stack)
        #expect(!picked.contains(stackB), "state A's janitor picked state B's stack \(stackB)")
        #expect(!picked.contains(foreign), "state A's janitor picked \(foreign), which cchost never deployed")
        #expect(!picked.contains { secret.hasPrefix($0 + "_") }, "state A's janitor picked the secret \(secret), which it never made")
        // State B's own janitor does pick its dead run's stack: the one above was not passed over by accident.
        let janitorB = Janitor(deployer: SwarmDeployer(), registry: registryB, owner: ownerB, baseDomain: "ci.example")
        #expect(try janitorB.candidates(olderThan: 3600).map(\.stack).contains(stackB))
    }

    // MARK: A corrupt state database is never written to

    /// A state folder whose database has runs and a canonical, then a page in its middle damaged (as
    /// a disk error would): SQLite still writes to it. Returns the state folder.
    static func corruptState() throws -> TemporaryDirectory {
        let state = try TemporaryDirectory("damaged")
        let store = try StateStore(stateDirectory: state.path)
        try store.promote(StateStoreTests.canonical("static-site", "1.0.0+1", run: "r0"), previous: nil)
        for index in 0..<200 {
            try store.record(run: StateStoreTests.storedRun("run\(index)", recipe: "static-site", at: 1_700_000_000 + Double(index)))
        }
        let database = state.url.appendingPathComponent("cchost.sqlite").path
        _ = try StateStoreTests.sqlite(database, "PRAGMA wal_checkpoint(TRUNCATE)")
        let pages = try #require(Int(try StateStoreTests.sqlite(database, "PRAGMA page_count")))
        let pageSize = try #require(Int(try StateStoreTests.sqlite(database, "PRAGMA page_size")))
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: database))
        // A b-tree page's first free block offset: the page's free space no longer adds up.
        try handle.seek(toOffset: UInt64(pageSize * (pages / 2) + 1))
        handle.write(Data([0xFF, 0xFF]))
        try handle.close()
        // The damage is real: SQLite's own check finds it.
        let check = try run("/usr/bin/sqlite3", [database, "PRAGMA quick_check"])
        #expect(check.stdout.trimmingCharacters(in: .whitespacesAndNewlines) != "ok", "the database was not damaged: \(check.stdout)")
        return state
    }

    static func cli(_ arguments: [String], state: TemporaryDirectory) throws -> CommandResult {
        try run(TestPaths.cli, arguments, environment: [
            "CCHOST_STATE_DIR": state.path,
            "CCHOST_PLUGIN_PATH": state.path, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
        ])
    }

    static func digest(_ state: TemporaryDirectory) throws -> String {
        try Digest.sha256(ofFileAt: state.url.appendingPathComponent("cchost.sqlite").path).hex
    }

    @Test("a corrupt database whose corruption mark cannot be written says so: the next command would not know")
    func unwritableCorruptionMark() throws {
        let state = try Self.corruptState()
        let store = try StateStore(stateDirectory: state.path)
        // A folder where the mark goes (with a file in it): writing the mark fails.
        let mark = state.url.appendingPathComponent("cchost.sqlite.corrupt")
        try FileManager.default.createDirectory(at: mark, withIntermediateDirectories: true)
        try Data().write(to: mark.appendingPathComponent("x"))
        do {
            try store.checkIntegrity()
            Issue.record("a corrupt database passed the check")
        } catch {
            #expect(error.message.contains("is corrupt"), "\(error)")
            #expect(error.message.contains("could not be written") && error.message.contains("will not know"), "\(error)")
        }
    }

    @Test("a sweep on a corrupt state database stops before writing, names the database and says how to recover")
    func sweepRefusesCorruptDatabase() throws {
        let state = try Self.corruptState()
        let before = try Self.digest(state)
        let result = try Self.cli(["sweep", "--dry-run"], state: state)
        #expect(result.status == 2, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains("\(state.path)/cchost.sqlite") && result.stderr.contains("is corrupt"), "\(result.stderr)")
        #expect(result.stderr.contains(".recover"), "no way to recover was given: \(result.stderr)")
        #expect(try Self.digest(state) == before)
    }

    @Test("after a run of the state folder was killed, cchost run checks the database and refuses a corrupt one before anything is deployed")
    func runAfterUncleanShutdownRefusesCorruptDatabase() throws {
        let state = try Self.corruptState()
        let registry = ActiveRuns(directory: state.url.appendingPathComponent("runs/active"))
        try FileManager.default.createDirectory(at: registry.directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        try encoder.encode(ActiveRuns.Entry(runID: "killed", stack: "killed-1_ci_example", pid: Int32.max, startedAt: Date()))
            .write(to: registry.directory.appendingPathComponent("killed.json"))
        let result = try Self.cli(["run", "static-site", "--repo", state.url.appendingPathComponent("no-such-repo").path], state: state)
        #expect(result.status == 2, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains("is corrupt") && result.stderr.contains(".recover"), "\(result.stderr)")
    }

    // MARK: A read-only state folder can still be read

    @Test("canon show and runs list read a read-only state folder", .enabled(if: getuid() == 0, "mounts a file system: needs root"))
    func readOnlyStateFolder() throws {
        let state = try TemporaryDirectory("readonly")
        let store = try StateStore(stateDirectory: state.path)
        try store.promote(StateStoreTests.canonical("static-site", "1.0.0+1", run: "r0"), previous: nil)
        try store.record(run: StateStoreTests.storedRun("run0", recipe: "static-site", at: 1_700_000_000))
        _ = try StateStoreTests.sqlite(state.url.appendingPathComponent("cchost.sqlite").path, "PRAGMA wal_checkpoint(TRUNCATE)")
        // Root writes through file modes: a read-only bind mount is what a read-only disk looks like.
        #expect(try run("/bin/mount", ["--bind", "-o", "ro", state.path, state.path]).status == 0)
        defer { _ = try? run("/bin/umount", [state.path]) }
        #expect(!FileManager.default.createFile(atPath: state.url.appendingPathComponent("probe").path, contents: Data()),
                "the state folder is still writable; the test proves nothing")
        let show = try Self.cli(["canon", "show", "static-site"], state: state)
        #expect(show.status == 0 && show.stdout.contains("1.0.0+1"), "\(show.stdout)\(show.stderr)")
        let runs = try Self.cli(["runs", "list"], state: state)
        #expect(runs.status == 0 && runs.stdout.contains("run0"), "\(runs.stdout)\(runs.stderr)")
    }

    // MARK: A canonical being read is never collected

    @Test("a canonical's data read by a warm run stays through a promotion and garbage collection, and goes once the reader ends")
    func canonicalReadersAreRespected() throws {
        let state = try TemporaryDirectory("reader")
        try Self.readerKeepsCanonical(docker: FakeDocker(root: state.url), state: state)
    }

    @Test("the same with real Docker volumes: garbage collection of one state folder keeps what its warm run reads", .requiresDocker)
    func canonicalReadersAreRespectedOnDocker() throws {
        let state = try TemporaryDirectory("reader")
        let volumes = RetainedVolumes(docker: DockerDaemon(), stateDirectory: state.path)
        // Only volumes labelled with this temporary state folder are ever listed or removed.
        defer { _ = try? volumes.remove(volumes.list().map(\.name)) }
        try Self.readerKeepsCanonical(docker: DockerDaemon(), state: state)
    }

    static func readerKeepsCanonical(docker: any Docker, state: TemporaryDirectory) throws {
        let volumes = RetainedVolumes(docker: docker, stateDirectory: state.path)
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let (oldRun, newRun) = ("old\(suffix)", "new\(suffix)")
        let name = { (run: String) in RetainedVolumes.name(recipe: "site", runID: run, volume: "data") }
        for run in [oldRun, newRun] {
            try docker.createVolume(name(run), labels: ["cchost.canon.state": state.path, "cchost.canon.recipe": "site",
                                                        "cchost.canon.run": run, "cchost.canon.volume": "data"])
        }
        let store = try StateStore(stateDirectory: state.path)
        try store.promote(Canonical(recipe: "site", version: "1.0.0+1", commit: "a", promotedAt: Date(), runID: oldRun,
                                    volumes: [name(oldRun)]), previous: nil)
        var reader: CanonicalReader? = try CanonicalReader(recipe: "site", store: store)
        #expect(reader?.canonical.runID == oldRun)
        // A sweep promotes a newer release while the warm run still copies the old canonical's data.
        try store.promote(Canonical(recipe: "site", version: "1.1.0+1", commit: "b", promotedAt: Date(), runID: newRun,
                                    volumes: [name(newRun)]), previous: "1.0.0+1")
        let whileRead = try Janitor.unusedRetainedVolumes(store: store, volumes: volumes, dryRun: false)
        #expect(whileRead.isEmpty, "garbage collection removed \(whileRead) while a warm run read it")
        #expect(try volumes.list().map(\.name).sorted() == [name(newRun), name(oldRun)])
        withExtendedLifetime(reader) {}
        reader = nil
        #expect(try Janitor.unusedRetainedVolumes(store: store, volumes: volumes, dryRun: false) == [name(oldRun)])
    }

    // MARK: A killed run is recorded as interrupted

    @Test("a run killed with SIGKILL is recorded as interrupted by cchost janitor, and its checkouts go with its app", .requiresDocker)
    func killedRunRecordedAsInterrupted() throws {
        let state = try TemporaryDirectory("state")
        let (process, stack) = try EndToEndTests().startRun(state: state)
        let runID = try #require(try ActiveRuns(directory: state.url.appendingPathComponent("runs/active")).entries().first?.runID)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let work = state.url.appendingPathComponent("runs/\(runID)")
        #expect(FileManager.default.fileExists(atPath: work.appendingPathComponent("head").path), "the killed run left no checkout; the test proves nothing")
        let unfinished = try #require(try StateStore(stateDirectory: state.path).run(id: runID))
        #expect(unfinished.finishedAt == nil, "the killed run's row is already finished; the test proves nothing")

        let result = try Self.cli(["janitor"], state: state)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(EndToEndTests.leftovers(stack).isEmpty, "\(EndToEndTests.leftovers(stack))")
        let row = try #require(try StateStore(stateDirectory: state.path).run(id: runID))
        #expect(row.finishedAt != nil && row.verdict == "unverified", "\(row.verdict) \(String(describing: row.finishedAt))")
        let record = try RunReport.decode(Data(row.record.utf8))
        #expect(record.aborted?.contains("interrupted") == true, "\(String(describing: record.aborted))")
        for folder in ["head", "base", "source"] {
            #expect(!FileManager.default.fileExists(atPath: work.appendingPathComponent(folder).path), "\(folder) is left")
        }
    }

    // MARK: Infrastructure faults are unverified, never the recipe's failure

    @Test("a disk that fills up under the run's folder mid-run makes the install unverified, never the recipe's failure", .requiresDocker)
    func fullDiskIsUnverified() throws {
        let state = try TemporaryDirectory("fulldisk")
        #expect(try run("/bin/mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", state.path]).status == 0)
        defer { _ = try? run("/bin/umount", ["-l", state.path]) }
        let filler = state.url.appendingPathComponent("filler").path
        // Once the run is planned (its checkouts made) and before it deploys, the disk fills up.
        let engine = RunEngine(deployer: SwarmDeployer(defaultTimeout: 60), plugins: [], launcher: .forTests(),
                               runsDirectory: state.url.appendingPathComponent("runs"),
                               retainedData: RetainedVolumes(docker: DockerDaemon(), stateDirectory: state.path), events: { event in
                                   if case .started = event { _ = try? run("/bin/sh", ["-c", "dd if=/dev/zero of=\(filler) bs=64k 2>/dev/null; true"]) }
                               })
        let record = try engine.run(RunRequest(recipe: "static-site", repository: EndToEndTests.repository("static-site"), stages: [.install]))
        let install = try record.tier(.install)
        #expect(install.opDetail.contains("No space left") || install.opDetail.contains("space"), "the disk never filled: \(install.opDetail)")
        #expect(install.opVerdict == .unverified, "\(install.opVerdict): \(install.opDetail)")
        #expect(record.judgement.verdict != .fail, "\(record.judgement.line)")
        #expect(EndToEndTests.leftovers(AppNaming.stackName(forDomain: record.domain)).isEmpty)
    }

    @Test("a command's output streamed into a file on a full disk fails as the host's fault, and the partial file is gone", .enabled(if: getuid() == 0, "mounts a file system: needs root"))
    func streamToFullDiskIsHostFault() throws {
        let folder = try TemporaryDirectory("tinydisk")
        #expect(try run("/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", folder.path]).status == 0)
        defer { _ = try? run("/bin/umount", ["-l", folder.path]) }
        let file = folder.url.appendingPathComponent("archive.tar")
        let error = #expect(throws: CommandError.self) {
            try Command.run("/usr/bin/head", ["-c", "1048576", "/dev/zero"], environment: [:], input: .none, stdoutFile: file, timeout: 30)
        }
        #expect(error?.isHostFault == true && error?.reason.contains("No space left") == true, "\(String(describing: error))")
        #expect(!FileManager.default.fileExists(atPath: file.path))
        // A command that fails on its own is not the host's fault.
        let own = #expect(throws: CommandError.self) {
            try Command.run("/bin/sleep", ["5"], environment: [:], input: .none, stdoutFile: file, timeout: 1)
        }
        #expect(own?.isHostFault == false)
    }

    @Test("SIGTERM to cchost run still writes its --json report, cancelled, after teardown", .requiresDocker)
    func sigtermWritesJSON() throws {
        let state = try TemporaryDirectory("state")
        let json = state.url.appendingPathComponent("report.json")
        let (process, stack) = try EndToEndTests().startRun(state: state, arguments: ["--json", json.path])
        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationStatus == 128 + SIGTERM)
        let record = try RunReport.decode(Data(contentsOf: json))
        #expect(record.aborted?.contains("SIGTERM") == true, "\(String(describing: record.aborted))")
        #expect(EndToEndTests.leftovers(stack).isEmpty)
    }

    /// A state database that takes the start of a run and then can no longer be written (a full disk).
    final class FailingFinish: RunRecorder {
        struct DiskFull: Error, CustomStringConvertible { var description: String { "database or disk is full" } }
        func started(_ record: RunRecord) throws {}
        func finished(_ record: RunRecord) throws { throw DiskFull() }
        func interrupted(runID: String, reason: String) throws {}
    }

    @Test("a run whose record cannot be stored is not green: it is unverified, saying why, so no exit 0 and no promotion rest on it")
    func unstoredRecordIsNotGreen() throws {
        let harness = try RunEngineTests.Harness()
        harness.engine.recorder = FailingFinish()
        let record = try harness.run(stages: [.install])
        #expect(try record.tier(.install).verdict == .pass, "the run itself must pass for this test to prove anything")
        #expect(!record.isGreen && record.exitStatus != 0, "\(record.judgement.line)")
        #expect(record.aborted?.contains("database or disk is full") == true, "\(String(describing: record.aborted))")
    }
}
