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

        // Services first: swarm stops scheduling their tasks. The agent may still start a container
        // for a task it was preparing, so containers are killed until no task of these services can
        // make one any more — each round woken by the stack's next container event, not a sleep.
        let services = log.list(.service, stack: stack, docker: docker)
        log.remove(services, docker: docker)
        let serviceIDs = Set(services.map(\.id))
        while true {
            let looked = Date()
            let containers = log.list(.container, stack: stack, docker: docker)
            log.remove(containers, docker: docker)
            let unfinished: [SwarmTask]
            do { unfinished = try docker.unfinishedTasks(ofServices: serviceIDs) } catch {
                log.doubts.append("the tasks being removed could not be listed (a container may still start): \(error.message)")
                break
            }
            if containers.isEmpty && unfinished.isEmpty { break }
            guard Date() < deadline else {
                if !unfinished.isEmpty {
                    log.doubts.append("\(unfinished.count) task(s) of the removed services had not stopped after \(Int(timeout)) s (a container may still start)")
                }
                break
            }
            do {
                // Bounded: the last task may stop without a container event (it never had one).
                _ = try docker.awaitStackEvent(stack: stack, since: looked, timeout: min(0.25, deadline.timeIntervalSinceNow))
            } catch {
                log.doubts.append("the engine's events could not be read (a container may still start): \(error.message)")
                break
            }
        }

        // What the containers used. The engine may still hold one a moment after its containers are
        // gone (a network whose endpoints are being released): removed again, woken by the stack's
        // next event, until nothing is left or the deadline passes.
        var left: (objects: [DeployedObject], unlisted: [String])
        repeat {
            let looked = Date()
            for kind in [DeployedObject.Kind.volume, .network, .secret, .config] {
                log.remove(log.list(kind, stack: stack, docker: docker), docker: docker)
            }
            left = Self.leftovers(stack: stack, docker: docker)
            guard !left.objects.isEmpty, Date() < deadline else { break }
            do {
                _ = try docker.awaitStackEvent(stack: stack, since: looked, timeout: min(0.25, deadline.timeIntervalSinceNow))
            } catch {
                // The events only shorten the wait; without them the next look comes after the bound.
                Thread.sleep(forTimeInterval: 0.25)
            }
        } while true
        return TeardownResult(removed: log.removed, leftovers: left.objects.map { object in
            (log.failedRemovals[object.description] ?? log.failedListings[object.kind]).map { "\(object) (\($0))" } ?? object.description
        }, unknown: log.doubts + left.unlisted, seconds: Date().timeIntervalSince(started))
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
        /// Per object (`"volume x"`): why Docker would not remove it.
        var failedRemovals: [String: String] = [:]
        /// Per kind: why Docker would not list it on the way (what is then left says so).
        var failedListings: [DeployedObject.Kind: String] = [:]
        /// Why a container may still appear after teardown: the wait for the removed services'
        /// tasks could not finish.
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
                } else if !removed.contains(object.description) {
                    removed.append(object.description)
                }
            }
        }
    }
}
