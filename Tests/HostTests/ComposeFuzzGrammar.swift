import Foundation

/// Compose files for the fuzzer: documents shaped like recipes' compose files (services with their
/// usual fields, top-level definitions) written with everything YAML allows and docker's reader
/// disagrees on — tags, anchors, aliases, merge keys, duplicate and odd keys, scalars of every type,
/// flow style, deep nesting, long lists — then sometimes broken by text edits. Most inputs are
/// refused; enough load to exercise rendering and the policy.
struct ComposeGrammar {
    /// A YAML node as written: scalars and keys carry their written form (plain, quoted, escaped).
    indirect enum Node {
        case scalar(String)
        case alias(String)
        case map([(key: String, value: Node)])
        case list([Node])
        /// An anchor and/or a tag written before the node.
        case decorated(String, Node)
    }

    var random: SplitMix64
    /// Anchors defined so far, in document order (an alias names an earlier one).
    private var anchors: [String] = []
    /// How many more values `value(depth:)` may make for this file: inputs stay a few KB.
    private var valuesLeft = 0

    init(random: SplitMix64) { self.random = random }

    // MARK: Choices

    mutating func chance(_ probability: Double) -> Bool { Double.random(in: 0..<1, using: &random) < probability }
    mutating func number(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }
    // The pools below are literals, never empty.
    mutating func pick<T>(_ choices: [T]) -> T { choices[number(0...(choices.count - 1))] }

    // MARK: Inputs

    /// One input: one compose file, sometimes two (merged as `COMPOSE_FILE` would), sometimes an
    /// adversarial shape (deep nesting, an alias bomb, a very wide file).
    mutating func files() -> [(path: String, text: String)] {
        anchors = []
        valuesLeft = number(20...400)
        let roll = number(0...99)
        var text: String
        switch roll {
        case 0..<3: text = deepNesting()
        case 3..<4: text = aliasBomb()
        case 4..<7: text = write(wide())
        case 7..<35: text = mutate(Self.baseCompose)
        default: text = write(document())
        }
        if roll >= 35 && chance(0.25) { text = mutate(text) }
        guard chance(0.15) else { return [("/fuzz/compose.yml", text)] }
        anchors = []
        valuesLeft = number(20...400)
        let second = chance(0.3) ? mutate(Self.baseCompose) : write(document())
        return [("/fuzz/compose.yml", text), ("/fuzz/compose.extra.yml", second)]
    }

    // MARK: Compose shapes

    mutating func document() -> Node {
        var top: [(key: String, value: Node)] = []
        if chance(0.4) { top.append(("version", .scalar(pick(["\"3.8\"", "'3'", "3.8", "\"$V\"", "3", "\"$$x\""])))) }
        if chance(0.3) { top.append(("x-common", decorate(service(depth: 1), anchorChance: 0.9))) }
        top.append(("services", services()))
        for section in ["volumes", "networks", "secrets", "configs"] where chance(0.45) {
            top.append((section, definitions(section)))
        }
        if chance(0.1) { top.append((key(), value(depth: 1))) }
        return .map(shuffled(duplicated(top)))
    }

    mutating func services() -> Node {
        if chance(0.03) { return value(depth: 1) }
        var entries: [(key: String, value: Node)] = []
        for _ in 0..<number(1...4) {
            entries.append((chance(0.9) ? pick(["app", "db", "web", "worker", "app"]) : key(), decorate(service(depth: 2))))
        }
        return .map(duplicated(entries))
    }

