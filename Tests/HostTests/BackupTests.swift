import Foundation
@testable import HostBase
@testable import HostDocker
@testable import HostRuns
import Testing

/// Backups as backup-bot-two takes them, on the real swarm with cchost's own helper container: the
/// swarm backend's backup and restore of a busybox app whose labels use every shape (a file and a
/// folder in one comma-separated label, an excluded volume, hooks, a first attempt that fails), and
/// the copy's refusals on a plain volume (a link out of the volume, an empty or missing path).
@Suite("Backups through the helper container", .serialized)
struct BackupTests {
    static let compose = """
        version: "3.8"
        services:
          app:
            image: cchost-example/httpd:1.35.0
            init: true
            command: ["/bin/sh", "-c", "mkdir -p /data/files && echo hello > /data/files/a.txt && echo scratch > /cache/c && exec sleep 1d"]
            volumes:
              - data:/data
              - cache:/cache
            deploy:
              labels:
                - "backupbot.backup=true"
                # The first attempt fails (a database still starting), the second dumps: 20 MB that do
                # not compress, beyond any output buffer.
                - "backupbot.backup.pre-hook=test -f /data/.tried || { touch /data/.tried; echo not ready >&2; exit 1; }; echo dump-1 > /data/dump.sql && head -c 20000000 /dev/urandom > /data/files/big.bin"
                - "backupbot.backup.post-hook=rm -f /data/dump.sql /data/files/big.bin"
                - "backupbot.backup.volumes.data.path=dump.sql, files/"
                - "backupbot.backup.volumes.cache=false"
                - "backupbot.restore.pre-hook=rm -rf /data/files"
                - "backupbot.restore.post-hook=cp /data/dump.sql /data/loaded.sql && rm -f /data/dump.sql"
        volumes:
          data:
          cache:

        """

    /// The app of one test: a recipe folder (no git needed by the deployer) under a fresh stack.
    static func app(_ folder: TemporaryDirectory) throws -> AppDeployment {
        try compose.write(toFile: folder.file("compose.yml"), atomically: true, encoding: .utf8)
        try "TYPE=backup-shapes\nDOMAIN=backup-shapes.example.com\n".write(toFile: folder.file(".env.sample"), atomically: true, encoding: .utf8)
        let id = String(UUID().uuidString.prefix(8)).lowercased()
        return AppDeployment(runID: id, recipe: "backup-shapes", domain: "bk-\(id).ci.example",
                             checkout: Checkout(directory: folder.path, ref: "1.0.0", commit: String(repeating: "b", count: 40)),
                             workDirectory: folder.url.appendingPathComponent("run"))
    }

    func shell(_ deployer: SwarmDeployer, _ app: AppDeployment, _ script: String) throws -> String {
        let container = try deployer.docker.runningContainer(stack: app.stack, service: "app")
        let result = try deployer.docker.exec(["sh", "-c", script], in: container, deadline: Date().addingTimeInterval(30))
        #expect(result.exitCode == 0, "\(script): \(String(decoding: result.stderr, as: UTF8.self))")
        return String(decoding: result.stdout, as: UTF8.self)
    }

    @Test("backup: pre-hooks, a file and a folder of one volume, the excluded volume left out, post-hooks, retried once; restore puts them back between its hooks", .requiresDocker)
    func backupAndRestore() throws {
        let folder = try TemporaryDirectory("backup-shapes")
        let app = try Self.app(folder)
        let deployer = SwarmDeployer(defaultTimeout: 60)
        defer { #expect(deployer.teardown(app).isClean) }
        try deployer.deploy(app, as: .install(ref: "1.0.0"))
        #expect(try deployer.docker.waitForConvergence(stack: app.stack, deadline: Date().addingTimeInterval(60)) == .converged)
        _ = try shell(deployer, app, "until [ -f /data/files/a.txt ]; do sleep 0.1; done")

        let started = Date()
        let record = try deployer.backup(app)
        print("backup of 20 MB through the helper, with one retry: \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        #expect(record.attempts == 2)
        #expect(record.failedAttempts.count == 1 && record.failedAttempts[0].contains("backup pre-hook of app")
                && record.failedAttempts[0].contains("not ready"), "\(record.failedAttempts)")
        let archive = try #require(record.archives.first)
        #expect(record.archives.count == 1 && archive.volume == "data" && archive.paths == ["dump.sql", "files"])
        let size = try FileManager.default.attributesOfItem(atPath: archive.file)[.size] as? Int
        #expect(archive.bytes > 16 << 20 && archive.bytes == size)
        let listing = try TarListing(file: URL(fileURLWithPath: archive.file))
        #expect(listing.members.map(\.path).sorted() == ["dump.sql", "files", "files/a.txt", "files/big.bin"])
        #expect(listing.members.first { $0.path == "files/big.bin" }?.size == 20_000_000)
        // The post-hook ran: the dump is gone from the volume.
        #expect(try shell(deployer, app, "ls /data") == "files\n")

        _ = try shell(deployer, app, "echo changed > /data/files/a.txt")
        try deployer.restore(app, from: record)
        #expect(try shell(deployer, app, "cat /data/files/a.txt /data/loaded.sql; ls /data; wc -c < /data/files/big.bin")
                == "hello\ndump-1\nfiles\nloaded.sql\n20000000\n")
    }

