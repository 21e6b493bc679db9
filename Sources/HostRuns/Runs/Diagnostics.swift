import Foundation
import HostBase
import HostDocker

/// Service logs, task states and the engine's events of the app, saved as artifacts before
/// teardown, with the run's secrets redacted. What could not be read is saved too (`diagnostics-problems.txt`): diagnostics never
/// change a verdict, and never vanish without a word.
enum Diagnostics {
    /// `redactor`: the values the app may have printed, replaced before anything is saved.
    static func capture(stack: String, docker: any Docker, since started: Date, into folder: URL, redacting redactor: Redactor) -> [String] {
        var saved: [String] = [], problems: [String] = []
        func save(_ name: String, _ text: String) {
            let file = folder.appendingPathComponent(name)
            do {
                try redactor.write(text, to: file)
                saved.append(file.path)
            } catch {
                problems.append("\(name) could not be written: \(error)")
            }
        }
        func attempt(_ what: String, _ body: () throws -> Void) {
            do { try body() } catch { problems.append("\(what): \(error)") }
        }
        attempt("the stack's services and tasks") {
            let tasks = try docker.tasks(stack: stack)
            let formatter = ISO8601DateFormatter()
            for service in try docker.services(stack: stack) {
                let name = service.name.hasPrefix("\(stack)_") ? String(service.name.dropFirst(stack.count + 1)) : service.name
                attempt("the logs of \(name)") { save("logs-\(service.name).txt", try docker.serviceLogs(stack: stack, service: name, tail: 500)) }
                save("tasks-\(service.name).txt", tasks.filter { $0.serviceID == service.id }.map { task in
                    "\(service.name).\(task.slot.map(String.init) ?? "-") \(task.state) (desired \(task.desiredState))"
                        + (task.timestamp.map { " at \(formatter.string(from: $0))" } ?? "") + (task.error.map { ": \($0)" } ?? "")
                }.joined(separator: "\n") + "\n")
            }
        }
        // The engine's events of the stack's objects (what the engine still keeps of them).
        attempt("the engine's events") {
            let formatter = ISO8601DateFormatter()
            save("events.txt", try docker.events(stack: stack, since: started.addingTimeInterval(-1), until: Date()).map { event in
                "\(formatter.string(from: event.time)) \(event.type) \(event.action) \(event.attributes["name"] ?? String(event.actorID.prefix(12)))"
            }.joined(separator: "\n") + "\n")
        }
        if !problems.isEmpty { save("diagnostics-problems.txt", problems.joined(separator: "\n") + "\n") }
        return saved
    }
}
