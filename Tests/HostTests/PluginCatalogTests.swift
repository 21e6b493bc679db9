import Foundation
@testable import HostBase
@testable import HostState
import Testing

/// The metadata cache: listings answered without starting a worker, and probes only when a library
/// really changed.
@Suite("Plugin discovery and the metadata cache")
struct PluginCatalogTests {
    /// A plugin folder with a copy of the C example, a state folder, and a launcher that counts.
    /// Each catalog opens its own store, as each cchost process does.
    struct Setup {
        let folder: TemporaryDirectory
        let state: TemporaryDirectory
        let launcher = WorkerLauncher.forTests()
        let plugin: String

        init() throws {
            folder = try TemporaryDirectory("plugins")
            state = try TemporaryDirectory("state")
            plugin = folder.file("libexample.so")
            try FileManager.default.copyItem(atPath: TestPaths.product("libcchost-example-c.so"), toPath: plugin)
        }

        func catalog() throws -> PluginCatalog {
            try PluginCatalog(cache: try store(), prober: PluginProber(launcher: launcher))
        }

        func store() throws -> StateStore {
            try StateStore(stateDirectory: state.path)
        }
    }

    @Test("a cache hit starts no worker, across catalog instances (as across cchost runs)")
    func cacheHitStartsNoWorker() throws {
        let setup = try Setup()
        let first = try setup.catalog()
        #expect(try first.entry(for: setup.plugin).state.isLoadable)
        try first.save()
        #expect(setup.launcher.launchCount == 1)

        let second = try setup.catalog()
        let entry = try second.entry(for: setup.plugin)
        #expect(entry.state.isLoadable)
        #expect(setup.launcher.launchCount == 1)
        #expect(entry.sha256 == (try Digest.sha256(ofFileAt: setup.plugin)).hex)
    }

    @Test("a touched but unchanged library is re-hashed, not re-probed")
    func touchedLibraryIsNotReprobed() throws {
        let setup = try Setup()
        let catalog = try setup.catalog()
        _ = try catalog.entry(for: setup.plugin)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 3600)], ofItemAtPath: setup.plugin)
        _ = try catalog.entry(for: setup.plugin)
        #expect(setup.launcher.launchCount == 1)
    }

    @Test("a library whose content changed is probed again")
    func changedLibraryIsReprobed() throws {
        let setup = try Setup()
        let catalog = try setup.catalog()
        #expect(try catalog.entry(for: setup.plugin).state.isLoadable)
        try FileManager.default.removeItem(atPath: setup.plugin)
        try FileManager.default.copyItem(atPath: try Fixture.compile("abi_variant", defines: ["ABI_MAJOR=2"]), toPath: setup.plugin)
        guard case .rejected = try catalog.entry(for: setup.plugin).state else {
            Issue.record("the replaced library was answered from the stale cache entry"); return
        }
        #expect(setup.launcher.launchCount == 2)
    }

    @Test("a library that crashed its probe is recorded broken and not probed again")
    func brokenIsNotRetried() throws {
        let setup = try Setup()
        let crashing = setup.folder.file("libcrash.so")
        try FileManager.default.copyItem(atPath: try Fixture.compile("hostile", defines: ["CRASH_IN_CONSTRUCTOR"]), toPath: crashing)
        let first = try setup.catalog()
        guard case .broken(let reason, _) = try first.entry(for: crashing).state else {
            Issue.record("a crashing library was not recorded broken"); return
        }
        #expect(reason.contains("SIGSEGV"))
        try first.save()
        guard case .broken = try setup.catalog().entry(for: crashing).state else {
            Issue.record("the broken record did not survive the cache"); return
        }
        #expect(setup.launcher.launchCount == 1)
    }

    @Test("operator folders list their .so files in order, and a missing folder is an error naming its origin")
    func operatorFolders() throws {
        let setup = try Setup()
        try Data().write(to: URL(fileURLWithPath: setup.folder.file("README.txt")))
        try FileManager.default.copyItem(atPath: setup.plugin, toPath: setup.folder.file("liba.so"))
        #expect(try PluginCatalog.operatorPlugins(in: [(setup.folder.path, "test")]) ==
                [setup.folder.file("liba.so"), setup.plugin])
        #expect(throws: CatalogError.self) { try PluginCatalog.operatorPlugins(in: [("/nonexistent/cchost", "CCHOST_PLUGIN_PATH")]) }
        do {
            _ = try PluginCatalog.operatorPlugins(in: [("/nonexistent/cchost", "CCHOST_PLUGIN_PATH")])
        } catch {
            #expect(error.description == "plugin path /nonexistent/cchost does not exist (from CCHOST_PLUGIN_PATH)")
        }
    }

    @Test("a save keeps the entries another catalog on the same database saved meanwhile")
    func saveKeepsOtherCatalogsEntries() throws {
        let setup = try Setup()
        let other = setup.folder.file("libother.so")
        try FileManager.default.copyItem(atPath: TestPaths.product("libcchost-example-swift.so"), toPath: other)
        // Both are open before either saves, as two cchost processes would be.
        let first = try setup.catalog()
        let second = try setup.catalog()
        _ = try first.entry(for: setup.plugin)
        try first.save()
        _ = try second.entry(for: other)
        try second.save()
        #expect(try setup.store().pluginCacheEntries().map(\.path) == [setup.plugin, other].sorted())
    }

    @Test("a save writes only what its catalog changed, not its stale copy of another process's entry")
    func saveWritesOnlyChangedEntries() throws {
        let setup = try Setup()
        let other = setup.folder.file("libother.so")
        try FileManager.default.copyItem(atPath: TestPaths.product("libcchost-example-swift.so"), toPath: other)
        let seed = try setup.catalog()
        _ = try seed.entry(for: setup.plugin)
        try seed.save()
        let first = try setup.catalog()
        let second = try setup.catalog()
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 3600)], ofItemAtPath: setup.plugin)
        let touched = try first.entry(for: setup.plugin)
        try first.save()
        _ = try second.entry(for: other)
        try second.save()
        let saved = try setup.store().pluginCacheEntries().first { $0.path == setup.plugin }
        #expect(saved?.modifiedNanoseconds == touched.modifiedNanoseconds)
    }

    @Test("a cached state this version cannot decode costs a probe, not an error")
    func undecodableStateIsReprobed() throws {
        let setup = try Setup()
        let first = try setup.catalog()
        let entry = try first.entry(for: setup.plugin)
        try first.save()
        try setup.store().savePluginCacheRow(entry, state: #"{"loadable": {"shape": "of an older cchost"}}"#)

        let second = try setup.catalog()
        #expect(try second.entry(for: setup.plugin).state == entry.state)
        #expect(setup.launcher.launchCount == 2)
        try second.save()
        #expect(try setup.store().pluginCacheEntries().map(\.state) == [entry.state])
    }
}

