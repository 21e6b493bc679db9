import Foundation
@testable import HostBase
@testable import HostRuns
@testable import HostState
import PluginChannel
import Testing

/// The sandbox's command line and profiles, and the verdict table: pure decisions.
@Suite("Sandbox policy and verdicts")
struct SandboxPolicyTests {
    static let sandbox = Sandbox(bubblewrap: "/usr/bin/bwrap",
                                 runtimeDirectories: ["/opt/swift/usr/lib/swift/linux", "/usr/lib/x86_64-linux-gnu", "/usr/lib64"],
                                 symlinks: [("/lib", "usr/lib"), ("/lib64", "usr/lib64")])

    @Test("the bubblewrap command unshares every namespace, binds only runtime libraries, the worker and the plugin")
    func commandShape() {
        let command = Self.sandbox.command(worker: "/srv/cchost/cchost-worker", plugin: "/var/lib/cchost/overlays/ab.so",
                                           profile: .strict)
        #expect(command.first == "/usr/bin/bwrap")
        for flag in ["--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
                     "--die-with-parent", "--new-session", "--clearenv", "--disable-userns"] {
            #expect(command.contains(flag), "missing \(flag)")
        }
        #expect(zip(command, command.dropFirst()).contains { $0 == "--cap-drop" && $1 == "ALL" })
        // Everything bound from the host is read-only, and is a runtime folder, the worker or the plugin.
        let binds = command.indices.filter { command[$0].hasSuffix("bind") }.map { (command[$0], command[$0 + 1]) }
        #expect(binds.allSatisfy { $0.0 == "--ro-bind" })
        #expect(Set(binds.map(\.1)) == Set(Self.sandbox.runtimeDirectories + ["/srv/cchost/cchost-worker", "/var/lib/cchost/overlays/ab.so"]))
        #expect(!command.contains { $0.contains("docker.sock") || $0.contains("/root") || $0.contains("/home") || $0 == "/etc" })
        #expect(command.suffix(4) == [Sandbox.workerInside, "--confine", SandboxProfile.strict.confineArgument, Sandbox.pluginInside])
        #expect(command.contains("--tmpfs") && command.contains(String(SandboxProfile.strict.tmpBytes)))
    }

    @Test("without bubblewrap the worker still confines itself, and nothing else wraps it")
    func unsandboxedCommand() throws {
        let launcher = WorkerLauncher(workerPath: "/w", sandbox: nil)
        #expect(try launcher.command(plugin: "/p.so", profile: .strict) == ["/w", "--confine", SandboxProfile.strict.confineArgument, "/p.so"])
    }

    @Test("the confine argument carries every limit")
    func confineArgument() {
        #expect(SandboxProfile.strict.confineArgument == "as=1073741824,cpu=30,nofile=64,nproc=64,fsize=16777216")
    }

    @Test("the worker reports its own runtime libraries: the Swift runtime, libffi, libc and the loader")
    func workerReportsRuntimeLibraries() throws {
        let libraries = try Sandbox.runtimeLibraries(of: TestPaths.worker)
        for name in ["libswiftCore.so", "libffi.so", "libc.so.6", "libseccomp.so", "ld-linux-x86-64.so.2"] {
            #expect(libraries.contains { ($0 as NSString).lastPathComponent.hasPrefix(name) }, "\(name) missing from \(libraries)")
        }
        #expect(libraries.allSatisfy { $0.hasPrefix("/") })
        #expect(libraries.first == "/lib64/ld-linux-x86-64.so.2")
    }

    @Test("the worker's runtime report is remembered in the state folder, keyed by the worker's size and mtime")
    func runtimeReportCache() throws {
        let state = try TemporaryDirectory("state")
        let first = try Sandbox(bubblewrap: "/usr/bin/bwrap", worker: TestPaths.worker, cacheDirectory: state.path)
        #expect(first == (try Sandbox(bubblewrap: "/usr/bin/bwrap", worker: TestPaths.worker)))
        // A planted report with the same key is believed: proof the cache, not the worker, answered.
        let cache = URL(fileURLWithPath: state.file("worker-runtime.json"))
        var report = try JSONDecoder().decode(Sandbox.RuntimeReport.self, from: Data(contentsOf: cache))
        report.libraries = ["/opt/planted/libplanted.so"]
        try JSONEncoder().encode(report).write(to: cache)
        let planted = try Sandbox(bubblewrap: "/usr/bin/bwrap", worker: TestPaths.worker, cacheDirectory: state.path)
        #expect(planted.runtimeDirectories == ["/opt/planted"])
        // A different key (the worker changed) is ignored.
        report.size += 1
        try JSONEncoder().encode(report).write(to: cache)
        #expect(try Sandbox(bubblewrap: "/usr/bin/bwrap", worker: TestPaths.worker, cacheDirectory: state.path) == first)
    }

