import Foundation

/// How the compose files `COMPOSE_FILE` names become one stack, the way `docker stack deploy -c a.yml
/// -c b.yml` merges them, done by cchost so that docker is handed one plain file:
///
/// - a service defined again is merged into the first: mappings key by key, a later value over an
///   earlier one, lists appended; except `ports` (one per published port), `secrets` and `configs`
///   (one per source), `volumes` (one per target), and `command`, `entrypoint` and `healthcheck.test`,
///   which a later file replaces;
/// - a secret, config, volume or network defined again is replaced whole;
/// - first, each file's list forms are read as docker reads them: `environment` and `labels` lists
///   as mappings (a bare `- NAME` takes NAME from the app's environment), a service's `networks`
///   list as a mapping, a single `env_file` as a list.
enum StackMerge {
    /// `file` (one compose file's tree) with its list forms normalized.
    static func normalize(_ file: StackNode, environment: [String: String]) -> StackNode {
        var file = file
        guard let services = file["services"]?.entries else { return file }
        file.set("services", to: StackNode(.map(services.map { entry in
            var service = entry
            guard service.node.entries != nil else { return service }
            service.node.update([]) { node in
                if let environmentNode = node["environment"] {
                    node.set("environment", to: mapping(of: environmentNode, bare: { environment[$0].map { .string($0) } ?? .null }))
                }
                if let labels = node["labels"] { node.set("labels", to: mapping(of: labels, bare: { _ in .string("") })) }
                if let labels = node["deploy"]?["labels"] {
                    node.update(["deploy"]) { $0.set("labels", to: mapping(of: labels, bare: { _ in .string("") })) }
                }
                if let networks = node["networks"], let items = networks.items {
                    // A network listed twice is one key: a mapping written with it twice is refused.
                    var names: [StackNode.Entry] = []
                    for item in items {
                        guard let name = item.text, !names.contains(where: { $0.key == name }) else { continue }
                        names.append(StackNode.Entry(key: name, node: StackNode(.null, at: item.location), location: item.location))
                    }
                    node.set("networks", to: StackNode(.map(names), at: networks.location))
                }
                if let envFile = node["env_file"], envFile.text != nil {
                    node.set("env_file", to: StackNode(.list([envFile]), at: envFile.location))
                }
            }
            return service
        }), at: file["services"]?.location ?? file.location))
        return file
    }

    /// A `- KEY=value` list as a `KEY: value` mapping (`bare` gives a `- KEY` item's value); a
    /// mapping's null values get `bare`'s too. Anything else is left for docker to refuse.
    private static func mapping(of node: StackNode, bare: (String) -> StackNode.Value) -> StackNode {
        if let entries = node.entries {
            return StackNode(.map(entries.map { entry in
                var entry = entry
                if entry.node.isNull { entry.node.value = bare(entry.key) }
                return entry
            }), at: node.location)
        }
        guard let items = node.items else { return node }
        var entries: [StackNode.Entry] = []
        var positions: [String: Int] = [:]
        for item in items {
            guard let text = item.text else { return node }
            let (key, value): (String, StackNode.Value)
            if let equals = text.firstIndex(of: "=") {
                key = String(text[..<equals]).trimmingCharacters(in: .whitespaces)
                value = .string(String(text[text.index(after: equals)...]))
            } else {
                key = text.trimmingCharacters(in: .whitespaces)
                value = bare(key)
            }
            let entry = StackNode.Entry(key: key, node: StackNode(value, at: item.location, written: item.written), location: item.location)
            if let index = positions[key] { entries[index] = entry } else { positions[key] = entries.count; entries.append(entry) }
        }
        return StackNode(.map(entries), at: node.location)
    }

