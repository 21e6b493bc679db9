import Foundation
import HostBase

/// One deploy's stack as cchost hands it to docker: the recipe's compose files rendered with the
/// env that deploy uses (see `ComposeProject.rendered`), checked by the content policy, cchost's own
/// labels and limits added, every file it references (configs, secrets, `env_file`) copied into the
/// run's folder with its digest, written as one plain file. Docker reads only that file and the
/// copies, never the checkout: what was checked is what is deployed, whatever changes in the
/// checkout afterwards.
public struct RenderedDeploy: Sendable, Equatable, Codable {
    /// A file of the recipe the stack references, and its copy.
    public struct CopiedFile: Sendable, Equatable, Codable {
        /// As the compose file names it (`nginx.conf`, `./secrets/token`).
        public var name: String
        /// The copy docker reads, relative to the deploy's folder.
        public var copy: String
        public var sha256: String
    }

    /// The rendered stack's path, relative to the app's work directory: `deploys/1/rendered.yml`.
    public var file: String
    public var sha256: String
    public var copies: [CopiedFile]

    /// The ref the deploy deployed, for the run record.
    public var ref: String
}

/// Renders, checks and writes a deploy's stack (`RenderedDeploy`); every backend calls it before
/// it deploys anything.
public enum StackPreparation {
    /// The content policy's decision on `recipe`'s rendered stack under `allowance` and the tasks
    /// ceiling: what the run checks before any deploy and every deploy checks again.
    public static func decide(_ recipe: Recipe, allowance: PolicyAllowance, maxTasks: Int) -> RecipePolicy.Decision {
        let composeFile = recipe.envSample.location(of: "COMPOSE_FILE", ifItIs: recipe.environment["COMPOSE_FILE"])
        let findings = RecipePolicy.evaluate(recipe.compose, checkout: recipe.directory, maxReplicas: allowance.maxReplicas,
                                             maxTasks: maxTasks, composeFileSetting: composeFile, allowedDomains: allowance.domains)
        return RecipePolicy.decide(findings, allowance: allowance)
    }

    /// The content policy on `recipe`'s rendered stack under the app's allowance and ceilings: a
    /// refused finding stops the deploy, naming each finding's file:line.
    public static func check(_ recipe: Recipe, app: AppDeployment) throws(DeployError) {
        let refused = decide(recipe, allowance: app.allowance, maxTasks: app.maxTasks).refused
        guard refused.isEmpty else {
            throw DeployError(operation: "check", stack: app.stack, reason: "the recipe content policy refuses to deploy it: "
                              + refused.map { $0.line(relativeTo: recipe.directory) }.joined(separator: "; "))
        }
    }

