import Yams

extension YamlError {
    /// The line the parser points at (1-based, when it knows) and the problem in its words, for
    /// messages that name the file and line (configuration, compose files).
    var lineAndProblem: (line: Int?, problem: String) {
        switch self {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
             let .composer(context, problem, mark, _):
            let detail = context.map { " (\($0.text) at line \($0.mark.line))" } ?? ""
            return (mark.line, problem + detail)
        case let .reader(problem, offset, _, yaml):
            let line = offset.map { offset in yaml.utf8.prefix(offset).count { $0 == UInt8(ascii: "\n") } + 1 }
            return (line, problem)
        default:
            return (nil, "\(self)")
        }
    }
}
