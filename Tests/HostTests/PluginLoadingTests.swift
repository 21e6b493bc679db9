import Foundation
import HostBase
import HostRuns
import PluginChannel
import Testing

/// Real plugins, built by the package (Swift and C) or compiled here from fixtures, loaded by the real
/// worker: the host process itself never loads them.
@Suite("Loading plugins through the worker")
struct PluginLoadingTests {
    let prober = PluginProber(launcher: .forTests())

    @Test("the Swift example plugin loads and reports its metadata")
    func swiftExampleLoads() throws {
        guard case .loadable(let info) = try prober.probe(TestPaths.product("libcchost-example-swift.so")) else {
            Issue.record("the Swift example did not load"); return
        }
        #expect(info.description.name == "example-swift")
        #expect(info.description.abiMajor == 1)
        #expect(info.metadata.recipes == ["custom-html"])
        #expect(info.metadata.canonicalSweep)
        #expect(info.metadata.stages == [.install, .upgrade, .backup, .restore])
        #expect(info.metadata.readiness == PluginMetadata.Readiness(path: "/", status: 200))
        #expect(info.description.checks.map(\.name) == ["index-page", "recipe-label"])
        #expect(info.description.installSteps.map(\.name) == ["greet"])
        #expect(info.description.hooks.map(\.name) == ["before-backup"])
        #expect(info.description.hooks.first?.tiers == ["backup"])
    }

    @Test("the C example plugin loads and declares its typed check's signature")
    func cExampleLoads() throws {
        guard case .loadable(let info) = try prober.probe(TestPaths.product("libcchost-example-c.so")) else {
            Issue.record("the C example did not load"); return
        }
        #expect(info.description.name == "example-c")
        let typed = try #require(info.description.checks.first { $0.name == "has-service" })
        #expect(typed.signature == "int has_service(const char *service)")
        #expect(typed.parameters == [.init(name: "service", type: "const char *")])
        #expect(info.metadata.config["has-service"]?["service"] == .string("app"))
    }

    @Test("the generic suite is a plugin that serves every recipe")
    func genericSuiteLoads() throws {
        guard case .loadable(let info) = try prober.probe(TestPaths.product("libcchost-generic.so")) else {
            Issue.record("the generic suite did not load"); return
        }
        #expect(info.metadata.serves(recipe: "anything"))
        #expect(info.description.checks.map(\.name).contains("deploy-labels"))
        #expect(info.description.checks.first { $0.name == "http-expect" }?.parameters?.map(\.name) == ["path", "status", "needle"])
    }

    struct Mismatch: Sendable, CustomTestStringConvertible {
        var defines: [String]
        var stage: Rejection.Stage
        var fields: [String]
        var mentions: String
        var testDescription: String { defines.joined(separator: " ") }
    }

    @Test("an ABI mismatch is rejected and names every differing field", arguments: [
        Mismatch(defines: ["MAGIC=0x12345678"], stage: .abi, fields: ["magic"], mentions: "0x12345678"),
        Mismatch(defines: ["ABI_MAJOR=2"], stage: .abi, fields: ["abi_major"], mentions: "major 2"),
        Mismatch(defines: ["ABI_MINOR=1"], stage: .abi, fields: ["abi_minor"], mentions: "newer"),
        Mismatch(defines: ["STRUCT_SIZE=16"], stage: .abi, fields: ["struct_size"], mentions: "struct_size 16"),
        Mismatch(defines: ["MAGIC=0", "ABI_MAJOR=0", "ABI_MINOR=9", "STRUCT_SIZE=4"], stage: .abi,
                 fields: ["magic", "abi_major", "abi_minor", "struct_size"], mentions: "0x00000000"),
        Mismatch(defines: ["NO_ENTRY"], stage: .entry, fields: ["cchost_plugin_v1"], mentions: "does not export"),
        Mismatch(defines: ["NULL_DESCRIPTOR"], stage: .entry, fields: ["cchost_plugin_v1"], mentions: "NULL"),
        Mismatch(defines: ["NO_INITIALIZE", "NO_FREE_BUFFER"], stage: .abi, fields: ["initialize", "free_buffer"],
                 mentions: "required initialize is NULL"),
        Mismatch(defines: ["UNDEFINED_SYMBOL"], stage: .load, fields: ["library"],
                 mentions: "cchost_fixture_function_nobody_defines"),
        Mismatch(defines: ["BAD_SIGNATURE"], stage: .abi, fields: ["checks[0].signature"], mentions: "long double"),
        Mismatch(defines: ["BOTH_FORMS"], stage: .abi, fields: ["checks[0].run/typed"], mentions: "exactly one"),
        Mismatch(defines: ["BAD_TIER"], stage: .abi, fields: ["checks[0].tiers"], mentions: "install,deploy"),
        Mismatch(defines: ["INIT_FAILS"], stage: .initialise, fields: ["initialize"], mentions: "the fixture refuses to start"),
        Mismatch(defines: ["BAD_METADATA"], stage: .metadata,
                 fields: ["metadata.colour", "metadata.recipes[0]", "metadata.canonical_sweep", "metadata.stages[0]"],
                 mentions: "\"instal\""),
    ])
    func mismatchIsRejected(_ mismatch: Mismatch) throws {
        let library = try Fixture.compile("abi_variant", defines: mismatch.defines)
        guard case .rejected(let rejection) = try prober.probe(library) else {
            Issue.record("\(mismatch.defines) was not rejected"); return
        }
        #expect(rejection.stage == mismatch.stage)
        #expect(Set(rejection.problems.map(\.field)) == Set(mismatch.fields))
        #expect(rejection.summary.contains(mismatch.mentions), "\(rejection.summary)")
    }