    mutating func service(depth: Int) -> Node {
        var fields: [(key: String, value: Node)] = []
        func field(_ probability: Double, _ key: String, _ make: (inout ComposeGrammar) -> Node) {
            if chance(probability) { fields.append((key, chance(0.06) ? value(depth: depth + 1) : decorate(make(&self)))) }
        }
        field(0.8, "image") { $0.scalar(["nginx:1.25", "\"${IMAGE:-nginx}\"", "'postgres:16'", "git.coopcloud.tech/x@sha256:abc", "$IMAGE"]) }
        field(0.4, "volumes") { g in g.list(3) { g in
            g.chance(0.7) ? g.scalar(["data:/var/lib/data", "/etc:/host-etc:ro", "/var/run/docker.sock:/var/run/docker.sock",
                                      "./x:/x", "\"${DIR}:/d\"", "/srv", "../up:/up", "'$$HOME:/h'"])
                : g.mapping([("type", ["bind", "volume", "tmpfs", "npipe", "\"${T:-bind}\""]), ("source", ["/srv", "data", "\"$HOME\""]),
                             ("target", ["/srv", "/d"]), ("read_only", ["true", "\"${B}\"", "yes", "1"])])
        } }
        field(0.35, "ports") { g in g.list(3) { g in
            g.chance(0.6) ? g.scalar(["80:80", "\"8080:80\"", "53:53/udp", "\"${P}:80\"", "443", "127.0.0.1:8000:8000"])
                : g.mapping([("published", ["8080", "\"${P:-81}\"", "0x50", "\"$$\""]), ("target", ["80", "\"${N}\"", "1_000"]), ("mode", ["host", "ingress"])])
        } }
        field(0.3, "cap_add") { g in g.list(3) { g in g.scalar(["NET_ADMIN", "SYS_ADMIN", "ALL", "\"${CAP}\""]) } }
        field(0.5, "environment") { g in
            g.chance(0.5)
                ? g.list(4) { g in g.scalar(["A=1", "HOME", "\"B=${X}\"", "C=$$literal", "'D=${UNSET:-d}'", "X", "E=", "=F"]) }
                : .map((0..<g.number(0...4)).map { _ in (g.pick(["A", "B", "HOME", "X", "on", "\"1\"", "A"]), g.anyScalar()) })
        }
        field(0.5, "deploy") { g in g.deploy(depth: depth + 1) }
        field(0.3, "networks") { g in
            g.chance(0.5) ? g.list(3) { g in g.scalar(["proxy", "internal", "default", "proxy", "1", "~"]) }
                : g.mapping([("proxy", ["~", "{}", "{aliases: [a]}"]), ("internal", ["null", "{}"])])
        }
        for kind in ["secrets", "configs"] {
            field(0.3, kind) { g in g.list(3) { g in
                g.chance(0.6) ? g.scalar(["db_password", "app_config", "\"${S}\""])
                    : g.mapping([("source", ["db_password", "app_config"]), ("target", ["/run/x", "x"]), ("mode", ["0400", "0o400", "\"${M:-256}\"", "256"])])
            } }
        }
        field(0.2, "healthcheck") { g in
            g.mapping([("test", ["[\"CMD\", \"true\"]", "curl -f localhost", "[\"NONE\"]", "\"$$x\""]), ("disable", ["false", "\"${B}\"", "no"]),
                       ("retries", ["3", "\"${N}\"", "0x3"]), ("interval", ["30s", "1m"])])
        }
        field(0.15, "command") { g in g.chance(0.5) ? g.anyScalar() : g.list(3) { g in g.anyScalar() } }
        for (key, values) in [("privileged", ["true", "\"${B}\"", "false", "yes", "\"$$\""]), ("pid", ["host", "\"\""]), ("ipc", ["host"]),
                              ("network_mode", ["host", "bridge"]), ("tty", ["true", "\"${B}\""]), ("read_only", ["on", "\"yes\""]),
                              ("env_file", [".env", "../../etc/passwd", "[a.env, /etc/x]", "\"${F}\""]), ("devices", ["[/dev/kvm]"]),
                              ("security_opt", ["[seccomp:unconfined]"])] {
            field(0.06, key) { g in g.scalar(values) }
        }
        field(0.05, "ulimits") { g in g.mapping([("nofile", ["{soft: 1, hard: 2}", "\"${N}\"", "65535"]), ("nproc", ["65535", "\"${N}\""])]) }
        if chance(0.1) { fields.append((key(), value(depth: depth + 1))) }
        if chance(0.12), let merge = mergeEntry() { fields.insert(merge, at: number(0...fields.count)) }
        return .map(shuffled(duplicated(fields)))
    }