    /// `later` (a normalized file) merged over `base` (the files before it, merged).
    static func merge(_ later: StackNode, into base: inout StackNode) {
        for section in later.entries ?? [] {
            guard let existing = base[section.key] else {
                base.set(section.key, to: section.node, keyAt: section.location)
                continue
            }
            switch section.key {
            case "services":
                var merged = existing
                for service in section.node.entries ?? [] {
                    if let earlier = merged.entry(service.key) {
                        merged.set(service.key, to: mergeValue(earlier.node, service.node, path: []), keyAt: earlier.location)
                    } else {
                        merged.set(service.key, to: service.node, keyAt: service.location)
                    }
                }
                base.set("services", to: merged)
            case "secrets", "configs", "volumes", "networks":
                var merged = existing
                for definition in section.node.entries ?? [] { merged.set(definition.key, to: definition.node, keyAt: definition.location) }
                base.set(section.key, to: merged)
            case "version":
                // Each file's version chose its schema; the merged file is read with the newest.
                let newer = (Double(section.node.text ?? "") ?? 0) > (Double(existing.text ?? "") ?? 0)
                if newer { base.set("version", to: section.node, keyAt: section.location) }
            default:
                base.set(section.key, to: section.node, keyAt: section.location)
            }
        }
    }

    /// One value of a service merged: `path` is where it is below the service (`["deploy", "labels"]`).
    private static func mergeValue(_ earlier: StackNode, _ later: StackNode, path: [String]) -> StackNode {
        switch (path, earlier.value, later.value) {
        case (["command"], _, _), (["entrypoint"], _, _), (["healthcheck", "test"], _, _):
            return later
        case (["ports"], .list(let a), .list(let b)):
            return keyedUnion(a, b, key: publishedPort)
        case (["secrets"], .list(let a), .list(let b)), (["configs"], .list(let a), .list(let b)):
            return keyedUnion(a, b) { $0.text ?? $0["source"]?.text ?? "" }
        case (["volumes"], .list(let a), .list(let b)):
            return keyedUnion(a, b, key: mountTarget)
        case (_, .list(let a), .list(let b)):
            return StackNode(.list(a + b), at: earlier.location)
        case (_, .map(var merged), .map(let laterEntries)):
            var positions = Dictionary(merged.enumerated().map { ($1.key, $0) }, uniquingKeysWith: { first, _ in first })
            for entry in laterEntries {
                if let index = positions[entry.key] {
                    merged[index].node = mergeValue(merged[index].node, entry.node, path: path + [entry.key])
                    merged[index].location = entry.location
                } else {
                    positions[entry.key] = merged.count
                    merged.append(entry)
                }
            }
            return StackNode(.map(merged), at: earlier.location)
        default:
            return later
        }
    }

    /// `earlier` and `later` with one item per key (a later item replaces an earlier one of its key),
    /// sorted by key, as docker's merge leaves them.
    private static func keyedUnion(_ earlier: [StackNode], _ later: [StackNode], key: (StackNode) -> String) -> StackNode {
        var items: [(String, StackNode)] = []
        var positions: [String: Int] = [:]
        for item in earlier + later {
            let itemKey = key(item)
            if let index = positions[itemKey] { items[index] = (itemKey, item) } else { positions[itemKey] = items.count; items.append((itemKey, item)) }
        }
        let sorted = items.enumerated().sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }.map(\.element.1)
        return StackNode(.list(sorted), at: earlier.first?.location ?? later.first?.location ?? .init(file: "", line: 1))
    }

    /// A port item's published port (`8080` of `8080:80` or of `published: 8080`); "" when it publishes none.
    static func publishedPort(_ item: StackNode) -> String {
        if item.entries != nil { return item["published"]?.text ?? "" }
        let parts = (item.text ?? "").split(separator: ":", omittingEmptySubsequences: false)
        return parts.count > 1 ? String(parts[parts.count - 2]) : ""
    }

    /// A mount item's target (`/data` of `db:/data:ro`, of `/data` alone, or of `target: /data`).
    static func mountTarget(_ item: StackNode) -> String {
        if item.entries != nil { return item["target"]?.text ?? "" }
        return ComposeModelReader.shortTarget(item.text ?? "")
    }
}
