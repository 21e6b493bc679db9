import Foundation

/// Names an app's stack gives Docker objects, and the limits on them.
///
/// An app's stack is its domain with `.` → `_`. Docker refuses secret and config names longer than
/// 64 characters, and recipes name them `<stack>_<name>_<version>`, so the domain decides whether a
/// recipe can be deployed at all.
public enum AppNaming {
    /// Docker's limit on secret and config names.
    public static let maximumObjectNameLength = 64
    /// abra cuts longer stack names to this many characters (`MAX_SANITISED_APP_NAME_LENGTH`); test
    /// domains stay within it so abra and the swarm backend name the stack the same.
    public static let maximumStackNameLength = 45

    /// `wordpress_example_com` for `wordpress.example.com`: the app's `STACK_NAME`.
    public static func stackName(forDomain domain: String) -> String {
        domain.replacingOccurrences(of: ".", with: "_")
    }

    /// Every secret and config an app of the project has, sorted by kind and key, with names
    /// computed for any stack. External ones count: recipes declare their secrets external and
    /// abra (or the swarm backend) creates them under the same `<stack>_<name>_<version>` names.
    /// A `name:` that cannot be interpolated is an error naming the object, the variable and why:
    /// the name as written, or as it came out for one stack, would hide how long it really is.
    public static func objects(in project: ComposeProject) throws(RecipeError) -> [StackObject] {
        var environment = project.environment
        environment["STACK_NAME"] = StackObject.stackPlaceholder
        func objects(_ kind: StackObject.Kind, _ definitions: [String: ComposeProject.Definition]) throws(RecipeError) -> [StackObject] {
            var objects: [StackObject] = []
            for definition in definitions.values.sorted(by: { $0.key < $1.key }) {
                // Without `name:`, docker names an object `<stack>_<key>`, or `<key>` when external.
                var template = definition.external ? definition.key : StackObject.stackPlaceholder + "_" + definition.key
                if let rawName = definition.rawName {
                    var unset: [String] = []
                    switch Interpolation.substitute(rawName, environment: environment, unset: &unset) {
                    case let .success(name): template = name
                    case let .failure(problem):
                        throw .uninterpolatableObjectName(
                            file: definition.location.file, line: definition.location.line, kind: kind.rawValue, key: definition.key,
                            name: rawName, problem: problem.explanation)
                    }
                }
                objects.append(StackObject(kind: kind, key: definition.key, template: template, location: definition.location))
            }
            return objects
        }
        return try objects(.secret, project.secrets) + objects(.config, project.configs)
    }

    /// The longest name that follows `<stack>_` among `objects`: what a test domain must leave room for.
    public static func longestObjectName(in objects: [StackObject]) -> String? {
        objects.compactMap(\.nameAfterStack).max { $0.count < $1.count }
    }
}

/// A secret or config a stack creates, named `<stack>_<name>_<version>` by convention.
public struct StackObject: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case secret, config
    }

    /// Stands for the stack's name in `template`; no environment value contains it.
    static let stackPlaceholder = "\u{1}STACK_NAME\u{1}"

    public let kind: Kind
    /// The compose key: `db_password`.
    public let key: String
    /// The name with `stackPlaceholder` where the stack's name goes.
    let template: String
    /// Where the compose files define it.
    public let location: ComposeProject.Location

    /// The object's name for a stack: `wordpress_example_com_db_password_v1`.
    public func name(inStack stack: String) -> String {
        template.replacingOccurrences(of: Self.stackPlaceholder, with: stack)
    }

    /// `db_password_v1` for a name of the form `<stack>_db_password_v1`; `nil` for any other form.
    public var nameAfterStack: String? {
        let prefix = Self.stackPlaceholder + "_"
        guard template.hasPrefix(prefix) else { return nil }
        let rest = template.dropFirst(prefix.count)
        return rest.contains(Self.stackPlaceholder) ? nil : String(rest)
    }

    /// Whether Docker accepts the name in `stack`.
    public func fitsLimit(inStack stack: String) -> Bool {
        name(inStack: stack).count <= AppNaming.maximumObjectNameLength
    }
}

/// Domains for the apps of test runs: short, DNS-safe and unique per recipe and run.
public enum TestDomain {
    /// Characters of the run's hash in the first label, when there is room.
    public static let identifierLength = 8
    /// Fewer characters than this would make clashes between runs likely.
    public static let minimumIdentifierLength = 6
    /// Letters of the recipe's name shown before the hash, when there is room.
    public static let maximumPrefixLength = 4

    /// `<first letters of recipe>-<hash of recipe and run>.<baseDomain>`, e.g.
    /// `word-3f9a0c1d.ci.example.org`, such that `<stack>_<longestObjectName>` stays within Docker's
    /// 64 characters and the stack within abra's 45. The recipe prefix, then the hash, shrink to
    /// fit; when even `<6 hash characters>.<baseDomain>` is too long, it is an error.
    public static func make(recipe: String, runID: String, baseDomain: String, longestObjectName: String) throws(RecipeError) -> String {
        let base = try validated(baseDomain)
        // The stack name is as long as the domain.
        let longestDomain = min(
            AppNaming.maximumObjectNameLength - 1 - longestObjectName.count, AppNaming.maximumStackNameLength)
        let labelRoom = min(63, longestDomain - base.count - 1)
        guard labelRoom >= minimumIdentifierLength else {
            throw .testDomainImpossible(
                baseDomain: base, longestObjectName: longestObjectName, longestDomain: longestDomain,
                shortestDomain: minimumIdentifierLength + 1 + base.count)
        }
        let identifier = Digest.sha256(of: Data("\(recipe)\n\(runID)".utf8)).hex.prefix(min(identifierLength, labelRoom))
        let letters = recipe.lowercased().unicodeScalars.filter { ("a"..."z").contains($0) || ("0"..."9").contains($0) }
        let prefix = String(String.UnicodeScalarView(letters.prefix(max(0, min(maximumPrefixLength, labelRoom - identifier.count - 1)))))
        return (prefix.isEmpty ? "" : prefix + "-") + identifier + "." + base
    }

    /// The base domain in lowercase without a trailing dot; an error unless every label is 1–63
    /// letters, digits or inner hyphens.
    private static func validated(_ domain: String) throws(RecipeError) -> String {
        var base = domain.lowercased()
        if base.hasSuffix(".") { base.removeLast() }
        let labels = base.split(separator: ".", omittingEmptySubsequences: false)
        let isValid = !base.isEmpty && base.count <= 253 && labels.allSatisfy { label in
            (1...63).contains(label.count) && label.first != "-" && label.last != "-"
                && label.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
        }
        guard isValid else { throw .invalidBaseDomain(domain) }
        return base
    }
}
