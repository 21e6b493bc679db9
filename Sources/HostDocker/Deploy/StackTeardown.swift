import Foundation
import HostBase
import Synchronization

/// Removes everything of one stack through the `Docker` seam, whatever state it is in: its services,
/// their containers (killed at once: their data is being discarded), then its volumes, networks,
/// secrets and configs; then lists what is left.
///
/// Every listing and every removal that fails is kept with Docker's words: an object still listed
/// afterwards is a leftover (teardown fails), a kind that could not be listed afterwards is
/// unknown (teardown is unverified, never "no leftovers").
///
/// No `docker stack rm`: it is the same removals by the same label, but through a process whose
/// failures come back as text.
public struct StackTeardown: Sendable {
    public let docker: any Docker
    /// How long teardown may take before it gives up on what is left (reported as leftovers).
    public var timeout: Double

    public init(docker: any Docker, timeout: Double = 60) {
        self.docker = docker
        self.timeout = timeout
    }

    /// What was removed, what could not be, and what is left.
    public func run(stack: String) -> TeardownResult {
        let started = Date()
        let deadline = started.addingTimeInterval(timeout)
        var log = RemovalLog()
        let services = log.list(.service, stack: stack, docker: docker)
        if let why = log.failedListings[.service] {
            log.doubts.append("the services could not be listed, so their tasks were not waited for (a container may still start): \(why)")
        }
        log.remove(services, docker: docker)
        killContainers(of: Set(services.map(\.id)), stack: stack, until: deadline, log: &log)

        // Then everything else, and again whatever is still there (a network whose endpoints are
        // being released, a container found late) until nothing is left or the deadline passes.
        var left: (objects: [DeployedObject], unlisted: [String])
        repeat {
            let looked = Date()
            for kind in DeployedObject.Kind.allCases { log.remove(log.list(kind, stack: stack, docker: docker), docker: docker) }
            left = Self.leftovers(stack: stack, docker: docker)
            guard !left.objects.isEmpty, Date() < deadline else { break }
            awaitChange(of: stack, since: looked, until: deadline)
        } while true

        let leftNames = Set(left.objects.map(\.description))
        // A volume whose removal failed and that is no longer listed: the engine may have dropped its
        // record and kept its data. Nothing else keeps data past its record: a network, secret or
        // config no longer listed is gone (a swarm network being removed answers a second removal
        // with "not found" and a 500), and a service's containers are checked on their own.
        let vanished = log.failedRemovals.filter { !leftNames.contains($0.key) && $0.key.hasPrefix("volume ") }
            .sorted { $0.key < $1.key }.map { "\($0.key): its removal failed (\($0.value)) and it is no longer listed" }
        return TeardownResult(removed: log.removed, leftovers: left.objects.map { object in
            (log.failedRemovals[object.description] ?? log.failedListings[object.kind]).map { "\(object) (\($0))" } ?? object.description
        }, unknown: log.doubts + vanished + left.unlisted, seconds: Date().timeIntervalSince(started))
    }

    /// Kills the stack's containers round after round until no task of the removed services can
    /// start one: the agent may still start a container for a task it was preparing when its
    /// service went. Each round is woken by the stack's next container event.
    private func killContainers(of serviceIDs: Set<String>, stack: String, until deadline: Date, log: inout RemovalLog) {
        while true {
            let looked = Date()
            let containers = log.list(.container, stack: stack, docker: docker)
            log.remove(containers, docker: docker)
            let unfinished: [SwarmTask]
            do { unfinished = try docker.unfinishedTasks(ofServices: serviceIDs) } catch {
                log.doubts.append("the tasks of the removed services could not be listed (a container may still start): \(error.message)")
                return
            }
            if containers.isEmpty && unfinished.isEmpty { return }
            guard Date() < deadline else {
                if !unfinished.isEmpty {
                    log.doubts.append("\(unfinished.count) task(s) of the removed services had not stopped after \(Int(timeout)) s (a container may still start)")
                }
                return
            }
            awaitChange(of: stack, since: looked, until: deadline)
        }
    }

    /// Until the stack's next container event, at most a quarter second: a task may stop, or a
    /// network be released, with no event that names the stack (network and volume events carry no
    /// labels), so the bound is the next look. Events that cannot be read only cost that bound.
    private func awaitChange(of stack: String, since looked: Date, until deadline: Date) {
        let bound = min(0.25, max(0.01, deadline.timeIntervalSinceNow))
        do { _ = try docker.awaitStackEvent(stack: stack, since: looked, timeout: bound) } catch {
            Thread.sleep(forTimeInterval: bound)
        }
    }

    /// Every object of the stack still on the engine, and each kind that could not be listed, with
    /// Docker's words: a listing that failed is never an empty one.
    public static func leftovers(stack: String, docker: any Docker) -> (objects: [DeployedObject], unlisted: [String]) {
        var objects: [DeployedObject] = [], unlisted: [String] = []
        for kind in DeployedObject.Kind.allCases {
            do { objects += try docker.stackObjects(kind, stack: stack) } catch {
                unlisted.append("the \(kind.rawValue)s could not be listed: \(error.message)")
            }
        }
        return (objects, unlisted)
    }

    /// What one teardown did, as it goes.
    private struct RemovalLog {
        var removed: [String] = []
        /// Per object (`"volume x"`): why Docker would not remove it, at its last attempt.
        var failedRemovals: [String: String] = [:]
        /// Per kind: why Docker would not list it on the way (what is then left says so).
        var failedListings: [DeployedObject.Kind: String] = [:]
        /// Why something may still be there that no listing shows (a container that may still
        /// start): not known clean.
        var doubts: [String] = []

        mutating func list(_ kind: DeployedObject.Kind, stack: String, docker: any Docker) -> [DeployedObject] {
            do { return try docker.stackObjects(kind, stack: stack) } catch {
                failedListings[kind] = "not listed: \(error.message)"
                return []
            }
        }

        /// Removes `objects` in parallel (each is one request the engine answers on its own).
        mutating func remove(_ objects: [DeployedObject], docker: any Docker) {
            guard !objects.isEmpty else { return }
            let outcomes = Mutex<[(DeployedObject, DockerError?)]>([])
            let group = DispatchGroup()
            for object in objects {
                DispatchQueue.global().async(group: group) {
                    var failure: DockerError?
                    do throws(DockerError) { try docker.remove(object) } catch { failure = error }
                    outcomes.withLock { $0.append((object, failure)) }
                }
            }
            group.wait()
            for (object, failure) in outcomes.withLock({ $0 }).sorted(by: { $0.0.name < $1.0.name }) {
                if let failure {
                    failedRemovals[object.description] = failure.message
                } else {
                    failedRemovals[object.description] = nil
                    if !removed.contains(object.description) { removed.append(object.description) }
                }
            }
        }
    }
}
