import Foundation
import HostBase
import HostRuns
import PluginChannel
import Testing

/// Plugins that try to hurt the host, each run in the real sandbox. Every case must end contained:
/// the host alive, a clear verdict naming what happened, within a bounded time, and nothing outside
/// the sandbox changed.
@Suite("The hostile plugin corpus")
struct HostileCorpusTests {
    let launcher = WorkerLauncher.forTests()
    static let app = AppContext(recipe: "fixture", domain: "h1.ci.example", services: ["app"])

    /// Runs one check of the hostile fixture with its own services; returns the judged outcome.
    func run(_ check: String, configuration: [String: String] = [:], timeout: Double = 10,
             services: HostServices? = nil) throws -> (CheckOutcome, WorkerSession, TimeInterval) {
        let services = services ?? HostServices(app: Self.app, configuration: configuration)
        let session = try WorkerSession(plugin: try Fixture.compile("hostile"), launcher: launcher, services: services)
        let started = Date()
        let outcome = CheckOutcome.judging(session.invoke(Invocation(kind: .check, name: check, tier: "install"), timeout: timeout))
        return (outcome, session, Date().timeIntervalSince(started))
    }

    // MARK: Loading

    @Test("a constructor that segfaults, exits or spins leaves the plugin broken with the reason", arguments: [
        ("CRASH_IN_CONSTRUCTOR", "was killed by signal 11 (SIGSEGV) during loading"),
        ("EXIT_IN_CONSTRUCTOR", "exited with status 0 during loading"),
        ("LOOP_IN_CONSTRUCTOR", "did not finish loading within 2 s and was killed"),
    ])
    func hostileConstructor(define: String, reason: String) throws {
        let prober = PluginProber(launcher: launcher, timeout: 2)
        let started = Date()
        guard case .broken(let why, _) = try prober.probe(try Fixture.compile("hostile", defines: [define])) else {
            Issue.record("\(define) was not recorded broken"); return
        }
        #expect(why.contains(reason), "\(why)")
        #expect(Date().timeIntervalSince(started) < 10)
    }

    @Test("a descriptor that lies about a huge struct_size is read only as far as this ABI knows")
    func structSizeLie() throws {
        let library = try Fixture.compile("abi_variant", defines: ["STRUCT_SIZE=0x7fffffff"])
        guard case .loadable(let info) = try PluginProber(launcher: launcher).probe(library) else {
            Issue.record("an oversized struct_size was not tolerated"); return
        }
        #expect(info.description.structSize == 0x7fffffff)
        #expect(info.description.checks.map(\.name) == ["plain"])
    }

    // MARK: Crashes and deadlines

    @Test("a check that crashes is unverified, naming the signal", arguments: [
        ("segfault", "SIGSEGV"), ("abort", "SIGABRT"),
    ])
    func crashingCheck(check: String, signal: String) throws {
        let (outcome, _, elapsed) = try run(check)
        #expect(outcome.verdict == .unverified)
        #expect(outcome.cause == "the plugin worker was killed by signal \(signal == "SIGSEGV" ? 11 : 6) (\(signal)) during check \(check)")
        #expect(elapsed < 10)
    }

    @Test("a check that spins or holds on is killed at its deadline", arguments: ["spin", "hang"])
    func checkPastDeadline(check: String) throws {
        let (outcome, _, elapsed) = try run(check, timeout: 1)
        #expect(outcome.verdict == .unverified)
        #expect(outcome.cause == "the plugin worker did not finish check \(check) within 1 s and was killed")
        #expect(elapsed < 5)
    }

    @Test("a return value that is not a verdict is unverified, never pass or fail")
    func oddVerdict() throws {
        let (outcome, _, _) = try run("odd-verdict")
        #expect(outcome.verdict == .unverified)
        #expect(outcome.cause == "the plugin returned 42, which is not a verdict")
    }

    // MARK: Resources

    @Test("a fork bomb cannot start a single process")
    func forkBomb() throws {
        let (outcome, _, elapsed) = try run("fork-bomb")
        #expect(outcome.verdict == .pass, "\(outcome)")
        #expect(outcome.detail == "fork failed after 0 children: Operation not permitted")
        #expect(elapsed < 10)
    }

    @Test("allocating far beyond the limit stops at the address-space limit")
    func allocation() throws {
        let (outcome, _, elapsed) = try run("allocate", timeout: 30)
        #expect(outcome.verdict == .pass, "\(outcome)")
        let mebibytes = try #require(outcome.detail.split(separator: " ").dropFirst().first.flatMap { Int($0) })
        #expect(mebibytes < 1024, "\(outcome.detail)")
        #expect(elapsed < 30)
    }

