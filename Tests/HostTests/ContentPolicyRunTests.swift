import Foundation
@testable import HostBase
@testable import HostDocker
@testable import HostRuns
import PluginChannel
import Testing

/// Where a run applies the recipe content policy, on the engine's fakes: before anything is
/// deployed, on the base and the head alike, and relaxed only by the operator's allowance.
@Suite("ContentPolicyRun: the content policy in the run engine, on fakes")
struct ContentPolicyRunTests {
    /// static-site with a new release whose compose file mounts the docker socket: the base
    /// (the release before it) is clean, the head is not.
    static let repository = Result {
        try release(replacing: "      - content:/www\n", with: "      - content:/www\n      - /var/run/docker.sock:/var/run/docker.sock\n",
                    message: "mount the docker socket")
    }
    /// static-site with a new release whose app asks for 3 replicas.
    static let threeReplicas = Result {
        try release(replacing: "    deploy:\n", with: "    deploy:\n      replicas: 3\n", message: "three replicas")
    }

    /// static-site with a release 3.0.0+2.0.0 whose compose.yml has `old` replaced by `new`.
    static func release(replacing old: String, with new: String, message: String) throws -> TemporaryDirectory {
        let folder = try TemporaryDirectory("policy-head")
        let source = try RunEngineTests.repositories.get().file("static-site")
        let git = { (arguments: [String]) throws in
            let result = try HostTests.run("/usr/bin/git", ["-c", "user.name=t", "-c", "user.email=t@t.invalid"] + arguments)
            guard result.status == 0 else { throw GitFixtureError(description: "git \(arguments): \(result.stderr)") }
        }
        try git(["clone", "-q", source, folder.path])
        let compose = folder.url.appendingPathComponent("compose.yml")
        let text = try String(contentsOf: compose, encoding: .utf8)
        guard text.contains(old) else { throw GitFixtureError(description: "static-site's compose.yml has no \(old)") }
        try Data(text.replacingOccurrences(of: old, with: new).utf8).write(to: compose)
        try git(["-C", folder.path, "commit", "-qam", message])
        try git(["-C", folder.path, "tag", "-a", "3.0.0+2.0.0", "-m", "release 3.0.0+2.0.0"])
        return folder
    }

    private func run(allowance: PolicyAllowance, repository: TemporaryDirectory? = nil,
                     ceilings: RunCeilings = .defaults) throws -> (RunRecord, RunEngineTests.Harness) {
        let harness = try RunEngineTests.Harness()
        let record = try harness.engine.run(RunRequest(recipe: "static-site", repository: try (repository ?? Self.repository.get()).path,
                                                       stages: [.lint, .install, .upgrade], ceilings: ceilings, allowance: allowance))
        return (record, harness)
    }

    @Test("a head the policy refuses stops the run before the clean base is deployed: RED, nothing deployed, the finding located")
    func refusedHead() throws {
        let (record, harness) = try run(allowance: .none)
        #expect(record.verdict == .fail)
        #expect(harness.deployer.calls.filter { $0.hasPrefix("install") || $0.hasPrefix("upgrade") }.isEmpty, "\(harness.deployer.calls)")
        #expect(record.deployCount == 0)
        let install = try RunEngineTests.tier(record, .install)
        #expect(install.opVerdict == .fail)
        #expect(install.opDetail == "the recipe content policy refuses to deploy it: service app bind-mounts the docker socket "
                + "/var/run/docker.sock: the container would command the engine (compose.yml:21)", "\(install.opDetail)")
        #expect(try RunEngineTests.tier(record, .upgrade).verdict == .unverified)
        #expect(try RunEngineTests.tier(record, .lint).checks.first { $0.name == "R016" }?.verdict == .fail)
        #expect(record.allowances == nil)
    }

    @Test("the operator's allowance lets the head through, and the run records what it allowed")
    func allowedHead() throws {
        let (record, harness) = try run(allowance: PolicyAllowance(options: [.dockerSocket]))
        #expect(record.verdict == .pass, "\(record.tiers.map { "\($0.tier): \($0.verdict) \($0.opDetail)" })")
        #expect(harness.deployer.calls.contains { $0.hasPrefix("upgrade 3.0.0+2.0.0") }, "\(harness.deployer.calls)")
        #expect(record.allowances == ["docker_socket: service app bind-mounts the docker socket /var/run/docker.sock: "
                                      + "the container would command the engine (compose.yml:21)"])
        let json = String(decoding: try RunReport.json(record), as: UTF8.self)
        #expect(RunReport.console(record).contains("  allowed    docker_socket: service app bind-mounts the docker socket"))
        #expect(RunReport.junit(record).contains("<property name=\"allowed\" value=\"docker_socket: service app bind-mounts"))
        #expect(RunReport.markdown(record).contains("**Allowed by the operator:** docker\\_socket: service app bind-mounts"))
        #expect(json.contains("\"allowances\" : [\n    \"docker_socket: service app bind-mounts the docker socket"), "\(json)")
    }

    @Test("the run's own ceilings.tasks decides: 3 replicas under a ceiling of 2 are refused before any deploy, whatever is allowed; under 3 they run")
    func taskCeiling() throws {
        let head = try Self.threeReplicas.get()
        let everything = PolicyAllowance(options: Set(RecipePolicy.Option.allCases))
        let (refused, harness) = try run(allowance: everything, repository: head, ceilings: RunCeilings.defaults.applying(.init(tasks: 2)))
        #expect(refused.verdict == .fail)
        #expect(refused.deployCount == 0, "\(harness.deployer.calls)")
        #expect(try RunEngineTests.tier(refused, .install).opDetail == "the recipe content policy refuses to deploy it: the app asks for 3 tasks "
                + "(1 service × 3 replicas), more than the 2 allowed (ceilings.tasks) (compose.yml:33)")
        #expect(try RunEngineTests.tier(refused, .lint).checks.first { $0.name == "R023" }?.verdict == .fail)

        let (ran, _) = try run(allowance: .none, repository: head, ceilings: RunCeilings.defaults.applying(.init(tasks: 3)))
        #expect(ran.verdict == .pass, "\(ran.tiers.map { "\($0.tier): \($0.verdict) \($0.opDetail)" })")
    }
}