    mutating func deploy(depth: Int) -> Node {
        var fields: [(key: String, value: Node)] = []
        if chance(0.6) {
            fields.append(("replicas", scalar(["1", "\"${N}\"", "\"3\"", "0x10", "1_000", "-1", "9223372036854775807", "1.0", "yes", "\"$$\"",
                                               "\"${N:-2}\"", "99999999999999999999", "1e3", "0", "-0.0", "\"${HUGE:-9223372036854775808}\""])))
        }
        if chance(0.6) {
            fields.append(("labels", chance(0.5)
                ? list(5) { g in g.scalar(["traefik.enable=true", "\"traefik.http.routers.${STACK_NAME}.rule=Host(`${DOMAIN}`)\"",
                                         "coop-cloud.${STACK_NAME}.version=1.0.0+1.25", "backupbot.backup=true", "a", "=", "x=$$y"]) }
                : .map((0..<number(0...5)).map { _ in (pick(["traefik.enable", "\"traefik.port\"", "on", "1", "a.b", "\"${X}\"", "a.b"]), anyScalar()) })))
        }
        if chance(0.4) {
            fields.append(("resources", .map([("limits", mapping([("cpus", ["\"0.5\"", "0.5", "2", "\"${CPUS:-1}\"", ".5", "1e-7"]),
                                                                  ("memory", ["512M", "\"${MEM}\"", "1G", "0"])]))])))
        }
        if chance(0.2) {
            fields.append(("update_config", mapping([("parallelism", ["1", "\"${N}\"", "0b11"]), ("max_failure_ratio", ["0.1", "\"${R:-0.5}\"", ".inf", "\"1e400\""])])))
        }
        if chance(0.15) { fields.append(("restart_policy", mapping([("max_attempts", ["3", "\"${N}\""]), ("condition", ["on-failure"])]))) }
        if chance(0.05) { fields.append((key(), value(depth: depth + 1))) }
        if chance(0.08), let merge = mergeEntry() { fields.append(merge) }
        return .map(duplicated(fields))
    }

    mutating func definitions(_ section: String) -> Node {
        var entries: [(key: String, value: Node)] = []
        for _ in 0..<number(0...3) {
            let name = chance(0.9) ? pick(["data", "proxy", "db_password", "app_config", "internal"]) : key()
            var fields: [(key: String, value: Node)] = []
            if chance(0.4) { fields.append(("name", scalar(["\"${STACK_NAME}_${SECRET_DB_PASSWORD_VERSION}\"", "other_app_x", "host", "\"$$n\"", "${STACK_NAME}_x"]))) }
            if chance(0.3) { fields.append(("external", scalar(["true", "\"${B}\"", "false", "on", "\"maybe\""]))) }
            if section == "secrets" || section == "configs", chance(0.4) {
                fields.append(("file", scalar(["./x.conf", "/etc/shadow", "../x", "\"${F:-a}\""])))
            }
            if section == "volumes", chance(0.2) {
                fields.append(("driver_opts", mapping([("type", ["none", "nfs"]), ("o", ["bind", "\"addr=1,bind\""]), ("device", ["/srv", "\"${D}\""])])))
            }
            if chance(0.08) { fields.append((key(), value(depth: 3))) }
            entries.append((name, chance(0.15) ? .scalar(pick(["~", "", "{}", "x"])) : decorate(.map(fields))))
        }
        return .map(duplicated(entries))
    }

    /// A wide file: many services, or long lists.
    mutating func wide() -> Node {
        let count = number(50...1500)
        if chance(0.5) {
            return .map([("services", .map((0..<count).map { index in
                ("s\(index % (chance(0.01) ? 7 : count))", .map([("image", .scalar("nginx")), ("deploy", .map([("replicas", .scalar("\(index)"))]))]))
            }))])
        }
        let items: [Node] = (0..<count * 4).map { index in .scalar(chance(0.5) ? "\"L\(index)=${X}$$\"" : "L\(index)=v") }
        return .map([("services", .map([("app", .map([("environment", .list(items)), ("deploy", .map([("labels", .list(items))]))]))]))])
    }

    /// Deeply nested collections, flow or block, past what the reader accepts and sometimes far past.
    mutating func deepNesting() -> String {
        let depth = chance(0.7) ? number(40...100) : number(100...30_000)
        let prefix = "services:\n  app:\n    labels: "
        switch number(0...3) {
        case 0: return prefix + String(repeating: "[", count: depth) + String(repeating: "]", count: chance(0.9) ? depth : depth / 2) + "\n"
        case 1: return prefix + String(repeating: "{a: ", count: depth) + "1" + String(repeating: "}", count: depth) + "\n"
        case 2: return prefix + String(repeating: "- ", count: depth) + "x\n"
        default:
            let levels = min(depth, 300)
            return "services:\n" + (0..<levels).map { String(repeating: " ", count: $0 + 2) + "k\($0):" }.joined(separator: "\n") + " v\n"
        }
    }