    /// A volume of its own stack, filled by `script` in the helper (the volume at /volume).
    static func volume(_ stack: String, _ script: String) throws -> String {
        let name = "\(stack)_data"
        let helper = HelperContainer()
        try helper.cli.run(["volume", "create", "--label", "com.docker.stack.namespace=\(stack)", name])
        let output = try helper.run("cd /volume && " + script, volume: name, readOnly: false, stack: stack, timeout: 60, operation: "fill")
        #expect(output.succeeded, "\(output.stderrText)")
        return name
    }

    @Test("the copy never follows a link out of the volume, archives links inside as links, and names a missing or empty path", .requiresDocker)
    func hostilePaths() throws {
        let folder = try TemporaryDirectory("backup-paths")
        let app = try Self.app(folder)
        let deployer = SwarmDeployer()
        defer { #expect(deployer.teardown(stack: app.stack).isClean) }
        _ = try Self.volume(app.stack, "ln -s /etc/passwd leak; mkdir f; echo x > f/x; ln -s /etc f/etc; : > empty.sql")
        let into = folder.url
        func copy(_ paths: [String]) throws(DeployError) -> BackupArchive {
            try deployer.archive(BackupLabels.Selection(volume: "data", paths: paths), of: "app", app: app, into: into)
        }
        let leak = #expect(throws: DeployError.self) { try copy(["leak"]) }
        #expect(leak?.reason == "leak leads out of the volume (a link to /etc/passwd)")
        let empty = #expect(throws: DeployError.self) { try copy(["empty.sql", "missing"]) }
        #expect(empty?.reason == "missing is not in the volume")
        let emptyFile = #expect(throws: DeployError.self) { try copy(["empty.sql"]) }
        #expect(emptyFile?.reason == "empty.sql is empty")

        let inside = try copy(["f"])
        let members = try TarListing(file: URL(fileURLWithPath: inside.file)).members
        #expect(members.map(\.path).sorted() == ["f", "f/etc", "f/x"])
        #expect(members.first { $0.path == "f/etc" }?.kind == .link)
    }

    @Test("a cut-off archive is refused with where it ends", .requiresDocker)
    func cutOffArchive() throws {
        let folder = try TemporaryDirectory("backup-cut")
        let app = try Self.app(folder)
        let deployer = SwarmDeployer()
        defer { #expect(deployer.teardown(stack: app.stack).isClean) }
        _ = try Self.volume(app.stack, "head -c 100000 /dev/urandom > blob")
        let archive = try deployer.archive(BackupLabels.Selection(volume: "data", paths: ["blob"]), of: "app", app: app, into: folder.url)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: archive.file))
        try handle.truncate(atOffset: 50_000)
        try handle.close()
        #expect { try TarListing(file: URL(fileURLWithPath: archive.file)) } throws: { "\($0)" == "the archive ends inside blob: it is cut off" }
    }
}

