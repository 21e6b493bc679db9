import Foundation
@testable import HostBase
import Testing

/// Fuzzes the whole compose chain (YAMLDocument, ComposeFileReader, StackMerge, ComposeModelReader,
/// RecipePolicy) with inputs from ComposeGrammar for `CCHOST_FUZZ_SECONDS` (default 20) or
/// `CCHOST_FUZZ_INPUTS` inputs, whichever ends first. The seed is printed first; `CCHOST_FUZZ_SEED`
/// runs the same inputs again. Every input is either refused with a RecipeError naming its file,
/// or loads, and then its rendered text is plain JSON that reads back, with no environment, as the
/// same stack, and the content policy judges it.
struct ComposeFuzzTests {
    static let settings = ProcessInfo.processInfo.environment
    static let seed = settings["CCHOST_FUZZ_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 0...UInt64.max)
    static let seconds = settings["CCHOST_FUZZ_SECONDS"].flatMap { Double($0) } ?? 20
    static let maximumInputs = settings["CCHOST_FUZZ_INPUTS"].flatMap { Int($0) } ?? 1_000_000
    /// An input still being read after this long is a hang. Far above any input's time on a loaded
    /// machine: slowness is measured (the slowest input is printed), never asserted.
    static let hangLimit: TimeInterval = 60
    /// The stack each input is read on: half the 8 MiB of the threads cchost's readers run
    /// on here, so that recursion growing with the input shows up well before it could crash cchost.
    static let stackSize = 4 << 20
    /// A variable of each kind the grammar uses: set, empty, holding `$` and references.
    static let environment = [
        "HOME": "/root", "X": "x", "EMPTY": "", "N": "3", "B": "yes", "P": "8080", "STACK_NAME": "app_example_com",
        "DOMAIN": "app.example.com", "DOLLAR": "$", "DD": "$$x", "BRACE": "${X}", "SECRET_DB_PASSWORD_VERSION": "v1",
        "HUGE": "9223372036854775808", "CPUS": "1e400", "LETS_ENCRYPT_ENV": "production",
    ]

    @Test("every compose file is refused naming its file, or renders to plain data that reads back as itself")
    func composeFuzz() {
        print("compose fuzz seed: \(Self.seed) (rerun with CCHOST_FUZZ_SEED=\(Self.seed))")
        // The input being read, on disk: if one crashes the process, it is left here to reproduce.
        let inputFile = FileManager.default.temporaryDirectory.appendingPathComponent("cchost-compose-fuzz-\(getpid()).yml")
        print("compose fuzz: each input is written to \(inputFile.path) before it is read")
        var grammar = ComposeGrammar(random: SplitMix64(seed: Self.seed))
        let started = Date()
        var (inputs, loaded, failures) = (0, 0, 0)
        var slowest: (took: Duration, input: Int) = (.zero, 0)
        while inputs < Self.maximumInputs && Date().timeIntervalSince(started) < Self.seconds && failures < 5 {
            let files = grammar.files()
            inputs += 1
            let shown = files.map { "--- \($0.path)\n\($0.text)" }.joined(separator: "\n")
            try? shown.write(to: inputFile, atomically: false, encoding: .utf8)
            let clock = ContinuousClock.now
            guard let outcome = Self.bounded({ Self.check(files) }) else {
                Issue.record("compose fuzz seed \(Self.seed), input \(inputs): still reading after \(Self.hangLimit) s\n\(Self.truncated(shown))")
                return
            }
            let took = ContinuousClock.now - clock
            let problems = outcome.problems
            if took > slowest.took { slowest = (took, inputs) }
            if outcome.loaded { loaded += 1 }
            if !problems.isEmpty {
                failures += 1
                Issue.record("compose fuzz seed \(Self.seed), input \(inputs): \(problems.joined(separator: "; "))\n\(Self.truncated(shown))")
            }
        }
        try? FileManager.default.removeItem(at: inputFile)
        let elapsed = Date().timeIntervalSince(started)
        print("compose fuzz: \(inputs) inputs (\(loaded) loaded, \(inputs - loaded) refused) in \(String(format: "%.1f", elapsed)) s, seed \(Self.seed); "
              + "the slowest, input \(slowest.input), took \(slowest.took)")
        #expect(loaded > 0, "no input loaded: the grammar no longer makes compose files cchost reads")
    }

    // MARK: What the fuzzer found

    @Test("a rendered stack doubles `$` in the sections docker interpolates, and only there, so it reads back as itself")
    func dollarsOutsideInterpolatedSections() throws {
        let project = try ComposeProject(files: [("/r/compose.yml", "version: 'a$$b'\nservices:\n  app:\n    image: '$$x'\n")], environment: [:])
        let text = project.rendered.json(escaping: true)
        #expect(text.contains(#""version": "a$$b""#) && text.contains(#""image": "$$x""#), "\(text)")
        let again = try ComposeProject(files: [("/r/rendered.json", text)], environment: [:])
        #expect(Self.difference(project.rendered, again.rendered, at: "") == nil)
    }

    @Test("YAML nested past the bound is refused before Yams composes it (20 KB of `[` overflowed the stack)")
    func deepNestingIsRefused() {
        let text = "services:\n  app:\n    labels: " + String(repeating: "[", count: 20_000) + String(repeating: "]", count: 20_000) + "\n"
        #expect(throws: RecipeError.self) { try ComposeProject(files: [("/r/compose.yml", text)], environment: [:]) }
        #expect(YAMLDocument.nestingBound(text) > YAMLDocument.maximumNesting)
    }

    @Test("the nesting bound counts what could open a collection and never less than the real depth",
          arguments: [("a: [b, {c: d}]", 4), ("a:\n  b:\n    - c", 14), ("x: \"${A} ${B} a[0] {{x}}\"", 4), ("- - - [x]", 15), ("\"]]\" [[", 4)])
    func nestingBound(_ text: String, bound: Int) {
        #expect(YAMLDocument.nestingBound(text) == bound)
    }

    @Test("a whole double renders as a double (`1.0`, `-0.0`) and reads back as one, not as an integer",
          arguments: ["1.0", "-0.0", "1e5", "0.5", "1e20", "1e-7"])
    func wholeDoubles(_ written: String) throws {
        let project = try ComposeProject(files: [("/r/compose.yml", "services:\n  app:\n    command: [\(written)]\n")], environment: [:])
        let again = try ComposeProject(files: [("/r/rendered.json", project.rendered.json(escaping: true))], environment: [:])
        #expect(Self.difference(project.rendered, again.rendered, at: "") == nil, "\(project.rendered.json(escaping: true))")
    }

    @Test("a network listed twice renders once, so the rendered stack has no key twice")
    func networkListedTwice() throws {
        let project = try ComposeProject(files: [("/r/compose.yml", "services:\n  app:\n    networks: [internal, internal]\n")], environment: [:])
        #expect(project.rendered["services"]?["app"]?["networks"]?.entries?.map(\.key) == ["internal"])
        #expect(throws: Never.self) { try ComposeProject(files: [("/r/rendered.json", project.rendered.json(escaping: true))], environment: [:]) }
    }

    struct Outcome: Sendable {
        var loaded = false
        var problems: [String] = []
    }

    /// The properties, for one input.
    static func check(_ files: [(path: String, text: String)]) -> Outcome {
        var outcome = Outcome()
        let project: ComposeProject
        do {
            project = try ComposeProject(files: files, environment: environment)
        } catch {
            let description = error.description
            if !files.contains(where: { description.contains($0.path) }) {
                outcome.problems.append("refused with a description that names no file: \"\(description)\"")
            }
            return outcome
        }
        outcome.loaded = true
        let text = project.rendered.json(escaping: true)
        if (try? JSONSerialization.jsonObject(with: Data(text.utf8))) == nil {
            outcome.problems.append("the rendered text is not JSON:\n\(truncated(text))")
        }
        do {
            let again = try ComposeProject(files: [("/fuzz/rendered.json", text)], environment: [:])
            if let difference = difference(project.rendered, again.rendered, at: "") {
                outcome.problems.append("the rendered text reads back as another stack: \(difference)\n\(truncated(text))")
            }
        } catch {
            outcome.problems.append("the rendered text is refused when read back: \(error)\n\(truncated(text))")
        }
        // YAMLDocument's bound on nesting, read from the text alone, is never below the real depth.
        if files.count == 1, depth(of: project.rendered) > YAMLDocument.nestingBound(files[0].text) {
            outcome.problems.append("it nests \(depth(of: project.rendered)) deep, past its bound \(YAMLDocument.nestingBound(files[0].text))")
        }
        _ = RecipePolicy.evaluate(project, checkout: "/tmp/nonexistent-checkout")
        return outcome
    }

    /// Where `a` and `b` differ as data (values, types, keys and their order), never minding where
    /// they are written or what a string was before interpolation; nil when they do not.
    static func difference(_ a: StackNode, _ b: StackNode, at path: String) -> String? {
        switch (a.value, b.value) {
        case let (.list(first), .list(second)):
            guard first.count == second.count else { return "\(path): \(first.count) items, then \(second.count)" }
            for (index, (x, y)) in zip(first, second).enumerated() {
                if let difference = difference(x, y, at: "\(path)[\(index)]") { return difference }
            }
            return nil
        case let (.map(first), .map(second)):
            guard first.map(\.key) == second.map(\.key) else { return "\(path): keys \(first.map(\.key)), then \(second.map(\.key))" }
            for (x, y) in zip(first, second) {
                if let difference = difference(x.node, y.node, at: path + "." + x.key) { return difference }
            }
            return nil
        case (.list, _), (.map, _), (_, .list), (_, .map):
            return "\(path): \(ComposeFileReader.typeName(a.value)), then \(ComposeFileReader.typeName(b.value))"
        default:
            return a.value == b.value ? nil : "\(path): \(a.value), then \(b.value)"
        }
    }

    static func depth(of node: StackNode) -> Int {
        switch node.value {
        case .list(let items): 1 + (items.map(depth(of:)).max() ?? 0)
        case .map(let entries): 1 + (entries.map { depth(of: $0.node) }.max() ?? 0)
        default: 0
        }
    }

    /// `body`'s result, run on a thread of `stackSize`; nil when it is still running after
    /// `hangLimit` (the thread is left to finish; the fuzzing stops).
    static func bounded(_ body: @escaping @Sendable () -> Outcome) -> Outcome? {
        let box = ResultBox<Outcome>()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            box.result = .success(body())
            done.signal()
        }
        thread.stackSize = stackSize
        thread.start()
        // Twice the limit before giving up on it: a slow input is reported with its time below.
        guard done.wait(timeout: .now() + hangLimit) == .success else { return nil }
        return try? box.result?.get()
    }

    static func truncated(_ text: String) -> String {
        text.utf8.count <= 2048 ? text : String(decoding: text.utf8.prefix(2048), as: UTF8.self) + "\n… (\(text.utf8.count) bytes in all)"
    }
}