    @Test("writing a huge file is stopped by the file-size limit, inside the private /tmp")
    func hugeFile() throws {
        let (outcome, _, elapsed) = try run("huge-file", timeout: 30)
        // The default action of SIGXFSZ ends the worker; either way the write was stopped at the limit.
        #expect(outcome.verdict == .unverified || outcome.detail.hasPrefix("stopped after 16 MiB"), "\(outcome)")
        if outcome.verdict == .unverified { #expect(outcome.cause?.contains("SIGXFSZ") == true, "\(outcome)") }
        #expect(!FileManager.default.fileExists(atPath: "/tmp/cchost-hostile-huge"))
        #expect(elapsed < 30)
    }

    @Test("a gigabyte printed to stdout and stderr is drained, and the host keeps a capped tail")
    func flood() throws {
        let (outcome, session, elapsed) = try run("flood", timeout: 60)
        #expect(outcome.verdict == .pass || outcome.cause?.contains("within 60 s") == true, "\(outcome)")
        #expect(session.diagnostics.utf8.count <= (64 << 10) + 64)
        #expect(session.diagnostics.contains("earlier bytes discarded"))
        #expect(elapsed < 60)
    }

    // MARK: Reaching out

    @Test("a connection to a loopback listener of the host never arrives")
    func loopbackConnection() throws {
        let listener = try LoopbackListener()
        let (outcome, _, _) = try run("connect-loopback", configuration: ["port": String(listener.port)])
        #expect(outcome.verdict == .pass, "\(outcome)")
        #expect(outcome.detail.hasPrefix("socket: ") || outcome.detail.hasPrefix("connect: "), "\(outcome.detail)")
        #expect(!listener.hasPendingConnection())
    }

    @Test("a canary secret outside the sandbox cannot be read, and its content appears nowhere")
    func canarySecret() throws {
        let folder = try TemporaryDirectory("canary")
        let canary = folder.file("secret-token")
        let secret = "cchost-canary-\(UUID().uuidString)"
        try Data(secret.utf8).write(to: URL(fileURLWithPath: canary))
        let services = HostServices(app: Self.app, configuration: ["path": canary])
        let (outcome, session, _) = try run("read-file", services: services)
        #expect(outcome.verdict == .pass, "\(outcome)")
        #expect(outcome.detail.hasSuffix("No such file or directory"), "\(outcome.detail)")
        let everything = [outcome.detail, outcome.cause ?? "", session.diagnostics] + services.takeLogs().map(\.message)
        #expect(!everything.contains { $0.contains(secret) })
    }

    @Test("the docker socket does not exist inside the sandbox, though the engine runs outside")
    func dockerSocket() throws {
        let (outcome, _, _) = try run("docker-socket")
        #expect(outcome.verdict == .pass, "\(outcome)")
        #expect(outcome.detail.hasPrefix("no docker socket"))
    }

    @Test("writes outside /tmp are refused, and /tmp is private to the sandbox")
    func writeOutside() throws {
        let folder = try TemporaryDirectory("outside")
        let outside = folder.file("escaped")
        let (outcome, _, _) = try run("write-outside", configuration: ["outside": outside])
        #expect(outcome.verdict == .pass, "\(outcome)")
        #expect(outcome.detail == "every path outside /tmp refused; /tmp writable")
        #expect(!FileManager.default.fileExists(atPath: outside))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/inside"))
    }

    @Test("asking the host to exec in another stack's service is refused with the reason")
    func execInAnotherStack() throws {
        let services = HostServices(app: Self.app)
        let (outcome, _, _) = try run("exec-other-stack", services: services)
        #expect(outcome.verdict == .pass, "\(outcome)")
        #expect(outcome.detail == "-1|service \"other_stack_app\" is not a service of stack h1_ci_example (services: app)")
    }

    // MARK: The channel

    @Test("garbage and oversized frames end the worker with a protocol violation", arguments: [
        ("garbage-frame", "malformed message"), ("oversized-frame", "exceeds the 4194304-byte limit"),
    ])
    func hostileFrames(check: String, reason: String) throws {
        let (outcome, _, elapsed) = try run(check)
        #expect(outcome.verdict == .unverified)
        #expect(outcome.cause?.hasPrefix("the plugin worker broke the channel protocol during check \(check)") == true, "\(outcome)")
        #expect(outcome.cause?.contains(reason) == true, "\(outcome)")
        #expect(elapsed < 10)
    }
}

/// A TCP listener on 127.0.0.1 that only ever checks whether someone knocked.
final class LoopbackListener {
    let fd: Int32
    let port: UInt16

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound, listen(fd, 8) == 0 else { throw POSIXError(.EADDRINUSE) }
        port = UInt16(bigEndian: address.sin_port)
    }

    /// True when a connection is waiting to be accepted.
    func hasPendingConnection() -> Bool {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&poller, 1, 200) > 0
    }

    deinit { close(fd) }
}
