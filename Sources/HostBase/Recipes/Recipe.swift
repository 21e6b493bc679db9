import Foundation

/// A recipe checked out in a folder, read the way abra reads it: its `.env.sample`, the exports of
/// `abra.sh`, release notes, README metadata and the compose project an app of it would deploy.
public struct Recipe: Sendable, Equatable {
    /// `RECIPE` (or the older `TYPE`) from `.env.sample`, without a `:version` pin; else the folder's name.
    public let name: String
    public let directory: String
    public let envSample: EnvFile
    public let abraScript: AbraScript
    /// `release/<version>` file name → its text.
    public let releaseNotes: [String: String]
    /// `nil` when the README is missing or has no metadata block.
    public let metadata: ReadmeMetadata?
    /// `.env.sample` values (or an existing app's env), then abra.sh exports, then the overrides,
    /// then `STACK_NAME` from `DOMAIN` (unless set already): what the compose files were interpolated with.
    public let environment: [String: String]
    public let compose: ComposeProject

    /// Reads the recipe in `directory`; `appEnvironment` is an existing app's env, which stands in for
    /// the `.env.sample` values (abra copies the sample into an app's env once, at `app new`, and
    /// deploys with that env ever after); `environmentOverrides` stand for an app's own settings
    /// (`DOMAIN`, `COMPOSE_FILE`, …) over either.
    public static func load(directory: String, appEnvironment: [String: String]? = nil,
                            environmentOverrides: [String: String] = [:]) throws(RecipeError) -> Recipe {
        let envPath = RecipeFile.path(".env.sample", in: directory)
        guard let envText = try RecipeFile.text(named: ".env.sample", in: directory) else { throw .missingEnvSample(path: envPath) }
        let envSample = try EnvFile(parsing: envText, source: envPath)
        let abraScript = try AbraScript.load(directory: directory)

        var environment = appEnvironment ?? envSample.values
        environment.merge(abraScript.values) { $1 }
        environment.merge(environmentOverrides) { $1 }
        if environment["STACK_NAME"] == nil, let domain = environment["DOMAIN"], !domain.isEmpty {
            environment["STACK_NAME"] = AppNaming.stackName(forDomain: domain)
        }

        return Recipe(
            name: Self.name(envSample: envSample, directory: directory),
            directory: directory,
            envSample: envSample,
            abraScript: abraScript,
            releaseNotes: try releaseNotes(in: directory),
            metadata: try ReadmeMetadata.load(directory: directory),
            environment: environment,
            compose: try ComposeProject.load(directory: directory, environment: environment))
    }

    private static func name(envSample: EnvFile, directory: String) -> String {
        for key in ["RECIPE", "TYPE"] {
            if let value = envSample[key], let name = value.split(separator: ":").first, !name.isEmpty {
                return String(name)
            }
        }
        return URL(fileURLWithPath: directory).standardizedFileURL.lastPathComponent
    }

    /// The release notes: regular files directly in `release/`, hidden ones left out; no folder means
    /// no notes. The one reader of `release/`: a run (through `load`) and lint (R019) both call it, so
    /// they agree on every recipe. A `release` that is a symbolic link is followed when it stays
    /// inside the checkout (a maintainer's `release -> docs/release` is read) and refused, naming
    /// `release`, when it leads out of it; so is a note that is a link out of the checkout.
    public static func releaseNotes(in directory: String) throws(RecipeError) -> [String: String] {
        let folder = RecipeFile.path("release", in: directory)
        if let reason = RecipeFile.escape("release", from: directory) { throw .outsideCheckout(file: folder, reason: reason) }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else { return [:] }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder)
        } catch {
            throw .unreadable(file: folder, reason: "the folder cannot be listed")
        }
        var notes: [String: String] = [:]
        for name in names where !name.hasPrefix(".") {
            let path = RecipeFile.path(name, in: folder)
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            notes[name] = try RecipeFile.text(named: "release/" + name, in: directory)
        }
        return notes
    }
}

/// Reading a recipe's files: through `TextFile`, with its reasons as `RecipeError`s.
public enum RecipeFile {
    /// The file's text, or `nil` when nothing exists at `path`.
    static func text(at path: String) throws(RecipeError) -> String? {
        do { return try TextFile.read(path) } catch { throw .unreadable(file: path, reason: error.reason) }
    }

    /// The text of the recipe's file `name` (relative to the checkout `directory`), or `nil` when
    /// it does not exist; a file outside the checkout (a symbolic link to a host file) is never read.
    static func text(named name: String, in directory: String) throws(RecipeError) -> String? {
        let path = path(name, in: directory)
        if let reason = escape(name, from: directory) { throw .outsideCheckout(file: path, reason: reason) }
        return try text(at: path)
    }

    /// Why the recipe file `name` is not inside the checkout `directory` (a phrase: "is an
    /// absolute path …", "leads out of the recipe's checkout …"), or nil when it is. Symbolic links
    /// are followed as far as they exist; nothing is read.
    public static func escape(_ name: String, from directory: String) -> String? {
        let checkout = URL(fileURLWithPath: directory).resolvingSymlinksInPath().standardizedFileURL.path
        let written = URL(fileURLWithPath: path(name, in: directory)).standardizedFileURL
        let resolved = written.resolvingSymlinksInPath().standardizedFileURL.path
        if resolved == checkout || resolved.hasPrefix(checkout.hasSuffix("/") ? checkout : checkout + "/") { return nil }
        if name.hasPrefix("/") { return "is outside the recipe's checkout (an absolute path)" }
        if written.path != URL(fileURLWithPath: path(name, in: directory)).path || name.split(separator: "/").contains("..") {
            return "is outside the recipe's checkout (it leads out through ..)"
        }
        return "is outside the recipe's checkout (a symbolic link to \(resolved))"
    }

    /// `name` inside `directory`, unless `name` is absolute.
    static func path(_ name: String, in directory: String) -> String {
        if name.hasPrefix("/") { return name }
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// The lines of a text, numbered the way editors and YAML parsers number them: `\n`, `\r\n`
    /// and `\r` each end one line.
    static func lines(of text: String) -> [Substring] {
        text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }
    }
}