    /// Writes `stack` (the rendered stack with cchost's additions) and copies of the files it
    /// references into a new folder `deploys/<n>` of the app's work directory.
    public static func write(_ stack: StackNode, recipe: Recipe, app: AppDeployment) throws(DeployError) -> RenderedDeploy {
        let deploys = app.workDirectory.appendingPathComponent("deploys")
        let existing = (try? FileManager.default.contentsOfDirectory(atPath: deploys.path)) ?? [] // Kept: no folder yet is none.
        let number = (existing.compactMap { Int($0) }.max() ?? 0) + 1
        let folder = deploys.appendingPathComponent(String(number))
        let files = folder.appendingPathComponent("files")
        try FileManager.default.createDirectoryIfMissing(files, stack: app.stack)
        var stack = stack
        var copies: [RenderedDeploy.CopiedFile] = []
        func copy(_ name: String, as copyName: String, at location: ComposeProject.Location) throws(DeployError) -> StackNode {
            if let reason = RecipeFile.escape(name, from: recipe.directory) {
                throw DeployError(operation: "check", stack: app.stack, reason: "\(location): \(name) \(reason)")
            }
            let source = URL(fileURLWithPath: recipe.directory).appendingPathComponent(name).path
            let read: Data?
            do { read = try TextFile.data(at: source) } catch {
                throw DeployError(operation: "copy recipe file", stack: app.stack, reason: "\(location): \(name) cannot be read: \(error.reason)")
            }
            guard let data = read else {
                throw DeployError(operation: "copy recipe file", stack: app.stack, reason: "\(location): \(name): no such file")
            }
            let target = files.appendingPathComponent(copyName)
            try write(data, to: target, stack: app.stack)
            copies.append(.init(name: name, copy: "files/" + copyName, sha256: Digest.sha256(of: data).hex))
            return StackNode(.string(target.path), at: location)
        }
        for kind in ["configs", "secrets"] {
            for entry in stack[kind]?.entries ?? [] {
                guard let file = entry.node["file"], let name = file.text else { continue }
                let copied = try copy(name, as: "\(kind)-\(entry.key)", at: file.location)
                stack.update([kind, entry.key]) { $0.set("file", to: copied) }
            }
        }
        for service in stack["services"]?.entries ?? [] {
            guard let items = service.node["env_file"]?.items else { continue }
            var copied: [StackNode] = []
            for (index, item) in items.enumerated() {
                guard let name = item.text ?? item["path"]?.text else { continue }
                copied.append(try copy(name, as: "env-\(service.key)-\(index + 1)", at: item.location))
            }
            stack.update(["services", service.key]) { $0.set("env_file", to: StackNode(.list(copied), at: service.location)) }
        }
        for service in stack["services"]?.entries ?? [] {
            guard let items = service.node["volumes"]?.items else { continue }
            let absolute = items.map { anchoredBind($0, in: recipe.directory) }
            stack.update(["services", service.key]) { $0.set("volumes", to: StackNode(.list(absolute), at: service.location)) }
        }
        let sources = recipe.compose.files.map { RecipeLint.relative($0, to: recipe.directory) }.joined(separator: ", ")
        // One comment line: whatever a ref or file name holds, it cannot start a line of YAML.
        let comment = "\(sources) of \(app.checkout.ref) (\(app.checkout.shortCommit)), rendered and checked by cchost"
            .unicodeScalars.map { $0.properties.generalCategory == .control || $0 == "\u{2028}" || $0 == "\u{2029}" ? "?" : String($0) }.joined()
        let text = "# \(comment)\n"
            + stack.json(escaping: true) + "\n"
        let rendered = folder.appendingPathComponent("rendered.yml")
        try write(Data(text.utf8), to: rendered, stack: app.stack)
        return RenderedDeploy(file: "deploys/\(number)/rendered.yml", sha256: Digest.sha256(of: Data(text.utf8)).hex,
                              copies: copies, ref: app.checkout.ref)
    }

    /// A mount whose host path is relative (`./data:/data`, or `source: ./data` of a bind) with that
    /// path made absolute in the checkout: docker resolves it against the folder of the file it
    /// reads, which is now the run's, not the recipe's. (Only an operator's `bind_mount` allowance
    /// lets such a mount through the policy at all.)
    static func anchoredBind(_ item: StackNode, in checkout: String) -> StackNode {
        func anchored(_ path: String) -> String? {
            path.hasPrefix(".") ? URL(fileURLWithPath: checkout).appendingPathComponent(path).standardizedFileURL.path : nil
        }
        var item = item
        if item.entries != nil {
            if item["type"]?.text == "bind", let source = item["source"], let path = source.text.flatMap(anchored) {
                item.set("source", to: StackNode(.string(path), at: source.location))
            }
        } else if let text = item.text, let colon = text.firstIndex(of: ":"), let path = anchored(String(text[..<colon])) {
            item.value = .string(path + text[colon...])
        }
        return item
    }

    /// The copies of secret files in the app's `deploys/*/files`, relative to its work directory:
    /// teardown removes them with the app's secrets.
    public static func secretCopies(in workDirectory: URL) -> [String] {
        let deploys = workDirectory.appendingPathComponent("deploys")
        // Kept: no deploys folder is no copies.
        let numbers = (try? FileManager.default.contentsOfDirectory(atPath: deploys.path)) ?? []
        return numbers.sorted().flatMap { number in
            let files = deploys.appendingPathComponent(number).appendingPathComponent("files")
            return ((try? FileManager.default.contentsOfDirectory(atPath: files.path)) ?? []) // Kept: a deploy that wrote no copies.
                .filter { $0.hasPrefix("secrets-") }.sorted().map { "deploys/\(number)/files/\($0)" }
        }
    }

    private static func write(_ data: Data, to file: URL, stack: String) throws(DeployError) {
        do { try data.write(to: file, options: .withoutOverwriting) } catch {
            throw DeployError(operation: "write rendered stack", stack: stack, reason: error.localizedDescription, isHostFault: true)
        }
    }
}
