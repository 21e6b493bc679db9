import Foundation
import HostBase
import PluginChannel
import Testing

/// Calls into loaded plugins: typed checks through libffi, the host table and its policy, and
/// workers that crash, hang or flood their output.
@Suite("Calling plugin entries")
struct WorkerSessionTests {
    let launcher = WorkerLauncher.forTests()

    func session(_ library: String, app: AppContext? = nil, configuration: [String: String] = [:],
                 artifacts: URL? = nil) throws -> WorkerSession {
        try WorkerSession(plugin: library, launcher: launcher,
                          services: HostServices(app: app, configuration: configuration, artifactsDirectory: artifacts))
    }

    static let app = AppContext(recipe: "custom-html", domain: "t1.ci.example", services: ["app", "db"],
                                labels: ["coop-cloud.t1_ci_example.recipe": "custom-html",
                                         "coop-cloud.t1_ci_example.version": "1.0.0+1.25"])

    func check(_ name: String, tier: String = "install", arguments: [String: ArgumentValue] = [:]) -> Invocation {
        Invocation(kind: .check, name: name, tier: tier, arguments: arguments)
    }

    @Test("a typed C check gets its argument bound by name and called through libffi")
    func typedCheckBindsArguments() throws {
        let worker = try session(TestPaths.product("libcchost-example-c.so"), app: Self.app)
        defer { worker.close() }
        let present = try worker.invoke(check("has-service", arguments: ["service": .string("db")]), timeout: 5).get()
        #expect(present.code == 0)
        let absent = try worker.invoke(check("has-service", arguments: ["service": .string("redis")]), timeout: 5).get()
        #expect(absent.code == 1)
    }

    @Test("a typed check with a missing or mistyped argument is not called, and says which parameter")
    func typedCheckArgumentErrors() throws {
        let worker = try session(TestPaths.product("libcchost-example-c.so"), app: Self.app)
        defer { worker.close() }
        let missing = try worker.invoke(check("has-service"), timeout: 5).get()
        #expect(missing.code == nil)
        #expect(missing.failure?.contains("parameter \"service\"") == true)
        let mistyped = try worker.invoke(check("has-service", arguments: ["service": .integer(3)]), timeout: 5).get()
        #expect(mistyped.code == nil)
        #expect(mistyped.failure?.contains("is const char *") == true)
        // The session survives both and still answers.
        #expect(try worker.invoke(check("has-service", arguments: ["service": .string("app")]), timeout: 5).get().code == 0)
    }

    @Test("the generic suite's typed http-expect binds a string, an int and a string")
    func genericTypedCheckBindsThreeArguments() throws {
        let worker = try session(TestPaths.product("libcchost-generic.so"), app: Self.app)
        defer { worker.close() }
        // No gateway to the app in this session: the host answers `unavailable`, the check says it could not evaluate.
        let result = try worker.invoke(check("http-expect", arguments: [
            "path": .string("/"), "status": .integer(200), "needle": .string("Hello")]), timeout: 5).get()
        #expect(result.code == -1)
        #expect(worker.services.takeLogs().contains { $0.message.contains("cannot reach the app") })
    }

    @Test("a Swift plain check reads app info through the host and judges it")
    func swiftCheckUsesAppInfo() throws {
        let worker = try session(TestPaths.product("libcchost-example-swift.so"), app: Self.app)
        defer { worker.close() }
        let pass = try worker.invoke(check("recipe-label"), timeout: 5).get()
        #expect(pass.code == 0)
        #expect(pass.detail == "coop-cloud.t1_ci_example.recipe")

        var mislabelled = Self.app
        mislabelled.labels["coop-cloud.t1_ci_example.recipe"] = "other"
        let other = try session(TestPaths.product("libcchost-example-swift.so"), app: mislabelled)
        defer { other.close() }
        let fail = try other.invoke(check("recipe-label"), timeout: 5).get()
        #expect(fail.code == 1)
        #expect(fail.detail.contains("is other, expected custom-html"))
    }

    @Test("install steps and hooks are called by kind and name, with the tier")
    func stepsAndHooks() throws {
        let worker = try session(TestPaths.product("libcchost-example-swift.so"), app: Self.app)
        defer { worker.close() }
        #expect(try worker.invoke(Invocation(kind: .installStep, name: "greet", tier: "install"), timeout: 5).get().code == 0)
        #expect(try worker.invoke(Invocation(kind: .hook, name: "before-backup", tier: "backup"), timeout: 5).get().code == 0)
        let logs = worker.services.takeLogs().map(\.message)
        #expect(logs == ["installed custom-html at t1.ci.example", "about to run the backup op"])
        let unknown = try worker.invoke(Invocation(kind: .hook, name: "greet", tier: "backup"), timeout: 5).get()
        #expect(unknown.failure?.contains("no hook named \"greet\"") == true)
    }

