import Foundation

/// Custom: nothing done to the app; the checks plugins declare for `custom` judge it as it is.
struct CustomOp: TierOp {
    func run(_ run: RunContext) -> OpResult {
        run.deployIfNeeded() ?? OpResult(op: .none, verdict: .pass, detail: "the recipe's custom checks only")
    }
}