    /// Nested anchors that stand for far more nodes than they take lines.
    mutating func aliasBomb() -> String {
        var lines = ["x-a: &a [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]"]
        let levels = number(2...9)
        for level in 1...levels {
            let previous = level == 1 ? "a" : "a\(level - 1)"
            lines.append("x-a\(level): &a\(level) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ", ") + "]")
        }
        lines.append("services:\n  app:\n    image: nginx\n    command: *a\(levels)")
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: Values, keys and scalars

    /// Any value: a scalar, an alias, a collection (nested further with `depth`), sometimes a deep chain.
    mutating func value(depth: Int) -> Node {
        if !anchors.isEmpty && chance(0.08) { return .alias(pick(anchors)) }
        if chance(0.01) { return .alias("nowhere") }
        valuesLeft -= 1
        if depth > 80 || valuesLeft < 0 || chance(0.5) { return decorate(anyScalar()) }
        if chance(0.04) {
            var node: Node = anyScalar()
            for _ in 0..<number(5...80) { node = chance(0.5) ? .list([node]) : .map([(key(), node)]) }
            return node
        }
        if chance(0.01) { return .list((0..<number(100...3000)).map { _ in anyScalar() }) }
        if chance(0.5) { return decorate(.list((0..<number(0...4)).map { _ in value(depth: depth + 1) })) }
        var entries = (0..<number(0...4)).map { _ in (key: key(), value: value(depth: depth + 1)) }
        if chance(0.15), let merge = mergeEntry() { entries.insert(merge, at: number(0...entries.count)) }
        return decorate(.map(duplicated(entries)))
    }

    mutating func key() -> String {
        if chance(0.6) { return pick(["app", "image", "labels", "a", "b", "x-ext", "deploy"]) }
        return pick(["on", "1", "null", "~", "\"on\"", "'1'", "\"\"", "true", "0x1", "y", "\"<<\"", "'<<'", "[a, b]", "{a: 1}",
                     "\"a:b\"", "a b", "\"$X\"", "$X", "\"${X}\"", "1.5", ".inf", "!!str 1", "! k", "!custom k", "&k k", "? q",
                     "\"\\u0000\"", "\"é\"", "🚀", "'it''s'", "\"\\t\"", String(repeating: "k", count: number(100...3000))])
    }

    /// A scalar as written: one of docker's tricky ones, or a random text plain or quoted.
    mutating func anyScalar() -> Node {
        if chance(0.6) {
            return .scalar(pick(["0755", "0x1F", "0o17", "0b101", "1_000", "-1", "+1", ".5", "1.", "1e5", "1.0", "-0.0", "-0", "0.0",
                                 "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
                                 "99999999999999999999", "1e308", "1e309", "4.9e-324", "123456789012345678.5", ".inf", "-.Inf", ".NaN",
                                 "yes", "No", "on", "OFF", "y", "n", "~", "null", "Null", "", "true", "FALSE", "\"$HOME\"", "$HOME",
                                 "${X:-y}", "\"${X:-y}\"", "$$", "\"$$\"", "'$$x'", "${A:?need}", "\"${EMPTY:?need it}\"", "${EMPTY?}",
                                 "${HOME?}", "$", "\"${\"", "${X:+alt}", "${1}", "$1", "\"a$$b$HOME${X}${UNSET}${UNSET:-d}${UNSET-e}\"",
                                 "\"$DOLLAR$DD$BRACE\"", "\"${DD}\"", "2001-01-01", "12:30:00", "0.", "\"\\u0000\"", "\"\\x85\"",
                                 "\"\\uFFFE\"", "\"\\t\\n\"", "'it''s'", "\"é ü 中文 🚀\"", "\"\\u2028\"", "\"\\e\"", "\"\\N\\_\\L\\P\"",
                                 "\"\\U0001F600\"", "\"\\uD800\"", "<<", "=", "a=b", "KEY=$X", "-", "--", "@at", "`tick`", "%pct",
                                 "x #comment", "a: b", "[]", "{}", "[1, [2, {3: 4}]]", "\"\u{7}\"", "\"tab\there\"", "'\u{85}'", "\u{FEFF}x",
                                 "|\n  literal $X\n", ">-\n  folded\n  text\n", "\"" + String(repeating: "$$", count: number(1...500)) + "\"",
                                 String(repeating: "long", count: number(100...2000))]))
        }
        let alphabet = Array("abcXYZ019 _-.:/=$${}[],#&*!|>'\"%@`?\\\té中🚀\u{85}\u{2028}\u{FEFF}\u{0}\u{1B}".unicodeScalars)
        var text = String.UnicodeScalarView()
        for _ in 0..<number(0...(chance(0.05) ? 3000 : 24)) { text.append(pick(alphabet)) }
        let raw = String(text)
        switch number(0...2) {
        case 0: return .scalar(raw)
        case 1: return .scalar("'" + raw.replacingOccurrences(of: "'", with: "''") + "'")
        default: return .scalar("\"" + raw.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"")
        }
    }

    mutating func scalar(_ choices: [String]) -> Node { chance(0.05) ? anyScalar() : .scalar(pick(choices)) }

    mutating func list(_ most: Int, _ item: (inout ComposeGrammar) -> Node) -> Node {
        .list((0..<number(0...most)).map { _ in item(&self) })
    }

    mutating func mapping(_ fields: [(String, [String])]) -> Node {
        .map(fields.compactMap { key, values in chance(0.7) ? (key, scalar(values)) : nil })
    }

    /// `<<: *a`, `<<: [*a, *b]`, or a tagged merge key, naming earlier anchors.
    mutating func mergeEntry() -> (key: String, value: Node)? {
        guard !anchors.isEmpty else { return nil }
        let key = chance(0.85) ? "<<" : pick(["! <<", "!!merge <<", "\"<<\""])
        if chance(0.6) { return (key, .alias(pick(anchors))) }
        return (key, .list((0..<number(0...3)).map { _ in chance(0.9) ? .alias(pick(anchors)) : anyScalar() }))
    }

    /// `node`, sometimes with an anchor (an alias may then name it) and rarely with a tag.
    mutating func decorate(_ node: Node, anchorChance: Double = 0.12) -> Node {
        var prefix: [String] = []
        if chance(0.03) { prefix.append(pick(["!!binary", "!", "!custom", "!!str", "!!int", "!!merge", "!!map", "!!seq", "!!null", "!<tag:x>"])) }
        if chance(anchorChance) {
            let anchor = chance(0.1) && !anchors.isEmpty ? pick(anchors) : "a\(anchors.count)"
            anchors.append(anchor)
            prefix.insert("&" + anchor, at: chance(0.5) ? 0 : prefix.count)
        }
        return prefix.isEmpty ? node : .decorated(prefix.joined(separator: " "), node)
    }

    mutating func duplicated(_ entries: [(key: String, value: Node)]) -> [(key: String, value: Node)] {
        guard !entries.isEmpty, chance(0.04) else { return entries }
        var entries = entries
        entries.append(pick(entries))
        return entries
    }

    mutating func shuffled<T>(_ items: [T]) -> [T] { chance(0.2) ? items.shuffled(using: &random) : items }

    // MARK: Writing

    /// `node` as YAML text: block style mostly, flow style at random, sometimes a wrong indentation.
    mutating func write(_ node: Node) -> String {
        block(node, indent: 0).joined(separator: "\n") + "\n"
    }

    private mutating func block(_ node: Node, indent: Int) -> [String] {
        let pad = String(repeating: " ", count: indent)
        switch node {
        case .map(let entries) where !entries.isEmpty && !chance(0.05):
            return entries.flatMap { key, value -> [String] in
                let (decoration, inner) = split(value)
                guard isBlock(inner), !chance(0.1) else { return ["\(pad)\(key): " + flow(value)] }
                let step = chance(0.02) ? pick([0, 1, 3, -1]) : 2
                let childIndent = max(0, indent + (isList(inner) && chance(0.3) ? 0 : step))
                return ["\(pad)\(key):" + (decoration.map { " " + $0 } ?? "")] + block(inner, indent: childIndent)
            }
        case .list(let items) where !items.isEmpty && !chance(0.05):
            return items.flatMap { item -> [String] in
                let (decoration, inner) = split(item)
                guard isBlock(inner), !chance(0.1) else { return ["\(pad)- " + flow(item)] }
                if let decoration { return ["\(pad)- \(decoration)"] + block(inner, indent: indent + 2) }
                var lines = block(inner, indent: indent + 2)
                lines[0] = pad + "- " + lines[0].dropFirst(indent + 2)
                return lines
            }
        default:
            return [pad + flow(node)]
        }
    }

    private func flow(_ node: Node) -> String {
        switch node {
        case .scalar(let text): return text
        case .alias(let name): return "*" + name
        case .map(let entries): return "{" + entries.map { "\($0.key): " + flow($0.value) }.joined(separator: ", ") + "}"
        case .list(let items): return "[" + items.map(flow).joined(separator: ", ") + "]"
        case .decorated(let prefix, let inner): return prefix + " " + flow(inner)
        }
    }

    private func split(_ node: Node) -> (String?, Node) {
        if case .decorated(let prefix, let inner) = node { return (prefix, inner) }
        return (nil, node)
    }

    private func isBlock(_ node: Node) -> Bool {
        switch node {
        case .map(let entries): !entries.isEmpty
        case .list(let items): !items.isEmpty
        default: false
        }
    }

    private func isList(_ node: Node) -> Bool {
        if case .list = node { return true }
        return false
    }

    // MARK: Breaking text

    /// `text` with a few random edits: lines deleted, duplicated, swapped or re-indented, characters
    /// inserted, deleted or replaced, a value replaced, the end cut off.
    mutating func mutate(_ text: String) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0.unicodeScalars) }
        let specials = Array(":-&*!{}[],#|>'\"%@`?$\t \\\u{0}\u{85}\u{FEFF}é".unicodeScalars)
        for _ in 0..<number(1...5) where !lines.isEmpty {
            let line = number(0...(lines.count - 1))
            switch number(0...8) {
            case 0: lines.remove(at: line)
            case 1: lines.insert(lines[line], at: line)
            case 2: lines.swapAt(line, number(0...(lines.count - 1)))
            case 3:
                if chance(0.5) { lines[line].insert(contentsOf: Array(repeating: pick([" ", "\t"]), count: number(1...3)), at: 0) }
                else { lines[line].removeFirst(min(lines[line].count, number(1...3))) }
            case 4: lines[line].insert(pick(specials), at: number(0...lines[line].count))
            case 5:
                guard !lines[line].isEmpty else { continue }
                let start = number(0...(lines[line].count - 1))
                lines[line].removeSubrange(start..<min(lines[line].count, start + number(1...4)))
            case 6:
                guard !lines[line].isEmpty else { continue }
                lines[line][number(0...(lines[line].count - 1))] = pick(specials)
            case 7:
                guard let colon = lines[line].firstIndex(of: ":") else { continue }
                guard case .scalar(let written) = anyScalar() else { continue }
                lines[line] = Array(lines[line][...colon]) + [" "] + Array(written.unicodeScalars)
            default:
                lines.removeLast(number(0...(lines.count - 1)))
            }
        }
        return lines.map { String(String.UnicodeScalarView($0)) }.joined(separator: "\n")
    }

    /// A recipe's compose file as Co-op Cloud writes them, the start of the mutated inputs.
    static let baseCompose = """
        version: "3.8"

        x-environment: &default-env
          - DOMAIN
          - LETS_ENCRYPT_ENV
          - "DB_PASSWORD_FILE=/run/secrets/db_password"

        services:
          app:
            image: nginx:1.25.3
            environment: *default-env
            networks:
              - proxy
              - internal
            volumes:
              - "data:/usr/share/nginx/html"
            secrets:
              - db_password
            configs:
              - source: nginx_conf
                target: /etc/nginx/nginx.conf
                mode: 0444
            healthcheck:
              test: ["CMD", "curl", "-f", "http://localhost"]
              interval: 30s
              retries: 10
            deploy:
              replicas: ${REPLICAS:-1}
              restart_policy:
                condition: on-failure
              resources:
                limits:
                  cpus: "0.5"
                  memory: 512M
              labels:
                - "traefik.enable=true"
                - "traefik.http.services.${STACK_NAME}.loadbalancer.server.port=80"
                - "traefik.http.routers.${STACK_NAME}.rule=Host(`${DOMAIN}`)"
                - "traefik.http.routers.${STACK_NAME}.tls.certresolver=${LETS_ENCRYPT_ENV}"
                - "coop-cloud.${STACK_NAME}.version=1.0.0+1.25.3"
          db:
            image: postgres:16
            environment:
              POSTGRES_PASSWORD_FILE: /run/secrets/db_password
              PGDATA: $${PGDATA:-/var/lib/postgresql/data}
            networks: [internal]
            volumes: [db:/var/lib/postgresql/data]
            secrets: [db_password]
            deploy:
              labels:
                backupbot.backup: "true"
                backupbot.backup.pre-hook: "pg_dump -U $${POSTGRES_USER} > /tmp/dump.sql"

        volumes:
          data:
          db:

        networks:
          proxy:
            external: true
          internal:

        secrets:
          db_password:
            external: true
            name: ${STACK_NAME}_db_password_${SECRET_DB_PASSWORD_VERSION}

        configs:
          nginx_conf:
            name: ${STACK_NAME}_nginx_conf_${NGINX_CONF_VERSION}
            file: nginx.conf.tmpl
            template_driver: golang
        """
}