    @Test("a worker whose size and mtime cannot be read is asked, never answered from a cache it has no key for")
    func runtimeReportWithoutKey() throws {
        let state = try TemporaryDirectory("state")
        let worker = state.file("no-such-worker")
        // What a cache keyed by size 0 and mtime 0 (the old stand-ins for an unreadable worker) says.
        let report = Sandbox.RuntimeReport(worker: worker, size: 0, modified: 0, libraries: ["/opt/planted/libplanted.so"])
        try JSONEncoder().encode(report).write(to: URL(fileURLWithPath: state.file("worker-runtime.json")))
        #expect(throws: SandboxError.self) { _ = try Sandbox(bubblewrap: "/usr/bin/bwrap", worker: worker, cacheDirectory: state.path) }
    }

    @Test("locating the sandbox for the real worker finds bubblewrap and the Swift runtime folder")
    func locateOnThisMachine() throws {
        let sandbox = try Sandbox.locate(worker: TestPaths.worker)
        #expect(sandbox.bubblewrap.hasSuffix("/bwrap"))
        #expect(sandbox.runtimeDirectories.contains { FileManager.default.fileExists(atPath: "\($0)/libswiftCore.so") })
        #expect(sandbox.runtimeDirectories.contains { FileManager.default.fileExists(atPath: "\($0)/libffi.so.8") })
    }

    @Test("a missing bubblewrap refuses plugin execution with a message saying what to do")
    func missingBubblewrap() {
        #expect(throws: SandboxError.bubblewrapMissing) { try Sandbox.locate(worker: TestPaths.worker, searchPath: "/nonexistent") }
        #expect(SandboxError.bubblewrapMissing.description.contains("apt-get install bubblewrap"))
        #expect(SandboxError.bubblewrapMissing.description.contains("--no-sandbox"))
    }

    @Test("repo-local overlays always get the strict profile; operator plugins the configured one")
    func profileByOrigin() throws {
        let state = try TemporaryDirectory("state")
        let setup = try PluginSetup(environment: ["CCHOST_STATE_DIR": state.path, "PATH": "/usr/bin:/bin"])
        #expect(setup.profile(for: .overlay(recipe: "gitea")) == .strict)
        #expect(setup.profile(for: .builtin) == setup.configuration.operatorProfile)
        #expect(setup.profile(for: .operatorFolder("/x")) == .operatorDefault)
    }

    @Test("plugins run the same checks with and without bubblewrap; only the confinement differs")
    func unsandboxedStillWorks() throws {
        let session = try WorkerSession(plugin: try Fixture.compile("hostile"), launcher: .unsandboxedForTests(),
                                        services: HostServices())
        // Even without the namespaces, the worker's own syscall filter stops a fork bomb.
        let outcome = CheckOutcome.judging(session.invoke(Invocation(kind: .check, name: "fork-bomb", tier: "install"), timeout: 10))
        #expect(outcome.verdict == .pass)
        #expect(outcome.detail == "fork failed after 0 children: Operation not permitted")
    }

    @Test("entry results and worker failures map to verdicts", arguments: [
        (Result<EntryResult, WorkerFailure>.success(EntryResult(code: 0, detail: "ok")), Verdict.pass),
        (.success(EntryResult(code: 1, detail: "no")), .fail),
        (.success(EntryResult(code: 2, detail: "not here")), .skip),
        (.success(EntryResult(code: -1, detail: "host unavailable")), .unverified),
        (.success(EntryResult(code: 7, detail: "")), .unverified),
        (.success(EntryResult(code: nil, detail: "", failure: "no check named x")), .unverified),
        (.failure(.crashed(.signalled(11), during: "check x", diagnostics: "")), .unverified),
        (.failure(.timedOut(seconds: 1, during: "check x", diagnostics: "")), .unverified),
        (.failure(.protocolViolation("bad", during: "check x", diagnostics: "")), .unverified),
    ])
    func verdictTable(result: Result<EntryResult, WorkerFailure>, verdict: Verdict) {
        let outcome = CheckOutcome.judging(result)
        #expect(outcome.verdict == verdict)
        #expect((outcome.cause != nil) == (verdict == .unverified))
    }

    @Test("green means passed or skipped on purpose", arguments: [
        (Verdict.pass, true), (.skip, true), (.fail, false), (.unverified, false),
    ])
    func green(verdict: Verdict, isGreen: Bool) {
        #expect(verdict.isGreen == isGreen)
    }
}