/// Repo-local overlays: only the allowlist's approval, for the exact bytes, makes one loadable.
@Suite("The overlay gate")
struct OverlayGateTests {
    @Test("an approved overlay is staged by digest and the staged bytes are the approved bytes")
    func approvedOverlayIsStaged() throws {
        let state = try TemporaryDirectory("state")
        let checkout = try TemporaryDirectory("checkout")
        let overlays = checkout.url.appendingPathComponent(".cchost/plugins")
        try FileManager.default.createDirectory(at: overlays, withIntermediateDirectories: true)
        let overlay = overlays.appendingPathComponent("libcheck.so").path
        try FileManager.default.copyItem(atPath: TestPaths.product("libcchost-example-c.so"), toPath: overlay)
        let digest = try Digest.sha256(ofFileAt: overlay)
        let gate = OverlayGate(allowlist: try Allowlist(parsing: "custom-html \(digest)\n", source: "test"),
                               stateDirectory: state.path)

        #expect(try PluginCatalog.overlays(inCheckout: checkout.path) == [overlay])
        guard case .approved(let approved) = try gate.admit(recipe: "custom-html", overlay: overlay) else {
            Issue.record("an approved overlay was denied"); return
        }
        #expect(approved.stagedPath == state.file("overlays/\(digest.hex).so"))
        #expect(try Digest.sha256(ofFileAt: approved.stagedPath) == digest)
        #expect(approved.warning == nil)

        // Swapping the binary in the checkout is denied until re-approved.
        try FileManager.default.removeItem(atPath: overlay)
        try FileManager.default.copyItem(atPath: TestPaths.product("libcchost-example-swift.so"), toPath: overlay)
        guard case .denied(_, _, let reason) = try gate.admit(recipe: "custom-html", overlay: overlay) else {
            Issue.record("a swapped overlay binary was approved"); return
        }
        #expect(reason.contains("custom-html"))
        // Another recipe cannot borrow the approval.
        try FileManager.default.removeItem(atPath: overlay)
        try FileManager.default.copyItem(atPath: TestPaths.product("libcchost-example-c.so"), toPath: overlay)
        #expect(try gate.admit(recipe: "other", overlay: overlay) != .approved(approved))
    }

    @Test("with no allowlist file every overlay is denied and nothing is staged")
    func missingAllowlistDeniesAll() throws {
        let state = try TemporaryDirectory("state")
        let gate = OverlayGate(allowlist: try Allowlist.load(from: state.file("no-such-allowlist")), stateDirectory: state.path)
        guard case .denied = try gate.admit(recipe: "custom-html", overlay: TestPaths.product("libcchost-example-c.so")) else {
            Issue.record("an overlay was approved without an allowlist"); return
        }
        #expect(!FileManager.default.fileExists(atPath: state.file("overlays")))
    }
}
