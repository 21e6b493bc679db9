import Foundation
import HostBase

/// Lint: the rules on the head's checkout, each rule a check. Errors fail the tier; warnings pass
/// it and are counted (they cost the level's top rung).
struct LintOp: TierOp {
    func run(_ run: RunContext, from state: RunState) -> OpResult {
        let tags: [GitTag]
        do { tags = try GitRepository.open(run.plan.head.directory).tags() } catch {
            return OpResult(op: .lint, verdict: .unverified, detail: "the head's tags could not be read: \(error)", state: state)
        }
        let report = RecipeLint.lint(directory: run.plan.head.directory, tags: tags, allowance: run.request.allowance,
                                     maxTasks: run.request.ceilings.tasks)
        let checks = RecipeLint.rules.map { rule -> RunRecord.CheckRecord in
            let findings = report.findings.filter { $0.code == rule.code }
            let detail = findings.map { ($0.location.map { "\($0): " } ?? "") + $0.message }.joined(separator: "; ")
            return RunRecord.CheckRecord(plugin: "lint", name: rule.code,
                                         verdict: findings.contains { $0.severity == .error } ? .fail : .pass,
                                         detail: detail.isEmpty ? rule.title : "\(findings.first?.severity.rawValue ?? ""): \(detail)",
                                         cause: nil, seconds: 0)
        }
        var result = OpResult(op: .lint, verdict: .pass, detail: "\(report.errors) error(s), \(report.warnings) warning(s)", checks: checks, state: state)
        result.lintWarnings = report.warnings
        return result
    }
}
