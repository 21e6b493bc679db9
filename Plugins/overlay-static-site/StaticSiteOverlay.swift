// The overlay for the static-site fixture (Tests/Fixtures/recipes/static-site): what only someone who
// knows this recipe can check, beside the generic suite. Everything goes through the host table.
//
// - index-served: the page the recipe ships (its `index` config) is what / serves, not just "a 200".
// - secret-mounted: the admin_password secret is mounted and not empty (its value is never read).
// - version-file: after an upgrade the running image is the head's upstream version.
// - before-backup (hook) writes a page holding this run's backup marker into the content volume;
//   before-restore (hook) removes it; hook-page-restored proves the restore brought it back, so the
//   page was in the archive, so the hook ran before the backup op.
import PluginKit

struct StaticSiteOverlay: Plugin {
    static let name = "overlay-static-site"
    static let version = "1.0.0"
    static let metadata = Metadata(
        recipes: ["static-site"], canonicalSweep: true, stages: [.install, .upgrade, .backup, .restore],
        readiness: .init(path: "/"))

    /// The text of the fixture's index.html that the served page must contain.
    static let indexText = "Hello from static-site"
    /// The page the backup hook writes into the content volume (served at /cchost-hook.html).
    static let hookPage = "/www/cchost-hook.html"
    static let hookPath = "/cchost-hook.html"

    static let checks = [
        Check("index-served", tiers: [.install, .upgrade, .restore],
              description: "GET / answers 200 with the recipe's own index page") { host, _ in
            let response = try host.http("GET", "/")
            guard response.status == 200 else { return .fail("GET / answered \(response.status), expected 200") }
            guard response.body.contains(indexText) else {
                return .fail("GET / answered 200 but does not contain \"\(indexText)\" (got \"\(response.body.prefix(120))\")")
            }
            return .pass("GET / answered 200 with \"\(indexText)\"")
        },
        Check("secret-mounted", tiers: [.install],
              description: "the admin_password secret is mounted in app and not empty") { host, _ in
            // `test -s` prints nothing: the secret's value never leaves the container.
            let result = try host.exec(in: "app", ["test", "-s", "/run/secrets/admin_password"])
            return result.exitCode == 0
                ? .pass("/run/secrets/admin_password is mounted and not empty")
                : .fail("/run/secrets/admin_password is missing or empty (test -s exit \(result.exitCode))")
        },
        Check("version-file", tiers: [.upgrade],
              description: "after the upgrade, app runs the image of the head's upstream version") { host, _ in
            let app = try host.appInfo()
            guard let head = app.headVersion else {
                return .skip("the head is not a release (no head_version), so there is no upstream version to expect")
            }
            guard let plus = head.firstIndex(of: "+"), head.index(after: plus) < head.endIndex else {
                return .skip("head version \(head) has no upstream part (after +) to compare with")
            }
            let upstream = String(head[head.index(after: plus)...])
            let result = try host.exec(in: "app", ["cat", "/etc/fixture-version"])
            guard result.exitCode == 0 else {
                return .fail("cat /etc/fixture-version exited \(result.exitCode): \(result.output.prefix(200))")
            }
            let running = String(result.output.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
            return running == upstream
                ? .pass("app runs \(running), the upstream version of head \(head)")
                : .fail("app runs \(running), expected \(upstream) (the upstream version of head \(head))")
        },
        Check("hook-page-restored", tiers: [.restore],
              description: "the page the before-backup hook wrote is served again after the restore") { host, _ in
            let app = try host.appInfo()
            guard let marker = app.backup?.marker else {
                return .fail("no backup marker in app info: the backup tier did not seed one, so the hook page cannot be identified")
            }
            let response = try host.http("GET", hookPath)
            guard response.status == 200 else {
                return .fail("GET \(hookPath) answered \(response.status) after the restore: the hook's page did not come back")
            }
            guard response.body.contains(marker) else {
                return .fail("GET \(hookPath) does not hold this run's marker \(marker) (got \"\(response.body.prefix(120))\")")
            }
            return .pass("GET \(hookPath) serves the page written before the backup (marker \(marker))")
        },
        Check("host-proof-seen", tiers: [.restore],
              description: "app info carries the host's data proof of the restore, which this overlay's verdict builds on") { host, _ in
            guard let proof = try host.appInfo().backup?.proof else {
                return .fail("no data proof in app info after the restore")
            }
            guard proof.check == "cchost/data-proof" else { return .fail("app info's latest proof is \(proof.check), not cchost/data-proof") }
            return proof.verdict == "pass" ? .pass("the host proved the restore: \(proof.detail)")
                : .fail("the host's proof of the restore is \(proof.verdict): \(proof.detail)")
        },
    ]

    static let hooks = [
        Step("before-backup", tiers: [.backup],
             description: "writes a page holding this run's backup marker into the content volume") { host, _ in
            let app = try host.appInfo()
            guard let marker = app.backup?.marker else {
                return .fail("no backup marker in app info: nothing to identify the page with")
            }
            let page = "<!doctype html>\n<title>cchost hook</title>\n<p>written before the backup: \(marker)</p>\n"
            // The page's text goes in as an argument, never into the shell's script.
            let result = try host.exec(in: "app", ["sh", "-c", "printf '%s' \"$1\" > \"$2\"", "sh", page, hookPage])
            return result.exitCode == 0
                ? .pass("wrote \(hookPage)")
                : .fail("writing \(hookPage) exited \(result.exitCode): \(result.output.prefix(200))")
        },
        Step("before-restore", tiers: [.restore],
             description: "removes the hook's page, so that only the restore can bring it back") { host, _ in
            let result = try host.exec(in: "app", ["rm", "-f", hookPage])
            return result.exitCode == 0 ? .pass("removed \(hookPage)") : .fail("rm \(hookPage) exited \(result.exitCode)")
        },
    ]
}

@_cdecl("cchost_plugin_v1")
public func cchostPluginV1() -> UnsafeRawPointer { export(StaticSiteOverlay.self) }