    @Test("app info is unavailable when no app is under test")
    func appInfoWithoutApp() throws {
        let worker = try session(try Fixture.compile("host_calls"))
        defer { worker.close() }
        let result = try worker.invoke(check("app-info"), timeout: 5).get()
        #expect(result.detail == "-3|no app is under test in this session")
    }

    @Test("exec in a service of another stack is refused with the reason")
    func execPolicy() throws {
        let worker = try session(try Fixture.compile("host_calls"), app: Self.app,
                                 configuration: ["service": "other_stack_app"])
        defer { worker.close() }
        let result = try worker.invoke(check("exec"), timeout: 5).get()
        #expect(result.detail.hasPrefix("-1|service \"other_stack_app\" is not a service of stack t1_ci_example"))
    }

    @Test("an HTTP path that leaves the app's domain is refused", arguments: ["http://elsewhere/", "//evil.example/x", "x/../y"])
    func httpPolicy(path: String) throws {
        let worker = try session(try Fixture.compile("host_calls"), app: Self.app, configuration: ["path": path])
        defer { worker.close() }
        #expect(try worker.invoke(check("http"), timeout: 5).get().detail.hasPrefix("-1|path"))
    }

    @Test("artifacts are written under the run's folder, and names that are not plain file names are refused")
    func artifactPolicy() throws {
        let folder = try TemporaryDirectory()
        let artifacts = folder.url.appendingPathComponent("artifacts")
        let library = try Fixture.compile("host_calls")
        for (name, expected) in [("report.txt", "0|"), ("../escape.txt", "-1|"), (".hidden", "-1|")] {
            let worker = try session(library, app: Self.app, configuration: ["artifact_name": name], artifacts: artifacts)
            defer { worker.close() }
            #expect(try worker.invoke(check("artifact"), timeout: 5).get().detail.hasPrefix(expected), "\(name)")
        }
        #expect(try String(contentsOf: artifacts.appendingPathComponent("report.txt"), encoding: .utf8) == "artifact body")
        #expect(!FileManager.default.fileExists(atPath: folder.url.appendingPathComponent("escape.txt").path))
    }

    @Test("log lines from init and checks reach the host with their levels")
    func logsReachHost() throws {
        let worker = try session(try Fixture.compile("host_calls"))
        defer { worker.close() }
        #expect(worker.services.takeLogs() == [PluginLogLine(level: 1, message: "host-calls initialised")])
        _ = try worker.invoke(check("log", tier: "upgrade"), timeout: 5).get()
        #expect(worker.services.takeLogs() == [PluginLogLine(level: 2, message: "upgrade"), PluginLogLine(level: 3, message: "log")])
    }

    @Test("a check that segfaults ends its worker with a crash naming the signal and the check")
    func segfaultInCheck() throws {
        let worker = try session(try Fixture.compile("hostile"))
        defer { worker.close() }
        guard case .failure(let failure) = worker.invoke(check("segfault"), timeout: 5),
              case .crashed(let how, let during, _) = failure else {
            Issue.record("a segfaulting check was not reported as a crash"); return
        }
        #expect(how == .signalled(SIGSEGV))
        #expect(during == "check segfault")
        // The session is finished: further calls report the same failure instead of hanging.
        guard case .failure(.crashed) = worker.invoke(check("odd-verdict"), timeout: 5) else {
            Issue.record("a crashed session answered again"); return
        }
    }

    @Test("a check that hangs is killed at its deadline")
    func hangingCheck() throws {
        let worker = try session(try Fixture.compile("hostile"))
        defer { worker.close() }
        let started = Date()
        guard case .failure(.timedOut(let seconds, let during, _)) = worker.invoke(check("hang"), timeout: 0.5) else {
            Issue.record("a hanging check was not timed out"); return
        }
        #expect(seconds == 0.5)
        #expect(during == "check hang")
        // Bounded, not a benchmark: the kill must not wait for the plugin.
        #expect(Date().timeIntervalSince(started) < 5)
    }

    @Test("a check that floods stdout passes, and the host keeps only a capped tail of the output")
    func floodedOutputIsCapped() throws {
        let worker = try session(try Fixture.compile("hostile"))
        defer { worker.close() }
        #expect(try worker.invoke(check("noisy"), timeout: 30).get().code == 0)
        #expect(worker.diagnostics.utf8.count < 70 << 10)
        #expect(worker.diagnostics.hasPrefix("["))
        #expect(worker.diagnostics.contains("earlier bytes discarded"))
    }

    @Test("a return value that is not a verdict is passed on raw for the host to judge")
    func oddVerdict() throws {
        let worker = try session(try Fixture.compile("hostile"))
        defer { worker.close() }
        #expect(try worker.invoke(check("odd-verdict"), timeout: 5).get().code == 42)
    }
}
