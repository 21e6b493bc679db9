// An example cchost plugin in Swift: conform to `Plugin`, export one function.
import PluginKit

struct CustomHTML: Plugin {
    static let name = "example-swift"
    static let version = "1.0.0"
    static let metadata = Metadata(
        recipes: ["custom-html"], canonicalSweep: true, stages: [.install, .upgrade, .backup, .restore],
        readiness: .init(path: "/"), config: ["index-mentions": ["needle": "Hello"]])

    static let checks = [
        Check("index-page", tiers: [.install, .upgrade], description: "the index page answers 200") { host, _ in
            let response = try host.http("GET", "/")
            return response.status == 200 ? .pass() : .fail("GET / answered \(response.status)")
        },
        Check("recipe-label", tiers: [.install, .upgrade], description: "the stack carries its recipe label") { host, _ in
            let app = try host.appInfo()
            let label = "coop-cloud.\(app.stack).recipe"
            guard let value = app.labels[label] else { return .fail("label \(label) is missing") }
            return value == app.recipe ? .pass(label) : .fail("\(label) is \(value), expected \(app.recipe)")
        },
    ]

    static let installSteps = [
        Step("greet", description: "logs the app it was installed into") { host, _ in
            let app = try host.appInfo()
            host.log("installed \(app.recipe) at \(app.domain)")
            return .pass()
        },
    ]

    static let hooks = [
        Step("before-backup", tiers: [.backup], description: "notes the backup in the run log") { host, call in
            host.log("about to run the \(call.tier) op")
            return .pass()
        },
    ]
}

@_cdecl("cchost_plugin_v1")
public func cchostPluginV1() -> UnsafeRawPointer { export(CustomHTML.self) }
