import HostBase
import PluginChannel

/// The outcome of a check, a tier or a run.
/// `skip` is intentional (declared, or structural); `unverified` means it should have run and did
/// not (infrastructure error, timeout, a plugin that crashed or misbehaved, an earlier stage aborted).
public enum Verdict: String, Sendable, Equatable, Codable, CaseIterable {
    case pass, fail, skip, unverified

    /// Green: passed, or skipped on purpose (the run's verdict is green when it is; see `Judgement`).
    public var isGreen: Bool { self == .pass || self == .skip }
}

/// A judged plugin entry: its verdict, why, and what the plugin printed when it went wrong.
public struct CheckOutcome: Sendable, Equatable, Codable {
    public var verdict: Verdict
    public var detail: String
    /// Set for `unverified`: what happened (a crash and its signal, a deadline, a protocol violation).
    public var cause: String?
    public var diagnostics: String?

    public init(verdict: Verdict, detail: String, cause: String? = nil, diagnostics: String? = nil) {
        self.verdict = verdict
        self.detail = detail
        self.cause = cause
        self.diagnostics = diagnostics
    }

    /// Judges what a worker returned for one entry. Pure: a truth table in the tests.
    public static func judging(_ result: Result<EntryResult, WorkerFailure>) -> CheckOutcome {
        switch result {
        case .failure(let failure):
            return CheckOutcome(verdict: .unverified, detail: "", cause: failure.description,
                                diagnostics: failure.diagnostics.isEmpty ? nil : failure.diagnostics)
        case .success(let result):
            if let failure = result.failure {
                return CheckOutcome(verdict: .unverified, detail: result.detail, cause: failure)
            }
            switch result.code {
            case 0: return CheckOutcome(verdict: .pass, detail: result.detail)
            case 1: return CheckOutcome(verdict: .fail, detail: result.detail)
            case 2: return CheckOutcome(verdict: .skip, detail: result.detail)
            case -1:
                return CheckOutcome(verdict: .unverified, detail: result.detail,
                                    cause: "the plugin could not evaluate the check" + (result.detail.isEmpty ? "" : ": \(result.detail)"))
            case let code:
                return CheckOutcome(verdict: .unverified, detail: result.detail,
                                    cause: "the plugin returned \(code.map(String.init) ?? "nothing"), which is not a verdict")
            }
        }
    }
}