/// What the backup verifies in an archive, read from archives the host's GNU tar writes.
@Suite("Archive listings")
struct TarListingTests {
    @Test("long names, folders, files and links are listed as archived; each declared path is there with content or named")
    func listing() throws {
        let folder = try TemporaryDirectory("tar-listing")
        let root = folder.url.appendingPathComponent("volume")
        let deep = String(repeating: "long-folder-name/", count: 8) + "file.txt"
        try FileManager.default.createDirectory(at: root.appendingPathComponent(deep).deletingLastPathComponent(), withIntermediateDirectories: true)
        try "deep".write(to: root.appendingPathComponent(deep), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("empty-folder"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("marked-folder"), withIntermediateDirectories: true)
        try "cchost-1".write(to: root.appendingPathComponent("marked-folder/.cchost-marker"), atomically: true, encoding: .utf8)
        try Data().write(to: root.appendingPathComponent("empty.sql"))
        try "dump".write(to: root.appendingPathComponent("dump.sql"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("link").path, withDestinationPath: "/etc")
        let archive = folder.url.appendingPathComponent("a.tar")
        let tar = try Command.run("/bin/tar", ["-C", root.path, "-cf", archive.path, "."], environment: [:], timeout: 30)
        #expect(tar.succeeded, "\(tar.stderrText)")

        let listing = try TarListing(file: archive)
        #expect(listing.members.contains(.init(path: deep, kind: .file, size: 4)), "\(listing.members.map(\.path))")
        #expect(listing.members.contains { $0.path == "link" && $0.kind == .link })
        #expect(listing.problem(with: ".") == nil)
        #expect(listing.problem(with: "dump.sql") == nil)
        #expect(listing.problem(with: "./long-folder-name/") == nil)
        #expect(listing.problem(with: "empty.sql") == "empty.sql is empty")
        #expect(listing.problem(with: "empty-folder") == "the folder empty-folder is empty")
        // cchost's own marker is not the recipe's data: a folder holding only it is empty.
        #expect(listing.problem(with: "marked-folder") == "the folder marked-folder is empty")
        #expect(listing.problem(with: "missing") == "missing is not in the archive")
    }

    @Test("a file that is not a tar archive, or one cut off before its end blocks, is refused")
    func damaged() throws {
        let folder = try TemporaryDirectory("tar-damaged")
        let text = folder.url.appendingPathComponent("text.tar")
        try Data(repeating: 0x41, count: 1024).write(to: text)
        #expect { try TarListing(file: text) } throws: { "\($0)".contains("not a tar archive") }
        let empty = folder.url.appendingPathComponent("empty.tar")
        try Data().write(to: empty)
        #expect { try TarListing(file: empty) } throws: { "\($0)".contains("cut off") }
    }
}

extension BackupTests {
    @Test("a volume name that Docker would not accept never reaches the helper's --mount")
    func oddVolumeName() throws {
        let error = #expect(throws: DeployError.self) {
            try HelperContainer(cli: DockerCLI(executable: "/bin/false")).run("true", volume: "x_data,target=/etc", stack: "x", timeout: 5, operation: "copy")
        }
        #expect(error?.reason == "\"x_data,target=/etc\" is not a volume name Docker accepts")
    }
}

/// The data proof's comparison, on archives the host's GNU tar writes.
@Suite("Data proof")
struct DataProofTests {
    /// An archive of one volume holding `files` (path → contents), recorded as service `db`'s.
    static func archive(_ folder: TemporaryDirectory, _ name: String, _ files: [String: String]) throws -> BackupArchive {
        let root = folder.url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        for (path, contents) in files {
            let file = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try contents.write(to: file, atomically: true, encoding: .utf8)
        }
        let tar = folder.url.appendingPathComponent("\(name).tar")
        let made = try Command.run("/bin/tar", ["-C", root.path, "-cf", tar.path, "."], environment: [:], timeout: 30)
        #expect(made.succeeded, "\(made.stderrText)")
        return BackupArchive(service: "db", volume: "data", paths: ["."], file: tar.path, bytes: 0)
    }

    static let schema = "\\restrict Ab34\nCREATE TABLE notes (text);\n-- Dump completed on 2026-11-30 10:00:00\n\\unrestrict Ab34\n"

    func judge(_ backup: [String: String], _ fresh: [String: String], _ restored: [String: String],
               hooked: Bool = true) throws -> (verdict: Verdict, detail: String) {
        let folder = try TemporaryDirectory("data-proof")
        let services: Set<String> = hooked ? ["db"] : []
        return DataProof.judge(backup: try DataProof.items(of: [Self.archive(folder, "backup", backup)], hooked: services),
                               fresh: try DataProof.items(of: [Self.archive(folder, "fresh", fresh)], hooked: services),
                               restored: try DataProof.items(of: [Self.archive(folder, "restored", restored)], hooked: services))
    }

    @Test("a dump whose seeded rows are back passes, whatever the dump tool's time and the app's own later rows")
    func rowsBack() throws {
        let dump = Self.schema + "INSERT INTO notes VALUES ('seeded');\n"
        let later = "\\restrict Xy12\nCREATE TABLE notes (text);\n-- Dump completed on 2026-11-30 11:00:00\nINSERT INTO notes VALUES ('seeded');\nINSERT INTO notes VALUES ('the app wrote this since');\n"
        let judged = try judge(["backup.sql": dump], ["backup.sql": Self.schema], ["backup.sql": later])
        #expect(judged.verdict == .pass, "\(judged.detail)")
        #expect(judged.detail.hasPrefix("all 1 item(s)"))
    }

    @Test("a restore that does not load the dump is RED, naming what was lost")
    func rowsLost() throws {
        let dump = Self.schema + "INSERT INTO notes VALUES ('seeded');\n"
        let judged = try judge(["backup.sql": dump], ["backup.sql": Self.schema], ["backup.sql": Self.schema])
        #expect(judged.verdict == .fail)
        #expect(judged.detail.contains("the restore lost 1 of the 1 item(s)") && judged.detail.contains("INSERT INTO notes VALUES ('seeded');"), "\(judged.detail)")
    }

    @Test("a backup that holds nothing a fresh install lacks is unverified: nothing seeded, never a pass")
    func nothingSeeded() throws {
        let judged = try judge(["backup.sql": Self.schema], ["backup.sql": Self.schema], ["backup.sql": Self.schema])
        #expect(judged.verdict == .unverified)
        #expect(judged.detail.hasPrefix("nothing seeded"))
    }

    @Test("without a pre-hook, files are compared by digest: a changed file is lost data")
    func digests() throws {
        let back = try judge(["uploads/a.png": "picture"], [:], ["uploads/a.png": "picture"], hooked: false)
        #expect(back.verdict == .pass, "\(back.detail)")
        let changed = try judge(["uploads/a.png": "picture"], [:], ["uploads/a.png": "pict"], hooked: false)
        #expect(changed.verdict == .fail)
    }
}
