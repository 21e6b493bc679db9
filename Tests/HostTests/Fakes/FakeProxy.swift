import Foundation
@testable import HostDocker
import Synchronization

/// The engine's proxy in memory: each request takes the next of `answers` (the last one repeats),
/// an error stands for a request that got no HTTP answer. Records every request as
/// `"GET app.ci.example/health"`.
final class FakeProxy: AppProxy {
    let state: Mutex<(answers: [Result<ProxyAnswer, DeployError>], calls: [String], problem: String?)>

    init(_ answers: [Result<ProxyAnswer, DeployError>] = [.success(ProxyAnswer(status: 200, body: Data("ok".utf8)))],
         problem: String? = nil) {
        state = Mutex((answers, [], problem))
    }

    static func answer(_ status: Int32, _ body: String) -> Result<ProxyAnswer, DeployError> {
        .success(ProxyAnswer(status: status, body: Data(body.utf8)))
    }

    var calls: [String] { state.withLock { $0.calls } }

    func problem() -> String? { state.withLock { $0.problem } }

    func request(method: String, domain: String, path: String, body: String?, timeout: Double) throws(DeployError) -> ProxyAnswer {
        let next = state.withLock { state in
            state.calls.append("\(method) \(domain)\(path)")
            return state.answers.count > 1 ? state.answers.removeFirst() : state.answers[0]
        }
        return try next.get()
    }
}
