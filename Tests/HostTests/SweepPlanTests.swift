import Foundation
@testable import HostBase
@testable import HostState
import Testing

@Suite("Sweep plan")
struct SweepPlanTests {
    static func configuration(_ recipes: [RecipeSettings], state: String = "/tmp") -> Configuration {
        var configuration = Configuration(stateDirectory: state, pluginPaths: [], allowlistPath: "/nonexistent")
        configuration.recipes = recipes
        return configuration
    }

    static func plugin(enrolling recipes: [String]) throws -> PluginInfo {
        let list = recipes.map { "\"\($0)\"" }.joined(separator: ", ")
        let metadata = try PluginMetadata(json: "{\"recipes\": [\(list)], \"canonical_sweep\": true}")
        return PluginInfo(description: .init(name: "p", version: "1", abiMajor: 1, abiMinor: 0, structSize: 0, checks: [],
                                             installSteps: [], hooks: [], metadataJSON: ""), metadata: metadata)
    }

    @Test("an empty enrolled set is an error, never a quiet success")
    func emptyEnrolment() {
        #expect(throws: SweepError.self) { try SweepPlan.enrolled(Self.configuration([]), plugins: []) }
        let notEnrolled = RecipeSettings(name: "a", upstream: "/u", enrolled: false)
        #expect(throws: SweepError.self) { try SweepPlan.enrolled(Self.configuration([notEnrolled]), plugins: []) }
    }

    @Test("configured recipes and plugin-enrolled ones are swept; a plugin-enrolled recipe needs an upstream")
    func enrolment() throws {
        let configured = [RecipeSettings(name: "a", upstream: "/a"), RecipeSettings(name: "b", upstream: "/b", enrolled: false),
                          RecipeSettings(name: "c", upstream: "/c", enrolled: false)]
        let enrolled = try SweepPlan.enrolled(Self.configuration(configured), plugins: [try Self.plugin(enrolling: ["b"])])
        #expect(enrolled.map(\.name) == ["a"])
        let error = try #require(throws: SweepError.self) {
            try SweepPlan.enrolled(Self.configuration(configured), plugins: [try Self.plugin(enrolling: ["d"])])
        }
        #expect(error.description.contains("d") && error.description.contains("upstream"))
        let enrolledByPlugin = [RecipeSettings(name: "e", upstream: "/e", enrolled: true)]
        #expect(try SweepPlan.enrolled(Self.configuration(enrolledByPlugin), plugins: [try Self.plugin(enrolling: ["e"])]).map(\.name) == ["e"])
    }

    @Test("a sweep syncs each mirror from upstream and decides on versions against the canonical")
    func planAgainstCanonical() throws {
        let upstream = try GitFixture("upstream")
        try upstream.commit("one")
        try upstream.annotatedTag("1.0.0+1")
        try upstream.commit("two")
        try upstream.annotatedTag("1.1.0+1")
        let other = try GitFixture("other")
        try other.commit("untagged")
        let state = try TemporaryDirectory("state")
        let recipes = [RecipeSettings(name: "a", upstream: upstream.path), RecipeSettings(name: "b", upstream: other.path)]
        let first = try SweepPlan.plan(recipes, stateDirectory: state.path) { _ in nil }
        #expect(first.map(\.decision) == [.run(version: "1.1.0+1"), .skipNeverReleased])
        #expect(first[0].latestCommit == (try upstream.git("rev-parse", "1.1.0+1^{commit}")))
        // A new tag upstream reaches the mirror on the next sweep; the canonical decides.
        try upstream.commit("three")
        try upstream.annotatedTag("1.2.0+1")
        let second = try SweepPlan.plan(recipes, stateDirectory: state.path) { name in name == "a" ? "1.2.0+1" : nil }
        #expect(second[0].decision == .skipNoNewVersion(latest: "1.2.0+1", canonical: "1.2.0+1"))
        #expect(FileManager.default.fileExists(atPath: state.file("mirrors/a.git")))
    }

}
