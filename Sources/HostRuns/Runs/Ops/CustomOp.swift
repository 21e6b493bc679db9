import Foundation

/// Custom: nothing done to the app; the checks plugins declare for `custom` judge it as it is.
struct CustomOp: TierOp {
    func run(_ run: RunContext, from state: RunState) -> OpResult {
        let up = run.deployIfNeeded(from: state)
        return up.failure ?? OpResult(op: .none, verdict: .pass, detail: "the recipe's custom checks only", state: up.state)
    }
}