    @Test("the unmodified fixture loads, so the mismatch table tests one thing at a time")
    func controlFixtureLoads() throws {
        #expect(try prober.probe(try Fixture.compile("abi_variant")).isLoadable)
    }

    @Test("a worker whose descriptor has grown a field still loads a v1.0 plugin and runs its checks")
    func longerDescriptorLoadsV1_0Plugin() throws {
        let launcher = try WorkerLauncher.appendedFieldWorkerForTests()
        let library = try Fixture.compile("abi_variant", defines: ["STRUCT_SIZE=CCHOST_PLUGIN_SIZE_V1_0"])
        let state = try PluginProber(launcher: launcher).probe(library)
        guard case .loadable(let info) = state else {
            Issue.record("a worker with a longer descriptor did not load a v1.0 plugin: \(state.problem ?? "\(state)")"); return
        }
        #expect(info.description.abiMinor == 0)
        let session = try WorkerSession(plugin: library, launcher: launcher, services: HostServices())
        defer { session.close() }
        let outcome = CheckOutcome.judging(session.invoke(Invocation(kind: .check, name: "plain", tier: "install"), timeout: 5))
        #expect(outcome.verdict == .pass, "\(outcome)")
    }

    @Test("a worker whose descriptor has grown a field still rejects a struct_size below v1.0")
    func longerDescriptorRejectsShortStruct() throws {
        let library = try Fixture.compile("abi_variant", defines: ["STRUCT_SIZE=CCHOST_PLUGIN_SIZE_V1_0-8"])
        guard case .rejected(let rejection) = try PluginProber(launcher: try .appendedFieldWorkerForTests()).probe(library) else {
            Issue.record("a struct_size below v1.0 was not rejected"); return
        }
        #expect(rejection.stage == .abi)
        #expect(rejection.problems.map(\.field) == ["struct_size"])
        #expect(rejection.summary.contains("smaller than the v1.0 descriptor"), "\(rejection.summary)")
    }

    @Test("a constructor that segfaults makes the plugin broken and leaves the host running")
    func constructorSegfaultIsBroken() throws {
        let library = try Fixture.compile("hostile", defines: ["CRASH_IN_CONSTRUCTOR"])
        guard case .broken(let reason, _) = try prober.probe(library) else {
            Issue.record("a crashing constructor was not reported broken"); return
        }
        #expect(reason.contains("SIGSEGV"))
        #expect(reason.contains("loading"))
    }

    @Test("a worker started on a non-plugin file rejects it with the loader's message")
    func notALibraryIsRejected() throws {
        let folder = try TemporaryDirectory()
        let fake = folder.file("fake.so")
        try Data("not an ELF file".utf8).write(to: URL(fileURLWithPath: fake))
        guard case .rejected(let rejection) = try prober.probe(fake) else {
            Issue.record("a text file was accepted as a plugin"); return
        }
        #expect(rejection.stage == .load)
        #expect(rejection.summary.contains(fake))
    }
}
