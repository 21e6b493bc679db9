import Foundation

/// The run's total-tasks ceiling (`ceilings.tasks`) as the content policy applies it: the tasks the
/// app asks swarm for, every service's replicas summed, before anything is deployed. R021 bounds
/// one service; this bounds the app, so 500 services of 10 replicas each cannot pass as 500 small ones.
extension RecipePolicy {
    /// What one service asks swarm for.
    public struct ServiceTasks: Sendable, Equatable {
        public var service: String
        /// `nil` when its `deploy.replicas` is no whole number of zero or more (`${N}` unset, `-1`,
        /// `2.5`, one too big to count): what it asks for is unknown.
        public var tasks: Int?
        /// `deploy.replicas` as written; "1" when not written.
        public var written: String
        /// Where it is written: the `deploy.replicas` that acts, else the service.
        public var location: ComposeProject.Location

        public init(service: String, tasks: Int?, written: String, location: ComposeProject.Location) {
            self.service = service
            self.tasks = tasks
            self.written = written
            self.location = location
        }
    }

    /// Each service's tasks, by name: its `deploy.replicas` (a later compose file's over an
    /// earlier's, as docker merges them), 1 when none is written. `deploy.mode: global` runs one task
    /// on every node; the compose model does not read the mode, and a global service writes no
    /// replicas (docker refuses them with it), so it counts as 1 — the one node of a test swarm.
    /// Pure.
    public static func tasks(in project: ComposeProject) -> [ServiceTasks] {
        project.services.values.sorted { $0.name < $1.name }.map { service in
            guard let replicas = service.settings.last(where: { $0.key == "replicas" }) else {
                return ServiceTasks(service: service.name, tasks: 1, written: "1", location: service.location)
            }
            let count = Int(replicas.value.trimmingCharacters(in: .whitespaces)).flatMap { $0 >= 0 ? $0 : nil }
            return ServiceTasks(service: service.name, tasks: count, written: replicas.value, location: replicas.location)
        }
    }

    /// R023: the app's tasks over `maxTasks`, at the largest contributor (one finding), and each
    /// service whose replicas cannot be counted (fail closed: an unknown count is never under the
    /// ceiling). No option allows it: the operator raises `ceilings.tasks` instead.
    static func taskFindings(_ project: ComposeProject, maxTasks: Int) -> [Finding] {
        let services = tasks(in: project)
        var findings = services.filter { $0.tasks == nil }.map { service in
            finding("R023", nil, "service \(service.service) asks for \(service.written) replicas, which cannot be counted against "
                    + "the \(maxTasks) tasks allowed (ceilings.tasks)", service.location)
        }
        let counted = services.compactMap { service in service.tasks.map { (service, $0) } }
        // Saturating: replicas near Int.max must not wrap the sum below the ceiling.
        let total = counted.reduce(0) { sum, next in
            let (added, overflow) = sum.addingReportingOverflow(next.1)
            return overflow ? .max : added
        }
        guard total > maxTasks, let largest = counted.max(by: { $0.1 < $1.1 }) else { return findings }
        func plural(_ count: Int, _ word: String) -> String { "\(count) \(word)\(count == 1 ? "" : "s")" }
        let parts = counted.allSatisfy { $0.1 == largest.1 }
            ? "\(plural(counted.count, "service")) × \(plural(largest.1, "replica"))"
            : "\(plural(counted.count, "service")), the most \(plural(largest.1, "replica")) for service \(largest.0.service)"
        findings.append(finding("R023", nil, "the app asks for \(total) tasks (\(parts)), more than the \(maxTasks) allowed (ceilings.tasks)",
                                largest.0.location))
        return findings
    }
}
