import Foundation
import HostBase
import HostDocker

/// Where an upgrade as cchost performs it could be kinder than the one operators live, decided from
/// the base's and the head's recipes as the existing app reads them (its env is the one the base's
/// `.env.sample` gave it at install; abra never rewrites it):
/// - a variable the head needs that the app's env lacks (the head's `.env.sample` sets it, the
///   compose files give no default): operators would deploy it empty — the upgrade is RED;
/// - secrets the head adds: abra generates secrets at `app new` only, so operators must generate
///   them before upgrading (cchost generates them to go on, and says so);
/// - services the head no longer declares: abra deploys without pruning, so they keep running.
enum UpgradeDrift {
    /// Variables the head's compose files use without a default that the app's env lacks while the
    /// head's `.env.sample` gives them a value, once each, at their first use. (One the sample leaves
    /// empty deploys empty on a fresh install of the head too.)
    static func missingVariables(head: Recipe) -> [ComposeProject.UnsetVariable] {
        var seen = Set<String>()
        return head.compose.unsetVariables.filter { !(head.envSample.values[$0.name] ?? "").isEmpty && seen.insert($0.name).inserted }
    }

    /// The missing variables the head's release notes name (`release/<version>`): operators who read
    /// them add the variable to their app's env, so cchost does too.
    static func documented(_ missing: [ComposeProject.UnsetVariable], head: Recipe, version: String?) -> [ComposeProject.UnsetVariable] {
        guard let version, let notes = head.releaseNotes[version] else { return [] }
        return missing.filter { variable in
            notes.matches(of: /[A-Za-z0-9_]+/).contains { $0.output == variable.name }
        }
    }

    /// The secrets (compose key → Docker name) the head deploys that the base did not, sorted by key.
    static func addedSecrets(base: Recipe, head: Recipe) -> [(key: String, name: String)] {
        let before = Set(base.compose.secrets.map { $0.value.name ?? $0.key })
        return head.compose.secrets.map { (key: $0.key, name: $0.value.name ?? $0.key) }
            .filter { !before.contains($0.name) }.sorted { $0.key < $1.key }
    }

    /// The stack's services the head no longer declares (short names, sorted).
    static func leftRunning(_ services: [SwarmService], stack: String, head: Recipe) -> [String] {
        services.map { $0.name.hasPrefix(stack + "_") ? String($0.name.dropFirst(stack.count + 1)) : $0.name }
            .filter { head.compose.services[$0] == nil }.sorted()
    }

    /// The RED detail for missing variables: which, where, and how a maintainer fixes it.
    static func missingDetail(_ missing: [ComposeProject.UnsetVariable], in head: Recipe, version: String?) -> String {
        let folder = head.directory.hasSuffix("/") ? head.directory : head.directory + "/"
        let named = missing.map { "\($0.name) (\($0.location.file.hasPrefix(folder) ? String($0.location.file.dropFirst(folder.count)) : $0.location.file):\($0.location.line))" }
            .joined(separator: ", ")
        let them = missing.count == 1 ? "it" : "them"
        let notes = version.map { "release/\($0)" } ?? "the release's notes (release/<version>)"
        var fix = "Give a default (${NAME:-value}), or name \(them) in \(notes) so that operators add \(them) to their app's env"
        if missing.contains(where: { $0.name.hasPrefix("SECRET_") && $0.name.hasSuffix("_VERSION") }) {
            fix += " (a new secret's SECRET_<NAME>_VERSION: the notes tell operators to add it and run abra app secret generate)"
        }
        return "the head needs \(named), which the head's .env.sample sets but an app installed from the base's does not have, "
            + "and the compose files give no default: an operator's upgrade would deploy \(them) empty. " + fix
    }
}
